package metrics

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"
	"github.com/stretchr/testify/require"
)

func TestIntakeCountsByResultClass(t *testing.T) {
	Known([]string{"checkout"}, []string{"P1", "P2"}, []string{"scripts"})
	before := testutil.ToFloat64(intakeRequests.WithLabelValues("generic", "scripts", Accepted))
	Intake("generic", "scripts", http.StatusAccepted, 20*time.Millisecond)
	Intake("generic", "scripts", http.StatusAccepted, 30*time.Millisecond)
	require.Equal(t, before+2, testutil.ToFloat64(intakeRequests.WithLabelValues("generic", "scripts", Accepted)))

	for status, result := range map[int]string{400: BadRequest, 401: Unauthorized, 403: Unauthorized, 404: NotFound,
		409: Conflict, 413: TooLarge, 422: BadRequest, 503: Unavailable, 500: Error} {
		before := testutil.ToFloat64(intakeRequests.WithLabelValues("generic", "unknown", result))
		Intake("generic", "", status, time.Millisecond)
		require.Equal(t, before+1, testutil.ToFloat64(intakeRequests.WithLabelValues("generic", "unknown", result)), "status %d", status)
	}
	require.GreaterOrEqual(t, Value("incidentflow_intake_request_duration_seconds", map[string]string{"kind": "generic"}), 11.0)
}

func TestLabelsStayBounded(t *testing.T) {
	Known([]string{"checkout"}, []string{"P1"}, []string{"scripts"})
	// A sender's service, severity, integration or kind never becomes a label.
	Intake("generic' OR 1=1", "someone-else", 202, time.Millisecond)
	Opened("checkout", "P1")
	Opened("incident-abc123", "SEV-made-up")
	Page("carrier-pigeon", "lost")
	for i := 0; i < 100; i++ {
		Escalation(i)
	}
	require.GreaterOrEqual(t, Value("incidentflow_intake_requests_total", map[string]string{"kind": Other, "integration": Other, "result": Accepted}), 1.0)
	require.GreaterOrEqual(t, Value("incidentflow_incidents_opened_total", map[string]string{"service": Other, "severity": Other}), 1.0)
	require.GreaterOrEqual(t, Value("incidentflow_incidents_opened_total", map[string]string{"service": "checkout", "severity": "P1"}), 1.0)
	require.GreaterOrEqual(t, Value("incidentflow_pages_total", map[string]string{"channel": Other, "result": Other}), 1.0)
	require.LessOrEqual(t, testutil.CollectAndCount(escalations), 11, "steps 0..9 and 10+")
	require.GreaterOrEqual(t, Value("incidentflow_escalations_total", map[string]string{"step": "10+"}), 90.0)

	// Unconfigured (a tool that never called Known), only the first few
	// distinct values are kept.
	var n names
	for i := 0; i < 1000; i++ {
		n.label(strings.Repeat("x", i%80) + string(rune('a'+i%26)))
	}
	require.LessOrEqual(t, len(n.seen), maxUnconfigured)
}

func TestPagesAcksAndGauges(t *testing.T) {
	Known([]string{"checkout"}, []string{"P1", "P2"}, nil)
	before := testutil.ToFloat64(pages.WithLabelValues("slack", Delivered))
	Page("slack", Delivered)
	require.Equal(t, before+1, testutil.ToFloat64(pages.WithLabelValues("slack", Delivered)))
	Page("sms", Refused)
	require.GreaterOrEqual(t, testutil.ToFloat64(pages.WithLabelValues("sms", Refused)), 1.0)

	acksBefore := testutil.ToFloat64(acks.WithLabelValues("P2"))
	Ack("P2", true, 90*time.Second)
	Ack("P2", false, 0) // a later ack: counted, its time is the first's
	require.Equal(t, acksBefore+2, testutil.ToFloat64(acks.WithLabelValues("P2")))
	require.Equal(t, 1.0, Value("incidentflow_time_to_ack_seconds", map[string]string{"severity": "P2"}))

	statuses := []string{"triggered", "acknowledged", "monitoring", "resolved"}
	SetOpen(statuses, map[string]int{"triggered": 3, "acknowledged": 1})
	SetOpen(statuses, map[string]int{"acknowledged": 2})
	require.Equal(t, 0.0, testutil.ToFloat64(openIncidents.WithLabelValues("triggered")), "an emptied status reads 0")
	require.Equal(t, 2.0, testutil.ToFloat64(openIncidents.WithLabelValues("acknowledged")))
	SetOverdue(1, 4)
	require.Equal(t, 4.0, testutil.ToFloat64(overdueActionItems))
}

// The SDK's metrics come out of the same /metrics as ours.
func TestTemporalSDKMetricsOnTheSameEndpoint(t *testing.T) {
	h := TemporalHandler()
	h.WithTags(map[string]string{"operation": "StartWorkflowExecution"}).Counter("temporal_request").Inc(1)
	h.Timer("temporal_request_latency").Record(15 * time.Millisecond)
	Intake("alertmanager", "", 401, time.Millisecond)

	srv := httptest.NewServer(Handler())
	defer srv.Close()
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, srv.URL, nil)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var parser expfmt.TextParser
	families, err := parser.TextToMetricFamilies(resp.Body)
	require.NoError(t, err)
	require.Contains(t, families, "temporal_request_total")
	require.Contains(t, families, "temporal_request_latency_seconds")
	require.Contains(t, families, "incidentflow_intake_requests_total")
	require.Contains(t, families, "go_goroutines")
}
