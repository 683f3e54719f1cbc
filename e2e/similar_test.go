package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/converter"

	"github.com/incidentflow/incidentflow/incident"
	"github.com/incidentflow/incidentflow/workflows"
)

// Learning from the last time: an incident's post-mortem completes with
// its root cause; when the same alert fires again, the new incident's card
// in Slack shows the earlier one with that root cause and its post-mortem,
// and so does its JSON.
func TestSimilarPastIncidentOnTheCardWithItsRootCause(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	group := "similar-" + t.Name()
	act := func(id, path, payload string) map[string]any {
		t.Helper()
		code, out := h.post("/v1/incidents/"+id+"/"+path, []byte(payload), opsToken)
		require.Equal(t, http.StatusOK, code, "%s: %v", path, out)
		return out
	}
	code, body := h.post("/v1/alerts/alertmanager", alertmanagerPayload(group, "firing"), promToken)
	require.Equal(t, http.StatusAccepted, code, body)
	id := body["incident_id"].(string)
	act(id, "ack", `{"by":"alice"}`)
	act(id, "resolve", `{"by":"alice"}`)
	waitFor(t, "the first incident to close", 15*time.Second, func() bool { return h.incident(id).Status == incident.StatusClosed })
	waitFor(t, "its post-mortem issue", 15*time.Second, func() bool {
		code, pm := h.postmortem(id)
		return code == http.StatusOK && pm.Issue != nil
	})
	const rootCause = "the connection pool was sized for normal load, not for the retry storm"
	code, out := h.post("/v1/incidents/"+id+"/postmortem/complete", []byte(`{"by":"alice","root_cause":"`+rootCause+`"}`), opsToken)
	require.Equal(t, http.StatusOK, code, out)
	require.Equal(t, rootCause, out["root_cause"])

	// Its findings are in the post-mortem's memo, for visibility to read.
	d, err := temporalClient.DescribeWorkflowExecution(ctx, workflows.PostmortemID(id), "")
	require.NoError(t, err)
	var memo string
	require.NoError(t, converter.GetDefaultDataConverter().FromPayload(d.GetWorkflowExecutionInfo().GetMemo().GetFields()[workflows.MemoRootCause], &memo))
	require.Equal(t, rootCause, memo)

	// The same alert again: a new incident (a new run of the same ID).
	code, body = h.post("/v1/alerts/alertmanager", alertmanagerPayload(group, "firing"), promToken)
	require.Equal(t, http.StatusAccepted, code, body)
	require.Equal(t, id, body["incident_id"])
	waitFor(t, "the new incident to open", 10*time.Second, func() bool { return h.incident(id).Status == incident.StatusTriggered })

	var card string
	waitFor(t, "the card to show the earlier incident", 20*time.Second, func() bool {
		for _, method := range []string{"chat.postMessage", "chat.update"} {
			for _, c := range h.slack.Calls(method) {
				// The first incident's own cards (the same ID) show other
				// past incidents; the second's shows the first's root cause.
				if b := c.Form.Get("blocks"); strings.Contains(b, "Seen before") && strings.Contains(b, "retry storm") {
					card = b
				}
			}
		}
		return card != ""
	})
	require.Contains(t, card, "the same alert key")
	require.Contains(t, card, "root cause the connection pool was sized")
	require.Contains(t, card, "acme/checkout/issues/1|post-mortem", "a link to its post-mortem")

	resp, err := http.Get(h.api.URL + "/v1/incidents/" + id)
	require.NoError(t, err)
	defer resp.Body.Close()
	var got struct {
		Similar []struct {
			ID         string `json:"id"`
			Why        string `json:"why"`
			RootCause  string `json:"root_cause"`
			Postmortem string `json:"postmortem_url"`
		} `json:"similar"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&got))
	require.NotEmpty(t, got.Similar)
	require.Equal(t, "the same alert key", got.Similar[0].Why)
	require.Equal(t, rootCause, got.Similar[0].RootCause)
	require.NotEmpty(t, got.Similar[0].Postmortem)

	// Listings show them too, on request.
	code, list := h.do(http.MethodGet, "/v1/incidents?similar=true&service=checkout&limit=20", nil, "")
	require.Equal(t, http.StatusOK, code, list)
	seen := list["similar"].(map[string]any)[id].([]any)
	require.Equal(t, rootCause, seen[0].(map[string]any)["root_cause"])
	code, list = h.do(http.MethodGet, "/v1/incidents?similar=maybe", nil, "")
	require.Equal(t, http.StatusBadRequest, code, list)
	require.Contains(t, list["error"], "similar")

	act(id, "resolve", `{"by":"alice"}`)
	recordRun(t, workflows.PostmortemID(id), d.GetWorkflowExecutionInfo().GetExecution().GetRunId(), "v12_postmortem_root_cause")
	recordHistory(t, id, "v12_similar")
}
