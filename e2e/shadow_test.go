package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidentflow/incidentflow/config"
	"github.com/incidentflow/incidentflow/shadow"
	"github.com/incidentflow/incidentflow/starter"
)

// An integration in shadow mode: its incident opens, escalates and keeps
// its timeline, every page recorded as the one it would have been, and
// not one call reaches Slack (no DM, no channel, no card, no fallback).
func TestShadowIntegrationSendsNothing(t *testing.T) {
	h := newHarnessWith(t, func(c *config.Config) {
		c.Integrations = append(c.Integrations, config.Integration{Name: "old-pager", Kind: config.KindGeneric, TokenEnv: "GENERIC_TOKEN", Service: "checkout", Shadow: true})
		// The shadow integration is found by its token: give it the only one.
		for i := range c.Integrations {
			if c.Integrations[i].Name == "scripts" {
				c.Integrations[i].TokenEnv = "UNSET_TOKEN"
			}
		}
	})
	key := fmt.Sprintf("shadow-%d", time.Now().UnixNano())
	code, body := h.post("/v1/alerts", []byte(`{"key":"`+key+`","title":"checkout down","severity":"P1"}`), genericToken)
	require.Equal(t, http.StatusAccepted, code, body)
	id := body["incident_id"].(string)

	// Step 1 at once (alice), step 2 three seconds later (bob), then the fallback.
	waitFor(t, "both steps recorded", 15*time.Second, func() bool {
		n := 0
		for _, e := range h.incident(id).Timeline {
			if strings.HasPrefix(e.Message, "would have paged ") {
				n++
			}
		}
		return n >= 2
	})
	st := h.incident(id)
	require.True(t, st.Shadow)
	var would []string
	for _, e := range st.Timeline {
		if strings.HasPrefix(e.Message, "would have paged ") {
			would = append(would, e.Message)
		}
	}
	require.Contains(t, would[0], "would have paged alice by ")
	require.Contains(t, would[0], "shadow mode: nothing sent")
	require.Contains(t, strings.Join(would, "\n"), "would have paged bob")
	require.Nil(t, st.SlackChannel, "no channel is opened")
	for _, call := range h.slack.Calls("") {
		require.NotEqual(t, "chat.postMessage", call.Method, "shadow mode posted: %v", call.Form)
		require.NotEqual(t, "conversations.create", call.Method)
		require.NotEqual(t, "conversations.open", call.Method)
	}
	code, out := h.post("/v1/incidents/"+id+"/resolve", []byte(`{}`), aliceToken)
	require.Equal(t, http.StatusOK, code, out)
}

// The week before switching, end to end: incidentflow runs in shadow mode
// beside PagerDuty, and `shadow compare` reads PagerDuty's export of the
// same period against what incidentflow would have done: the incident both
// had (matched by the key both were sent) agrees person by person, and the
// alert that never reached incidentflow stands out.
func TestShadowCompareAgainstAPagerDutyExport(t *testing.T) {
	h := newHarnessWith(t, func(c *config.Config) {
		c.Shadow = true
	})
	key := fmt.Sprintf("shadow-cmp-%d", time.Now().UnixNano())
	code, body := h.post("/v1/alerts", []byte(`{"key":"`+key+`","title":"checkout 5xx above 5%","severity":"P2"}`), genericToken)
	require.Equal(t, http.StatusAccepted, code, body)
	id := body["incident_id"].(string)
	waitFor(t, "alice would have been paged", 15*time.Second, func() bool {
		for _, e := range h.incident(id).Timeline {
			if strings.HasPrefix(e.Message, "would have paged alice") {
				return true
			}
		}
		return false
	})
	opened := h.incident(id).CreatedAt.UTC()

	// PagerDuty's side: the same key, alice texted 20 s in; and an alert
	// incidentflow never got.
	dir := t.TempDir()
	ts := func(d time.Duration) string { return opened.Add(d).Format(time.RFC3339) }
	files := map[string]string{
		"users.json": `{"users":[{"id":"PA","name":"Alice","email":"ALICE@example.com"},{"id":"PZ","name":"Zoe","email":"zoe@example.com"}]}`,
		"incidents.json": `{"incidents":[{"id":"Q1","title":"checkout 5xx above 5%","incident_key":"` + key + `","created_at":"` + ts(-time.Second) + `"},` +
			`{"id":"Q2","title":"payments queue stuck","incident_key":"never-sent-` + key + `","created_at":"` + ts(time.Second) + `"}]}`,
		"log_entries.json": `{"log_entries":[` +
			`{"type":"notify_log_entry","created_at":"` + ts(20*time.Second) + `","user":{"id":"PA","summary":"Alice"},"incident":{"id":"Q1"},"notification":{"type":"sms_notification"}},` +
			`{"type":"notify_log_entry","created_at":"` + ts(2*time.Second) + `","user":{"id":"PZ","summary":"Zoe"},"incident":{"id":"Q2"},"notification":{"type":"phone_notification"}}]}`,
	}
	for name, content := range files {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600))
	}

	inc := &starter.Incidents{Client: temporalClient, Config: h.cfg, TaskQueue: h.cfg.Temporal.TaskQueue}
	rep, err := inc.ShadowCompare(context.Background(), starter.ShadowRequest{
		ReportRequest: starter.ReportRequest{Since: "1h", Now: time.Now().UTC().Add(time.Second)},
		Source:        "pagerduty", Dir: dir,
	})
	require.NoError(t, err)
	var mine *shadow.Comparison
	for i, c := range rep.Incidents {
		if c.Ours == id {
			mine = &rep.Incidents[i]
		}
	}
	require.NotNil(t, mine, "the incident both had is compared: %+v", rep)
	require.Equal(t, "key", mine.MatchedBy)
	require.Equal(t, "Q1", mine.Theirs)
	require.True(t, mine.Agree, "%+v", mine.People)
	require.Equal(t, "alice", mine.People[0].User, "PagerDuty's ALICE@example.com is the config's alice")
	require.Equal(t, shadow.Same, mine.People[0].Verdict)
	require.Equal(t, "sms", mine.People[0].TheyVia)
	var missed []string
	for _, t := range rep.OnlyTheirs {
		missed = append(missed, t.Ref)
	}
	require.Contains(t, missed, "Q2", "the alert that never reached incidentflow")
	require.Contains(t, rep.Markdown(), "| alice | ")
}
