package activities

import (
	"context"
	"sync"
	"testing"
	"time"
)

func waitingCount(p *pacer, channel string, prio Priority) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if l := p.channels[channel]; l != nil {
		return l.waiting[prio]
	}
	return 0
}

func eventually(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition never held")
		}
		time.Sleep(time.Millisecond)
	}
}

// A waiter that gives up takes no slot with it: the next post goes one gap
// after the last one that went, not one gap later for each who left.
func TestPacerWaiterThatGivesUpLeavesNoSlotBehind(t *testing.T) {
	p := &pacer{gap: time.Second}
	ctx := context.Background()
	start := time.Now()
	if err := p.wait(ctx, "D1", Urgent); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
		if err := p.wait(short, "D1", Urgent); err == nil {
			t.Fatal("a waiter got a slot inside the gap")
		}
		cancel()
	}
	if err := p.wait(ctx, "D1", Urgent); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took >= 1900*time.Millisecond {
		t.Fatalf("the next post went after %s; three abandoned waits held slots", took)
	}
}

// A page waiting for a channel goes before chatter that waited longer.
func TestPacerPagesGoBeforeChatter(t *testing.T) {
	p := &pacer{gap: 300 * time.Millisecond}
	ctx := context.Background()
	if err := p.wait(ctx, "C1", Chatter); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var order []Priority
	var wg sync.WaitGroup
	post := func(prio Priority) {
		defer wg.Done()
		if err := p.wait(ctx, "C1", prio); err != nil {
			t.Error(err)
		}
		mu.Lock()
		order = append(order, prio)
		mu.Unlock()
	}
	wg.Add(2)
	go post(Chatter)
	eventually(t, func() bool { return waitingCount(p, "C1", Chatter) == 1 })
	go post(Urgent)
	eventually(t, func() bool { return waitingCount(p, "C1", Urgent) == 1 })
	wg.Wait()
	if len(order) != 2 || order[0] != Urgent {
		t.Fatalf("order %v, want the page first", order)
	}
}

// A long queue drains one post per gap, each exactly once, and other
// channels are not held up by it.
func TestPacerQueueDrainsAndChannelsAreIndependent(t *testing.T) {
	p := &pacer{gap: 5 * time.Millisecond}
	ctx := context.Background()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var times []time.Time
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := p.wait(ctx, "D1", Urgent); err != nil {
				t.Error(err)
			}
			mu.Lock()
			times = append(times, time.Now())
			mu.Unlock()
		}()
	}
	other := time.Now()
	if err := p.wait(ctx, "D2", Urgent); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(other); d > 100*time.Millisecond {
		t.Fatalf("another channel waited %s behind D1's queue", d)
	}
	wg.Wait()
	if len(times) != 40 {
		t.Fatalf("%d of 40 posts went", len(times))
	}
}
