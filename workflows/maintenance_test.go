package workflows_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"github.com/incidentflow/incidentflow/config"
	"github.com/incidentflow/incidentflow/incident"
	"github.com/incidentflow/incidentflow/workflows"
)

// An incident that opens inside a window pages nobody while it holds: the
// alerts are recorded, and the first page goes out when the window ends,
// because it still fires.
func (s *incidentSuite) TestMaintenanceHoldsTheFirstPageUntilTheWindowEnds() {
	start := s.env.Now()
	s.acts.Config.Maintenance = []config.MaintenanceWindow{{
		Service: "checkout", Start: start.Add(-time.Hour).Format(time.RFC3339), End: start.Add(40 * time.Minute).Format(time.RFC3339), Reason: "db upgrade",
	}}
	s.recordPages()
	var held workflows.Incident
	s.at(10*time.Minute, func() {
		s.signal(workflows.SignalAlert, workflows.AlertSignal{Fingerprint: "a", Status: incident.AlertFiring, Source: "am"})
	})
	s.at(20*time.Minute, func() { held = s.state() })
	s.resolveAt(50 * time.Minute)
	s.env.ExecuteWorkflow(workflows.IncidentWorkflow, s.input())
	s.result()
	s.Require().NotNil(held.Maintenance, "the view says paging is held")
	s.Equal("db upgrade", held.Maintenance.Reason)
	s.Nil(held.Escalation.NextPageAt)
	s.Equal(1, held.AlertCount, "alerts inside the window are recorded")
	s.Require().NotEmpty(s.pages)
	// The config's times are whole seconds.
	s.InDelta(float64(40*time.Minute), float64(s.pages[0].at), float64(time.Second), "the first page goes out when the window ends")
}

// A window removed early (the run-time windows no longer hold the service)
// releases the incident at the next check, within five minutes.
func (s *incidentSuite) TestMaintenanceRemovedEarlyReleasesAtTheNextCheck() {
	var asked atomic.Int32
	s.env.OnActivity(s.acts.MaintenanceFor, mock.Anything, mock.Anything).Return(
		func(context.Context, incident.MaintenanceRequest) (incident.MaintenanceHold, error) {
			if asked.Add(1) == 1 {
				return incident.MaintenanceHold{Until: s.env.Now().Add(2 * time.Hour), Reason: "network work"}, nil
			}
			return incident.MaintenanceHold{}, nil // removed
		})
	s.recordPages()
	s.resolveAt(30 * time.Minute)
	s.env.ExecuteWorkflow(workflows.IncidentWorkflow, s.input())
	st := s.result()
	s.Require().NotEmpty(s.pages)
	s.Equal(5*time.Minute, s.pages[0].at.Round(time.Second))
	var kinds []workflows.Kind
	for _, e := range st.Timeline {
		kinds = append(kinds, e.Kind)
	}
	s.Contains(kinds, workflows.KindMaintenance)
}

// Outside any window nothing changes: the first page goes at once.
func (s *incidentSuite) TestNoMaintenanceNoHold() {
	s.recordPages()
	s.resolveAt(time.Minute)
	s.env.ExecuteWorkflow(workflows.IncidentWorkflow, s.input())
	st := s.result()
	s.Nil(st.Maintenance)
	s.Require().NotEmpty(s.pages)
	s.Zero(s.pages[0].at)
}

func TestMaintenanceWindowsWorkflow(t *testing.T) {
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.RegisterWorkflow(workflows.MaintenanceWorkflow)
	var added incident.MaintenanceWindow
	var bad, removed error
	var listed []incident.MaintenanceWindow
	env.RegisterDelayedCallback(func() {
		now := env.Now()
		env.UpdateWorkflow(workflows.UpdateAddMaintenance, "", &testsuite.TestUpdateCallback{
			OnAccept: func() {}, OnReject: func(err error) { t.Fatal(err) },
			OnComplete: func(v any, err error) { added = v.(incident.MaintenanceWindow) },
		}, workflows.MaintenanceRequest{Service: "checkout", Start: now, End: now.Add(time.Hour), Reason: "db upgrade", By: "alice"})
		env.UpdateWorkflow(workflows.UpdateAddMaintenance, "", &testsuite.TestUpdateCallback{
			OnAccept: func() {}, OnReject: func(err error) { bad = err }, OnComplete: func(any, error) {},
		}, workflows.MaintenanceRequest{Start: now, End: now.Add(time.Hour)})
	}, time.Minute)
	env.RegisterDelayedCallback(func() {
		v, err := env.QueryWorkflow(incident.QueryMaintenance)
		require.NoError(t, err)
		require.NoError(t, v.Get(&listed))
	}, 2*time.Minute)
	env.RegisterDelayedCallback(func() {
		env.UpdateWorkflow(workflows.UpdateRemoveMaintenance, "", &testsuite.TestUpdateCallback{
			OnAccept: func() {}, OnReject: func(err error) { removed = err }, OnComplete: func(any, error) {},
		}, workflows.RemoveMaintenanceRequest{ID: added.ID})
	}, 2*time.Hour)
	env.RegisterDelayedCallback(env.CancelWorkflow, 3*time.Hour)
	env.ExecuteWorkflow(workflows.MaintenanceWorkflow, workflows.MaintenanceInput{})
	require.Equal(t, "m1", added.ID)
	require.ErrorContains(t, bad, "reason: required")
	require.Len(t, listed, 1)
	require.ErrorContains(t, removed, "no maintenance window", "it ended on its own after an hour")
}
