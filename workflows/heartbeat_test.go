package workflows_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/incidentflow/incidentflow/activities"
	"github.com/incidentflow/incidentflow/incident"
	"github.com/incidentflow/incidentflow/workflows"
)

// heartbeatEnv runs a monitor against a recording stand-in for the alert
// path; raised holds every alert it was handed, in order, with the time.
type heartbeatEnv struct {
	*testsuite.TestWorkflowEnvironment
	t      *testing.T
	acts   *activities.Activities
	mu     sync.Mutex
	raised []raisedAt
}

type raisedAt struct {
	incident.RaisedAlert
	at time.Time
}

func newHeartbeatEnv(t *testing.T) *heartbeatEnv {
	var suite testsuite.WorkflowTestSuite
	h := &heartbeatEnv{TestWorkflowEnvironment: suite.NewTestWorkflowEnvironment(), t: t, acts: &activities.Activities{}}
	h.RegisterWorkflowWithOptions(workflows.HeartbeatWorkflow, workflow.RegisterOptions{Name: workflows.HeartbeatWorkflowName})
	h.RegisterActivity(h.acts)
	return h
}

// expectAlerts lets the alert activity succeed and records each call.
func (h *heartbeatEnv) expectAlerts() {
	h.OnActivity(h.acts.RaiseAlert, mock.Anything, mock.Anything).Return(func(_ context.Context, al incident.RaisedAlert) error {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.raised = append(h.raised, raisedAt{RaisedAlert: al, at: h.Now()})
		return nil
	})
}

func (h *heartbeatEnv) alerts() []raisedAt {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]raisedAt(nil), h.raised...)
}

func (h *heartbeatEnv) ping() {
	h.SignalWorkflow(workflows.SignalHeartbeatPing, incident.HeartbeatPing{At: h.Now(), Source: "test"})
}

func (h *heartbeatEnv) view() incident.HeartbeatView {
	h.t.Helper()
	v, err := h.QueryWorkflow(incident.QueryHeartbeat)
	require.NoError(h.t, err)
	var out incident.HeartbeatView
	require.NoError(h.t, v.Get(&out))
	return out
}

func hourly(enabled bool) incident.HeartbeatConfig {
	return incident.HeartbeatConfig{Interval: incident.Duration(time.Hour), Grace: incident.Duration(10 * time.Minute),
		Service: "checkout", Severity: "P3", Enabled: enabled}
}

// A job that stops pinging is missed once at last ping + interval + grace
// (one alert, however long it stays silent); its next ping resolves it.
func TestHeartbeatMissRaisesOnceAndPingResolves(t *testing.T) {
	h := newHeartbeatEnv(t)
	h.expectAlerts()
	start := h.Now()
	var lastPing time.Time
	var beforeMiss, afterMiss, afterResume incident.HeartbeatView
	h.RegisterDelayedCallback(func() { lastPing = h.Now(); h.ping() }, 30*time.Minute)
	h.RegisterDelayedCallback(func() { beforeMiss = h.view() }, 100*time.Minute-time.Second)
	h.RegisterDelayedCallback(func() { afterMiss = h.view() }, 101*time.Minute)
	h.RegisterDelayedCallback(h.ping, 5*time.Hour)
	h.RegisterDelayedCallback(func() { afterResume = h.view() }, 5*time.Hour+time.Minute)
	h.RegisterDelayedCallback(h.CancelWorkflow, 6*time.Hour)
	h.ExecuteWorkflow(workflows.HeartbeatWorkflowName, workflows.HeartbeatInput{Name: "nightly-backup", Config: hourly(true)})

	require.Equal(t, incident.HeartbeatUp, beforeMiss.State)
	require.Equal(t, lastPing.Add(70*time.Minute).UTC(), beforeMiss.NextDue.UTC())
	require.Equal(t, lastPing.Add(time.Hour).UTC(), beforeMiss.ExpectedBy.UTC())
	require.Equal(t, incident.HeartbeatDown, afterMiss.State)
	require.Nil(t, afterMiss.NextDue, "a down monitor waits for the ping without a deadline")

	got := h.alerts()
	require.Len(t, got, 2, "one firing alert for the miss, one resolved for the ping: %+v", got)
	fire, res := got[0], got[1]
	require.Equal(t, incident.AlertFiring, fire.Status)
	require.Equal(t, start.Add(100*time.Minute).UTC(), fire.at.UTC(), "missed at last ping + interval + grace")
	require.Equal(t, "heartbeat-nightly-backup", fire.Key)
	require.Equal(t, fire.Key, fire.Fingerprint)
	require.Equal(t, "checkout", fire.Service)
	require.Equal(t, "P3", fire.Severity)
	require.Equal(t, "heartbeat:nightly-backup", fire.Source)
	require.Equal(t, "heartbeat nightly-backup missed: no ping since "+lastPing.UTC().Format(time.RFC3339), fire.Title)
	require.Equal(t, incident.AlertResolved, res.Status)
	require.Equal(t, fire.Key, res.Key)
	require.Equal(t, fire.Fingerprint, res.Fingerprint, "the resolution names the alert the miss fired")
	require.Equal(t, start.Add(5*time.Hour).UTC(), res.at.UTC())

	require.Equal(t, incident.HeartbeatUp, afterResume.State)
	require.EqualValues(t, 2, afterResume.Pings)
	require.EqualValues(t, 1, afterResume.Misses)
}

// A job that never runs is noticed too: the deadline counts from when
// watching began.
func TestHeartbeatNeverPingedIsMissed(t *testing.T) {
	h := newHeartbeatEnv(t)
	h.expectAlerts()
	start := h.Now()
	var waiting incident.HeartbeatView
	h.RegisterDelayedCallback(func() { waiting = h.view() }, time.Minute)
	h.RegisterDelayedCallback(h.CancelWorkflow, 3*time.Hour)
	h.ExecuteWorkflow(workflows.HeartbeatWorkflowName, workflows.HeartbeatInput{Name: "etl", Config: hourly(true)})

	require.Equal(t, incident.HeartbeatWaiting, waiting.State)
	require.Nil(t, waiting.LastPing)
	got := h.alerts()
	require.Len(t, got, 1)
	require.Equal(t, start.Add(70*time.Minute).UTC(), got[0].at.UTC())
	require.Contains(t, got[0].Title, "heartbeat etl missed: no ping since monitoring began at ")
}

// A disabled monitor records pings and never alerts, however long it is
// silent.
func TestHeartbeatDisabledNeverAlerts(t *testing.T) {
	h := newHeartbeatEnv(t)
	h.OnActivity(h.acts.RaiseAlert, mock.Anything, mock.Anything).Return(nil).Never()
	var v incident.HeartbeatView
	h.RegisterDelayedCallback(h.ping, time.Minute)
	h.RegisterDelayedCallback(func() { v = h.view() }, 2*time.Minute)
	h.RegisterDelayedCallback(h.CancelWorkflow, 48*time.Hour)
	h.ExecuteWorkflow(workflows.HeartbeatWorkflowName, workflows.HeartbeatInput{Name: "paused", Config: hourly(false)})

	h.AssertExpectations(t)
	require.Equal(t, incident.HeartbeatDisabled, v.State)
	require.EqualValues(t, 1, v.Pings)
	require.NotNil(t, v.LastPing, "pings are recorded while disabled")
	require.Nil(t, v.NextDue)
}

// A changed config takes effect on the running monitor: a longer interval
// moves the deadline later (the earlier timer fires and is set again), a
// shorter one brings it forward; switching off and on again starts the
// wait afresh.
func TestHeartbeatConfigChangeTakesEffect(t *testing.T) {
	h := newHeartbeatEnv(t)
	h.expectAlerts()
	start := h.Now()
	configure := func(c incident.HeartbeatConfig) func() {
		return func() { h.SignalWorkflow(workflows.SignalHeartbeatConfigure, c) }
	}
	longer := hourly(true)
	longer.Interval, longer.Grace = incident.Duration(3*time.Hour), 0
	shorter := longer
	shorter.Interval = incident.Duration(30 * time.Minute)
	off := shorter
	off.Enabled = false

	var afterLonger, afterOff incident.HeartbeatView
	// Hourly (+10m) would miss at 1h10m; three hours from the start instead.
	h.RegisterDelayedCallback(configure(longer), 30*time.Minute)
	h.RegisterDelayedCallback(func() { afterLonger = h.view() }, 2*time.Hour)
	// Pinged at 3h30m (after the 3h miss), then 30 minutes: missed at 4h.
	h.RegisterDelayedCallback(h.ping, 3*time.Hour+30*time.Minute)
	h.RegisterDelayedCallback(configure(shorter), 3*time.Hour+35*time.Minute)
	// Pinged at 4h30m, off at 4h45m (before the 5h deadline), on again at
	// 10h: due 30 minutes after it is back on, not at once for a ping
	// long ago.
	h.RegisterDelayedCallback(h.ping, 4*time.Hour+30*time.Minute)
	h.RegisterDelayedCallback(configure(off), 4*time.Hour+45*time.Minute)
	h.RegisterDelayedCallback(func() { afterOff = h.view() }, 6*time.Hour)
	h.RegisterDelayedCallback(configure(shorter), 10*time.Hour)
	h.RegisterDelayedCallback(h.CancelWorkflow, 11*time.Hour)
	h.ExecuteWorkflow(workflows.HeartbeatWorkflowName, workflows.HeartbeatInput{Name: "sync", Config: hourly(true)})

	require.Equal(t, incident.HeartbeatWaiting, afterLonger.State, "not missed at 1h10m: the interval is 3h now")
	require.Equal(t, incident.Duration(3*time.Hour), afterLonger.Interval)
	require.Equal(t, incident.HeartbeatDisabled, afterOff.State)
	var times []time.Duration
	var statuses []string
	for _, al := range h.alerts() {
		times = append(times, al.at.Sub(start))
		statuses = append(statuses, al.Status)
	}
	require.Equal(t, []string{"firing", "resolved", "firing", "resolved", "firing"}, statuses, "%v", times)
	require.Equal(t, []time.Duration{3 * time.Hour, 3*time.Hour + 30*time.Minute, 4 * time.Hour}, times[:3])
	// Nothing is raised while off, nor until 30 minutes after it is back.
	require.Equal(t, []time.Duration{4*time.Hour + 30*time.Minute, 10*time.Hour + 30*time.Minute}, times[3:], "%v", times)
}

// Continue-as-new hands on the whole monitor, and pings delivered with
// the run's last are not lost; the next run settles what is owed.
func TestHeartbeatContinueAsNewCarriesState(t *testing.T) {
	h := newHeartbeatEnv(t)
	h.expectAlerts()
	// Missed at 1h10m, then 500 pings: the first resolves, the run hands over.
	h.RegisterDelayedCallback(func() {
		for range 500 {
			h.ping()
		}
	}, 2*time.Hour)
	h.ExecuteWorkflow(workflows.HeartbeatWorkflowName, workflows.HeartbeatInput{Name: "stream", Config: hourly(true)})

	var can *workflow.ContinueAsNewError
	require.ErrorAs(t, h.GetWorkflowError(), &can)
	require.Equal(t, workflows.HeartbeatWorkflowName, can.WorkflowType.Name)
	var next workflows.HeartbeatInput
	require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(can.Input, &next))
	require.Equal(t, "stream", next.Name)
	require.Equal(t, hourly(true), next.Config)
	require.NotNil(t, next.Resume)
	require.Equal(t, incident.HeartbeatUp, next.Resume.State)
	require.EqualValues(t, 500, next.Resume.Pings)
	require.EqualValues(t, 1, next.Resume.Misses)
	require.NotNil(t, next.Resume.LastPing)
	require.Len(t, h.alerts(), 2, "the miss and its resolution, before the hand-over")
	require.False(t, next.Resume.Raised)

	// A run handed a raised miss that a ping recovered from resolves it
	// before anything else, and keeps counting from the carried state.
	h2 := newHeartbeatEnv(t)
	h2.expectAlerts()
	var v incident.HeartbeatView
	h2.RegisterDelayedCallback(func() { v = h2.view() }, time.Minute)
	h2.RegisterDelayedCallback(h2.CancelWorkflow, 10*time.Minute)
	last := h2.Now().Add(-time.Minute)
	h2.ExecuteWorkflow(workflows.HeartbeatWorkflowName, workflows.HeartbeatInput{Name: "stream", Config: hourly(true),
		Resume: &workflows.HeartbeatResume{State: incident.HeartbeatUp, LastPing: &last, WatchFrom: last.Add(-time.Hour),
			Pings: 500, Misses: 1, Raised: true, Recovered: true}})
	got := h2.alerts()
	require.Len(t, got, 1)
	require.Equal(t, incident.AlertResolved, got[0].Status)
	require.Equal(t, h2.Now().Add(-10*time.Minute).Unix(), got[0].at.Unix(), "settled at the start of the run")
	require.EqualValues(t, 500, v.Pings)
	require.Equal(t, incident.HeartbeatUp, v.State)
}

// The API's change is an Update: it answers the view it leads to, refuses
// nonsense by name, and a shorter interval wakes the waiting monitor, so
// the miss comes at the new deadline and not at the old timer's.
func TestHeartbeatUpdateAnswersAndRearms(t *testing.T) {
	h := newHeartbeatEnv(t)
	h.expectAlerts()
	update := func(id string, cfg incident.HeartbeatConfig, check func(incident.HeartbeatView, error)) func() {
		return func() {
			h.UpdateWorkflow(workflows.UpdateHeartbeatConfigure, id, &testsuite.TestUpdateCallback{
				OnReject: func(err error) { check(incident.HeartbeatView{}, err) },
				OnAccept: func() {},
				OnComplete: func(v any, err error) {
					var view incident.HeartbeatView
					if err == nil {
						view = v.(incident.HeartbeatView)
					}
					check(view, err)
				},
			}, cfg)
		}
	}
	var rejected error
	var answered incident.HeartbeatView
	bad := hourly(true)
	bad.Interval = incident.Duration(time.Millisecond)
	short := hourly(true)
	short.Interval, short.Grace = incident.Duration(10*time.Minute), incident.Duration(time.Minute)
	h.RegisterDelayedCallback(h.ping, time.Minute)
	h.RegisterDelayedCallback(update("bad", bad, func(_ incident.HeartbeatView, err error) { rejected = err }), 2*time.Minute)
	h.RegisterDelayedCallback(update("short", short, func(v incident.HeartbeatView, err error) {
		require.NoError(t, err)
		answered = v
	}), 3*time.Minute)
	h.RegisterDelayedCallback(h.CancelWorkflow, 2*time.Hour)
	start := h.Now()
	h.ExecuteWorkflow(workflows.HeartbeatWorkflowName, workflows.HeartbeatInput{Name: "etl", Config: hourly(true)})

	require.ErrorContains(t, rejected, "interval: 1ms must be from 1s")
	require.Equal(t, incident.Duration(10*time.Minute), answered.Interval)
	require.NotNil(t, answered.NextDue)
	require.Equal(t, start.Add(12*time.Minute).UTC(), answered.NextDue.UTC(), "due 10m after the ping at 1m, plus 1m grace")
	got := h.alerts()
	require.Len(t, got, 1, "one miss")
	require.Equal(t, start.Add(12*time.Minute).UTC(), got[0].at.UTC(), "missed at the new deadline, not the hourly one")
}
