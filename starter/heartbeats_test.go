package starter

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/incidentflow/incidentflow/incident"
	"github.com/incidentflow/incidentflow/workflows"
)

const hbConfig = `
api_tokens:
  - {name: cron, token_env: CRON_TOKEN, user: alice}
  - {name: dashboard, token_env: DASH_TOKEN, user: alice, read_only: true}
integrations:
  - {name: og, kind: opsgenie, token_env: OG_KEY, service: checkout}
services:
  checkout: {escalation_policy: p}
escalation_policies: {p: {steps: [{targets: [user:alice]}]}}
users: {alice: {}}
heartbeats:
  nightly-backup: {interval: 24h, grace: 30m, service: checkout, severity: critical}
  paused: {interval: 1h, service: checkout, enabled: false}
`

// hbFake records what the intake asks of Temporal for heartbeats.
type hbFake struct {
	client.Client
	mu        sync.Mutex
	starts    []hbCall
	signals   []hbCall
	cancelled []string
	running   []string
	views     map[string]incident.HeartbeatView
}

type hbCall struct {
	id, signal string
	arg, input any
	opts       client.StartWorkflowOptions
}

func (f *hbFake) SignalWithStartWorkflow(_ context.Context, id, signal string, arg any, opts client.StartWorkflowOptions, _ any, args ...any) (client.WorkflowRun, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.starts = append(f.starts, hbCall{id: id, signal: signal, arg: arg, input: args[0], opts: opts})
	return nil, nil
}

// SignalWorkflow reaches running monitors only, as Temporal's does
// (incidents are always taken to exist).
func (f *hbFake) SignalWorkflow(_ context.Context, id, _, signal string, arg any) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if strings.HasPrefix(id, incident.HeartbeatWorkflowID("")) && !slices.Contains(f.running, id) {
		return serviceerror.NewNotFound("workflow not found")
	}
	f.signals = append(f.signals, hbCall{id: id, signal: signal, arg: arg})
	return nil
}

func (f *hbFake) CancelWorkflow(_ context.Context, id, _ string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cancelled = append(f.cancelled, id)
	return nil
}

func (f *hbFake) ListWorkflow(_ context.Context, req *workflowservice.ListWorkflowExecutionsRequest) (*workflowservice.ListWorkflowExecutionsResponse, error) {
	if !strings.Contains(req.GetQuery(), "WorkflowType = 'HeartbeatWorkflow'") || !strings.Contains(req.GetQuery(), "TaskQueue = 'q'") {
		return nil, serviceerror.NewInvalidArgument("unexpected query " + req.GetQuery())
	}
	resp := &workflowservice.ListWorkflowExecutionsResponse{}
	for _, id := range f.running {
		resp.Executions = append(resp.Executions, &workflowpb.WorkflowExecutionInfo{Execution: &commonpb.WorkflowExecution{WorkflowId: id}})
	}
	return resp, nil
}

func (f *hbFake) QueryWorkflow(_ context.Context, id, _, query string, _ ...any) (converter.EncodedValue, error) {
	v, ok := f.views[id]
	if !ok || query != incident.QueryHeartbeat {
		return nil, serviceerror.NewNotFound("workflow not found")
	}
	return ogValue{v}, nil
}

func (f *hbFake) QueryWorkflowWithOptions(ctx context.Context, req *client.QueryWorkflowWithOptionsRequest) (*client.QueryWorkflowWithOptionsResponse, error) {
	v, err := f.QueryWorkflow(ctx, req.WorkflowID, req.RunID, req.QueryType)
	if err != nil {
		return nil, err
	}
	return &client.QueryWorkflowWithOptionsResponse{QueryResult: v}, nil
}

func (f *hbFake) DescribeWorkflowExecution(context.Context, string, string) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
	return nil, serviceerror.NewNotFound("workflow not found")
}

func hbServer(t *testing.T, fake *hbFake) http.Handler {
	t.Helper()
	cfg := ogCfg(t, hbConfig)
	secrets := map[string]string{"CRON_TOKEN": "cron-secret", "DASH_TOKEN": "dash-secret", "OG_KEY": ogKey}
	return NewServer(&Incidents{Client: fake, Config: cfg, TaskQueue: "q"}, slog.New(slog.NewTextHandler(io.Discard, nil)),
		func(k string) string { return secrets[k] }).Handler()
}

func hbDo(t *testing.T, h http.Handler, method, path, auth string) (int, map[string]any) {
	t.Helper()
	req := httptest.NewRequest(method, path, nil)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var out map[string]any
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &out), rec.Body.String())
	return rec.Code, out
}

// Pings: v1 with an API token that may write, v2 with an opsgenie
// integration's GenieKey answered in Opsgenie's shape; each is a signal
// that starts the monitor if it is not running. Unknown names are 404s
// naming the known ones, told only to whoever holds a credential.
func TestHeartbeatPingHTTP(t *testing.T) {
	for _, tc := range []struct {
		name, method, path, auth string
		want                     int
		inAnswer                 string
	}{
		{"no token", "POST", "/v1/heartbeats/nightly-backup/ping", "", 401, "API token"},
		{"a wrong token", "POST", "/v1/heartbeats/nightly-backup/ping", "Bearer nope", 401, "API token"},
		{"a read-only token", "POST", "/v1/heartbeats/nightly-backup/ping", "Bearer dash-secret", 403, "read-only"},
		{"no token, unknown name", "POST", "/v1/heartbeats/nosuch/ping", "", 401, "API token"},
		{"unknown name", "POST", "/v1/heartbeats/nosuch/ping", "Bearer cron-secret", 404, `no heartbeat \"nosuch\" (one of nightly-backup, paused; or one made with POST /v1/heartbeats)`},
		{"the integration key on v1", "POST", "/v1/heartbeats/nightly-backup/ping", "GenieKey " + ogKey, 401, "API token"},
		{"POST", "POST", "/v1/heartbeats/nightly-backup/ping", "Bearer cron-secret", 202, `"state": "up"`},
		{"GET", "GET", "/v1/heartbeats/nightly-backup/ping", "Bearer cron-secret", 202, `"heartbeat": "nightly-backup"`},
		{"a disabled monitor", "POST", "/v1/heartbeats/paused/ping", "Bearer cron-secret", 202, `"state": "disabled"`},
		{"v2 without a key", "GET", "/v2/heartbeats/nightly-backup/ping", "", 401, "Could not authenticate"},
		{"v2 with a wrong key", "GET", "/v2/heartbeats/nightly-backup/ping", "GenieKey nope", 401, "Could not authenticate"},
		{"v2 with an API token", "GET", "/v2/heartbeats/nightly-backup/ping", "Bearer cron-secret", 401, "Could not authenticate"},
		{"v2 unknown name", "POST", "/v2/heartbeats/nosuch/ping", "GenieKey " + ogKey, 404, `no heartbeat \"nosuch\"`},
		{"v2 GET", "GET", "/v2/heartbeats/nightly-backup/ping", "GenieKey " + ogKey, 202, "PONG - Heartbeat received"},
		{"v2 POST", "POST", "/v2/heartbeats/nightly-backup/ping", "GenieKey " + ogKey, 202, "PONG - Heartbeat received"},
		{"v2 PUT", "PUT", "/v2/heartbeats/nightly-backup/ping", "GenieKey " + ogKey, 202, "PONG - Heartbeat received"},
		{"v2 PATCH", "PATCH", "/v2/heartbeats/nightly-backup/ping", "GenieKey " + ogKey, 202, "PONG - Heartbeat received"},
		{"v2 key in ?apiKey=", "GET", "/v2/heartbeats/nightly-backup/ping?apiKey=" + ogKey, "", 202, "PONG - Heartbeat received"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := &hbFake{}
			h := hbServer(t, fake)
			req := httptest.NewRequest(tc.method, tc.path, nil)
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			require.Equal(t, tc.want, rec.Code, rec.Body.String())
			require.Contains(t, rec.Body.String(), tc.inAnswer)
			if tc.want != http.StatusAccepted {
				require.Empty(t, fake.starts, "a refused ping reaches nobody")
				return
			}
			require.Len(t, fake.starts, 1)
			c := fake.starts[0]
			require.Equal(t, workflows.SignalHeartbeatPing, c.signal)
			name := strings.Split(tc.path, "/")[3]
			require.Equal(t, incident.HeartbeatWorkflowID(name), c.id)
			require.Equal(t, "q", c.opts.TaskQueue)
			in := c.input.(workflows.HeartbeatInput)
			require.Equal(t, name, in.Name)
			ping := c.arg.(incident.HeartbeatPing)
			require.WithinDuration(t, time.Now(), ping.At, time.Minute)
			var out map[string]any
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &out))
			if strings.HasPrefix(tc.path, "/v2/") {
				require.Equal(t, "PONG - Heartbeat received", out["result"])
				require.NotEmpty(t, out["requestId"])
				require.Contains(t, out, "took")
				require.Equal(t, "opsgenie:og", ping.Source)
			} else {
				require.Equal(t, ping.At.Format(time.RFC3339Nano), out["last_ping"], "the answer and the monitor agree on the time")
				require.Equal(t, "api:cron", ping.Source)
			}
		})
	}
}

// The config a monitor runs with is settled: severity as configured
// (critical -> P1), grace a tenth of the interval when unset, enabled
// unless switched off.
func TestHeartbeatConfigOfMonitors(t *testing.T) {
	cfg := ogCfg(t, hbConfig)
	require.Equal(t, incident.HeartbeatConfig{Interval: incident.Duration(24 * time.Hour), Grace: incident.Duration(30 * time.Minute),
		Service: "checkout", Severity: "P1", Enabled: true}, heartbeatConfig(cfg, cfg.Heartbeats["nightly-backup"]))
	require.Equal(t, incident.HeartbeatConfig{Interval: incident.Duration(time.Hour), Grace: incident.Duration(6 * time.Minute),
		Service: "checkout", Severity: cfg.LowestPagingSeverity(), Enabled: false}, heartbeatConfig(cfg, cfg.Heartbeats["paused"]))
}

// Start-up makes the running monitors match the config: each configured
// one started or reconfigured (SignalWithStart), any other on this task
// queue stopped.
func TestEnsureHeartbeats(t *testing.T) {
	fake := &hbFake{running: []string{"heartbeat-nightly-backup", "heartbeat-retired"}}
	in := &Incidents{Client: fake, Config: ogCfg(t, hbConfig), TaskQueue: "q"}
	require.NoError(t, in.EnsureHeartbeats(context.Background()))
	require.Len(t, fake.starts, 2)
	for _, c := range fake.starts {
		require.Equal(t, workflows.SignalHeartbeatConfigure, c.signal)
		in := c.input.(workflows.HeartbeatInput)
		require.Equal(t, incident.HeartbeatWorkflowID(in.Name), c.id)
		require.Equal(t, in.Config, c.arg, "the signal carries the config the start would")
		require.Contains(t, c.opts.StaticSummary, "heartbeat "+in.Name)
	}
	require.Equal(t, []string{"heartbeat-retired"}, fake.cancelled)
}

// A raised alert takes the intakes' path: a firing one starts (or joins)
// the incident of its key; a resolved one only signals.
func TestAlertRaiserUsesTheAlertPath(t *testing.T) {
	fake := &hbFake{}
	r := &AlertRaiser{Incidents: &Incidents{Client: fake, Config: ogCfg(t, hbConfig), TaskQueue: "q"}}
	al := incident.RaisedAlert{Key: "heartbeat-nightly-backup", Title: "heartbeat nightly-backup missed: no ping since x",
		Service: "checkout", Severity: "P1", Source: "heartbeat:nightly-backup", Fingerprint: "heartbeat-nightly-backup",
		Status: incident.AlertFiring, Summary: "missed", Labels: map[string]string{"heartbeat": "nightly-backup"}}
	require.NoError(t, r.Raise(context.Background(), al))
	require.Len(t, fake.starts, 1)
	c := fake.starts[0]
	require.Equal(t, workflows.IncidentID("heartbeat-nightly-backup"), c.id)
	require.Equal(t, workflows.IncidentInput{Key: al.Key, Title: al.Title, Service: "checkout", Severity: "P1", Source: al.Source}, c.input)
	got := c.arg.(workflows.AlertBatch).Alerts[0]
	require.Equal(t, al.Fingerprint, got.Fingerprint)
	require.Equal(t, incident.AlertFiring, got.Status)

	al.Status = incident.AlertResolved
	require.NoError(t, r.Raise(context.Background(), al))
	require.Len(t, fake.starts, 1, "a resolution opens nothing")
	require.Len(t, fake.signals, 1)
	require.Equal(t, incident.AlertResolved, fake.signals[0].arg.(workflows.AlertBatch).Alerts[0].Status)
}

// The listing names every configured monitor with its state; one whose
// workflow cannot be read says why. Late is the reader's view of a ping
// overdue within its grace.
func TestListHeartbeats(t *testing.T) {
	last := time.Now().Add(-25 * time.Hour).UTC().Truncate(time.Second)
	expected, due := last.Add(24*time.Hour), last.Add(24*time.Hour+30*time.Minute)
	fake := &hbFake{views: map[string]incident.HeartbeatView{"heartbeat-nightly-backup": {
		Name: "nightly-backup", State: incident.HeartbeatUp, LastPing: &last, ExpectedBy: &expected, NextDue: &due, Enabled: true,
	}}}
	h := hbServer(t, fake)
	code, out := hbDo(t, h, "GET", "/v1/heartbeats", "")
	require.Equal(t, http.StatusUnauthorized, code, "a read needs a token unless reads are public")
	code, out = hbDo(t, h, "GET", "/v1/heartbeats", "Bearer dash-secret")
	require.Equal(t, http.StatusOK, code, out)
	list := out["heartbeats"].([]any)
	require.Len(t, list, 2)
	first, second := list[0].(map[string]any), list[1].(map[string]any)
	require.Equal(t, "nightly-backup", first["name"])
	require.Equal(t, "late", first["state"])
	require.Equal(t, last.Format(time.RFC3339), first["last_ping"])
	require.Equal(t, "paused", second["name"])
	require.Equal(t, "unknown", second["state"])
	require.Contains(t, second["error"], "not running")

	code, out = hbDo(t, h, "GET", "/v1/heartbeats/nosuch", "Bearer dash-secret")
	require.Equal(t, http.StatusNotFound, code)
	require.Contains(t, out["error"], "one of nightly-backup, paused")
}
