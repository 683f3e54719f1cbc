package e2e

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/stretchr/testify/require"

	"github.com/incidentflow/incidentflow/starter"
)

// A scripted incident moves the metrics a scrape of /metrics shows: the
// intake's, the pages', the ack's, the open incidents gauge and the
// Temporal SDK's own.
func TestMetricsAfterAScriptedIncident(t *testing.T) {
	h := newHarness(t)
	key := "metrics-" + t.Name()
	code, body := h.post("/v1/alerts", []byte(`{"key":"`+key+`","title":"checkout down","severity":"P1"}`), genericToken)
	require.Equal(t, http.StatusAccepted, code, body)
	id := body["incident_id"].(string)
	waitFor(t, "the page", 10*time.Second, func() bool { return len(h.slack.Messages(aliceDM)) >= 1 })
	// The page's activity reports after Slack answered: wait for its count.
	waitFor(t, "the page counted", 10*time.Second, func() bool {
		return value(scrape(t, h), "incidentflow_pages_total", map[string]string{"channel": "slack", "result": "delivered"}) >= 1
	})
	code, body = h.post("/v1/incidents/"+id+"/ack", []byte(`{"note":"on it"}`), aliceToken)
	require.Equal(t, http.StatusOK, code, body)

	inc := &starter.Incidents{Client: temporalClient, Config: h.cfg, TaskQueue: h.cfg.Temporal.TaskQueue}
	waitFor(t, "visibility to show the ack", 10*time.Second, func() bool {
		inc.RefreshOpen(context.Background(), slog.New(slog.NewTextHandler(io.Discard, nil)))
		return value(scrape(t, h), "incidentflow_open_incidents", map[string]string{"status": "acknowledged"}) >= 1
	})

	families := scrape(t, h)
	for _, c := range []struct {
		name   string
		labels map[string]string
	}{
		{"incidentflow_intake_requests_total", map[string]string{"kind": "generic", "integration": "scripts", "result": "accepted"}},
		{"incidentflow_incidents_opened_total", map[string]string{"service": "checkout", "severity": "P1"}},
		{"incidentflow_pages_total", map[string]string{"channel": "slack", "result": "delivered"}},
		{"incidentflow_escalations_total", map[string]string{"step": "1"}},
		{"incidentflow_acks_total", map[string]string{"severity": "P1"}},
		{"incidentflow_time_to_ack_seconds", map[string]string{"severity": "P1"}},
		{"incidentflow_intake_request_duration_seconds", map[string]string{"kind": "generic"}},
	} {
		require.GreaterOrEqual(t, value(families, c.name, c.labels), 1.0, "%s%v", c.name, c.labels)
	}
	sdk := 0
	for name := range families {
		if strings.HasPrefix(name, "temporal_") {
			sdk++
		}
	}
	require.Greater(t, sdk, 0, "the Temporal SDK's metrics are on the same endpoint")
	require.Contains(t, families, "temporal_request_total")
	for name, f := range families {
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				require.NotContains(t, l.GetValue(), key, "%s: an incident's key is never a label", name)
			}
		}
	}
}

func scrape(t *testing.T, h *harness) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(h.api.URL + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var parser expfmt.TextParser
	families, err := parser.TextToMetricFamilies(resp.Body)
	require.NoError(t, err)
	return families
}

// value is the series of name with (at least) labels: a counter's or
// gauge's value, a histogram's count; 0 when there is none.
func value(families map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
	total := 0.0
	for _, m := range families[name].GetMetric() {
		match := 0
		for _, l := range m.GetLabel() {
			if v, ok := labels[l.GetName()]; ok && v == l.GetValue() {
				match++
			}
		}
		if match != len(labels) {
			continue
		}
		switch {
		case m.GetCounter() != nil:
			total += m.GetCounter().GetValue()
		case m.GetGauge() != nil:
			total += m.GetGauge().GetValue()
		case m.GetHistogram() != nil:
			total += float64(m.GetHistogram().GetSampleCount())
		}
	}
	return total
}
