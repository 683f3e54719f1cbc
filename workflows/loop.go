package workflows

import (
	"fmt"

	"go.temporal.io/sdk/workflow"
)

// loop is what the incident and the post-mortem share: a main loop woken by
// commands, a wake-up channel and one durable timer, with activities
// running beside it so a slow Slack or GitHub never holds up a command.
type loop struct {
	// wake lets update handlers and activity callbacks, which run beside
	// the main loop, tell it that state changed; it holds at most one
	// pending wake-up.
	wake     workflow.Channel
	timer    deadline
	commands []command
	// inFlight counts activities whose outcome the state still awaits; the
	// workflow neither ends nor continues as new under them, so none is lost.
	inFlight int
}

func (l *loop) init(ctx workflow.Context) { l.wake = workflow.NewBufferedChannel(ctx, 1) }

func (l *loop) wakeUp() { l.wake.SendAsync(struct{}{}) }

// beside runs an activity without holding up the main loop: done gets its
// outcome on a workflow coroutine, then the loop wakes.
func (l *loop) beside(ctx workflow.Context, opts workflow.ActivityOptions, activity, req, result any, done func(gctx workflow.Context, err error)) {
	f := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, opts), activity, req)
	l.inFlight++
	workflow.Go(ctx, func(gctx workflow.Context) {
		defer func() {
			l.inFlight--
			l.wakeUp()
		}()
		done(gctx, f.Get(gctx, result))
	})
}

// selector listens for every command, then whatever listen adds, then the
// wake-up and the timer. The order is the one replayed histories were
// recorded in: when several are ready, the first listed is taken.
func (l *loop) selector(ctx workflow.Context, listen func(workflow.Selector), fired func()) workflow.Selector {
	sel := workflow.NewSelector(ctx)
	for _, c := range l.commands {
		c := c
		sel.AddReceive(c.ch, func(workflow.ReceiveChannel, bool) { c.receive(ctx) })
	}
	if listen != nil {
		listen(sel)
	}
	sel.AddReceive(l.wake, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, nil) })
	if f := l.timer.future; f != nil {
		sel.AddFuture(f, func(workflow.Future) {
			l.timer.fired()
			fired()
		})
	}
	return sel
}

// drainCommands applies every queued command; it says whether there was one.
func (l *loop) drainCommands(ctx workflow.Context) bool {
	got := false
	for _, c := range l.commands {
		for c.receiveAsync(ctx) {
			got = true
		}
	}
	return got
}

// continueAsNewDue: nothing is in flight, and Temporal suggests a new run
// (history near its limits) or the configured event count is passed.
func (l *loop) continueAsNewDue(ctx workflow.Context, limit int) bool {
	if l.inFlight > 0 {
		return false
	}
	info := workflow.GetInfo(ctx)
	return info.GetContinueAsNewSuggested() || limit > 0 && info.GetCurrentHistoryLength() >= limit
}

// handOver ends this run for a new one: the timer stops, handlers finish
// and drain applies what is queued, so nothing sent to this run is lost;
// input (built after the drain) carries the state.
func (l *loop) handOver(ctx workflow.Context, drain func(), name string, input func() any) error {
	l.timer.stop()
	if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
		return fmt.Errorf("wait for handlers before continue-as-new: %w", err)
	}
	drain()
	return workflow.NewContinueAsNewError(ctx, name, input())
}
