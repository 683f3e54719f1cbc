package e2e

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidentflow/incidentflow/config"
)

// A runbook link travels with the alert (and its startsAt gives MTTD) to the page the responder reads
// and to the incident: Alertmanager's runbook_url annotation, else the
// service's runbook_url; a link that is not http(s) is dropped, the
// alert never refused for it.
func TestRunbookLinkReachesThePage(t *testing.T) {
	h := newHarnessWith(t, func(c *config.Config) {
		svc := c.Services["checkout"]
		svc.RunbookURL = "https://runbooks.example.com/checkout"
		c.Services["checkout"] = svc
	})
	var payload map[string]any
	require.NoError(t, json.Unmarshal(alertmanagerPayload("runbook-"+t.Name(), "firing"), &payload))
	payload["commonAnnotations"].(map[string]any)["runbook_url"] = "https://runbooks.example.com/high-error-rate"
	// The problem began two minutes before the alert reached us: MTTD.
	payload["alerts"].([]any)[0].(map[string]any)["startsAt"] = time.Now().Add(-2 * time.Minute).UTC().Format(time.RFC3339)
	body, err := json.Marshal(payload)
	require.NoError(t, err)
	code, out := h.post("/v1/alerts/alertmanager", body, promToken)
	require.Equal(t, http.StatusAccepted, code, out)
	id := out["incident_id"].(string)
	waitFor(t, "the page", 10*time.Second, func() bool { return len(h.slack.Messages(aliceDM)) == 1 })
	require.Contains(t, h.slack.Messages(aliceDM)[0].Form.Get("text"), "Runbook: https://runbooks.example.com/high-error-rate")
	require.Equal(t, "https://runbooks.example.com/high-error-rate", h.incident(id).Runbook)
	waitFor(t, "the problem's start noted", 5*time.Second, func() bool { return h.incident(id).MTTDSeconds != nil })
	mttd := *h.incident(id).MTTDSeconds
	require.InDelta(t, 120, mttd, 10, "MTTD runs from the alert's startsAt to the incident's opening")
	_, _ = h.post("/v1/incidents/"+id+"/resolve", []byte(`{}`), aliceToken)

	// No link on the alert (and one that is not a link): the service's.
	code, out = h.post("/v1/alerts", []byte(`{"key":"runbook-2-`+t.Name()+`","title":"queue backlog","severity":"warning","runbook_url":"javascript:alert(1)"}`), genericToken)
	require.Equal(t, http.StatusAccepted, code, out)
	id = out["incident_id"].(string)
	waitFor(t, "the second page", 10*time.Second, func() bool { return len(h.slack.Messages(aliceDM)) == 2 })
	text := h.slack.Messages(aliceDM)[1].Form.Get("text")
	require.Contains(t, text, "Runbook: https://runbooks.example.com/checkout")
	require.False(t, strings.Contains(text, "javascript:"))
	_, _ = h.post("/v1/incidents/"+id+"/resolve", []byte(`{}`), aliceToken)
}
