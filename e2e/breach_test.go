package e2e

import (
	"context"
	"encoding/json"
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

const danaDM = "D0DANA"

func (h *harness) breach(id string) (int, workflows.BreachState) {
	h.t.Helper()
	resp, err := http.Get(h.api.URL + "/v1/incidents/" + id + "/data-breach")
	require.NoError(h.t, err)
	defer resp.Body.Close()
	var st workflows.BreachState
	if resp.StatusCode == http.StatusOK {
		require.NoError(h.t, json.NewDecoder(resp.Body).Decode(&st))
	}
	return resp.StatusCode, st
}

// breachTexts are the data-breach messages a Slack channel or DM got.
func (h *harness) breachTexts(channel string) []string {
	var out []string
	for _, m := range h.slack.Messages(channel) {
		if text := m.Form.Get("text"); strings.Contains(text, "personal-data breach") {
			out = append(out, text)
		}
	}
	return out
}

// A breach declared with its incident, over HTTP, with the 72 hours shrunk
// to 6 seconds (reminders at 2s and 4s): the reminders reach the privacy
// contact's and the commander's DMs, the missed deadline also the announce
// channel; the checklist is ticked over HTTP and Slack, and the deadline's
// workflow outlives its incident, ending with the last tick.
func TestDataBreachDeadlineOverHTTPAndSlack(t *testing.T) {
	h := newHarnessWith(t, func(c *config.Config) {
		c.Users["dana"] = config.User{SlackID: "U0DANA", Email: "dana@example.com"}
		c.Privacy = config.Privacy{Contact: "user:dana", Deadline: config.Duration(6 * time.Second),
			Reminders: []config.Duration{config.Duration(2 * time.Second), config.Duration(4 * time.Second)}}
	})
	ctx := context.Background()

	// Refused before anything opens.
	for _, tc := range []struct{ name, body, says string }{
		{"aware in the future", `{"title":"t","service":"checkout","severity":"P3","data_breach":true,"aware_at":"2099-01-01T00:00:00Z"}`, "aware_at: 2099-01-01T00:00:00Z is in the future"},
		{"aware without breach", `{"title":"t","service":"checkout","severity":"P3","aware_at":"1h"}`, `aware_at: only with "data_breach": true`},
		{"aware unreadable", `{"title":"t","service":"checkout","severity":"P3","data_breach":true,"aware_at":"yesterday"}`, "aware_at: \"yesterday\" is neither"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out := h.post("/v1/incidents", []byte(tc.body), aliceToken)
			require.Equal(t, http.StatusBadRequest, code, out)
			require.Contains(t, out["error"], tc.says)
		})
	}

	declared := time.Now()
	code, out := h.post("/v1/incidents", []byte(`{"title":"Customer export bucket was public","service":"checkout","severity":"P3","data_breach":true}`), aliceToken)
	require.Equal(t, http.StatusCreated, code, out)
	id := out["id"].(string)
	breachID := workflows.BreachID(id)
	require.Equal(t, breachID, out["data_breach"].(map[string]any)["workflow"], "the incident's JSON says it is a breach")

	code, st := h.breach(id)
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, workflows.BreachOpen, st.Status)
	require.WithinDuration(t, declared, st.AwareAt, 2*time.Second)
	require.Equal(t, 6*time.Second, st.Deadline.Sub(st.AwareAt))
	require.NotNil(t, st.NextReminderAt)
	require.Equal(t, "alice", st.Commander)

	// Twice is refused; so is an unknown checklist item.
	code, out = h.post("/v1/incidents/"+id+"/data-breach", []byte(`{"by":"bob"}`), opsToken)
	require.Equal(t, http.StatusConflict, code, out)
	require.Contains(t, out["error"], "is already a data breach")
	code, out = h.post("/v1/incidents/"+id+"/data-breach/regulator-notified", nil, aliceToken)
	require.Equal(t, http.StatusBadRequest, code, out)
	require.Contains(t, out["error"], "item: \"regulator-notified\" is not on the checklist")

	// Reminders at 2s and 4s to dana (the privacy contact) and alice (the
	// commander); the deadline at 6s to both and #incidents.
	waitFor(t, "two reminders and the overdue notice in dana's DM", 20*time.Second, func() bool { return len(h.breachTexts(danaDM)) == 3 })
	dana := h.breachTexts(danaDM)
	require.Contains(t, dana[0], "alice: P3 incident "+id+" (Customer export bucket was public) is a personal-data breach. The regulator must be notified by")
	require.Contains(t, dana[2], "OVERDUE")
	waitFor(t, "the same in alice's DM", 5*time.Second, func() bool { return len(h.breachTexts(aliceDM)) == 3 })
	waitFor(t, "the overdue notice in #incidents", 5*time.Second, func() bool { return len(h.breachTexts("#incidents")) == 1 })
	require.Contains(t, h.breachTexts("#incidents")[0], "OVERDUE")
	var at []time.Time
	for _, m := range h.slack.Messages(danaDM) {
		at = append(at, m.At)
	}
	require.Len(t, at, 3)
	for i, want := range []time.Duration{2 * time.Second, 4 * time.Second, 6 * time.Second} {
		got := at[i].Sub(st.AwareAt)
		require.True(t, got >= want-100*time.Millisecond && got < want+5*time.Second, "message %d %s after awareness, want %s", i+1, got, want)
	}
	code, st = h.breach(id)
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, workflows.BreachOverdue, st.Status)
	require.Nil(t, st.NextReminderAt)

	// Ticked late over HTTP, by the privacy contact through the ops bot.
	code, out = h.post("/v1/incidents/"+id+"/data-breach/regulator_notified", []byte(`{"by":"dana","note":"ICO ref 12345"}`), opsToken)
	require.Equal(t, http.StatusOK, code, out)
	require.Equal(t, string(workflows.BreachNotified), out["status"])
	// The incident, still running, mirrors the deadline and the tick.
	waitFor(t, "the mirror on the incident", 5*time.Second, func() bool {
		b := h.incident(id).DataBreach
		return b != nil && b.Overdue && b.Checklist[0].Done
	})
	inc := h.incident(id)
	require.Equal(t, "dana", inc.DataBreach.Checklist[0].By)

	// The incident resolves and closes (P3: no post-mortem); the deadline's
	// workflow, its child, goes on.
	code, out = h.post("/v1/incidents/"+id+"/resolve", []byte(`{"by":"alice"}`), aliceToken)
	require.Equal(t, http.StatusOK, code, out)
	waitFor(t, "the incident to close", 15*time.Second, func() bool { return h.incident(id).Status == incident.StatusClosed })
	d, err := temporalClient.DescribeWorkflowExecution(ctx, breachID, "")
	require.NoError(t, err)
	require.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, d.GetWorkflowExecutionInfo().GetStatus(), "it outlives the incident")
	require.Equal(t, workflows.BreachWorkflowName, d.GetWorkflowExecutionInfo().GetType().GetName())
	require.Equal(t, id, d.GetWorkflowExecutionInfo().GetParentExecution().GetWorkflowId(), "started as the incident's child")

	// The rest from Slack.
	reply := h.slash("U0DANA", "breach "+id+" users_notified emailed the 212 customers affected")
	require.Equal(t, "in_channel", reply["response_type"], reply)
	require.Contains(t, reply["text"], "dana ticked users_notified")
	reply = h.slash("U0ALICE", "breach "+id+" records_kept")
	require.Equal(t, "in_channel", reply["response_type"], reply)

	waitFor(t, "the breach workflow to end", 10*time.Second, func() bool {
		d, err := temporalClient.DescribeWorkflowExecution(ctx, breachID, "")
		return err == nil && d.GetWorkflowExecutionInfo().GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED
	})
	code, st = h.breach(id)
	require.Equal(t, http.StatusOK, code, "still readable once done")
	require.Equal(t, workflows.BreachDone, st.Status)
	who := map[string]string{}
	for _, c := range st.Checklist {
		require.True(t, c.Done, c.Item)
		require.NotNil(t, c.At, c.Item)
		who[c.Item] = c.By + ": " + c.Note
	}
	require.Equal(t, map[string]string{"regulator_notified": "dana: ICO ref 12345", "users_notified": "dana: emailed the 212 customers affected", "records_kept": "alice: "}, who)
	code, out = h.post("/v1/incidents/"+id+"/data-breach/records_kept", []byte(`{"by":"alice"}`), aliceToken)
	require.Equal(t, http.StatusConflict, code, out)
	require.Contains(t, out["error"], "is done")

	// An incident that is no breach says how to make it one.
	code, out = h.post("/v1/alerts/alertmanager", alertmanagerPayload("no-breach-"+t.Name(), "firing"), promToken)
	require.Equal(t, http.StatusAccepted, code, out)
	other := out["incident_id"].(string)
	code, _ = h.breach(other)
	require.Equal(t, http.StatusNotFound, code)
	_, _ = h.post("/v1/incidents/"+other+"/resolve", []byte(`{"by":"alice"}`), aliceToken)

	recordHistory(t, id, "v13_breach_incident")
	recordHistory(t, breachID, "v13_breach_workflow")
}
