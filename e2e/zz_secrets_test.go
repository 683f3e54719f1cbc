package e2e

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/protobuf/proto"
)

// Runs last (files run in name order): every workflow the suite left in
// the namespace, incidents, post-mortems, people paged, schedules,
// heartbeats, maintenance, has no secret anywhere in its history: not a
// token, a signing secret, an SMTP password, a Twilio auth token or a
// webhook signing key. The bytes of every event are searched, payloads
// included, as Temporal stores them.
func TestNoSecretInAnyHistory(t *testing.T) {
	secrets := map[string]string{
		"slack bot token": botToken, "slack signing secret": signingSecret, "github token": githubToken,
		"alertmanager token": promToken, "events v2 routing key": routingKey, "generic token": genericToken,
		"grafana token": grafanaToken, "alice's api token": aliceToken, "bob's api token": bobToken, "ops bot token": opsToken,
	}
	for name, v := range testSecrets {
		if name != "SMTP_USER" && name != "TWILIO_SID" { // identifiers, not secrets
			secrets[name] = v
		}
	}
	ctx := context.Background()
	var token []byte
	workflows, events := 0, 0
	for workflows < 2000 {
		resp, err := temporalClient.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{PageSize: 200, NextPageToken: token})
		require.NoError(t, err)
		for _, e := range resp.GetExecutions() {
			workflows++
			it := temporalClient.GetWorkflowHistory(ctx, e.GetExecution().GetWorkflowId(), e.GetExecution().GetRunId(), false, 0)
			for it.HasNext() {
				ev, err := it.Next()
				require.NoError(t, err)
				events++
				raw, err := proto.Marshal(ev)
				require.NoError(t, err)
				for what, secret := range secrets {
					require.False(t, bytes.Contains(raw, []byte(secret)), "the %s is in the history of %s (event %d, %s)",
						what, e.GetExecution().GetWorkflowId(), ev.GetEventId(), ev.GetEventType())
				}
			}
		}
		if token = resp.GetNextPageToken(); len(token) == 0 {
			break
		}
	}
	t.Logf("searched %d events of %d workflows for %d secrets", events, workflows, len(secrets))
	require.Positive(t, workflows, "the suite left workflows to search")
}
