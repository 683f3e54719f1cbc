package workflows_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/incidentflow/incidentflow/activities"
	"github.com/incidentflow/incidentflow/incident"
	"github.com/incidentflow/incidentflow/workflows"
)

// A grant's life: given, then taken back when its maximum passes or its
// incident says so, the revoke retried until it succeeds; a grant that
// could not be given is never revoked. Its incident hears each step.
func TestAccessGrantWorkflow(t *testing.T) {
	grant := incident.AccessGrant{Name: "prod-deploy", Kind: "github_team", Org: "acme", Team: "prod-deploy", Max: 2 * time.Hour}
	for _, c := range []struct {
		name       string
		revokeAt   time.Duration // 0: never told
		grantErr   error
		revokeErrs int
		wantReason string
		wantAt     time.Duration // revoked this long after the start
		wantEvents []string
	}{
		{name: "maximum", wantReason: "its maximum of 2h0m0s passed", wantAt: 2 * time.Hour, wantEvents: []string{"granted", "revoked"}},
		{name: "incident closed", revokeAt: 25 * time.Minute, wantReason: "the incident closed", wantAt: 25 * time.Minute, wantEvents: []string{"granted", "revoked"}},
		{name: "revoke retried", revokeAt: 10 * time.Minute, revokeErrs: 3, wantReason: "the incident closed", wantAt: 10*time.Minute + 7*time.Second, wantEvents: []string{"granted", "revoked"}},
		{name: "grant refused", grantErr: temporal.NewNonRetryableApplicationError("alice has no GitHub login", "NoGitHubLogin", nil), wantEvents: []string{"failed"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var suite testsuite.WorkflowTestSuite
			env := suite.NewTestWorkflowEnvironment()
			acts := &activities.Activities{}
			env.RegisterWorkflowWithOptions(workflows.AccessGrantWorkflow, workflow.RegisterOptions{Name: workflows.AccessGrantWorkflowName})
			env.RegisterActivity(acts)
			start := env.Now()
			var mu sync.Mutex
			var events []string
			env.OnSignalExternalWorkflow(mock.Anything, "incident-checkout", "", workflows.UpdateAccessEvent, mock.Anything).Return(
				func(_, _, _, _ string, arg any) error {
					mu.Lock()
					defer mu.Unlock()
					events = append(events, arg.(incident.AccessEvent).Kind)
					return nil
				})
			if c.grantErr != nil {
				env.OnActivity(acts.GrantAccess, mock.Anything, mock.Anything).Return("", c.grantErr)
				env.OnActivity(acts.RevokeAccess, mock.Anything, mock.Anything).Never()
			} else {
				env.OnActivity(acts.GrantAccess, mock.Anything, mock.Anything).Return("alice-gh", nil)
				failures := c.revokeErrs
				env.OnActivity(acts.RevokeAccess, mock.Anything, mock.Anything).Return(func(_ context.Context, req incident.AccessRequest) error {
					require.Equal(t, "alice-gh", req.Login, "taken back from the account it went to")
					if failures > 0 {
						failures--
						return errors.New("GitHub answered 502")
					}
					return nil
				})
			}
			if c.revokeAt > 0 {
				env.RegisterDelayedCallback(func() { env.SignalWorkflow(workflows.SignalRevokeAccess, "the incident closed") }, c.revokeAt)
			}
			env.ExecuteWorkflow(workflows.AccessGrantWorkflowName, workflows.AccessGrantInput{
				Request: incident.AccessRequest{IncidentID: "incident-checkout", Grant: grant, User: "alice"}, Parent: "incident-checkout",
			})
			require.True(t, env.IsWorkflowCompleted())
			require.NoError(t, env.GetWorkflowError())
			var st workflows.AccessGrantState
			require.NoError(t, env.GetWorkflowResult(&st))
			require.Equal(t, c.wantEvents, events)
			if c.grantErr != nil {
				require.Contains(t, st.GrantError, "no GitHub login")
				require.Nil(t, st.RevokedAt)
				return
			}
			require.Equal(t, c.wantReason, st.Reason)
			require.NotNil(t, st.RevokedAt)
			require.Equal(t, c.wantAt, st.RevokedAt.Sub(start).Round(time.Second), "revoked at the right time (retries back off 1s, 2s, 4s)")
		})
	}
}
