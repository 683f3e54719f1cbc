package e2e

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidentflow/incidentflow/config"
	"github.com/incidentflow/incidentflow/incident"
)

const erinDM = "D0ERIN"

// A game day declared over HTTP: it pages bob and erin (its participants)
// and never alice, whom the service's schedule has on call; every DM says
// [EXERCISE], its channel is exercise-..., the status page never shows it,
// and at its end its evaluation is in its JSON and its channel. The report
// lists it apart and counts only the real incident.
func TestExercisePagesOnlyItsParticipantsAndStaysOutOfTheReport(t *testing.T) {
	h, svc := ownService(t, func(cfg *config.Config, svc string) {
		cfg.Users["erin"] = config.User{SlackID: "U0ERIN"}
		cfg.StatusPage = config.StatusPage{Services: []string{svc}}
	})

	for _, tc := range []struct {
		name string
		body map[string]any
		want string
	}{
		{"no participants", map[string]any{"exercise": true}, "participants: required for an exercise"},
		{"unknown participant", map[string]any{"exercise": true, "participants": []string{"bob", "mallory"}}, `participants: unknown user "mallory"`},
		{"participants of a real incident", map[string]any{"participants": []string{"bob"}}, "participants: only for an exercise"},
		{"too many", map[string]any{"exercise": true, "participants": strings.Split(strings.Repeat("bob,", 21), ",")[:21]}, "participants: 21 named, at most 20"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := map[string]any{"title": "drill", "service": svc, "severity": "P2"}
			for k, v := range tc.body {
				body[k] = v
			}
			code, out := h.doJSON(http.MethodPost, "/v1/incidents", body, aliceToken)
			require.Equal(t, http.StatusBadRequest, code, out)
			require.Contains(t, out["error"], tc.want)
		})
	}

	code, out := h.doJSON(http.MethodPost, "/v1/incidents", map[string]any{"title": "game day: db failover", "service": svc, "severity": "P2",
		"exercise": true, "participants": []string{"bob", "erin"}}, aliceToken)
	require.Equal(t, http.StatusCreated, code, out)
	id := out["id"].(string)
	require.Equal(t, true, out["exercise"], out)
	require.Equal(t, []any{"bob", "erin"}, out["participants"])
	require.Contains(t, id, "incident-exercise-")
	require.Empty(t, out["commander"], "taking command is part of the drill")

	waitFor(t, "both participants paged", 10*time.Second, func() bool {
		return len(h.slack.Messages(bobDM)) == 1 && len(h.slack.Messages(erinDM)) == 1
	})
	for _, dm := range []string{bobDM, erinDM} {
		text := h.slack.Messages(dm)[0].Form.Get("text")
		require.True(t, strings.HasPrefix(text, incident.ExerciseMark+" [P2] "+id), text)
	}
	waitFor(t, "the exercise channel", 10*time.Second, func() bool { return h.incident(id).SlackChannel != nil })
	channel := h.incident(id).SlackChannel
	require.True(t, strings.HasPrefix(channel.Name, "exercise-"), channel.Name)
	require.LessOrEqual(t, len(channel.Name), 80)

	// The status page does not show it, open or not.
	waitListed(t, h, svc, "open", 1)
	code, js := getText(t, h, "/status.json", "")
	require.Equal(t, http.StatusOK, code, js)
	var sp struct {
		Status    string `json:"status"`
		Incidents []any  `json:"incidents"`
	}
	require.NoError(t, jsonUnmarshal(js, &sp))
	require.Equal(t, "operational", sp.Status, js)
	require.Empty(t, sp.Incidents, js)

	// Slack's slash command: a mention and a configured name before the severity.
	reply := h.slash("U0ALICE", "declare --exercise <@U0BOB> erin P4 "+svc+" tabletop drill")
	require.Equal(t, "in_channel", reply["response_type"], reply)
	require.Contains(t, reply["text"], "[EXERCISE] alice declared P4 exercise incident-exercise-")
	require.Contains(t, reply["text"], "(pages only bob, erin)")
	reply = h.slash("U0ALICE", "declare --exercise P4 "+svc+" nobody to page")
	require.Equal(t, "ephemeral", reply["response_type"])
	require.Contains(t, reply["text"], "participants: required for an exercise")

	code, out = h.post("/v1/incidents/"+id+"/ack", []byte(`{"note":"on it"}`), bobToken)
	require.Equal(t, http.StatusOK, code, out)
	require.Equal(t, "bob", out["commander"])
	code, out = h.doJSON(http.MethodPost, "/v1/incidents/"+id+"/page", map[string]any{"target": "schedule:primary"}, bobToken)
	require.Equal(t, http.StatusBadRequest, code, out)
	require.Contains(t, out["error"], "target: an exercise pages only its participants")
	code, out = h.doJSON(http.MethodPost, "/v1/incidents/"+id+"/status-updates", map[string]any{"stage": "identified", "message": "drill: replica promoted", "public": true}, bobToken)
	require.Equal(t, http.StatusOK, code, out)
	code, out = h.post("/v1/incidents/"+id+"/resolve", []byte(`{"note":"failed back"}`), bobToken)
	require.Equal(t, http.StatusOK, code, out)
	waitFor(t, "the exercise to close", 15*time.Second, func() bool { return h.incident(id).Status == incident.StatusClosed })

	st := h.incident(id)
	require.True(t, st.Exercise)
	require.Empty(t, st.Postmortem, "an exercise evaluates itself instead of a post-mortem")
	ev := st.ExerciseEvaluation
	require.NotNil(t, ev)
	require.Equal(t, "bob", ev.AcknowledgedBy)
	require.NotNil(t, ev.TimeToAckSeconds)
	require.InDelta(t, st.AcknowledgedAt.Sub(st.CreatedAt).Seconds(), *ev.TimeToAckSeconds, 0.001)
	require.NotNil(t, ev.TimeToFirstUpdateSeconds)
	require.GreaterOrEqual(t, *ev.TimeToFirstUpdateSeconds, *ev.TimeToAckSeconds)
	require.Equal(t, "commander", ev.Roles[0].Role)
	require.Equal(t, []string{"ops"}, ev.Unfilled, "P2 needs ops, which nobody took")
	waitFor(t, "the evaluation in the exercise's channel", 10*time.Second, func() bool {
		for _, m := range h.slack.Messages(channel.ID) {
			if strings.Contains(m.Form.Get("text"), "Exercise evaluation: time to ack") {
				return true
			}
		}
		return false
	})

	// Every message the exercises sent says so; nobody but the participants
	// got a DM, and nothing went to the announce channel.
	for _, m := range h.slack.Calls("chat.postMessage") {
		ch, text := m.Form.Get("channel"), m.Form.Get("text")
		if strings.HasPrefix(ch, "D") {
			require.Contains(t, []string{bobDM, erinDM}, ch, "a DM outside the participants: %s", text)
		}
		require.True(t, strings.HasPrefix(text, incident.ExerciseMark), "unmarked message to %s: %s", ch, text)
		require.NotEqual(t, "#incidents", ch, text)
	}
	require.Empty(t, h.slack.Messages(aliceDM), "the real on-call is never paged")
	require.Empty(t, h.slack.Messages("#incidents"))
	recordHistory(t, id, "v8_exercise")

	// One real incident beside the two exercises: the report counts it alone.
	code, out = h.doJSON(http.MethodPost, "/v1/incidents", map[string]any{"title": "real disk full", "service": svc, "severity": "P4"}, aliceToken)
	require.Equal(t, http.StatusCreated, code, out)
	waitListed(t, h, svc, "", 3)
	code, body := getText(t, h, "/v1/report?since=1h&format=json&service="+svc, aliceToken)
	require.Equal(t, http.StatusOK, code, body)
	var rep struct {
		Incidents int `json:"incidents"`
		Totals    []struct {
			Severity string `json:"severity"`
			Count    int    `json:"count"`
			MTTA     struct {
				N int `json:"n"`
			} `json:"mtta"`
		} `json:"totals"`
		Exercises []struct {
			ID               string   `json:"id"`
			Participants     []string `json:"participants"`
			TimeToAckSeconds *float64 `json:"time_to_ack_seconds"`
			Evaluation       string   `json:"evaluation"`
		} `json:"exercises"`
	}
	require.NoError(t, jsonUnmarshal(body, &rep))
	require.Equal(t, 1, rep.Incidents, body)
	all := rep.Totals[len(rep.Totals)-1]
	require.Equal(t, "all", all.Severity)
	require.Equal(t, 1, all.Count, "only the real incident is counted")
	require.Equal(t, 0, all.MTTA.N, "the exercise's ack is not in MTTA")
	require.Len(t, rep.Exercises, 2, body)
	var found bool
	for _, e := range rep.Exercises {
		if e.ID == id {
			found = true
			require.Equal(t, []string{"bob", "erin"}, e.Participants)
			require.NotNil(t, e.TimeToAckSeconds)
			require.Equal(t, ev.Summary, e.Evaluation)
		}
	}
	require.True(t, found, body)
	code, md := getText(t, h, "/v1/report?since=1h&format=md&service="+svc, aliceToken)
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, md, "## Exercises")
	require.Contains(t, md, "game day: db failover")
}
