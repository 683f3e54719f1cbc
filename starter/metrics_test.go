package starter

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"google.golang.org/grpc"

	"github.com/incidentflow/incidentflow/config"
	"github.com/incidentflow/incidentflow/metrics"
	"github.com/incidentflow/incidentflow/workflows"
)

const metricsConfig = `
api_tokens: [{name: prometheus, token_env: PROM_SCRAPE_TOKEN, user: alice, read_only: true}]
integrations:
  - {name: scripts, kind: generic, token_env: SCRIPTS_TOKEN, service: checkout}
services:
  checkout: {escalation_policy: p}
escalation_policies: {p: {steps: [{targets: [user:alice]}]}}
users: {alice: {}}
`

// acceptingTemporal takes every alert.
type acceptingTemporal struct{ client.Client }

func (acceptingTemporal) SignalWithStartWorkflow(context.Context, string, string, any, client.StartWorkflowOptions, any, ...any) (client.WorkflowRun, error) {
	return nil, nil
}

func TestIntakeMetricsAndTheMetricsEndpoint(t *testing.T) {
	cfg, err := config.Parse([]byte(metricsConfig))
	require.NoError(t, err)
	KnownNames(cfg)
	secrets := map[string]string{"SCRIPTS_TOKEN": "s3cret", "PROM_SCRAPE_TOKEN": "scrape"}
	h := NewServer(&Incidents{Client: acceptingTemporal{}, Config: cfg, TaskQueue: "q"}, slog.New(slog.NewTextHandler(io.Discard, nil)),
		func(k string) string { return secrets[k] }).Handler()
	post := func(body, token string) int {
		req := httptest.NewRequest(http.MethodPost, "/v1/alerts", strings.NewReader(body))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code
	}
	series := func(integration, result string) map[string]string {
		return map[string]string{"kind": "generic", "integration": integration, "result": result}
	}
	accepted := metrics.Value("incidentflow_intake_requests_total", series("scripts", metrics.Accepted))
	unauthorized := metrics.Value("incidentflow_intake_requests_total", series("unknown", metrics.Unauthorized))
	bad := metrics.Value("incidentflow_intake_requests_total", series("scripts", metrics.BadRequest))

	require.Equal(t, http.StatusAccepted, post(`{"key":"k1","title":"disk full"}`, "s3cret"))
	require.Equal(t, http.StatusUnauthorized, post(`{"key":"k1"}`, "wrong"))
	require.Equal(t, http.StatusBadRequest, post(`{"title":"no key"}`, "s3cret"))

	require.Equal(t, accepted+1, metrics.Value("incidentflow_intake_requests_total", series("scripts", metrics.Accepted)))
	require.Equal(t, unauthorized+1, metrics.Value("incidentflow_intake_requests_total", series("unknown", metrics.Unauthorized)))
	require.Equal(t, bad+1, metrics.Value("incidentflow_intake_requests_total", series("scripts", metrics.BadRequest)))

	// /metrics is a read: closed without public_reads, open to any API token.
	get := func(token string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	require.Equal(t, http.StatusUnauthorized, get("").Code)
	rec := get("scrape")
	require.Equal(t, http.StatusOK, rec.Code)
	var parser expfmt.TextParser
	families, err := parser.TextToMetricFamilies(rec.Body)
	require.NoError(t, err)
	require.Contains(t, families, "incidentflow_intake_requests_total")
	require.Contains(t, families, "incidentflow_intake_request_duration_seconds")
	for _, m := range families["incidentflow_intake_requests_total"].GetMetric() {
		for _, l := range m.GetLabel() {
			require.NotContains(t, l.GetValue(), "k1", "no key in a label")
		}
	}
}

func TestOpenedCountsOnlyNewRuns(t *testing.T) {
	metrics.Known([]string{"checkout"}, []string{"P1", "P2"}, nil)
	payload := func(s string) *commonpb.Payload {
		p, err := converter.GetDefaultDataConverter().ToPayload(s)
		require.NoError(t, err)
		return p
	}
	req := &workflowservice.SignalWithStartWorkflowExecutionRequest{
		WorkflowType: &commonpb.WorkflowType{Name: workflows.IncidentWorkflowName},
		SearchAttributes: &commonpb.SearchAttributes{IndexedFields: map[string]*commonpb.Payload{
			workflows.SearchService.GetName(): payload("checkout"), workflows.SearchSeverity.GetName(): payload("P2"),
		}},
	}
	call := func(started bool, fail error) {
		invoker := func(_ context.Context, _ string, _, reply any, _ *grpc.ClientConn, _ ...grpc.CallOption) error {
			reply.(*workflowservice.SignalWithStartWorkflowExecutionResponse).Started = started
			return fail
		}
		_ = countOpened(context.Background(), "/SignalWithStart", req, &workflowservice.SignalWithStartWorkflowExecutionResponse{}, nil, invoker)
	}
	labels := map[string]string{"service": "checkout", "severity": "P2"}
	before := metrics.Value("incidentflow_incidents_opened_total", labels)
	call(true, nil)
	call(false, nil) // a duplicate joined the running incident
	call(true, context.DeadlineExceeded)
	require.Equal(t, before+1, metrics.Value("incidentflow_incidents_opened_total", labels))

	req.Memo = &commonpb.Memo{Fields: map[string]*commonpb.Payload{workflows.MemoExercise: payload("true")}}
	call(true, nil)
	require.Equal(t, before+1, metrics.Value("incidentflow_incidents_opened_total", labels), "a game day is not an incident")
	req.Memo = nil

	req.WorkflowType.Name = workflows.HeartbeatWorkflowName
	call(true, nil)
	require.Equal(t, before+1, metrics.Value("incidentflow_incidents_opened_total", labels), "only incidents count")
}

func TestAckCountsTimeToFirstAck(t *testing.T) {
	metrics.Known(nil, []string{"P1"}, nil)
	opened := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	acked := opened.Add(4 * time.Minute)
	st := &workflows.Incident{Severity: "P1", CreatedAt: opened, AcknowledgedAt: &acked,
		Timeline: []workflows.TimelineEntry{{Kind: workflows.KindTriggered}, {Kind: workflows.KindAck}}}
	acks := metrics.Value("incidentflow_acks_total", map[string]string{"severity": "P1"})
	observed := metrics.Value("incidentflow_time_to_ack_seconds", map[string]string{"severity": "P1"})
	countAck(workflows.UpdateAck, st)
	countAck(workflows.UpdateNote, st)
	st.Timeline = append(st.Timeline, workflows.TimelineEntry{Kind: workflows.KindAckTimeout}, workflows.TimelineEntry{Kind: workflows.KindAck})
	countAck(workflows.UpdateAck, st) // acked again after the ack timeout
	drill := *st
	drill.Exercise = true
	countAck(workflows.UpdateAck, &drill)
	require.Equal(t, acks+2, metrics.Value("incidentflow_acks_total", map[string]string{"severity": "P1"}))
	require.Equal(t, observed+1, metrics.Value("incidentflow_time_to_ack_seconds", map[string]string{"severity": "P1"}))
}
