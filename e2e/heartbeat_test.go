package e2e

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidentflow/incidentflow/config"
	"github.com/incidentflow/incidentflow/incident"
	"github.com/incidentflow/incidentflow/starter"
	"github.com/incidentflow/incidentflow/workflows"
)

// heartbeatOf reads one monitor from GET /v1/heartbeats.
func (h *harness) heartbeatOf(name string) map[string]any {
	h.t.Helper()
	code, out := h.do(http.MethodGet, "/v1/heartbeats", nil, "")
	require.Equal(h.t, http.StatusOK, code, out)
	for _, v := range out["heartbeats"].([]any) {
		if hb := v.(map[string]any); hb["name"] == name {
			return hb
		}
	}
	h.t.Fatalf("heartbeat %s not listed: %v", name, out)
	return nil
}

// A cron job's dead-man's switch, end to end: the intake starts the
// monitor at start-up, a ping over HTTP keeps it up, silence past interval
// + grace opens an incident on its service that pages alice in Slack, and
// the next ping (Opsgenie's form, with a GenieKey) resolves it.
func TestHeartbeatMissPagesAndPingResolves(t *testing.T) {
	// Monitors are namespace-wide workflows: a name of its own.
	name := fmt.Sprintf("backup%d", time.Now().UnixNano()%1_000_000_000)
	h := newHarnessWith(t, func(c *config.Config) {
		c.Integrations = append(c.Integrations, config.Integration{
			Name: "opsgenie", Kind: config.KindOpsgenie, TokenEnv: "OPSGENIE_KEY", Service: "checkout", DefaultSeverity: "P3"})
		c.Heartbeats = map[string]config.Heartbeat{
			name: {Interval: config.Duration(3 * time.Second), Grace: config.Duration(time.Second), Service: "checkout", Severity: "P3"},
		}
	})
	ctx := context.Background()
	// What `serve` and `dev` do at start-up.
	inc := &starter.Incidents{Client: temporalClient, Config: h.cfg, TaskQueue: h.cfg.Temporal.TaskQueue}
	require.NoError(t, inc.EnsureHeartbeats(ctx))
	require.NoError(t, inc.EnsureHeartbeats(ctx), "start-up again changes nothing")
	waitFor(t, "the monitor to answer", 10*time.Second, func() bool { return h.heartbeatOf(name)["state"] == "waiting" })

	code, out := h.do(http.MethodPost, "/v1/heartbeats/"+name+"/ping", nil, aliceToken)
	require.Equal(t, http.StatusAccepted, code, out)
	require.Equal(t, name, out["heartbeat"])
	require.Equal(t, "up", out["state"])
	pinged := out["last_ping"]
	waitFor(t, "the ping recorded", 10*time.Second, func() bool { return h.heartbeatOf(name)["last_ping"] == pinged })
	require.Equal(t, "up", h.heartbeatOf(name)["state"])

	code, out = h.do(http.MethodPost, "/v1/heartbeats/nosuch/ping", nil, aliceToken)
	require.Equal(t, http.StatusNotFound, code, out)
	require.Contains(t, out["error"], "one of "+name)

	// Silence: missed 4s after the ping; the incident pages alice.
	id := workflows.IncidentID(incident.HeartbeatKey(name))
	waitFor(t, "alice paged for the miss", 20*time.Second, func() bool {
		for _, m := range h.slack.Messages(aliceDM) {
			if strings.Contains(m.Form.Get("text"), "heartbeat "+name+" missed: no ping since") {
				return true
			}
		}
		return false
	})
	st := h.incident(id)
	require.Equal(t, "checkout", st.Service)
	require.Equal(t, "P3", st.Severity)
	require.Equal(t, "heartbeat:"+name, st.Source)
	require.Contains(t, st.Title, "heartbeat "+name+" missed: no ping since")
	require.Equal(t, "down", h.heartbeatOf(name)["state"])
	require.Len(t, h.slack.Messages(aliceDM), 1, "one miss, one page")

	// The job is back, pinging the way Opsgenie's clients do.
	code, out = h.doAuthorized(http.MethodGet, "/v2/heartbeats/"+name+"/ping", nil, "GenieKey "+opsgenieKey)
	require.Equal(t, http.StatusAccepted, code, out)
	require.Equal(t, "PONG - Heartbeat received", out["result"])
	require.Contains(t, out, "took")
	require.NotEmpty(t, out["requestId"])
	waitFor(t, "the incident resolved by the ping", 20*time.Second, func() bool {
		return h.incident(id).ResolvedBy == "alert:heartbeat:"+name
	})
	waitFor(t, "the monitor up again", 10*time.Second, func() bool { return h.heartbeatOf(name)["state"] == "up" })
	hb := h.heartbeatOf(name)
	require.EqualValues(t, 2, hb["pings"])
	require.EqualValues(t, 1, hb["misses"])
	require.Len(t, h.slack.Messages(aliceDM), 1, "the resolution pages nobody")

	// The monitor would outlive this test's worker: end it, and keep its
	// history for the replay tests.
	wf := incident.HeartbeatWorkflowID(name)
	require.NoError(t, temporalClient.TerminateWorkflow(ctx, wf, "", "test over"))
	recordRun(t, wf, "", "v6_heartbeat")
}
