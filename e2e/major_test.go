package e2e

import (
	"context"
	"mime"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/converter"

	"github.com/incidentflow/incidentflow/config"
	"github.com/incidentflow/incidentflow/incident"
	"github.com/incidentflow/incidentflow/internal/fakesmtp"
	"github.com/incidentflow/incidentflow/workflows"
)

// A major incident declared over HTTP, with the protocol's cadences
// shrunk to seconds: the executives (#exec and an email list) hear of it
// at once, the comms lead is reminded in the incident's channel when the
// brief is due, the brief sent from Slack in that channel reaches #exec
// and the mailbox, and never the team's channel; the Temporal UI's timers
// say what each deadline is; resolved, its post-mortem is due in 72 hours
// with a hot wash at 24.
func TestMajorIncidentDeclaredOverHTTPBriefsTheExecutives(t *testing.T) {
	smtpSrv, err := fakesmtp.Start("pager", "smtp-s3cret")
	require.NoError(t, err)
	t.Cleanup(smtpSrv.Close)
	const ceo = "ceo@example.com"
	h := newHarnessWith(t, func(c *config.Config) {
		host, port := smtpSrv.Addr()
		off := false
		c.SMTP = config.SMTP{Host: host, Port: port, From: "incidents@example.com", UsernameEnv: "SMTP_USER", PasswordEnv: "SMTP_PASSWORD", StartTLS: &off}
		c.MajorIncident = config.MajorIncident{ExecChannel: "#exec", ExecEmails: []string{ceo},
			ExecBriefFirst: config.Duration(2 * time.Second), ExecBriefEvery: config.Duration(3 * time.Second),
			PublicFirst: config.Duration(4 * time.Second), PublicEvery: config.Duration(6 * time.Second),
			RoleReminderEvery: config.Duration(2 * time.Second)}
		require.Empty(t, c.Validate(), "the test's major_incident is a valid one")
	})
	h.slack.AddChannel("exec", "executive briefs")

	code, out := h.doJSON(http.MethodPost, "/v1/incidents", map[string]any{"title": "checkout down everywhere", "service": "checkout", "severity": "P2"}, aliceToken)
	require.Equal(t, http.StatusCreated, code, out)
	id := out["id"].(string)
	path := "/v1/incidents/" + id

	for _, tc := range []struct {
		name   string
		path   string
		body   map[string]any
		status int
		want   string
	}{
		{"a brief before it is major", "/status-updates", map[string]any{"audience": "exec", "message": "x"}, http.StatusConflict, "is not a major incident"},
		{"a reason over its bound", "/major", map[string]any{"reason": strings.Repeat("x", incident.MaxText+1)}, http.StatusBadRequest, "reason"},
		{"an unknown field", "/major", map[string]any{"urgency": 1}, http.StatusBadRequest, "unknown field"},
		{"an unknown audience", "/status-updates", map[string]any{"audience": "board", "message": "x", "stage": "identified"}, http.StatusBadRequest, "audience"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out := h.doJSON(http.MethodPost, path+tc.path, tc.body, aliceToken)
			require.Equal(t, tc.status, code, out)
			require.Contains(t, out["error"], tc.want)
		})
	}

	code, out = h.post(path+"/ack", []byte(`{}`), aliceToken)
	require.Equal(t, http.StatusOK, code, out)
	code, out = h.doJSON(http.MethodPost, path+"/major", map[string]any{"reason": "checkout down in every region"}, bobToken)
	require.Equal(t, http.StatusOK, code, out)
	major, _ := out["major"].(map[string]any)
	require.NotNil(t, major, out)
	require.Equal(t, "bob", major["by"])
	require.Equal(t, "checkout down in every region", major["reason"])
	require.Equal(t, []any{"deputy", "planning", "liaison"}, major["roles_missing"])
	require.Equal(t, []any{"slack_channel:#exec", "email:" + ceo}, major["exec_targets"])
	declared, err := time.Parse(time.RFC3339Nano, major["declared_at"].(string))
	require.NoError(t, err)
	due, err := time.Parse(time.RFC3339Nano, major["next_exec_brief_due"].(string))
	require.NoError(t, err)
	require.Equal(t, 2*time.Second, due.Sub(declared))
	code, out = h.doJSON(http.MethodPost, path+"/major", map[string]any{}, aliceToken)
	require.Equal(t, http.StatusConflict, code, out)
	require.Contains(t, out["error"], "is already a major incident (declared by bob")

	posted := func(channel, text string) bool {
		for _, m := range h.slack.Messages(channel) {
			if strings.Contains(m.Form.Get("text"), text) {
				return true
			}
		}
		return false
	}
	mailed := func(subject string) bool {
		for _, m := range smtpSrv.Messages() {
			// A subject cut to its bound ends in "…", so it is MIME-encoded.
			got, err := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
			if err == nil && slices.Contains(m.To, ceo) && strings.HasPrefix(got, subject) {
				return true
			}
		}
		return false
	}
	waitFor(t, "#exec told of the declaration", 10*time.Second, func() bool { return posted("#exec", "Major incident declared by bob: P2 "+id) })
	waitFor(t, "the CEO mailed of it", 10*time.Second, func() bool { return mailed("Major incident declared by bob") })

	// The comms lead (alice, commander, holds comms) is reminded where the
	// team works, mentioned; the executives are spared the reminders.
	waitFor(t, "the incident channel", 10*time.Second, func() bool { return h.incident(id).SlackChannel != nil })
	channel := h.incident(id).SlackChannel.ID
	waitFor(t, "the brief reminder in the incident channel", 15*time.Second, func() bool {
		return posted(channel, "<@U0ALICE>: the executive brief on major incident "+id)
	})
	require.False(t, posted("#exec", "the executive brief on major incident"))

	// In the incident's channel, the id is implied.
	waitFor(t, "the incident found by its channel", 10*time.Second, func() bool {
		reply := h.slashIn(channel, "U0ALICE", "major")
		return strings.Contains(reply["text"].(string), "is already a major incident")
	})
	reply := h.slashIn(channel, "U0ALICE", "brief card payments fail over to the second provider; ETA 20m")
	require.Equal(t, "in_channel", reply["response_type"], reply)
	require.Contains(t, reply["text"], "alice: sent the executive brief")
	waitFor(t, "the brief in #exec", 10*time.Second, func() bool {
		return posted("#exec", "Executive brief 1 on major incident "+id) && posted("#exec", "card payments fail over to the second provider")
	})
	waitFor(t, "the brief mailed", 10*time.Second, func() bool { return mailed("Executive brief 1 on major incident " + id) })
	require.False(t, posted(channel, "Executive brief 1"), "a brief is for the executives, not the team's channel")

	st := h.incident(id)
	require.NotNil(t, st.Major)
	require.Equal(t, 1, st.Major.ExecBriefs)
	require.Nil(t, st.LastUpdate, "a brief is not the team's status update")
	code, out = h.doJSON(http.MethodPost, path+"/status-updates", map[string]any{"stage": "identified", "message": "payments fail over", "public": true}, aliceToken)
	require.Equal(t, http.StatusOK, code, out)
	st = h.incident(id)
	require.Equal(t, 6*time.Second, st.Major.NextPublicDue.Sub(st.LastPublicUpdate.At), "the public statement is due every public_every after the last")

	// Each deadline is a timer the Temporal UI shows with what it is for.
	// (The one timer is armed for the earliest deadline: each shows up once
	// it is the next.)
	waitFor(t, "the protocol's timers in history", 10*time.Second, func() bool {
		summaries := timerSummaries(t, id)
		return slices.Contains(summaries, "major incident: executive brief due (alice)") &&
			slices.Contains(summaries, "major incident: public statement due (alice)") &&
			slices.Contains(summaries, "major incident: assign deputy, planning, liaison")
	})

	code, out = h.post(path+"/resolve", []byte(`{"note":"failed over"}`), aliceToken)
	require.Equal(t, http.StatusOK, code, out)
	waitFor(t, "the incident to close", 15*time.Second, func() bool { return h.incident(id).Status == incident.StatusClosed })
	st = h.incident(id)
	require.NotNil(t, st.Major.HotWashDue)
	require.Equal(t, 24*time.Hour, st.Major.HotWashDue.Sub(*st.ResolvedAt))
	var pm workflows.PostmortemState
	waitFor(t, "the post-mortem", 10*time.Second, func() bool {
		code, body := getText(t, h, path+"/postmortem", aliceToken)
		return code == http.StatusOK && jsonUnmarshal(body, &pm) == nil && pm.HotWash != nil
	})
	require.Equal(t, 72*time.Hour, pm.DueAt.Sub(pm.ResolvedAt), "a major incident's post-mortem is due in 72 hours")
	require.Equal(t, 24*time.Hour, pm.HotWash.Due.Sub(pm.ResolvedAt))
	recordHistory(t, id, "v10_major")

	// Written up before the hot wash was due, it finishes without one.
	waitFor(t, "the post-mortem issue", 15*time.Second, func() bool {
		code, body := getText(t, h, path+"/postmortem", aliceToken)
		return code == http.StatusOK && jsonUnmarshal(body, &pm) == nil && pm.Issue != nil
	})
	code, out = h.post(path+"/postmortem/complete", []byte(`{"by":"alice","note":"hot wash held at once"}`), aliceToken)
	require.Equal(t, http.StatusOK, code, out)
	pmID := workflows.PostmortemID(id)
	waitFor(t, "the post-mortem to finish", 15*time.Second, func() bool {
		d, err := temporalClient.DescribeWorkflowExecution(context.Background(), pmID, "")
		return err == nil && d.GetWorkflowExecutionInfo().GetCloseTime() != nil
	})
	recordHistory(t, pmID, "v10_major_postmortem")
}

// timerSummaries are the summaries of every timer the incident started.
func timerSummaries(t *testing.T, id string) []string {
	t.Helper()
	var out []string
	it := temporalClient.GetWorkflowHistory(context.Background(), id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		e, err := it.Next()
		require.NoError(t, err)
		if e.GetEventType() != enumspb.EVENT_TYPE_TIMER_STARTED || e.GetUserMetadata().GetSummary() == nil {
			continue
		}
		var s string
		require.NoError(t, converter.GetDefaultDataConverter().FromPayload(e.GetUserMetadata().GetSummary(), &s))
		out = append(out, s)
	}
	return out
}
