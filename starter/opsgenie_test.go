package starter

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/incidentflow/incidentflow/config"
	"github.com/incidentflow/incidentflow/incident"
	"github.com/incidentflow/incidentflow/workflows"
)

const ogConfig = `
integrations:
  - {name: og, kind: opsgenie, token_env: OG_KEY, service: checkout}
services:
  checkout: {escalation_policy: p}
  search: {escalation_policy: p}
escalation_policies: {p: {steps: [{targets: [user:alice]}]}}
users: {alice: {}}
triage:
  rules:
    - {severity: P1, all: [{key: error_rate, above: 0.2}]}
`

const ogKey = "0f1e2d3c-og-secret-key"

func ogCfg(t *testing.T, yaml string) *config.Config {
	t.Helper()
	cfg, err := config.Parse([]byte(yaml))
	require.NoError(t, err)
	return cfg
}

func TestOpsgenieEvent(t *testing.T) {
	cfg := ogCfg(t, ogConfig)
	integ := cfg.Integrations[0]
	manyDetails := map[string]any{}
	for i := range 100 {
		manyDetails[strings.Repeat("a", 3)+string(rune('A'+i%26))+strings.Repeat("z", i/26)] = "v"
	}
	longAlias := strings.Repeat("é", 512) // 512 characters, 1,024 bytes
	for _, tc := range []struct {
		name  string
		alert opsgenieAlert
		check func(t *testing.T, ev AlertEvent)
	}{
		{"minimal: P3 as Opsgenie assumes, key derived from the message", opsgenieAlert{Message: "disk full on db-1"}, func(t *testing.T, ev AlertEvent) {
			require.Equal(t, ogDerivedAlias("disk full on db-1"), ev.Key)
			require.Len(t, ev.Key, 32)
			require.Equal(t, "P3", ev.Severity)
			require.Equal(t, "checkout", ev.Service)
			require.Equal(t, "disk full on db-1", ev.Title)
			require.Equal(t, "og", ev.Source)
			require.Equal(t, incident.AlertFiring, ev.Alert.Status)
			require.Equal(t, ev.Key, ev.Alert.Fingerprint)
		}},
		{"alias is the key; priority maps", opsgenieAlert{Message: "m", Alias: "db-1/disk", Priority: "P1"}, func(t *testing.T, ev AlertEvent) {
			require.Equal(t, "db-1/disk", ev.Key)
			require.Equal(t, "P1", ev.Severity)
			require.Equal(t, "P1", ev.Alert.Labels["priority"])
		}},
		{"a blank alias is no alias", opsgenieAlert{Message: "m", Alias: "  "}, func(t *testing.T, ev AlertEvent) {
			require.Equal(t, ogDerivedAlias("m"), ev.Key)
		}},
		{"tags, details, entity, source, description, user and note become labels", opsgenieAlert{
			Message: "m", Tags: []string{"db", "prod", "db", " "}, Details: map[string]any{"region": "eu-1", "replicas": 3.0, "paged": true, "gone": nil},
			Entity: "db-1", Source: "zabbix", Description: "the disk is full", User: "alice", Note: "see runbook",
		}, func(t *testing.T, ev AlertEvent) {
			require.Equal(t, map[string]string{
				"tags": "db,prod", "region": "eu-1", "replicas": "3", "paged": "true", "gone": "",
				"entity": "db-1", "source": "zabbix", "description": "the disk is full", "user": "alice", "note": "see runbook",
				"service": "checkout",
			}, ev.Alert.Labels)
		}},
		{"a field wins over a detail of the same name", opsgenieAlert{Message: "m", Entity: "db-1", Details: map[string]any{"entity": "spoofed"}}, func(t *testing.T, ev AlertEvent) {
			require.Equal(t, "db-1", ev.Alert.Labels["entity"])
		}},
		{"details.service names a configured service", opsgenieAlert{Message: "m", Details: map[string]any{"service": "search"}}, func(t *testing.T, ev AlertEvent) {
			require.Equal(t, "search", ev.Service)
		}},
		{"an entity naming a configured service picks it", opsgenieAlert{Message: "m", Entity: "search"}, func(t *testing.T, ev AlertEvent) {
			require.Equal(t, "search", ev.Service)
		}},
		{"an unknown service stays the integration's", opsgenieAlert{Message: "m", Entity: "db-1", Details: map[string]any{"service": "nope"}}, func(t *testing.T, ev AlertEvent) {
			require.Equal(t, "checkout", ev.Service)
		}},
		{"no priority: triage rules decide before P3", opsgenieAlert{Message: "m", Details: map[string]any{"error_rate": "0.5"}}, func(t *testing.T, ev AlertEvent) {
			require.Equal(t, "P1", ev.Severity)
		}},
		{"an explicit priority wins over triage", opsgenieAlert{Message: "m", Priority: "P4", Details: map[string]any{"error_rate": "0.5"}}, func(t *testing.T, ev AlertEvent) {
			require.Equal(t, "P4", ev.Severity)
		}},
		{"130 characters of 4 bytes each are within Opsgenie's limit", opsgenieAlert{Message: strings.Repeat("🔥", 130)}, func(t *testing.T, ev AlertEvent) {
			require.Equal(t, strings.Repeat("🔥", 130), ev.Title)
			require.LessOrEqual(t, len(ev.Title), incident.MaxTitle)
		}},
		{"a 512-character alias over 512 bytes keeps a bounded, stable key", opsgenieAlert{Message: "m", Alias: longAlias}, func(t *testing.T, ev AlertEvent) {
			require.LessOrEqual(t, len(ev.Key), incident.MaxKey)
			require.Equal(t, ogAliasKey(longAlias), ev.Key)
			require.NotEqual(t, ogAliasKey(longAlias[:len(longAlias)-2]+"e"), ev.Key, "two long aliases never share a key")
			require.LessOrEqual(t, len(ev.Alert.Fingerprint), incident.MaxFingerprint)
		}},
		{"many details: labels bounded, the fields kept", opsgenieAlert{Message: "m", Tags: []string{"db"}, Entity: "db-1", Details: manyDetails}, func(t *testing.T, ev AlertEvent) {
			require.Len(t, ev.Alert.Labels, incident.MaxLabels)
			require.Equal(t, "db", ev.Alert.Labels["tags"])
			require.Equal(t, "db-1", ev.Alert.Labels["entity"])
		}},
		{"a long description is kept as a cut label", opsgenieAlert{Message: "m", Description: strings.Repeat("d", 15000)}, func(t *testing.T, ev AlertEvent) {
			require.LessOrEqual(t, len(ev.Alert.Labels["description"]), incident.MaxLabel)
			require.Contains(t, ev.Alert.Labels["description"], "[cut from 15000 bytes]")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev, err := opsgenieEvent(cfg, integ, tc.alert)
			require.NoError(t, err)
			tc.check(t, ev)
		})
	}
}

func TestOpsgenieEventLimits(t *testing.T) {
	cfg := ogCfg(t, ogConfig)
	integ := cfg.Integrations[0]
	tags := func(n, size int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = strings.Repeat("t", size-1) + string(rune('a'+i))
		}
		return out
	}
	for _, tc := range []struct {
		name  string
		alert opsgenieAlert
		// want maps each field at fault to what its reason must say.
		want map[string]string
	}{
		{"no message", opsgenieAlert{}, map[string]string{"message": "required"}},
		{"blank message", opsgenieAlert{Message: " \n "}, map[string]string{"message": "required"}},
		{"message over 130 characters", opsgenieAlert{Message: strings.Repeat("m", 131)}, map[string]string{"message": "131 characters is too long (at most 130)"}},
		{"message of 131 multi-byte characters", opsgenieAlert{Message: strings.Repeat("é", 131)}, map[string]string{"message": "131 characters is too long (at most 130)"}},
		{"alias over 512", opsgenieAlert{Message: "m", Alias: strings.Repeat("a", 513)}, map[string]string{"alias": "(at most 512)"}},
		{"description over 15000", opsgenieAlert{Message: "m", Description: strings.Repeat("d", 15001)}, map[string]string{"description": "(at most 15000)"}},
		{"a detail that is an object", opsgenieAlert{Message: "m", Details: map[string]any{"nested": map[string]any{"x": "y"}}}, map[string]string{"details.nested": "must be a string"}},
		{"entity over 512", opsgenieAlert{Message: "m", Entity: strings.Repeat("e", 513)}, map[string]string{"entity": "(at most 512)"}},
		{"source over 100", opsgenieAlert{Message: "m", Source: strings.Repeat("s", 101)}, map[string]string{"source": "101 characters is too long (at most 100)"}},
		{"user over 100", opsgenieAlert{Message: "m", User: strings.Repeat("u", 101)}, map[string]string{"user": "(at most 100)"}},
		{"note over 25000", opsgenieAlert{Message: "m", Note: strings.Repeat("n", 25001)}, map[string]string{"note": "(at most 25000)"}},
		{"unknown priority", opsgenieAlert{Message: "m", Priority: "P6"}, map[string]string{"priority": `"P6" must be one of P1, P2, P3, P4, P5`}},
		{"a priority in other words", opsgenieAlert{Message: "m", Priority: "critical"}, map[string]string{"priority": "must be one of"}},
		{"every fault at once", opsgenieAlert{Message: strings.Repeat("m", 200), Source: strings.Repeat("s", 101), Priority: "urgent"},
			map[string]string{"message": "(at most 130)", "source": "(at most 100)", "priority": "must be one of"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := opsgenieEvent(cfg, integ, tc.alert)
			var got ogInvalid
			require.ErrorAs(t, err, &got)
			require.Len(t, got, len(tc.want), "fields at fault: %v", got)
			for field, reason := range tc.want {
				require.Contains(t, got[field], reason, "field %s", field)
			}
		})
	}
	// Grafana sends every label as a tag: too many or too long are kept
	// within Opsgenie's limits, never refused (a refused alert is lost).
	t.Run("tags and details over the limits are cut, not refused", func(t *testing.T) {
		ev, err := opsgenieEvent(cfg, integ, opsgenieAlert{Message: "m", Tags: append(tags(21, 5), strings.Repeat("t", 51)),
			Details: map[string]any{"a": strings.Repeat("v", 4000), "b": strings.Repeat("v", 4000)}})
		require.NoError(t, err)
		kept := strings.Split(ev.Alert.Labels["tags"], ",")
		require.Len(t, kept, 20)
		require.Contains(t, ev.Alert.Labels["details_cut"], "8002 characters of details")
	})
	t.Run("at the limits nothing is refused", func(t *testing.T) {
		_, err := opsgenieEvent(cfg, integ, opsgenieAlert{
			Message: strings.Repeat("m", 130), Alias: strings.Repeat("a", 512), Description: strings.Repeat("d", 15000),
			Tags: tags(20, 50), Details: map[string]any{"k": strings.Repeat("v", 7999)}, Entity: strings.Repeat("e", 512),
			Source: strings.Repeat("s", 100), User: strings.Repeat("u", 100), Note: strings.Repeat("n", 25000),
		})
		require.NoError(t, err)
	})
}

func TestOpsgeniePriorityMapping(t *testing.T) {
	const rest = `
services: {checkout: {escalation_policy: p}}
escalation_policies: {p: {steps: [{targets: [user:alice]}]}}
users: {alice: {}}
`
	for _, tc := range []struct {
		name string
		yaml string
		// want is the severity of P1..P5.
		want [5]string
	}{
		{"default P1..P4: P5 joins P4", `integrations: [{name: og, kind: opsgenie, token_env: K, service: checkout}]`,
			[5]string{"P1", "P2", "P3", "P4", "P4"}},
		{"three levels named otherwise: by rank, clamped to the lowest", `
integrations: [{name: og, kind: opsgenie, token_env: K, service: checkout}]
severities: {SEV1: {page: true}, SEV2: {page: true}, SEV3: {page: true}}`,
			[5]string{"SEV1", "SEV2", "SEV3", "SEV3", "SEV3"}},
		{"two levels", `
integrations: [{name: og, kind: opsgenie, token_env: K, service: checkout}]
severities: {critical: {page: true}, minor: {page: true}}`,
			[5]string{"critical", "minor", "minor", "minor", "minor"}},
		{"configured priorities win; the rest keep their default", `
integrations: [{name: og, kind: opsgenie, token_env: K, service: checkout, priorities: {P1: P1, P2: P1, P5: P3}}]`,
			[5]string{"P1", "P1", "P3", "P4", "P3"}},
		{"configured priorities may name severities by alias", `
integrations: [{name: og, kind: opsgenie, token_env: K, service: checkout, priorities: {P3: warning, P4: info}}]`,
			[5]string{"P1", "P2", "P3", "P4", "P4"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := ogCfg(t, tc.yaml+rest)
			integ := cfg.Integrations[0]
			for i, p := range config.OpsgeniePriorities {
				ev, err := opsgenieEvent(cfg, integ, opsgenieAlert{Message: "m", Priority: p})
				require.NoError(t, err)
				require.Equal(t, tc.want[i], ev.Severity, "priority %s", p)
			}
			ev, err := opsgenieEvent(cfg, integ, opsgenieAlert{Message: "m"})
			require.NoError(t, err)
			require.Equal(t, tc.want[2], ev.Severity, "no priority is P3")
		})
	}
}

func TestOpsgenieTarget(t *testing.T) {
	for _, tc := range []struct {
		name, identifier, typ string
		want                  ogTarget
		wantField             string
	}{
		{name: "id by default", identifier: "incident-db-1", want: ogTarget{ID: "incident-db-1"}},
		{name: "an id typed as a key", identifier: "db-1", typ: "id", want: ogTarget{ID: "incident-db-1"}},
		{name: "alias", identifier: "db-1/disk", typ: "alias", want: ogTarget{ID: workflows.IncidentID("db-1/disk"), Key: "db-1/disk"}},
		{name: "a long alias maps as on create", identifier: strings.Repeat("é", 400), typ: "alias",
			want: ogTarget{ID: workflows.IncidentID(ogAliasKey(strings.Repeat("é", 400))), Key: ogAliasKey(strings.Repeat("é", 400))}},
		{name: "alias over 512 characters", identifier: strings.Repeat("a", 513), typ: "alias", wantField: "identifier"},
		{name: "id too long", identifier: strings.Repeat("a", maxID+1), wantField: "identifier"},
		{name: "unprintable", identifier: "db\u202e1", typ: "alias", wantField: "identifier"},
		{name: "blank", identifier: " ", wantField: "identifier"},
		{name: "tiny ids are Opsgenie's", identifier: "42", typ: "tiny", wantField: "identifierType"},
		{name: "unknown type", identifier: "x", typ: "name", wantField: "identifierType"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := opsgenieTarget(tc.identifier, tc.typ)
			if tc.wantField != "" {
				var bad ogInvalid
				require.ErrorAs(t, err, &bad)
				require.Contains(t, bad, tc.wantField)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

// ogFakeTemporal records what the intake asks of Temporal.
type ogFakeTemporal struct {
	client.Client
	mu      sync.Mutex
	signals []ogCall
	updates []ogCall
	// err answers every call when set; updateErr only Updates.
	err, updateErr error
	state          *workflows.Incident
}

type ogCall struct {
	id, name string
	arg      any
	start    *workflows.IncidentInput
}

func (f *ogFakeTemporal) SignalWithStartWorkflow(_ context.Context, id, signal string, arg any, _ client.StartWorkflowOptions, _ any, args ...any) (client.WorkflowRun, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	in := args[0].(workflows.IncidentInput)
	f.signals = append(f.signals, ogCall{id: id, name: signal, arg: arg, start: &in})
	return nil, nil
}

func (f *ogFakeTemporal) SignalWorkflow(_ context.Context, id, _, signal string, arg any) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return f.err
	}
	f.signals = append(f.signals, ogCall{id: id, name: signal, arg: arg})
	return nil
}

func (f *ogFakeTemporal) UpdateWorkflow(_ context.Context, o client.UpdateWorkflowOptions) (client.WorkflowUpdateHandle, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := cmpErr(f.err, f.updateErr); err != nil {
		return nil, err
	}
	f.updates = append(f.updates, ogCall{id: o.WorkflowID, name: o.UpdateName, arg: o.Args[0]})
	return ogHandle{}, nil
}

func cmpErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func (f *ogFakeTemporal) QueryWorkflow(_ context.Context, id, _, _ string, _ ...any) (converter.EncodedValue, error) {
	if f.state == nil || f.state.ID != id {
		return nil, serviceerror.NewNotFound("workflow not found")
	}
	return ogValue{f.state}, nil
}

func (f *ogFakeTemporal) DescribeWorkflowExecution(context.Context, string, string) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
	return nil, serviceerror.NewNotFound("workflow not found")
}

type ogHandle struct{ client.WorkflowUpdateHandle }

func (ogHandle) Get(context.Context, any) error { return nil }

type ogValue struct{ v any }

func (ogValue) HasValue() bool { return true }
func (o ogValue) Get(ptr any) error {
	b, err := json.Marshal(o.v)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, ptr)
}

type ogAnswer struct {
	Result    string            `json:"result"`
	Took      *float64          `json:"took"`
	RequestID string            `json:"requestId"`
	Message   string            `json:"message"`
	Errors    map[string]string `json:"errors"`
	Error     string            `json:"error"`
}

func ogServer(t *testing.T, fake *ogFakeTemporal, logs *bytes.Buffer) http.Handler {
	t.Helper()
	cfg := ogCfg(t, ogConfig)
	return NewServer(&Incidents{Client: fake, Config: cfg, TaskQueue: "q"}, slog.New(slog.NewTextHandler(logs, nil)), func(k string) string {
		if k == "OG_KEY" {
			return ogKey
		}
		return ""
	}).Handler()
}

func ogDo(t *testing.T, h http.Handler, path, auth, body string) (int, ogAnswer, http.Header) {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	require.Equal(t, "application/json", rec.Header().Get("Content-Type"))
	var a ogAnswer
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &a), rec.Body.String())
	require.NotNil(t, a.Took, "every answer says how long it took: %s", rec.Body.String())
	_, err := uuid.Parse(a.RequestID)
	require.NoError(t, err, "requestId is a UUID: %s", rec.Body.String())
	require.Equal(t, a.RequestID, rec.Header().Get("X-Request-ID"))
	return rec.Code, a, rec.Header()
}

func TestOpsgenieHTTP(t *testing.T) {
	genie := "GenieKey " + ogKey
	for _, tc := range []struct {
		name, path, auth, body string
		wantStatus             int
		// wantMessage must appear in message (and error); wantErrors in errors.
		wantMessage string
		wantErrors  map[string]string
		check       func(t *testing.T, f *ogFakeTemporal)
	}{
		{name: "no key", path: "/v2/alerts", body: `{"message":"m"}`, wantStatus: 401, wantMessage: "Could not authenticate"},
		{name: "wrong key", path: "/v2/alerts", auth: "GenieKey nope", body: `{"message":"m"}`, wantStatus: 401, wantMessage: "Could not authenticate"},
		{name: "the right key as a bearer token", path: "/v2/alerts", auth: "Bearer " + ogKey, body: `{"message":"m"}`, wantStatus: 401, wantMessage: "GenieKey"},
		{name: "wrong key on an action", path: "/v2/alerts/a/acknowledge?identifierType=alias", auth: "GenieKey nope", body: `{}`, wantStatus: 401},
		{name: "the key in ?apiKey=", path: "/v2/alerts?apiKey=" + ogKey, body: `{"message":"m"}`, wantStatus: 202},
		{name: "the scheme in any case", path: "/v2/alerts", auth: "geniekey " + ogKey, body: `{"message":"m"}`, wantStatus: 202},
		{name: "create", path: "/v2/alerts", auth: genie, body: `{"message":"disk full","alias":"db-1-disk","priority":"P2","tags":["db"],"responders":[{"type":"team","name":"ops"}]}`,
			wantStatus: 202, check: func(t *testing.T, f *ogFakeTemporal) {
				require.Len(t, f.signals, 1)
				c := f.signals[0]
				require.Equal(t, workflows.IncidentID("db-1-disk"), c.id)
				require.Equal(t, workflows.SignalAlerts, c.name)
				require.Equal(t, workflows.IncidentInput{Key: "db-1-disk", Title: "disk full", Service: "checkout", Severity: "P2", Source: "og"}, *c.start)
				alert := c.arg.(workflows.AlertBatch).Alerts[0]
				require.Equal(t, "db-1-disk", alert.Fingerprint)
				require.Equal(t, "db", alert.Labels["tags"])
			}},
		{name: "over-long message", path: "/v2/alerts", auth: genie, body: `{"message":"` + strings.Repeat("m", 131) + `"}`,
			wantStatus: 422, wantMessage: "Request body is not processable", wantErrors: map[string]string{"message": "131 characters is too long (at most 130)"}},
		{name: "empty body: the message is required", path: "/v2/alerts", auth: genie, body: ``,
			wantStatus: 422, wantErrors: map[string]string{"message": "required"}},
		{name: "tags of the wrong type", path: "/v2/alerts", auth: genie, body: `{"message":"m","tags":"db"}`,
			wantStatus: 422, wantErrors: map[string]string{"tags": "want an array"}},
		{name: "invalid JSON is a 400", path: "/v2/alerts", auth: genie, body: `{"message":`, wantStatus: 400, wantMessage: "invalid JSON"},
		{name: "acknowledge by alias", path: "/v2/alerts/db-1-disk/acknowledge?identifierType=alias", auth: genie, body: `{"user":"alice","source":"script","note":"on it"}`,
			wantStatus: 202, check: func(t *testing.T, f *ogFakeTemporal) {
				require.Equal(t, []ogCall{{id: workflows.IncidentID("db-1-disk"), name: workflows.UpdateAck,
					arg: workflows.ActionRequest{By: "integration:og", Note: "alice (Opsgenie API): on it"}}}, f.updates)
			}},
		{name: "acknowledge by id, no body", path: "/v2/alerts/incident-db-1/acknowledge", auth: genie, body: ``,
			wantStatus: 202, check: func(t *testing.T, f *ogFakeTemporal) {
				require.Equal(t, []ogCall{{id: "incident-db-1", name: workflows.UpdateAck, arg: workflows.ActionRequest{By: "integration:og"}}}, f.updates)
			}},
		{name: "close by alias resolves the alert the alias fired", path: "/v2/alerts/db-1-disk/close?identifierType=alias", auth: genie, body: `{"source":"alertmanager"}`,
			wantStatus: 202, check: func(t *testing.T, f *ogFakeTemporal) {
				require.Len(t, f.signals, 1)
				require.Equal(t, workflows.IncidentID("db-1-disk"), f.signals[0].id)
				require.Nil(t, f.signals[0].start, "a resolved alert starts nothing")
				require.Equal(t, []workflows.AlertSignal{{Fingerprint: "db-1-disk", Status: incident.AlertResolved, Source: "og"}},
					f.signals[0].arg.(workflows.AlertBatch).Alerts)
				require.Empty(t, f.updates, "no note, no Update")
			}},
		{name: "close with a note adds it after the alert", path: "/v2/alerts/db-1-disk/close?identifierType=alias", auth: genie, body: `{"note":"fixed"}`,
			wantStatus: 202, check: func(t *testing.T, f *ogFakeTemporal) {
				require.Len(t, f.signals, 1)
				require.Equal(t, []ogCall{{id: workflows.IncidentID("db-1-disk"), name: workflows.UpdateNote,
					arg: workflows.NoteRequest{By: "integration:og", Text: "fixed"}}}, f.updates)
			}},
		{name: "notes", path: "/v2/alerts/db-1-disk/notes?identifierType=alias", auth: genie, body: `{"user":"bob","note":"replica lag"}`,
			wantStatus: 202, check: func(t *testing.T, f *ogFakeTemporal) {
				require.Equal(t, []ogCall{{id: workflows.IncidentID("db-1-disk"), name: workflows.UpdateNote,
					arg: workflows.NoteRequest{By: "integration:og", Text: "bob (Opsgenie API): replica lag"}}}, f.updates)
			}},
		{name: "a 25000-character note is cut for the timeline", path: "/v2/alerts/k/notes?identifierType=alias", auth: genie, body: `{"note":"` + strings.Repeat("n", 25000) + `"}`,
			wantStatus: 202, check: func(t *testing.T, f *ogFakeTemporal) {
				text := f.updates[0].arg.(workflows.NoteRequest).Text
				require.LessOrEqual(t, len(text), incident.MaxText)
				require.Contains(t, text, "[cut from 25000 bytes]")
			}},
		{name: "notes need a note", path: "/v2/alerts/k/notes?identifierType=alias", auth: genie, body: `{"user":"bob"}`,
			wantStatus: 422, wantErrors: map[string]string{"note": "required"}},
		{name: "a note over 25000", path: "/v2/alerts/k/notes?identifierType=alias", auth: genie, body: `{"note":"` + strings.Repeat("n", 25001) + `"}`,
			wantStatus: 422, wantErrors: map[string]string{"note": "25001 characters is too long (at most 25000)"}},
		{name: "a user over 100 on an action", path: "/v2/alerts/k/acknowledge?identifierType=alias", auth: genie, body: `{"user":"` + strings.Repeat("u", 101) + `"}`,
			wantStatus: 422, wantErrors: map[string]string{"user": "(at most 100)"}},
		{name: "tiny ids", path: "/v2/alerts/42/close?identifierType=tiny", auth: genie, body: `{}`,
			wantStatus: 422, wantErrors: map[string]string{"identifierType": "use id"}},
		{name: "an alias with a slash, escaped", path: "/v2/alerts/db-1%2Fdisk/acknowledge?identifierType=alias", auth: genie, body: `{}`,
			wantStatus: 202, check: func(t *testing.T, f *ogFakeTemporal) {
				require.Equal(t, workflows.IncidentID("db-1/disk"), f.updates[0].id)
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := &ogFakeTemporal{}
			code, a, _ := ogDo(t, ogServer(t, fake, &bytes.Buffer{}), tc.path, tc.auth, tc.body)
			require.Equal(t, tc.wantStatus, code, "%+v", a)
			if code == http.StatusAccepted {
				require.Equal(t, "Request will be processed", a.Result)
				require.Empty(t, a.Message)
			} else {
				require.Empty(t, a.Result)
				require.Contains(t, a.Message, tc.wantMessage)
				require.NotEmpty(t, a.Error)
				for field, reason := range tc.wantErrors {
					require.Contains(t, a.Errors[field], reason, "errors.%s in %+v", field, a)
					require.Contains(t, a.Error, field+": ", "the contract's error names the field")
				}
			}
			if tc.check != nil {
				tc.check(t, fake)
			} else if code != http.StatusAccepted {
				require.Empty(t, fake.signals, "nothing reaches Temporal")
				require.Empty(t, fake.updates, "nothing reaches Temporal")
			}
		})
	}
}

func TestOpsgenieActionsOnNothingAreAccepted(t *testing.T) {
	// Acknowledging or closing what is gone or already past it changes
	// nothing, as in Opsgenie; a note with nowhere to go says so.
	fake := &ogFakeTemporal{updateErr: serviceerror.NewNotFound("workflow not found")}
	h := ogServer(t, fake, &bytes.Buffer{})
	code, _, _ := ogDo(t, h, "/v2/alerts/gone/acknowledge?identifierType=alias", "GenieKey "+ogKey, `{}`)
	require.Equal(t, http.StatusAccepted, code)
	code, _, _ = ogDo(t, h, "/v2/alerts/incident-gone/close", "GenieKey "+ogKey, `{}`)
	require.Equal(t, http.StatusAccepted, code)
	code, a, _ := ogDo(t, h, "/v2/alerts/gone/notes?identifierType=alias", "GenieKey "+ogKey, `{"note":"x"}`)
	require.Equal(t, http.StatusNotFound, code, "%+v", a)
	require.Contains(t, a.Message, "no incident")
}

func TestOpsgenieCloseByID(t *testing.T) {
	genie := "GenieKey " + ogKey
	t.Run("an incident opened by alias: its alert resolves", func(t *testing.T) {
		fake := &ogFakeTemporal{state: &workflows.Incident{ID: "incident-db-1", Key: "db-1",
			Alerts: []workflows.Alert{{Fingerprint: "db-1", Status: incident.AlertFiring}}}}
		code, a, _ := ogDo(t, ogServer(t, fake, &bytes.Buffer{}), "/v2/alerts/incident-db-1/close", genie, `{}`)
		require.Equal(t, http.StatusAccepted, code, "%+v", a)
		require.Len(t, fake.signals, 1)
		require.Equal(t, incident.AlertResolved, fake.signals[0].arg.(workflows.AlertBatch).Alerts[0].Status)
		require.Empty(t, fake.updates)
	})
	t.Run("an incident with no alert of ours is resolved as the integration", func(t *testing.T) {
		fake := &ogFakeTemporal{state: &workflows.Incident{ID: "incident-db-1", Key: "db-1",
			Alerts: []workflows.Alert{{Fingerprint: "am-fp", Status: incident.AlertFiring}}}}
		code, a, _ := ogDo(t, ogServer(t, fake, &bytes.Buffer{}), "/v2/alerts/incident-db-1/close", genie, `{"note":"done"}`)
		require.Equal(t, http.StatusAccepted, code, "%+v", a)
		require.Empty(t, fake.signals)
		require.Equal(t, []ogCall{{id: "incident-db-1", name: workflows.UpdateResolve,
			arg: workflows.ActionRequest{By: "integration:og", Note: "done"}}}, fake.updates)
	})
}

func TestOpsgenieTemporalDownIs503AndTheKeyIsNeverLogged(t *testing.T) {
	var logs bytes.Buffer
	fake := &ogFakeTemporal{err: serviceerror.NewUnavailable("connection refused")}
	h := ogServer(t, fake, &logs)
	code, a, header := ogDo(t, h, "/v2/alerts?apiKey="+ogKey, "", `{"message":"m"}`)
	require.Equal(t, http.StatusServiceUnavailable, code, "%+v", a)
	require.Equal(t, "5", header.Get("Retry-After"))
	require.Contains(t, a.Message, "temporal is unavailable")
	require.Contains(t, logs.String(), "request failed", "a 5xx is logged")
	require.Contains(t, logs.String(), a.RequestID, "with the request ID the sender was given")
	require.NotContains(t, logs.String(), ogKey)
	code, _, _ = ogDo(t, h, "/v2/alerts/k/acknowledge?identifierType=alias", "GenieKey "+ogKey, `{}`)
	require.Equal(t, http.StatusServiceUnavailable, code, "an outage is no 'nothing to do'")
	require.NotContains(t, logs.String(), ogKey)
}

func TestOpsgenieActionNamesEveryFieldAtFault(t *testing.T) {
	fake := &ogFakeTemporal{}
	code, a, _ := ogDo(t, ogServer(t, fake, &bytes.Buffer{}), "/v2/alerts/k/notes?identifierType=tiny", "GenieKey "+ogKey, `{"user":"bob"}`)
	require.Equal(t, http.StatusUnprocessableEntity, code)
	require.Equal(t, []string{"identifierType", "note"}, slices.Sorted(maps.Keys(a.Errors)))
	require.Empty(t, fake.updates)
}
