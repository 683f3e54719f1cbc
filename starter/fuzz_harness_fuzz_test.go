package starter

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/incidentflow/incidentflow/config"
	"github.com/incidentflow/incidentflow/incident"
	"github.com/incidentflow/incidentflow/workflows"
)

// The fuzz targets of the intake share one config with every kind of
// integration, Slack, Twilio and an API token, and a Temporal that takes
// everything but refuses, as the real one does, what its wire format
// cannot carry.

const fuzzYAML = `
http: {public_reads: true}
slack: {signing_secret_env: SLACK_SIGNING_SECRET}
twilio: {account_sid_env: TWILIO_SID, auth_token_env: TWILIO_TOKEN, from: "+15550001111", callback_url: "https://if.example.com"}
api_tokens: [{name: alice-laptop, token_env: ALICE_API_TOKEN, user: alice}]
integrations:
  - {name: am, kind: alertmanager, token_env: AM_TOKEN, service: checkout}
  - {name: grafana, kind: grafana, token_env: GRAFANA_TOKEN, service: checkout}
  - {name: pd, kind: events_v2, token_env: PD_KEY, service: checkout}
  - {name: scripts, kind: generic, token_env: SCRIPTS_TOKEN, service: checkout, default_severity: P3}
  - {name: og, kind: opsgenie, token_env: OG_KEY, service: checkout}
services:
  checkout: {escalation_policy: p}
  search: {escalation_policy: p}
escalation_policies: {p: {steps: [{targets: [user:alice]}]}}
users:
  alice: {slack_id: U0ALICE, phone: "+15550100100"}
  bob: {slack_id: U0BOB}
triage:
  rules:
    - {severity: P1, all: [{key: error_rate, above: 0.2}]}
`

var fuzzSecrets = map[string]string{
	"SLACK_SIGNING_SECRET": slackSecret, "TWILIO_SID": "AC123", "TWILIO_TOKEN": "twilio-token",
	"ALICE_API_TOKEN": "alice-api", "AM_TOKEN": "am-token", "GRAFANA_TOKEN": "grafana-token",
	"PD_KEY": "pd-key", "SCRIPTS_TOKEN": "scripts-token", "OG_KEY": ogKey,
}

var (
	fuzzCfgOnce sync.Once
	fuzzCfgVal  *config.Config
	fuzzCfgErr  error
)

func fuzzCfg(t testing.TB) *config.Config {
	fuzzCfgOnce.Do(func() { fuzzCfgVal, fuzzCfgErr = config.Parse([]byte(fuzzYAML)) })
	if fuzzCfgErr != nil {
		t.Fatal(fuzzCfgErr)
	}
	return fuzzCfgVal
}

func fuzzInteg(t testing.TB, name string) config.Integration {
	for _, in := range fuzzCfg(t).Integrations {
		if in.Name == name {
			return in
		}
	}
	t.Fatalf("no integration %s", name)
	return config.Integration{}
}

// maxWorkflowID is Temporal's default limit on a workflow ID
// (limit.maxIDLength).
const maxWorkflowID = 1000

// fuzzTemporal takes every call and records what would enter workflow
// state. Like the real server it refuses an ID that is not UTF-8 (gRPC
// cannot marshal it) or over maxWorkflowID, so an intake that passes one
// on answers what it would answer in production.
type fuzzTemporal struct {
	client.Client
	mu      sync.Mutex
	starts  []workflows.IncidentInput
	batches []workflows.AlertBatch
	args    []any
}

func (f *fuzzTemporal) check(id string) error {
	if !utf8.ValidString(id) {
		return status.Error(codes.Internal, "grpc: error while marshaling: string field contains invalid UTF-8")
	}
	if len(id) > maxWorkflowID {
		return serviceerror.NewInvalidArgument("WorkflowId exceeds length limit")
	}
	return nil
}

func (f *fuzzTemporal) record(arg any, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if b, ok := arg.(workflows.AlertBatch); ok {
		f.batches = append(f.batches, b)
	} else if arg != nil {
		f.args = append(f.args, arg)
	}
	for _, a := range args {
		if in, ok := a.(workflows.IncidentInput); ok {
			f.starts = append(f.starts, in)
		}
	}
}

func (f *fuzzTemporal) SignalWithStartWorkflow(_ context.Context, id, _ string, arg any, _ client.StartWorkflowOptions, _ any, args ...any) (client.WorkflowRun, error) {
	if err := f.check(id); err != nil {
		return nil, err
	}
	f.record(arg, args...)
	return nil, nil
}

func (f *fuzzTemporal) SignalWorkflow(_ context.Context, id, _, _ string, arg any) error {
	if err := f.check(id); err != nil {
		return err
	}
	f.record(arg)
	return nil
}

func (f *fuzzTemporal) ExecuteWorkflow(_ context.Context, opts client.StartWorkflowOptions, _ any, args ...any) (client.WorkflowRun, error) {
	if err := f.check(opts.ID); err != nil {
		return nil, err
	}
	f.record(nil, args...)
	return nil, nil
}

func (f *fuzzTemporal) UpdateWorkflow(_ context.Context, o client.UpdateWorkflowOptions) (client.WorkflowUpdateHandle, error) {
	if err := f.check(o.WorkflowID); err != nil {
		return nil, err
	}
	for _, a := range o.Args {
		f.record(a)
	}
	return ogHandle{}, nil
}

func (f *fuzzTemporal) NewWithStartWorkflowOperation(opts client.StartWorkflowOptions, _ any, args ...any) client.WithStartWorkflowOperation {
	f.record(nil, args...)
	return nil
}

func (f *fuzzTemporal) UpdateWithStartWorkflow(ctx context.Context, o client.UpdateWithStartWorkflowOptions) (client.WorkflowUpdateHandle, error) {
	return f.UpdateWorkflow(ctx, o.UpdateOptions)
}

func (f *fuzzTemporal) CancelWorkflow(_ context.Context, id, _ string) error { return f.check(id) }

func (f *fuzzTemporal) QueryWorkflow(_ context.Context, id, _, _ string, _ ...any) (converter.EncodedValue, error) {
	if err := f.check(id); err != nil {
		return nil, err
	}
	return nil, serviceerror.NewNotFound("workflow not found")
}

func (f *fuzzTemporal) QueryWorkflowWithOptions(ctx context.Context, req *client.QueryWorkflowWithOptionsRequest) (*client.QueryWorkflowWithOptionsResponse, error) {
	_, err := f.QueryWorkflow(ctx, req.WorkflowID, req.RunID, req.QueryType)
	return nil, err
}

func (f *fuzzTemporal) DescribeWorkflowExecution(_ context.Context, id, _ string) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
	if err := f.check(id); err != nil {
		return nil, err
	}
	return nil, serviceerror.NewNotFound("workflow not found")
}

func (f *fuzzTemporal) ListWorkflow(context.Context, *workflowservice.ListWorkflowExecutionsRequest) (*workflowservice.ListWorkflowExecutionsResponse, error) {
	return &workflowservice.ListWorkflowExecutionsResponse{}, nil
}

func (f *fuzzTemporal) CheckHealth(context.Context, *client.CheckHealthRequest) (*client.CheckHealthResponse, error) {
	return &client.CheckHealthResponse{}, nil
}

// refusingTransport stands for the network a Slack response_url would be
// posted to: a fuzzed payload must not make the test reach out.
type refusingTransport struct{}

func (refusingTransport) RoundTrip(*http.Request) (*http.Response, error) {
	return nil, io.ErrUnexpectedEOF
}

var (
	fuzzOnce    sync.Once
	fuzzHandler http.Handler
	fuzzFake    *fuzzTemporal
)

// fuzzServer is the intake every input of this process goes to, with its
// Temporal's records cleared. Building a server per input would cost ten
// times the input itself; the one thing an input leaves behind, the
// coalescer's lane of its incident, has no effect on the next without a
// gap between signals.
func fuzzServer(t testing.TB) (http.Handler, *fuzzTemporal) {
	fuzzOnce.Do(func() {
		fuzzFake = &fuzzTemporal{}
		inc := &Incidents{Client: fuzzFake, Config: fuzzCfg(t), TaskQueue: "q"}
		// No gap between the batches of one big group: the pacing is
		// coalesce_test.go's to test, and 50 ms an input would starve the fuzzer.
		inc.coalesceOnce.Do(func() { inc.coalesce = &coalescer{send: inc.sendBatch, timeout: 10 * time.Second} })
		s := NewServer(inc, slog.New(slog.NewTextHandler(io.Discard, nil)), func(k string) string { return fuzzSecrets[k] })
		s.slackHTTP = &http.Client{Transport: refusingTransport{}}
		fuzzHandler = s.Handler()
	})
	fuzzFake.mu.Lock()
	fuzzFake.starts, fuzzFake.batches, fuzzFake.args = nil, nil, nil
	fuzzFake.mu.Unlock()
	return fuzzHandler, fuzzFake
}

// fuzzDo serves one request and checks the answer: never a 5xx (the
// fake Temporal never fails but for what the input made it refuse), and a
// refusal in JSON that says what is wrong; a 400 or 422 names the field.
func fuzzDo(t *testing.T, h http.Handler, req *http.Request) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code >= 500 {
		t.Fatalf("%s %s answered %d: %s", req.Method, req.URL.Path, rec.Code, rec.Body.String())
	}
	if rec.Code < 400 {
		return rec
	}
	var answer struct {
		Error string `json:"error"`
		// Opsgenie's field -> reason; Events v2 lists messages.
		Errors json.RawMessage `json:"errors"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &answer); err != nil {
		t.Fatalf("a %d that is not JSON: %q", rec.Code, rec.Body.String())
	}
	if strings.TrimSpace(answer.Error) == "" {
		t.Fatalf("a %d without an error: %s", rec.Code, rec.Body.String())
	}
	if rec.Code == http.StatusBadRequest || rec.Code == http.StatusUnprocessableEntity {
		field, msg, ok := strings.Cut(answer.Error, ": ")
		if !ok || strings.TrimSpace(field) == "" || strings.TrimSpace(msg) == "" {
			t.Fatalf("a %d that names no field: %q", rec.Code, answer.Error)
		}
		if len(field) > 2*incident.MaxName {
			t.Fatalf("a %d that echoes %d bytes as its field", rec.Code, len(field))
		}
	}
	var fields map[string]string
	if rec.Code == http.StatusUnprocessableEntity && (json.Unmarshal(answer.Errors, &fields) != nil || len(fields) == 0) {
		t.Fatalf("a 422 without Opsgenie's errors: %s", rec.Body.String())
	}
	return rec
}

// checkStored: what reached Temporal is held to incident/bounds.go, names
// only a configured service and severity, and goes in batches of at most
// workflows.MaxBatchAlerts.
func (f *fuzzTemporal) checkStored(t *testing.T) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	cfg := fuzzCfgVal
	for _, in := range f.starts {
		within(t, "start key", in.Key, incident.MaxKey)
		within(t, "start title", in.Title, incident.MaxTitle)
		within(t, "start source", in.Source, incident.MaxName)
		within(t, "start runbook", in.Runbook, incident.MaxRunbook)
		if in.Service != "" {
			if _, ok := cfg.Services[in.Service]; !ok {
				t.Fatalf("started with service %q, not configured", in.Service)
			}
		}
		if in.Severity != "" && !slices.Contains(cfg.SeverityNames(), in.Severity) {
			t.Fatalf("started with severity %q, not configured", in.Severity)
		}
	}
	for _, b := range f.batches {
		if len(b.Alerts) == 0 || len(b.Alerts) > workflows.MaxBatchAlerts {
			t.Fatalf("a batch of %d alerts", len(b.Alerts))
		}
		for _, a := range b.Alerts {
			checkSignal(t, a)
		}
	}
}

func checkSignal(t *testing.T, a workflows.AlertSignal) {
	t.Helper()
	if a.Status != incident.AlertFiring && a.Status != incident.AlertResolved {
		t.Fatalf("alert status %q", a.Status)
	}
	if strings.TrimSpace(a.Fingerprint) == "" {
		t.Fatal("an alert without a fingerprint")
	}
	within(t, "fingerprint", a.Fingerprint, incident.MaxFingerprint)
	within(t, "summary", a.Summary, incident.MaxTitle)
	within(t, "alert source", a.Source, incident.MaxName)
	within(t, "runbook", a.Runbook, incident.MaxRunbook)
	if len(a.Labels) > incident.MaxLabels {
		t.Fatalf("%d labels (at most %d)", len(a.Labels), incident.MaxLabels)
	}
	for k, v := range a.Labels {
		within(t, "label key", k, incident.MaxLabel)
		within(t, "label value", v, incident.MaxLabel)
	}
}

// checkEvent is checkSignal for an event before it is batched, with the
// incident it would open.
func checkEvent(t *testing.T, ev AlertEvent) {
	t.Helper()
	cfg := fuzzCfgVal
	if strings.TrimSpace(ev.Key) == "" {
		t.Fatal("an event without a key")
	}
	within(t, "key", ev.Key, incident.MaxKey)
	within(t, "title", ev.Title, incident.MaxTitle)
	within(t, "source", ev.Source, incident.MaxName)
	if ev.Alert.Status == incident.AlertFiring {
		if _, ok := cfg.Services[ev.Service]; !ok {
			t.Fatalf("service %q is not configured", ev.Service)
		}
		if !slices.Contains(cfg.SeverityNames(), ev.Severity) {
			t.Fatalf("severity %q is not configured", ev.Severity)
		}
	}
	checkSignal(t, ev.Alert)
	if len(workflows.IncidentID(ev.Key)) > maxWorkflowID {
		t.Fatalf("incident ID of %d bytes", len(workflows.IncidentID(ev.Key)))
	}
}

func within(t *testing.T, what, s string, limit int) {
	t.Helper()
	if len(s) > limit {
		t.Fatalf("%s: %d bytes, over its bound of %d", what, len(s), limit)
	}
}

// jsonPost is a POST of body as JSON with auth as the Authorization header.
func jsonPost(path, auth string, body []byte) *http.Request {
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/json")
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	return req
}

// signedSlack is a Slack request with a valid signature over form.
func signedSlack(path string, form url.Values) *http.Request {
	body := form.Encode()
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	signSlack(req, body, time.Now(), slackSecret)
	return req
}

// signTwilio signs a callback as Twilio does: HMAC-SHA1 over the full URL
// and the form's keys and values in key order.
func signTwilio(req *http.Request, fullURL string, form url.Values, token string) {
	keys := make([]string, 0, len(form))
	for k := range form {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	data := fullURL
	for _, k := range keys {
		data += k + form.Get(k)
	}
	mac := hmac.New(sha1.New, []byte(token))
	mac.Write([]byte(data))
	req.Header.Set("X-Twilio-Signature", base64.StdEncoding.EncodeToString(mac.Sum(nil)))
}

// Seed material shared by the targets: what senders get wrong, and what
// an attacker would try.
var (
	fuzzLong    = strings.Repeat("é", 3000) // 6,000 bytes, 3,000 characters
	fuzzControl = "a\x00b\x1b[31mc\r\nd\u202e"
	fuzzBadUTF8 = "ok\xff\xfe\xc0\x80"
	fuzzDeep    = strings.Repeat(`{"a":`, 5000) + "1" + strings.Repeat("}", 5000)
)
