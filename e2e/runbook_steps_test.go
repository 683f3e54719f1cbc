package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidentflow/incidentflow/activities"
	"github.com/incidentflow/incidentflow/config"
	"github.com/incidentflow/incidentflow/incident"
	"github.com/incidentflow/incidentflow/workflows"
)

// The automation endpoint's token: only the worker's environment holds
// it; the secrets scan (zz_secrets_test.go) looks for it in every history.
const runbookTokenEnv = "RUNBOOK_E2E_TOKEN"

func init() { testSecrets[runbookTokenEnv] = "rb-e2e-3xY9-s3cret-token" }

// automationCall is one request the automation endpoint got.
type automationCall struct {
	path, token, key, body string
}

// Runbook automation end to end: a P1's card offers its service's steps;
// alice asks for the restart by clicking, her second click cannot approve
// it, bob's click does and the endpoint gets the call once, with the
// secret header from the worker's environment and an idempotency key; bob
// clicking again runs nothing. The timeline shows the call, its status
// and output; a step the endpoint refuses is shown failed, and one whose
// endpoint is down, failed with why.
func TestRunbookStepsApprovedRunOnceAndFailuresShown(t *testing.T) {
	t.Setenv(runbookTokenEnv, testSecrets[runbookTokenEnv])
	var mu sync.Mutex
	var calls []automationCall
	automation := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		calls = append(calls, automationCall{r.URL.Path, r.Header.Get("X-Token"), r.Header.Get("Idempotency-Key"), string(b)})
		mu.Unlock()
		if r.URL.Path == "/flush" {
			http.Error(w, "deploy freeze in effect until 18:00", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprint(w, "restarted 3 checkout pods\nrollout status: complete\n")
	}))
	t.Cleanup(automation.Close)
	got := func() []automationCall {
		mu.Lock()
		defer mu.Unlock()
		return append([]automationCall(nil), calls...)
	}
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()
	token := map[string]config.RunbookHeader{"X-Token": {ValueEnv: runbookTokenEnv}}
	h := newHarnessWith(t, func(c *config.Config) {
		c.Runbooks = map[string]config.RunbookStep{
			"restart-checkout": {Title: "Restart checkout", Service: "checkout", URL: automation.URL + "/restart?source=incidentflow", Headers: token,
				Body: `{"incident": {{json .ID}}, "severity": {{json .Severity}}}`, NeedsApproval: true, Allowed: []string{"alice", "bob"}, Timeout: config.Duration(10 * time.Second)},
			"flush-cache": {Title: "Flush the cache", Service: "checkout", URL: automation.URL + "/flush", Headers: token, Allowed: []string{"alice", "role:commander"}},
			"failover-db": {Title: "Fail the database over", Service: "checkout", URL: down.URL + "/failover", Allowed: []string{"alice"}},
		}
	})
	code, body := h.post("/v1/alerts/alertmanager", alertmanagerPayload("runbook-steps-"+t.Name(), "firing"), promToken)
	require.Equal(t, http.StatusAccepted, code, body)
	id := body["incident_id"].(string)

	// The card, in the incident's channel, offers the three steps.
	waitFor(t, "the card with the runbook steps", 20*time.Second, func() bool {
		for _, c := range h.slack.Calls("chat.postMessage") {
			if b := c.Form.Get("blocks"); strings.Contains(b, activities.ActionRunbookPrefix+"restart-checkout") &&
				strings.Contains(b, activities.ActionRunbookPrefix+"flush-cache") && strings.Contains(b, "Run: Restart checkout") {
				return true
			}
		}
		return false
	})

	replies := make(chan map[string]any, 8)
	responder := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m map[string]any
		_ = json.NewDecoder(r.Body).Decode(&m)
		replies <- m
	}))
	t.Cleanup(responder.Close)
	click := func(user, step string, run int) string {
		t.Helper()
		payload, _ := json.Marshal(map[string]any{
			"type": "block_actions", "user": map[string]any{"id": user}, "response_url": responder.URL,
			"actions": []map[string]any{{"action_id": activities.ActionRunbookPrefix + step, "block_id": "incident_runbook",
				"value": activities.RunbookButtonValue(id, run), "type": "button", "action_ts": "1700000000.000300"}},
		})
		resp := h.slackPost("/slack/interactions", url.Values{"payload": {string(payload)}})
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
		select {
		case m := <-replies:
			return m["text"].(string)
		case <-time.After(10 * time.Second):
			t.Fatal("no reply on response_url")
			return ""
		}
	}

	require.Contains(t, click("U0ALICE", "restart-checkout", 1), "it runs when someone else allowed approves it")
	require.Contains(t, click("U0ALICE", "restart-checkout", 1), "its approval must come from someone else allowed")
	require.Empty(t, got(), "nothing runs before the approval")
	waitFor(t, "the card to offer the approval", 20*time.Second, func() bool {
		for _, c := range h.slack.Calls("chat.update") {
			if strings.Contains(c.Form.Get("blocks"), "Approve: Restart checkout (asked by alice)") {
				return true
			}
		}
		return false
	})
	require.Contains(t, click("U0BOB", "restart-checkout", 1), "Running restart-checkout on "+id+" (run 1)")
	waitFor(t, "the restart's outcome", 20*time.Second, func() bool {
		return timelineSays(h.incident(id), workflows.KindRunbook, "run 1 of restart-checkout succeeded")
	})
	// Bob's second click on the same button runs nothing.
	require.Contains(t, click("U0BOB", "restart-checkout", 1), "run 1 of restart-checkout already ran (succeeded, HTTP 200")
	require.Len(t, got(), 1, "one approval, one call")
	call := got()[0]
	require.Equal(t, "/restart", call.path)
	require.Equal(t, testSecrets[runbookTokenEnv], call.token, "the secret header, from the worker's environment")
	require.True(t, strings.HasPrefix(call.key, id+"/"), call.key)
	require.True(t, strings.HasSuffix(call.key, "/runbook/restart-checkout/1"), call.key)
	require.Equal(t, `{"incident": "`+id+`", "severity": "P1"}`, call.body)
	st := h.incident(id)
	require.True(t, timelineSays(st, workflows.KindRunbook, "approved run 1 of restart-checkout (Restart checkout), asked for by alice: calling POST "+automation.URL+"/restart"), "%v", st.Timeline)
	require.True(t, timelineSays(st, workflows.KindRunbook, "POST "+automation.URL+"/restart answered 200 OK in "))
	require.True(t, timelineSays(st, workflows.KindRunbook, "restarted 3 checkout pods\nrollout status: complete"))
	for _, e := range st.Timeline {
		require.NotContains(t, e.Message, "source=incidentflow", "no query on the timeline")
	}

	// Over HTTP: refusals name the field; the refused and the unreachable
	// steps are shown failed.
	for _, tc := range []struct {
		name, step, body, token string
		code                    int
		says                    string
	}{
		{"unknown step", "reboot", `{}`, aliceToken, http.StatusBadRequest, `step: unknown step "reboot"`},
		{"bad step name", "Reboot!", `{}`, aliceToken, http.StatusBadRequest, "step: a step name is"},
		{"not allowed", "failover-db", `{"by":"bob"}`, opsToken, http.StatusBadRequest, "by: bob may not run failover-db (allowed: alice)"},
		{"a run from the future", "flush-cache", `{"run":4}`, aliceToken, http.StatusBadRequest, "run: flush-cache has had 0 run(s); the next is run 1"},
		{"no token", "flush-cache", `{}`, "", http.StatusUnauthorized, "authorization"},
		{"flush", "flush-cache", `{"run":1}`, aliceToken, http.StatusAccepted, ""},
		{"failover", "failover-db", `{}`, aliceToken, http.StatusAccepted, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out := h.post("/v1/incidents/"+id+"/runbook/"+url.PathEscape(tc.step), []byte(tc.body), tc.token)
			require.Equal(t, tc.code, code, out)
			if tc.says != "" {
				require.Contains(t, out["error"], tc.says)
			} else {
				require.Equal(t, workflows.RunRunning, out["run"].(map[string]any)["status"], out)
			}
		})
	}
	waitFor(t, "both failures on the timeline", 20*time.Second, func() bool {
		st := h.incident(id)
		return timelineSays(st, workflows.KindRunbookFailed, "run 1 of flush-cache failed: POST "+automation.URL+"/flush answered 503 Service Unavailable in ") &&
			timelineSays(st, workflows.KindRunbookFailed, "run 1 of failover-db failed: POST "+down.URL+"/failover: connection refused")
	})
	require.True(t, timelineSays(h.incident(id), workflows.KindRunbookFailed, "deploy freeze in effect until 18:00"))

	resp, err := http.Get(h.api.URL + "/v1/incidents/" + id + "/runbook")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var rb workflows.Runbook
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&rb))
	require.Len(t, rb.Steps, 3)
	status := map[string]string{}
	for _, r := range rb.Runs {
		status[r.Step] = r.Status
	}
	require.Equal(t, map[string]string{"restart-checkout": workflows.RunSucceeded, "flush-cache": workflows.RunFailed, "failover-db": workflows.RunFailed}, status)
	require.Len(t, got(), 2, "the restart and the flush reached the endpoint, once each")

	code, out := h.post("/v1/incidents/"+id+"/resolve", []byte(`{"note":"restarted"}`), aliceToken)
	require.Equal(t, http.StatusOK, code, out)
	waitFor(t, "closed", 20*time.Second, func() bool { return h.incident(id).Status == incident.StatusClosed })
	recordHistory(t, id, "v14_runbook_steps")
}

func timelineSays(st workflows.Incident, kind workflows.Kind, text string) bool {
	for _, e := range st.Timeline {
		if e.Kind == kind && strings.Contains(e.Message, text) {
			return true
		}
	}
	return false
}
