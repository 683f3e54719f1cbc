package activities

import (
	"context"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"
)

// HeartbeatTimeout is how long Temporal waits without a heartbeat before
// it retries a notification elsewhere: what a worker dying mid-page costs.
const HeartbeatTimeout = 3 * time.Second

// keepAlive heartbeats while a notification activity runs (waiting for its
// slot, talking to Slack), so its attempt can be long enough for any queue
// while a crash is noticed in seconds. Call the returned func when done.
func keepAlive(ctx context.Context) (stop func()) {
	if !activity.IsActivity(ctx) {
		return func() {}
	}
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(HeartbeatTimeout / 5)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				activity.RecordHeartbeat(ctx)
			case <-done:
				return
			case <-ctx.Done():
				return
			}
		}
	}()
	return func() { close(done) }
}

// Priority orders posts waiting for one channel: a page goes before the
// card and channel chatter that a busy incident also produces.
type Priority int

const (
	Chatter Priority = iota
	Urgent
)

// pacer spaces posts to each channel by gap (Slack allows about one message
// per second per channel). A slot is taken only by the post that uses it,
// at the moment it goes out: a waiter that gives up (its attempt timed out,
// the worker is stopping) leaves nothing reserved behind, so a queue of
// any length drains at one post per gap and never stalls.
type pacer struct {
	gap time.Duration

	mu       sync.Mutex
	channels map[string]*lane
}

type lane struct {
	next    time.Time // when the next post may go
	waiting [2]int    // waiters by priority
	changed chan struct{}
}

// wait blocks until a post to channel may go now, or ctx ends.
func (p *pacer) wait(ctx context.Context, channel string, prio Priority) error {
	p.mu.Lock()
	if p.channels == nil {
		p.channels = map[string]*lane{}
	}
	l := p.channels[channel]
	if l == nil {
		l = &lane{changed: make(chan struct{})}
		p.channels[channel] = l
	}
	l.waiting[prio]++
	defer func() {
		p.mu.Lock()
		l.waiting[prio]--
		l.wake()
		p.mu.Unlock()
	}()
	for {
		now := time.Now()
		blocked := prio == Chatter && l.waiting[Urgent] > 0
		if !blocked && !now.Before(l.next) {
			l.next = now.Add(p.gap)
			l.wake()
			p.mu.Unlock()
			return nil
		}
		wait := time.Second
		if !blocked {
			wait = min(l.next.Sub(now), wait)
		}
		changed := l.changed
		p.mu.Unlock()
		timer := time.NewTimer(wait)
		select {
		case <-timer.C:
		case <-changed:
			timer.Stop()
		case <-ctx.Done():
			timer.Stop()
			return ctx.Err()
		}
		p.mu.Lock()
	}
}

// wake tells every waiter of the lane to look again; call with p.mu held.
func (l *lane) wake() {
	close(l.changed)
	l.changed = make(chan struct{})
}
