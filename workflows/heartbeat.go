package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/incidentflow/incidentflow/incident"
)

// A heartbeat monitor is a dead-man's switch: one workflow per configured
// monitor, so "no ping since 02:00" is a durable timer rather than a cron
// of our own, and survives restarts and deploys.
const (
	HeartbeatWorkflowName = "HeartbeatWorkflow"
	// SignalHeartbeatPing carries an incident.HeartbeatPing. Pings are
	// signals: a job may ping every minute, and a signal costs the history
	// one event where an Update costs two or more.
	SignalHeartbeatPing = "heartbeat-ping"
	// SignalHeartbeatConfigure carries the incident.HeartbeatConfig the
	// monitor should run with (sent at every intake start-up).
	SignalHeartbeatConfigure = "heartbeat-configure"
	// UpdateHeartbeatConfigure changes a monitor made over the API and
	// answers the incident.HeartbeatView it leads to: unlike the intake's
	// start-up signal, a person changing a monitor wants to see the result.
	UpdateHeartbeatConfigure = "heartbeat-change"
	// heartbeatPingsPerRun bounds one run's history (about four events a
	// ping): it continues as new well before Temporal suggests it.
	heartbeatPingsPerRun = 500
	// pingClockSlack is how far the intake's receipt time of a ping may
	// trail the workflow's clock and still be kept as the ping's time;
	// anything else (a skewed clock, a ping held up for long) is stamped
	// with the workflow's own time.
	pingClockSlack = time.Minute
)

// HeartbeatInput starts (or continues) a monitor.
type HeartbeatInput struct {
	Name   string                   `json:"name"`
	Config incident.HeartbeatConfig `json:"config"`
	// Resume carries the monitor across continue-as-new.
	Resume *HeartbeatResume `json:"resume,omitempty"`
}

// HeartbeatResume is a monitor's state, as continue-as-new hands it on.
type HeartbeatResume struct {
	State    incident.HeartbeatState `json:"state"`
	LastPing *time.Time              `json:"last_ping,omitempty"`
	// WatchFrom is when watching (re)started: monitor start, or being
	// enabled again. A job that has not pinged since is due from then, so
	// one that never runs is missed too.
	WatchFrom time.Time  `json:"watch_from"`
	MissedAt  *time.Time `json:"missed_at,omitempty"`
	Pings     int64      `json:"pings"`
	Misses    int64      `json:"misses"`
	// Raised: the miss's firing alert has been handed to its incident and
	// not yet resolved. Recovered: a ping came since that miss, so the
	// resolved alert is owed.
	Raised    bool `json:"raised,omitempty"`
	Recovered bool `json:"recovered,omitempty"`
}

type heartbeatWorkflow struct {
	name  string
	cfg   incident.HeartbeatConfig
	st    HeartbeatResume
	pings int // this run's, for continue-as-new
	timer *dueTimer
	// reconfigured wakes the loop after an Update changed the config, so
	// the deadline is re-armed at once.
	reconfigured workflow.Channel
}

// dueTimer is the pending deadline timer. It is kept across pings: a ping
// moves the deadline later, and the timer, on firing early, is simply set
// again for the new deadline. So a job pinging every minute against an
// hourly interval costs one timer an hour, not a cancel and a new timer
// per ping.
type dueTimer struct {
	fut    workflow.Future
	cancel workflow.CancelFunc
	due    time.Time
}

// HeartbeatWorkflow watches one monitor: it waits for pings, and when none
// comes by the deadline raises a firing alert on the monitor's service
// through the intake's alert path; the next ping resolves it.
func HeartbeatWorkflow(ctx workflow.Context, in HeartbeatInput) error {
	w := &heartbeatWorkflow{name: in.Name, cfg: in.Config, reconfigured: workflow.NewBufferedChannel(ctx, 1)}
	if in.Resume != nil {
		w.st = *in.Resume
	} else {
		w.st = HeartbeatResume{State: incident.HeartbeatWaiting, WatchFrom: workflow.Now(ctx).UTC()}
		if !w.cfg.Enabled {
			w.st.State = incident.HeartbeatDisabled
		}
	}
	if err := workflow.SetQueryHandler(ctx, incident.QueryHeartbeat, func() (incident.HeartbeatView, error) {
		return w.view(), nil
	}); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateHeartbeatConfigure,
		func(ctx workflow.Context, cfg incident.HeartbeatConfig) (incident.HeartbeatView, error) {
			w.configure(workflow.Now(ctx), cfg)
			w.reconfigured.SendAsync(struct{}{})
			return w.view(), nil
		},
		workflow.UpdateHandlerOptions{Validator: func(cfg incident.HeartbeatConfig) error { return cfg.Check() }},
	); err != nil {
		return err
	}
	return w.run(ctx)
}

func (w *heartbeatWorkflow) run(ctx workflow.Context) error {
	pingCh := workflow.GetSignalChannel(ctx, SignalHeartbeatPing)
	cfgCh := workflow.GetSignalChannel(ctx, SignalHeartbeatConfigure)
	for {
		if err := ctx.Err(); err != nil {
			// Cancelled: the monitor was removed from the config.
			return err
		}
		if err := w.settleAlert(ctx); err != nil {
			return err
		}
		if w.pings >= heartbeatPingsPerRun || workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
			// Take every ping and change already delivered, so none is
			// lost with this run; what they owe (a resolved alert) is
			// carried in Resume and settled first thing in the next run.
			w.drain(ctx, pingCh, cfgCh)
			st := w.st
			return workflow.NewContinueAsNewError(ctx, HeartbeatWorkflowName, HeartbeatInput{Name: w.name, Config: w.cfg, Resume: &st})
		}
		now := workflow.Now(ctx)
		if w.watching() && !now.Before(w.due()) {
			w.miss(now)
			continue
		}
		w.arm(ctx)

		sel := workflow.NewSelector(ctx)
		sel.AddReceive(pingCh, func(c workflow.ReceiveChannel, _ bool) {
			var p incident.HeartbeatPing
			c.Receive(ctx, &p)
			w.ping(workflow.Now(ctx), p)
		})
		sel.AddReceive(cfgCh, func(c workflow.ReceiveChannel, _ bool) {
			var cfg incident.HeartbeatConfig
			c.Receive(ctx, &cfg)
			w.configure(workflow.Now(ctx), cfg)
		})
		sel.AddReceive(w.reconfigured, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, nil) })
		// Cancellation must end a wait with no timer (disabled, or down).
		sel.AddReceive(ctx.Done(), func(workflow.ReceiveChannel, bool) {})
		if t := w.timer; t != nil {
			sel.AddFuture(t.fut, func(workflow.Future) {
				if w.timer == t {
					w.timer = nil
				}
			})
		}
		sel.Select(ctx)
	}
}

func (w *heartbeatWorkflow) drain(ctx workflow.Context, pingCh, cfgCh workflow.ReceiveChannel) {
	for {
		var p incident.HeartbeatPing
		var cfg incident.HeartbeatConfig
		switch {
		case pingCh.ReceiveAsync(&p):
			w.ping(workflow.Now(ctx), p)
		case cfgCh.ReceiveAsync(&cfg):
			w.configure(workflow.Now(ctx), cfg)
		default:
			return
		}
	}
}

// watching: the monitor is enabled and waiting for a ping that is not yet
// missed. Down monitors wait for the next ping without a deadline: one
// miss is one alert, not one per interval.
func (w *heartbeatWorkflow) watching() bool {
	return w.cfg.Enabled && (w.st.State == incident.HeartbeatWaiting || w.st.State == incident.HeartbeatUp)
}

// expected is when the next ping should come: an interval after the last
// ping, or after watching began if none came since.
func (w *heartbeatWorkflow) expected() time.Time {
	from := w.st.WatchFrom
	if w.st.LastPing != nil && w.st.LastPing.After(from) {
		from = *w.st.LastPing
	}
	return from.Add(time.Duration(w.cfg.Interval))
}

// due is the deadline: the expected ping plus the grace.
func (w *heartbeatWorkflow) due() time.Time { return w.expected().Add(time.Duration(w.cfg.Grace)) }

// arm makes sure a timer fires at or before the deadline, and that none
// runs when nothing is watched.
func (w *heartbeatWorkflow) arm(ctx workflow.Context) {
	if !w.watching() {
		w.disarm()
		return
	}
	due := w.due()
	if w.timer != nil && !w.timer.due.After(due) {
		// It fires in time; if a ping moved the deadline, it is set again then.
		return
	}
	w.disarm()
	tctx, cancel := workflow.WithCancel(ctx)
	fut := workflow.NewTimerWithOptions(tctx, due.Sub(workflow.Now(ctx)), workflow.TimerOptions{
		Summary: fmt.Sprintf("heartbeat %s due by %s", w.name, due.UTC().Format(time.RFC3339)),
	})
	w.timer = &dueTimer{fut: fut, cancel: cancel, due: due}
}

func (w *heartbeatWorkflow) disarm() {
	if w.timer != nil {
		w.timer.cancel()
		w.timer = nil
	}
}

func (w *heartbeatWorkflow) ping(now time.Time, p incident.HeartbeatPing) {
	at := now.UTC()
	if !p.At.IsZero() && !p.At.After(now) && now.Sub(p.At) <= pingClockSlack {
		at = p.At.UTC()
	}
	// Pings may arrive out of order; the last ping is the latest one.
	if w.st.LastPing == nil || at.After(*w.st.LastPing) {
		w.st.LastPing = &at
	}
	w.st.Pings++
	w.pings++
	if w.st.Raised {
		w.st.Recovered = true
	}
	w.st.MissedAt = nil
	if w.cfg.Enabled {
		w.st.State = incident.HeartbeatUp
	} else {
		w.st.State = incident.HeartbeatDisabled
	}
}

// configure takes the config the intake runs with. A changed interval or
// grace moves the deadline at once (arm sets a sooner timer when needed).
// Disabling stops watching but leaves a raised miss to the next ping:
// turning a monitor off is not the job coming back.
func (w *heartbeatWorkflow) configure(now time.Time, cfg incident.HeartbeatConfig) {
	if cfg == w.cfg {
		return
	}
	wasOn := w.cfg.Enabled
	w.cfg = cfg
	switch {
	case !cfg.Enabled:
		w.st.State = incident.HeartbeatDisabled
	case !wasOn:
		// Back on: due an interval from now, not from a ping long ago,
		// which would be missed the moment it is switched on.
		w.st.WatchFrom = now.UTC()
		w.st.State = incident.HeartbeatUp
		if w.st.LastPing == nil {
			w.st.State = incident.HeartbeatWaiting
		}
	}
}

func (w *heartbeatWorkflow) miss(now time.Time) {
	at := now.UTC()
	w.st.State = incident.HeartbeatDown
	w.st.MissedAt = &at
	w.st.Misses++
	w.st.Recovered = false
}

// settleAlert brings the incident in line with the monitor: a miss not yet
// raised is raised; a raised miss the job has since recovered from is
// resolved. It runs before anything else is taken, so a firing alert
// always reaches the incident before its resolution.
func (w *heartbeatWorkflow) settleAlert(ctx workflow.Context) error {
	switch {
	case w.st.State == incident.HeartbeatDown && !w.st.Raised:
		since := "monitoring began at " + w.st.WatchFrom.Format(time.RFC3339)
		if w.st.LastPing != nil {
			since = w.st.LastPing.Format(time.RFC3339)
		}
		title := fmt.Sprintf("heartbeat %s missed: no ping since %s", w.name, since)
		if err := w.raise(ctx, incident.AlertFiring, title); err != nil {
			return err
		}
		w.st.Raised = true
	case w.st.Raised && w.st.Recovered:
		title := fmt.Sprintf("heartbeat %s is back: pinged at %s", w.name, w.st.LastPing.Format(time.RFC3339))
		if err := w.raise(ctx, incident.AlertResolved, title); err != nil {
			return err
		}
		w.st.Raised, w.st.Recovered = false, false
	}
	return nil
}

// raise hands the alert to the intake's path and waits until the incident
// has it. It retries without end: a miss nobody hears of is the one thing
// a dead-man's switch must not do.
func (w *heartbeatWorkflow) raise(ctx workflow.Context, status, title string) error {
	key := incident.HeartbeatKey(w.name)
	al := incident.RaisedAlert{
		Key: key, Title: title, Service: w.cfg.Service, Severity: w.cfg.Severity,
		Source: incident.Cut("heartbeat:"+w.name, incident.MaxName),
		// One fingerprint for every miss of this monitor: a retried
		// activity, or a second miss while the incident is open, is the
		// same alert again, never a second page.
		Fingerprint: key, Status: status, Summary: title,
		Labels: map[string]string{
			"heartbeat": w.name, "interval": w.cfg.Interval.String(), "grace": w.cfg.Grace.String(),
		},
	}
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		Summary:             fmt.Sprintf("%s alert of heartbeat %s", status, w.name),
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute,
		},
	})
	return workflow.ExecuteActivity(actx, a.RaiseAlert, al).Get(ctx, nil)
}

func (w *heartbeatWorkflow) view() incident.HeartbeatView {
	v := incident.HeartbeatView{
		Name: w.name, State: w.st.State, LastPing: w.st.LastPing, WatchingSince: w.st.WatchFrom, MissedAt: w.st.MissedAt,
		Interval: w.cfg.Interval, Grace: w.cfg.Grace, Service: w.cfg.Service, Severity: w.cfg.Severity, Enabled: w.cfg.Enabled,
		Pings: w.st.Pings, Misses: w.st.Misses, Incident: incident.HeartbeatKey(w.name),
	}
	if w.watching() {
		expected, due := w.expected(), w.due()
		v.ExpectedBy, v.NextDue = &expected, &due
	}
	return v
}
