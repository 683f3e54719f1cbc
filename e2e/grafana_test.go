package e2e

import (
	"bytes"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Grafana's own webhook contact point (version "1", as Grafana 11 sends
// it): it opens and pages an incident keyed by its groupKey, and its
// resolved notification moves the incident to monitoring.
func TestGrafanaWebhookOpensAndResolves(t *testing.T) {
	h := newHarness(t)
	firing, err := os.ReadFile("testdata/grafana_firing.json")
	require.NoError(t, err)
	// Every test shares one namespace: a group key of its own.
	firing = bytes.ReplaceAll(firing, []byte(`grafana_folder=\"Checkout\"}"`), []byte(`grafana_folder=\"Checkout\", test=\"`+t.Name()+`\"}"`))

	code, out := h.post("/v1/alerts/grafana", firing, "wrong")
	require.Equal(t, http.StatusUnauthorized, code, out)
	code, out = h.post("/v1/alerts/grafana", firing, grafanaToken)
	require.Equal(t, http.StatusAccepted, code, out)
	id := out["incident_id"].(string)
	waitFor(t, "the page", 10*time.Second, func() bool { return len(h.slack.Messages(aliceDM)) == 1 })
	page := h.slack.Messages(aliceDM)[0].Form.Get("text")
	require.Contains(t, page, "checkout p99 latency above 2s")
	require.Contains(t, page, "[P1]", "severity critical is P1")

	resolved := bytes.ReplaceAll(firing, []byte(`"status": "firing"`), []byte(`"status": "resolved"`))
	code, out = h.post("/v1/alerts/grafana", resolved, grafanaToken)
	require.Equal(t, http.StatusAccepted, code, out)
	waitFor(t, "monitoring", 10*time.Second, func() bool { return h.incident(id).Status == "monitoring" })

	code, out = h.post("/v1/alerts/grafana", []byte(strings.Replace(string(firing), `"version": "1"`, `"version": "7"`, 1)), grafanaToken)
	require.Equal(t, http.StatusBadRequest, code)
	require.Contains(t, out["error"], "version")
}
