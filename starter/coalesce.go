package starter

import (
	"context"
	"errors"
	"sync"
	"time"

	"go.temporal.io/api/serviceerror"

	"github.com/incidentflow/incidentflow/incident"
	"github.com/incidentflow/incidentflow/workflows"
)

// coalescer folds the alerts that arrive together for one incident into one
// signal. While a signal for an incident is on its way to Temporal, the
// alerts that come for it wait in the next batch, which goes as one signal
// as soon as the first is accepted (and no sooner than the gap after it,
// see gapLocked). A request is answered only once the signal carrying its
// alerts is accepted, so a 2xx still means durable; a storm on one key
// sends one signal per round trip to Temporal, however many alerts it has.
type coalescer struct {
	send   func(ctx context.Context, id string, first AlertEvent, batch workflows.AlertBatch, start bool) error
	minGap time.Duration
	// budget is the signals per second this intake sends to all incidents
	// together while many are busy: each busy incident gets its share, so
	// a storm over many keys does not bury the first workflow task of a
	// new incident (its first page) under signals to open ones. 0: none.
	budget int
	// timeout bounds one send, which serves every request in its batch, so
	// it does not hang on the request that happened to start it.
	timeout time.Duration

	mu    sync.Mutex
	lanes map[string]*coalesceLane
}

type coalesceLane struct {
	sending bool
	// queue holds full batches in order; next gathers what comes now.
	queue  []*pendingBatch
	next   *pendingBatch
	lastAt time.Time
}

// pendingBatch is the alerts that will go in one signal, and whoever waits
// for it.
type pendingBatch struct {
	first AlertEvent
	start bool // a firing alert in it: the incident may have to be started
	batch workflows.AlertBatch
	// last is the index in batch of each fingerprint's latest entry, so a
	// repeat of the same alert in the same status is counted, not added.
	last map[string]int
	// waiters are the requests whose alerts it carries. One that gives up
	// before the batch is taken leaves it: its sender was answered 503, and
	// an alert sent after that would be counted again when it retries.
	waiters []*batchWaiter
	// taken: the sender has it, and sends it whatever its waiters do now.
	taken bool
	done  chan struct{}
	err   error
}

// batchWaiter is one request's share of a batch.
type batchWaiter struct {
	events   []AlertEvent
	deadline time.Time // zero: none
	gone     bool
}

func (p *pendingBatch) full() bool { return len(p.batch.Alerts) >= workflows.MaxBatchAlerts }

func (p *pendingBatch) add(ev AlertEvent) {
	a := ev.Alert
	if i, ok := p.last[a.Fingerprint]; ok && p.batch.Alerts[i].Status == a.Status {
		e := &p.batch.Alerts[i]
		e.Count = max(e.Count, 1) + max(a.Count, 1)
		if a.Summary != "" {
			e.Summary = a.Summary
		}
		return
	}
	p.last[a.Fingerprint] = len(p.batch.Alerts)
	p.batch.Alerts = append(p.batch.Alerts, a)
	if a.Status != incident.AlertResolved {
		if !p.start {
			// The incident, if this batch starts it, is named after its
			// first firing alert.
			p.first = ev
		}
		p.start = true
	}
}

// live is the batch as its remaining waiters make it, in their order, and
// the earliest of their deadlines (zero: none). Call with c.mu held.
func (p *pendingBatch) live() (*pendingBatch, time.Time) {
	out := &pendingBatch{last: map[string]int{}}
	var deadline time.Time
	for _, w := range p.waiters {
		if w.gone || len(w.events) == 0 {
			continue
		}
		if len(out.batch.Alerts) == 0 {
			out.first = w.events[0]
		}
		for _, ev := range w.events {
			out.add(ev)
		}
		if !w.deadline.IsZero() && (deadline.IsZero() || w.deadline.Before(deadline)) {
			deadline = w.deadline
		}
	}
	return out, deadline
}

// deliver hands events for incident id to Temporal with whatever else is
// arriving for it, and returns once they are accepted (or could not be).
func (c *coalescer) deliver(ctx context.Context, id string, events []AlertEvent) error {
	var waits []*pendingBatch
	var mine []*batchWaiter // this request's share of each of waits
	deadline, _ := ctx.Deadline()
	c.mu.Lock()
	if c.lanes == nil {
		c.lanes = map[string]*coalesceLane{}
	}
	l := c.lanes[id]
	if l == nil {
		l = &coalesceLane{}
		c.lanes[id] = l
	}
	for _, ev := range events {
		if l.next == nil || l.next.full() {
			if l.next != nil {
				// A full batch goes as it is; its successor waits behind it.
				c.flushLocked(l)
			}
			l.next = &pendingBatch{first: ev, last: map[string]int{}, done: make(chan struct{})}
		}
		l.next.add(ev)
		if len(waits) == 0 || waits[len(waits)-1] != l.next {
			w := &batchWaiter{deadline: deadline}
			l.next.waiters = append(l.next.waiters, w)
			waits, mine = append(waits, l.next), append(mine, w)
		}
		w := mine[len(mine)-1]
		w.events = append(w.events, ev)
	}
	if !l.sending {
		l.sending = true
		go c.run(id, l)
	}
	c.mu.Unlock()
	for i, p := range waits {
		select {
		case <-p.done:
		case <-ctx.Done():
			c.mu.Lock()
			if !p.taken {
				// Batches go in order: the later ones are not taken either.
				for _, w := range mine[i:] {
					w.gone = true
				}
				c.mu.Unlock()
				return ctx.Err()
			}
			c.mu.Unlock()
			// Its send ends by this request's deadline (see run): the
			// answer must say whether Temporal took it, not guess.
			<-p.done
		}
		if p.err != nil {
			return p.err
		}
	}
	return nil
}

// gapLocked is the time between two signals to one incident: minGap, or,
// while other incidents are busy too, each one's share of the budget when
// that is longer. An incident storming alone is spaced only by its own
// sends (one at a time, each carrying all that arrived meanwhile): the
// budget keeps the workflow tasks of many open incidents from burying a
// new incident's first page, and one incident cannot bury it. Call with
// c.mu held.
func (c *coalescer) gapLocked() time.Duration {
	gap := c.minGap
	if c.budget > 0 {
		busy := 0
		for _, l := range c.lanes {
			if l.sending || time.Since(l.lastAt) < time.Second {
				busy++
			}
		}
		if busy > 1 {
			gap = max(gap, time.Duration(busy)*time.Second/time.Duration(c.budget))
		}
	}
	return min(gap, time.Second)
}

// sweepLocked forgets lanes idle for long: their gap has long passed.
// Call with c.mu held.
func (c *coalescer) sweepLocked() {
	if len(c.lanes) < 64 {
		return
	}
	for id, l := range c.lanes {
		if !l.sending && time.Since(l.lastAt) > 10*time.Second {
			delete(c.lanes, id)
		}
	}
}

// flushLocked queues a full batch behind the one being sent: the sender
// takes batches in order. Call with c.mu held.
func (c *coalescer) flushLocked(l *coalesceLane) {
	l.queue = append(l.queue, l.next)
	l.next = nil
}

// run sends the lane's batches one after another until none is left.
func (c *coalescer) run(id string, l *coalesceLane) {
	for {
		c.mu.Lock()
		if len(l.queue) == 0 && l.next == nil {
			// The lane stays, with when it last sent, so the next alert
			// for this incident keeps the gap; idle lanes are swept.
			l.sending = false
			c.sweepLocked()
			c.mu.Unlock()
			return
		}
		// No batch goes sooner than the gap after the last, so while many
		// incidents storm each gathers its share; the first goes at once.
		if wait := c.gapLocked() - time.Since(l.lastAt); wait > 0 && len(l.queue) == 0 {
			c.mu.Unlock()
			time.Sleep(wait)
			continue
		}
		var p *pendingBatch
		if len(l.queue) > 0 {
			p, l.queue = l.queue[0], l.queue[1:]
		} else {
			p, l.next = l.next, nil
		}
		p.taken = true
		send, deadline := p.live()
		c.mu.Unlock()
		if len(send.batch.Alerts) == 0 {
			// Every waiter gave up (and was answered 503) before it went.
			close(p.done)
			continue
		}
		// No later than its first waiter's deadline, so no request is
		// answered 503 for an alert that Temporal then takes.
		if limit := time.Now().Add(c.timeout); deadline.IsZero() || deadline.After(limit) {
			deadline = limit
		}
		ctx, cancel := context.WithDeadline(context.Background(), deadline)
		p.err = c.send(ctx, id, send.first, send.batch, send.start)
		cancel()
		c.mu.Lock()
		l.lastAt = time.Now()
		c.mu.Unlock()
		close(p.done)
	}
}

// isNotFound: a resolved-only batch for an incident that is not running
// informs nothing, and is not the sender's error.
func isNotFound(err error) bool {
	var nf *serviceerror.NotFound
	return errors.As(err, &nf)
}
