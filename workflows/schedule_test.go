package workflows_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/incidentflow/incidentflow/incident"
	"github.com/incidentflow/incidentflow/workflows"
)

func newScheduleEnv(t *testing.T) *testsuite.TestWorkflowEnvironment {
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.RegisterWorkflow(workflows.ScheduleWorkflow)
	return env
}

func overrides(t *testing.T, env *testsuite.TestWorkflowEnvironment) []incident.Override {
	t.Helper()
	v, err := env.QueryWorkflow(incident.QueryOverrides)
	require.NoError(t, err)
	var out []incident.Override
	require.NoError(t, v.Get(&out))
	return out
}

type updateResult struct {
	override incident.Override
	err      error
}

func update(env *testsuite.TestWorkflowEnvironment, name string, arg any, into *updateResult) {
	env.UpdateWorkflow(name, "", &testsuite.TestUpdateCallback{
		OnAccept: func() {},
		OnReject: func(err error) { into.err = err },
		OnComplete: func(v any, err error) {
			if err != nil {
				into.err = err
				return
			}
			into.override = v.(incident.Override)
		},
	}, arg)
}

// An override lives from its Update until its end, then leaves the state
// on its own; a removed one leaves at once; ids stay unique.
func TestScheduleHoldsOverridesUntilTheyEnd(t *testing.T) {
	env := newScheduleEnv(t)
	var tonight, week, removed, gone updateResult
	var during, afterNight, afterRemove []incident.Override
	env.RegisterDelayedCallback(func() {
		now := env.Now()
		update(env, workflows.UpdateAddOverride, workflows.OverrideRequest{User: "carol", Start: now.Add(time.Hour), End: now.Add(13 * time.Hour), By: "carol"}, &tonight)
		update(env, workflows.UpdateAddOverride, workflows.OverrideRequest{User: "dave", Start: now, End: now.Add(7 * 24 * time.Hour)}, &week)
	}, time.Minute)
	env.RegisterDelayedCallback(func() { during = overrides(t, env) }, 2*time.Hour)
	env.RegisterDelayedCallback(func() {
		afterNight = overrides(t, env)
		update(env, workflows.UpdateRemoveOverride, workflows.RemoveOverrideRequest{ID: week.override.ID}, &removed)
	}, 20*time.Hour)
	env.RegisterDelayedCallback(func() {
		afterRemove = overrides(t, env)
		update(env, workflows.UpdateRemoveOverride, workflows.RemoveOverrideRequest{ID: tonight.override.ID}, &gone)
	}, 21*time.Hour)
	env.RegisterDelayedCallback(env.CancelWorkflow, 30*time.Hour)
	env.ExecuteWorkflow(workflows.ScheduleWorkflow, workflows.ScheduleInput{Schedule: "primary"})

	require.NoError(t, tonight.err)
	require.NoError(t, week.err)
	require.Equal(t, "o1", tonight.override.ID)
	require.Equal(t, "o2", week.override.ID)
	require.Equal(t, "carol", tonight.override.By)
	require.Len(t, during, 2)
	require.Len(t, afterNight, 1, "carol's night ended and left the state")
	require.Equal(t, "dave", afterNight[0].User)
	require.NoError(t, removed.err)
	require.Equal(t, "dave", removed.override.User)
	require.Empty(t, afterRemove)
	var appErr *temporal.ApplicationError
	require.ErrorAs(t, gone.err, &appErr, "an ended override cannot be removed")
	require.Equal(t, workflows.OverrideNotFound, appErr.Type())
}

func TestScheduleRefusesBadOverridesNamingTheField(t *testing.T) {
	env := newScheduleEnv(t)
	type tc struct {
		name  string
		req   func(now time.Time) workflows.OverrideRequest
		field string
	}
	cases := []tc{
		{"no user", func(now time.Time) workflows.OverrideRequest {
			return workflows.OverrideRequest{Start: now, End: now.Add(time.Hour)}
		}, "user"},
		{"end before start", func(now time.Time) workflows.OverrideRequest {
			return workflows.OverrideRequest{User: "carol", Start: now.Add(time.Hour), End: now}
		}, "end"},
		{"already over", func(now time.Time) workflows.OverrideRequest {
			return workflows.OverrideRequest{User: "carol", Start: now.Add(-2 * time.Hour), End: now.Add(-time.Hour)}
		}, "end"},
		{"over a year", func(now time.Time) workflows.OverrideRequest {
			return workflows.OverrideRequest{User: "carol", Start: now, End: now.Add(400 * 24 * time.Hour)}
		}, "end"},
		{"no times", func(time.Time) workflows.OverrideRequest { return workflows.OverrideRequest{User: "carol"} }, "start"},
	}
	results := make([]updateResult, len(cases))
	env.RegisterDelayedCallback(func() {
		for i, c := range cases {
			update(env, workflows.UpdateAddOverride, c.req(env.Now()), &results[i])
		}
	}, time.Minute)
	env.RegisterDelayedCallback(env.CancelWorkflow, time.Hour)
	env.ExecuteWorkflow(workflows.ScheduleWorkflow, workflows.ScheduleInput{Schedule: "primary"})
	for i, c := range cases {
		var appErr *temporal.ApplicationError
		require.ErrorAs(t, results[i].err, &appErr, c.name)
		require.Equal(t, workflows.FieldError, appErr.Type(), c.name)
		require.Contains(t, appErr.Message(), c.field+": ", c.name)
	}
}

// A schedule changed all year continues as new with its overrides and its
// numbering, so its history stays short.
func TestScheduleContinuesAsNewWithItsOverrides(t *testing.T) {
	env := newScheduleEnv(t)
	results := make([]updateResult, 500)
	env.RegisterDelayedCallback(func() {
		now := env.Now()
		for i := range 300 {
			update(env, workflows.UpdateAddOverride, workflows.OverrideRequest{User: "carol", Start: now, End: now.Add(time.Duration(i+1) * time.Hour)}, &results[i])
		}
	}, time.Minute)
	env.RegisterDelayedCallback(func() {
		for i := range 200 {
			update(env, workflows.UpdateRemoveOverride, workflows.RemoveOverrideRequest{ID: fmt.Sprintf("o%d", i+1)}, &results[300+i])
		}
	}, 2*time.Minute)
	env.ExecuteWorkflow(workflows.ScheduleWorkflow, workflows.ScheduleInput{Schedule: "primary"})
	var can *workflow.ContinueAsNewError
	require.ErrorAs(t, env.GetWorkflowError(), &can)
	var next workflows.ScheduleInput
	require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(can.Input, &next))
	for i, r := range results {
		require.NoError(t, r.err, i)
	}
	require.Equal(t, 300, next.Next, "numbering carries on")
	require.Len(t, next.Overrides, 100, "the overrides not removed carry on")
	require.Equal(t, "o201", next.Overrides[0].ID)
}
