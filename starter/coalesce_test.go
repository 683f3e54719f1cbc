package starter

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/incidentflow/incidentflow/incident"
	"github.com/incidentflow/incidentflow/workflows"
)

// recordingSend stands in for Temporal: it records each batch, taking
// delay to accept it, as a busy server would.
type recordingSend struct {
	delay time.Duration
	err   error

	mu      sync.Mutex
	batches []workflows.AlertBatch
	starts  []bool
}

func (r *recordingSend) send(_ context.Context, _ string, _ AlertEvent, b workflows.AlertBatch, start bool) error {
	time.Sleep(r.delay)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.batches = append(r.batches, b)
	r.starts = append(r.starts, start)
	return r.err
}

func (r *recordingSend) events() (total int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, b := range r.batches {
		for _, a := range b.Alerts {
			total += max(a.Count, 1)
		}
	}
	return total
}

func firingEvent(fp string) AlertEvent {
	return AlertEvent{Key: "k", Alert: workflows.AlertSignal{Fingerprint: fp, Status: incident.AlertFiring}}
}

func TestCoalescerFoldsAStormIntoFewSignalsAndLosesNone(t *testing.T) {
	rec := &recordingSend{delay: 10 * time.Millisecond}
	c := &coalescer{send: rec.send, minGap: 50 * time.Millisecond, timeout: time.Second}
	var wg sync.WaitGroup
	for s := 0; s < 16; s++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 100; i++ {
				assert.NoError(t, c.deliver(context.Background(), "incident-k", []AlertEvent{firingEvent("same")}))
			}
		}()
	}
	wg.Wait()
	require.Equal(t, 1600, rec.events(), "every alert in some signal, counted once")
	t.Logf("1600 alerts from 16 senders in %d signals", len(rec.batches))
	require.Less(t, len(rec.batches), 400, "a storm is folded, not one signal per alert")
	for _, b := range rec.batches {
		require.Len(t, b.Alerts, 1, "one alert repeated is one entry with a count")
	}
}

func TestCoalescerSplitsABigGroupInOrderAndAnswersAfterAll(t *testing.T) {
	rec := &recordingSend{}
	c := &coalescer{send: rec.send, minGap: 0, timeout: time.Second}
	var events []AlertEvent
	for i := 0; i < 1200; i++ {
		events = append(events, firingEvent(fmt.Sprintf("fp-%04d", i)))
	}
	require.NoError(t, c.deliver(context.Background(), "incident-k", events))
	require.Len(t, rec.batches, 3, "1200 alerts in batches of %d", workflows.MaxBatchAlerts)
	require.Equal(t, 1200, rec.events(), "answered only once every batch was accepted")
	require.Equal(t, "fp-0000", rec.batches[0].Alerts[0].Fingerprint)
	require.Equal(t, "fp-1199", rec.batches[2].Alerts[199].Fingerprint)
}

func TestCoalescerKeepsEachAlertsOrderAndStartsOnlyForFiring(t *testing.T) {
	rec := &recordingSend{}
	c := &coalescer{send: rec.send, timeout: time.Second}
	resolved := func(fp string) AlertEvent {
		return AlertEvent{Key: "k", Alert: workflows.AlertSignal{Fingerprint: fp, Status: incident.AlertResolved}}
	}
	require.NoError(t, c.deliver(context.Background(), "incident-k", []AlertEvent{resolved("a")}))
	require.NoError(t, c.deliver(context.Background(), "incident-k", []AlertEvent{firingEvent("a"), firingEvent("a"), resolved("a"), firingEvent("a")}))
	require.Equal(t, []bool{false, true}, rec.starts, "a resolved alert alone starts nothing")
	var got []string
	for _, a := range rec.batches[1].Alerts {
		got = append(got, fmt.Sprintf("%s x%d", a.Status, max(a.Count, 1)))
	}
	require.Equal(t, []string{"firing x2", "resolved x1", "firing x1"}, got)
}

func TestCoalescerTellsEveryWaiterWhenTemporalRefuses(t *testing.T) {
	refused := errors.New("unavailable")
	rec := &recordingSend{delay: 20 * time.Millisecond, err: refused}
	c := &coalescer{send: rec.send, minGap: 10 * time.Millisecond, timeout: time.Second}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- c.deliver(context.Background(), "incident-k", []AlertEvent{firingEvent("x")})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.ErrorIs(t, err, refused, "no 2xx for an alert Temporal did not take")
	}
}

// A request that gives up while its batch waits behind another is answered
// 503 by the intake: its alert must not go afterwards, or the sender's
// retry would count it twice. Others in the same batch still go.
func TestCoalescerDropsTheAlertsOfARequestThatGaveUp(t *testing.T) {
	rec := &recordingSend{delay: 300 * time.Millisecond}
	c := &coalescer{send: rec.send, timeout: time.Second}
	first := make(chan error, 1)
	go func() { first <- c.deliver(context.Background(), "incident-k", []AlertEvent{firingEvent("first")}) }()
	time.Sleep(50 * time.Millisecond) // the first batch is on its way

	impatient, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	patient := make(chan error, 1)
	err := func() error {
		go func() { patient <- c.deliver(context.Background(), "incident-k", []AlertEvent{firingEvent("patient")}) }()
		return c.deliver(impatient, "incident-k", []AlertEvent{firingEvent("gave-up"), firingEvent("gave-up")})
	}()
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.NoError(t, <-first)
	require.NoError(t, <-patient)

	rec.mu.Lock()
	defer rec.mu.Unlock()
	var sent []string
	for _, b := range rec.batches {
		for _, a := range b.Alerts {
			sent = append(sent, fmt.Sprintf("%s x%d", a.Fingerprint, max(a.Count, 1)))
		}
	}
	require.Equal(t, []string{"first x1", "patient x1"}, sent)
}

// A send that Temporal does not answer ends by its earliest waiter's
// deadline, not the coalescer's own timeout: past that deadline the waiter
// would be answered 503 while the send could still succeed.
func TestCoalescerSendEndsByItsWaitersDeadline(t *testing.T) {
	var mu sync.Mutex
	var deadlines []time.Duration
	down := func(ctx context.Context, _ string, _ AlertEvent, _ workflows.AlertBatch, _ bool) error {
		d, _ := ctx.Deadline()
		mu.Lock()
		deadlines = append(deadlines, time.Until(d))
		mu.Unlock()
		<-ctx.Done()
		return ctx.Err()
	}
	c := &coalescer{send: down, timeout: 10 * time.Second}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	began := time.Now()
	err := c.deliver(ctx, "incident-k", []AlertEvent{firingEvent("x")})
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Less(t, time.Since(began), 2*time.Second, "answered at its own deadline")
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, deadlines, 1)
	require.LessOrEqual(t, deadlines[0], 200*time.Millisecond, "the send's deadline is the waiter's")
}
