package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"

	"github.com/incidentflow/incidentflow/config"
	"github.com/incidentflow/incidentflow/incident"
	"github.com/incidentflow/incidentflow/workflows"
)

func (h *harness) postmortem(id string) (int, workflows.PostmortemState) {
	h.t.Helper()
	resp, err := http.Get(h.api.URL + "/v1/incidents/" + id + "/postmortem")
	require.NoError(h.t, err)
	defer resp.Body.Close()
	var st workflows.PostmortemState
	if resp.StatusCode == http.StatusOK {
		require.NoError(h.t, json.NewDecoder(resp.Body).Decode(&st))
	}
	return resp.StatusCode, st
}

// A resolved P1 becomes a post-mortem child that outlives it: a GitHub
// issue whose timeline is the incident's, one issue per action item (even
// through a secondary rate limit), reminders and the overdue escalation
// at their times, and the end once written up and every item closed.
func TestResolvedP1ProducesItsPostmortemOnGitHub(t *testing.T) {
	h := newHarnessWith(t, func(c *config.Config) {
		// The 48h machinery, shrunk: due 8s after resolution, reminded at
		// 4s, overdue notices every 4s, GitHub read every 2s.
		c.Timings.PostmortemDue = config.Duration(8 * time.Second)
		c.Timings.PostmortemReminders = []config.Duration{config.Duration(4 * time.Second)}
		c.Timings.PostmortemOverdueEvery = config.Duration(4 * time.Second)
		c.Timings.PostmortemCheckEvery = config.Duration(2 * time.Second)
	})
	ctx := context.Background()
	code, body := h.post("/v1/alerts/alertmanager", alertmanagerPayload("pm-"+t.Name(), "firing"), promToken)
	require.Equal(t, http.StatusAccepted, code, body)
	id := body["incident_id"].(string)
	act := func(path, payload string, want int) map[string]any {
		t.Helper()
		code, out := h.post("/v1/incidents/"+id+"/"+path, []byte(payload), opsToken)
		require.Equal(t, want, code, "%s: %v", path, out)
		return out
	}
	act("ack", `{"by":"alice"}`, http.StatusOK)
	act("status-updates", `{"by":"alice","stage":"identified","message":"pool exhausted | retries piling up","impact":"checkout failing for 30% of users"}`, http.StatusOK)
	act("action-items", `{"by":"alice","title":"Alert on pool saturation","type":"detect","owner":"bob","due":"2026-12-15"}`, http.StatusOK)
	code, _ = h.postmortem(id)
	require.Equal(t, http.StatusNotFound, code, "no post-mortem before resolution")

	resolvedAt := time.Now()
	act("resolve", `{"by":"alice"}`, http.StatusOK)
	waitFor(t, "the incident to close", 10*time.Second, func() bool { return h.incident(id).Status == incident.StatusClosed })
	incident := h.incident(id)
	pmID := workflows.PostmortemID(id)
	require.Equal(t, pmID, incident.Postmortem)

	// The deadline machinery is a running child in the Temporal UI.
	d, err := temporalClient.DescribeWorkflowExecution(ctx, pmID, "")
	require.NoError(t, err)
	require.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, d.GetWorkflowExecutionInfo().GetStatus())
	require.Equal(t, workflows.PostmortemWorkflowName, d.GetWorkflowExecutionInfo().GetType().GetName())
	require.Equal(t, id, d.GetWorkflowExecutionInfo().GetParentExecution().GetWorkflowId(), "started as the incident's child")

	// One post-mortem issue, its timeline the incident's, and the item's own issue.
	waitFor(t, "the post-mortem and action item issues", 10*time.Second, func() bool { return len(h.github.Issues("acme/checkout")) == 2 })
	issues := h.github.Issues("acme/checkout")
	pm, item1 := issues[0], issues[1]
	require.Equal(t, []string{workflows.IncidentLabel(id), "postmortem", "incident"}, pm.Labels)
	require.Equal(t, []string{workflows.IncidentLabel(id), "action-item", "detect"}, item1.Labels)
	require.Contains(t, pm.Body, "checkout failing for 30% of users", "customer impact from the last update")
	var rows []string
	for _, line := range strings.Split(pm.Body, "\n") {
		if strings.HasPrefix(line, "| 20") {
			rows = append(rows, line)
		}
	}
	var want []string
	for _, e := range incident.Timeline {
		if e.Kind == "postmortem" {
			break // the incident's timeline up to resolution is the post-mortem's
		}
		want = append(want, "| "+e.At.UTC().Format("2006-01-02 15:04:05")+" | "+strings.ReplaceAll(firstOr(e.Actor, "-"), "|", `\|`)+" | "+strings.ReplaceAll(e.Message, "|", `\|`)+" |")
	}
	require.Equal(t, want, rows, "the post-mortem timeline matches the incident's")
	waitFor(t, "the post-mortem to link item 1", 10*time.Second, func() bool {
		return strings.Contains(h.github.Issues("acme/checkout")[0].Body, "[acme/checkout#2](")
	})
	require.Contains(t, item1.Body, "**Post-mortem:** acme/checkout#1")

	// An action item added after the incident closed goes to the post-mortem;
	// GitHub first answers its creation with a secondary rate limit.
	h.github.SecondaryRateLimitNext(http.MethodPost, "/issues")
	out := act("action-items", `{"by":"bob","title":"Runbook for pool exhaustion","type":"respond","owner":"bob"}`, http.StatusOK)
	require.Equal(t, pmID, out["id"], "answered by the post-mortem")
	waitFor(t, "item 2's issue after the rate limit", 15*time.Second, func() bool { return len(h.github.Issues("acme/checkout")) == 3 })
	secondary := 0
	for _, w := range h.github.Writes() {
		if w.Method == http.MethodPost && strings.HasSuffix(w.Path, "/issues") {
			secondary++
		}
	}
	require.Equal(t, 4, secondary, "three creations plus the one refused with 403")

	// Reminder 4s after resolution to the commander; overdue at 8s to the
	// commander and #incidents, with the overdue label; again 4s later.
	reminder := func(channel, word string) []time.Time {
		var at []time.Time
		for _, m := range h.slack.Messages(channel) {
			if text := m.Form.Get("text"); strings.Contains(text, "post-mortem") && strings.Contains(text, word) {
				at = append(at, m.At)
			}
		}
		return at
	}
	waitFor(t, "the second overdue notice", 20*time.Second, func() bool { return len(reminder(aliceDM, "is overdue")) >= 2 })
	rem := reminder(aliceDM, "is due")
	require.Len(t, rem, 1)
	overdue := reminder(aliceDM, "is overdue")
	t.Logf("after resolution: reminder %s, overdue %s and %s (2s monitoring window, then 4s, 8s, 12s as configured)", rem[0].Sub(resolvedAt), overdue[0].Sub(resolvedAt), overdue[1].Sub(resolvedAt))
	require.InDelta(t, 4.0, rem[0].Sub(resolvedAt).Seconds()-2, 1.0, "4s after the 2s monitoring window")
	require.InDelta(t, 4.0, overdue[1].Sub(overdue[0]).Seconds(), 1.0)
	require.NotEmpty(t, reminder("#incidents", "is overdue"), "the announce channel is told")
	waitFor(t, "the overdue label", 10*time.Second, func() bool {
		return strings.Contains(strings.Join(h.github.Issues("acme/checkout")[0].Labels, ","), "overdue")
	})

	// Done from Slack in the incident's channel; the items close on GitHub.
	// (Retried like a person would if Slack's 3-second budget ran out on a
	// busy machine: the second try is then refused as already completed.)
	var replies []any
	waitFor(t, "done from Slack", 15*time.Second, func() bool {
		if _, st := h.postmortem(id); st.CompletedAt != nil {
			return true
		}
		replies = append(replies, h.slashIn(incident.SlackChannel.ID, "U0ALICE", "postmortem done reviewed with the team")["text"])
		return false
	})
	t.Logf("slack replies: %v", replies)
	_, st := h.postmortem(id)
	require.Equal(t, "alice", st.CompletedBy)
	require.Equal(t, workflows.PostmortemCompleted, st.Status)
	require.InDelta(t, 0.0, st.CompletionRate, 0.001)
	h.github.CloseIssue("acme/checkout", 2)
	h.github.CloseIssue("acme/checkout", 3)
	waitFor(t, "the post-mortem to finish", 15*time.Second, func() bool {
		d, err := temporalClient.DescribeWorkflowExecution(ctx, pmID, "")
		return err == nil && d.GetWorkflowExecutionInfo().GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED
	})
	_, st = h.postmortem(id)
	require.Equal(t, workflows.PostmortemFinished, st.Status)
	require.Equal(t, 1.0, st.CompletionRate)
	require.Equal(t, "closed", h.github.Issues("acme/checkout")[0].State, "written up: the post-mortem issue is closed")
	for _, e := range st.Timeline {
		require.NotEqual(t, "github_failed", e.Kind, e.Message)
	}

	// The draft is served as Markdown too.
	req, _ := http.NewRequest(http.MethodGet, h.api.URL+"/v1/incidents/"+id+"/postmortem", nil)
	req.Header.Set("Accept", "text/markdown")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	md, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, "text/markdown; charset=utf-8", resp.Header.Get("Content-Type"))
	require.True(t, strings.HasPrefix(string(md), "# Post-mortem: checkout 5xx above 5%"), string(md[:min(len(md), 80)]))

	recordHistory(t, id, "v2_p1_postmortem_child")
	recordHistory(t, pmID, "v2_postmortem_workflow")
}

func firstOr(s, fallback string) string {
	if s == "" {
		return fallback
	}
	return s
}
