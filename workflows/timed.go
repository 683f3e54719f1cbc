package workflows

import (
	"slices"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/incidentflow/incidentflow/incident"
)

// timed is what a timed list holds: entries found by ID that stop
// mattering when they end (a schedule's overrides, maintenance windows).
type timed interface {
	EntryID() string
	Ends() time.Time
}

// timedList is the state of a long-running workflow that keeps entries
// until each ends: it drops them on a durable timer, counts changes, and
// says when to continue as new.
type timedList[T timed] struct {
	items   []T
	updates int
	changed bool
}

// perRun bounds one run's history: the workflow continues as new well
// before Temporal's limits.
const timedUpdatesPerRun = 500

func (l *timedList[T]) current(now time.Time) []T {
	out := []T{}
	for _, it := range l.items {
		if it.Ends().After(now) {
			out = append(out, it)
		}
	}
	return out
}

func (l *timedList[T]) find(id string) int {
	return slices.IndexFunc(l.items, func(it T) bool { return it.EntryID() == id })
}

func (l *timedList[T]) add(it T) {
	l.items = append(l.items, it)
	l.updates++
	l.changed = true
}

func (l *timedList[T]) remove(i int) T {
	it := l.items[i]
	l.items = slices.Delete(l.items, i, i+1)
	l.updates++
	l.changed = true
	return it
}

func (l *timedList[T]) nextEnd() (time.Time, bool) {
	var next time.Time
	for _, it := range l.items {
		if next.IsZero() || it.Ends().Before(next) {
			next = it.Ends()
		}
	}
	return next, !next.IsZero()
}

// run drops each entry when it ends, so the state holds only what can
// still matter, until the run should continue as new; it returns then,
// with handlers drained and the list pruned, for the caller to hand over.
func (l *timedList[T]) run(ctx workflow.Context, what string) error {
	for {
		l.items = l.current(workflow.Now(ctx))
		l.changed = false
		more := func() bool { return l.changed || l.updates >= timedUpdatesPerRun }
		if next, ok := l.nextEnd(); ok {
			if _, err := workflow.AwaitWithOptions(ctx, workflow.AwaitOptions{
				Timeout:      next.Sub(workflow.Now(ctx)),
				TimerOptions: workflow.TimerOptions{Summary: "next " + what + " ends at " + next.UTC().Format(time.RFC3339)},
			}, more); err != nil {
				return err
			}
		} else if err := workflow.Await(ctx, more); err != nil {
			return err
		}
		if l.updates >= timedUpdatesPerRun || workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
			if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
				return err
			}
			l.items = l.current(workflow.Now(ctx))
			return nil
		}
	}
}

// checkSpan refuses an entry's times that cannot hold: missing, ending
// before they start, already over, or longer than longest (named what).
func checkSpan(now, start, end time.Time, longest time.Duration, what string) error {
	switch {
	case start.IsZero() || end.IsZero():
		return fieldError("start", "start and end are both required")
	case !end.After(start):
		return fieldError("end", "must be after start")
	case !end.After(now):
		return fieldError("end", "has already passed")
	case end.Sub(start) > longest:
		return fieldError("end", "%s lasts at most %s", what, incident.Duration(longest))
	}
	return nil
}
