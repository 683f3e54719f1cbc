package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidentflow/incidentflow/config"
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
