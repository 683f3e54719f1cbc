package starter

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/incidentflow/incidentflow/config"
	"github.com/incidentflow/incidentflow/incident"
)

const intakeConfig = `
http: {public_reads: true}
api_tokens: [{name: alice-laptop, token_env: ALICE_API_TOKEN, user: alice}]
integrations:
  - {name: pd, kind: events_v2, token_env: PD_KEY, service: checkout}
  - {name: scripts, kind: generic, service: checkout, default_severity: P3}
  - {name: am, kind: alertmanager, service: checkout}
services:
  checkout: {escalation_policy: p}
  search: {escalation_policy: p}
escalation_policies: {p: {steps: [{targets: [user:alice]}]}}
users: {alice: {}}
triage:
  rules:
    - {severity: P1, all: [{key: error_rate, above: 0.2}]}
`

func intakeCfg(t *testing.T) *config.Config {
	cfg, err := config.Parse([]byte(intakeConfig))
	require.NoError(t, err)
	return cfg
}

func TestEventsV2Event(t *testing.T) {
	cfg := intakeCfg(t)
	integ := cfg.Integrations[0]
	payload := func(mod func(*eventsV2Detail)) *eventsV2Detail {
		p := &eventsV2Detail{Summary: "disk full on db-1", Source: "db-1", Severity: "critical"}
		if mod != nil {
			mod(p)
		}
		return p
	}
	for _, tc := range []struct {
		name      string
		event     eventsV2
		wantField string
		check     func(t *testing.T, ev AlertEvent)
	}{
		{"trigger with key", eventsV2{EventAction: "trigger", DedupKey: "db-1-disk", Payload: payload(nil)}, "", func(t *testing.T, ev AlertEvent) {
			require.Equal(t, "db-1-disk", ev.Key)
			require.Equal(t, "P1", ev.Severity)
			require.Equal(t, "checkout", ev.Service)
			require.Equal(t, "disk full on db-1", ev.Title)
			require.Equal(t, incident.AlertFiring, ev.Alert.Status)
		}},
		{"severity error is P2, warning P3, info P4", eventsV2{EventAction: "trigger", DedupKey: "k", Payload: payload(func(p *eventsV2Detail) { p.Severity = "warning" })}, "", func(t *testing.T, ev AlertEvent) {
			require.Equal(t, "P3", ev.Severity)
		}},
		{"no key: derived from the alert, stable", eventsV2{EventAction: "trigger", Payload: payload(nil)}, "", func(t *testing.T, ev AlertEvent) {
			again, err := eventsV2Event(cfg, integ, eventsV2{EventAction: "trigger", Payload: payload(nil)})
			require.NoError(t, err)
			require.Len(t, ev.Key, 32)
			require.Equal(t, again.Key, ev.Key)
		}},
		{"custom_details.service picks a configured service", eventsV2{EventAction: "trigger", DedupKey: "k", Payload: payload(func(p *eventsV2Detail) {
			p.CustomDetails = map[string]any{"service": "search", "error_rate": 0.5}
		})}, "", func(t *testing.T, ev AlertEvent) {
			require.Equal(t, "search", ev.Service)
			require.Equal(t, "0.5", ev.Alert.Labels["error_rate"])
		}},
		{"resolve needs only the key", eventsV2{EventAction: "resolve", DedupKey: "k"}, "", func(t *testing.T, ev AlertEvent) {
			require.Equal(t, incident.AlertResolved, ev.Alert.Status)
			require.Equal(t, "k", ev.Alert.Fingerprint)
		}},
		{"missing action", eventsV2{DedupKey: "k", Payload: payload(nil)}, "event_action", nil},
		{"bad action", eventsV2{EventAction: "snooze", DedupKey: "k"}, "event_action", nil},
		{"acknowledge without key", eventsV2{EventAction: "acknowledge"}, "dedup_key", nil},
		{"trigger without payload", eventsV2{EventAction: "trigger"}, "payload", nil},
		{"no summary", eventsV2{EventAction: "trigger", Payload: payload(func(p *eventsV2Detail) { p.Summary = "" })}, "payload.summary", nil},
		{"no source", eventsV2{EventAction: "trigger", Payload: payload(func(p *eventsV2Detail) { p.Source = "" })}, "payload.source", nil},
		{"no severity", eventsV2{EventAction: "trigger", Payload: payload(func(p *eventsV2Detail) { p.Severity = "" })}, "payload.severity", nil},
		{"unknown severity", eventsV2{EventAction: "trigger", Payload: payload(func(p *eventsV2Detail) { p.Severity = "apocalyptic" })}, "payload.severity", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev, err := eventsV2Event(cfg, integ, tc.event)
			if tc.wantField != "" {
				var bad *BadRequest
				require.ErrorAs(t, err, &bad)
				require.Equal(t, tc.wantField, bad.Field)
				return
			}
			require.NoError(t, err)
			tc.check(t, ev)
		})
	}
}

func TestGenericEvent(t *testing.T) {
	cfg := intakeCfg(t)
	integ := cfg.Integrations[1]
	for _, tc := range []struct {
		name      string
		alert     genericAlert
		wantField string
		want      AlertEvent
	}{
		{"minimal: firing, default severity, key as title", genericAlert{Key: "backup-late"}, "",
			AlertEvent{Key: "backup-late", Title: "backup-late", Service: "checkout", Severity: "P3"}},
		{"alias and service", genericAlert{Key: "k", Title: "search slow", Service: "search", Severity: "critical"}, "",
			AlertEvent{Key: "k", Title: "search slow", Service: "search", Severity: "P1"}},
		{"triage on details", genericAlert{Key: "k", Details: map[string]any{"error_rate": "30%"}}, "",
			AlertEvent{Key: "k", Title: "k", Service: "checkout", Severity: "P1"}},
		{"resolved", genericAlert{Key: "k", Status: "resolved"}, "",
			AlertEvent{Key: "k", Title: "k", Service: "checkout", Severity: "P3"}},
		{"no key", genericAlert{Title: "x"}, "key", AlertEvent{}},
		{"bad status", genericAlert{Key: "k", Status: "burning"}, "status", AlertEvent{}},
		{"unknown service", genericAlert{Key: "k", Service: "nope"}, "service", AlertEvent{}},
		{"unknown severity", genericAlert{Key: "k", Severity: "SEV9"}, "severity", AlertEvent{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev, err := genericEvent(cfg, integ, tc.alert)
			if tc.wantField != "" {
				var bad *BadRequest
				require.ErrorAs(t, err, &bad)
				require.Equal(t, tc.wantField, bad.Field)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want.Key, ev.Key)
			require.Equal(t, tc.want.Title, ev.Title)
			require.Equal(t, tc.want.Service, ev.Service)
			require.Equal(t, tc.want.Severity, ev.Severity)
			require.Equal(t, "scripts", ev.Source)
		})
	}
}

// details has n scalar details d000..d(n-1).
func details(n int) map[string]any {
	d := make(map[string]any, n)
	for i := range n {
		d[fmt.Sprintf("d%03d", i)] = fmt.Sprintf("v%03d", i)
	}
	return d
}

func TestEventsV2Bounds(t *testing.T) {
	cfg := intakeCfg(t)
	integ := cfg.Integrations[0]
	huge := strings.Repeat("é", 450<<10) // 900 KB of two-byte characters
	longKey := strings.Repeat("k", 600)
	trigger := func(key string, mod func(*eventsV2Detail)) eventsV2 {
		p := &eventsV2Detail{Summary: "disk full on db-1", Source: "db-1", Severity: "critical"}
		if mod != nil {
			mod(p)
		}
		return eventsV2{EventAction: "trigger", DedupKey: key, Payload: p}
	}
	for _, tc := range []struct {
		name  string
		event eventsV2
		// wantError starts the 400 of a refused event.
		wantError string
		check     func(t *testing.T, ev AlertEvent)
	}{
		{name: "a 600-byte dedup_key is refused", event: trigger(longKey, nil),
			wantError: "dedup_key: 600 bytes is too long (at most 512)"},
		{name: "a 600-byte dedup_key cannot resolve", event: eventsV2{EventAction: "resolve", DedupKey: longKey},
			wantError: "dedup_key: 600 bytes is too long (at most 512)"},
		{name: "a 600-byte dedup_key cannot acknowledge", event: eventsV2{EventAction: "acknowledge", DedupKey: longKey},
			wantError: "dedup_key: 600 bytes is too long (at most 512)"},
		{name: "a 512-byte dedup_key: whole key, bounded fingerprint", event: trigger(strings.Repeat("k", 512), nil),
			check: func(t *testing.T, ev AlertEvent) {
				require.Equal(t, strings.Repeat("k", 512), ev.Key)
				require.LessOrEqual(t, len(ev.Alert.Fingerprint), incident.MaxFingerprint)
				resolve, err := eventsV2Event(cfg, integ, eventsV2{EventAction: "resolve", DedupKey: ev.Key})
				require.NoError(t, err)
				require.Equal(t, ev.Alert.Fingerprint, resolve.Alert.Fingerprint, "the resolve finds the trigger's alert")
			}},
		{name: "a 900 KB summary is cut, not refused", event: trigger("k", func(p *eventsV2Detail) { p.Summary = huge }),
			check: func(t *testing.T, ev AlertEvent) {
				assertCut(t, ev.Title, huge, incident.MaxTitle)
				assertCut(t, ev.Alert.Summary, huge, incident.MaxTitle)
			}},
		{name: "without a key, the whole summary makes the key", event: trigger("", func(p *eventsV2Detail) { p.Summary = huge + "1" }),
			check: func(t *testing.T, ev AlertEvent) {
				other, err := eventsV2Event(cfg, integ, trigger("", func(p *eventsV2Detail) { p.Summary = huge + "2" }))
				require.NoError(t, err)
				require.Equal(t, other.Title, ev.Title)
				require.NotEqual(t, other.Key, ev.Key)
			}},
		{name: "200 custom details: 64 labels, the first by key", event: trigger("k", func(p *eventsV2Detail) { p.CustomDetails = details(200) }),
			check: func(t *testing.T, ev AlertEvent) {
				// The payload's own fields are labels too: class and
				// component sort before the details, group, service and
				// source after the 62 first.
				require.Len(t, ev.Alert.Labels, incident.MaxLabels)
				require.Equal(t, "v000", ev.Alert.Labels["d000"])
				require.Equal(t, "v061", ev.Alert.Labels["d061"])
				require.Contains(t, ev.Alert.Labels, "class")
				require.Contains(t, ev.Alert.Labels, "component")
				require.NotContains(t, ev.Alert.Labels, "d062")
				require.NotContains(t, ev.Alert.Labels, "source")
			}},
		{name: "huge details, component and source are cut", event: trigger("k", func(p *eventsV2Detail) {
			p.Source, p.Component, p.CustomDetails = huge, huge, map[string]any{"note": huge}
		}),
			check: func(t *testing.T, ev AlertEvent) {
				assertCut(t, ev.Alert.Labels["source"], huge, incident.MaxName)
				assertCut(t, ev.Alert.Labels["component"], huge, incident.MaxLabel)
				assertCut(t, ev.Alert.Labels["note"], huge, incident.MaxLabel)
				require.Equal(t, "pd", ev.Source)
			}},
		{name: "a huge custom_details.service selects nothing", event: trigger("k", func(p *eventsV2Detail) { p.CustomDetails = map[string]any{"service": huge} }),
			check: func(t *testing.T, ev AlertEvent) {
				require.Equal(t, "checkout", ev.Service)
				require.Equal(t, "checkout", ev.Alert.Labels["service"])
			}},
		{name: "a huge severity is refused as too long", event: trigger("k", func(p *eventsV2Detail) { p.Severity = huge }),
			wantError: fmt.Sprintf("payload.severity: %d bytes is too long (at most 128)", len(huge))},
		{name: "an unknown action is not echoed whole", event: eventsV2{EventAction: huge},
			wantError: "event_action: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev, err := eventsV2Event(cfg, integ, tc.event)
			if tc.wantError != "" {
				var bad *BadRequest
				require.ErrorAs(t, err, &bad)
				require.True(t, strings.HasPrefix(bad.Error(), tc.wantError), bad.Error())
				require.Less(t, len(bad.Error()), 512, "a 400 never echoes a huge value")
				return
			}
			require.NoError(t, err)
			tc.check(t, ev)
		})
	}
}

func TestGenericBounds(t *testing.T) {
	cfg := intakeCfg(t)
	integ := cfg.Integrations[1]
	huge := strings.Repeat("é", 450<<10)
	for _, tc := range []struct {
		name      string
		alert     genericAlert
		wantError string
		check     func(t *testing.T, ev AlertEvent)
	}{
		{name: "a 600-byte key is refused", alert: genericAlert{Key: strings.Repeat("k", 600)},
			wantError: "key: 600 bytes is too long (at most 512)"},
		{name: "a 512-byte key: whole key, bounded fingerprint", alert: genericAlert{Key: strings.Repeat("k", 512)},
			check: func(t *testing.T, ev AlertEvent) {
				require.Equal(t, strings.Repeat("k", 512), ev.Key)
				require.Equal(t, ev.Key, ev.Title)
				require.LessOrEqual(t, len(ev.Alert.Fingerprint), incident.MaxFingerprint)
			}},
		{name: "a 900 KB title is cut", alert: genericAlert{Key: "k", Title: huge},
			check: func(t *testing.T, ev AlertEvent) {
				assertCut(t, ev.Title, huge, incident.MaxTitle)
				assertCut(t, ev.Alert.Summary, huge, incident.MaxTitle)
			}},
		{name: "200 details: 64 labels", alert: genericAlert{Key: "k", Details: details(200)},
			check: func(t *testing.T, ev AlertEvent) {
				require.Len(t, ev.Alert.Labels, incident.MaxLabels)
				require.Equal(t, "v000", ev.Alert.Labels["d000"])
			}},
		{name: "a huge detail is cut", alert: genericAlert{Key: "k", Details: map[string]any{"note": huge}},
			check: func(t *testing.T, ev AlertEvent) {
				assertCut(t, ev.Alert.Labels["note"], huge, incident.MaxLabel)
			}},
		{name: "a huge service is refused as too long", alert: genericAlert{Key: "k", Service: huge},
			wantError: fmt.Sprintf("service: %d bytes is too long (at most 128)", len(huge))},
		{name: "a huge severity is refused as too long", alert: genericAlert{Key: "k", Severity: huge},
			wantError: fmt.Sprintf("severity: %d bytes is too long (at most 128)", len(huge))},
		{name: "a huge status is not echoed whole", alert: genericAlert{Key: "k", Status: huge},
			wantError: "status: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev, err := genericEvent(cfg, integ, tc.alert)
			if tc.wantError != "" {
				var bad *BadRequest
				require.ErrorAs(t, err, &bad)
				require.True(t, strings.HasPrefix(bad.Error(), tc.wantError), bad.Error())
				require.Less(t, len(bad.Error()), 512, "a 400 never echoes a huge value")
				return
			}
			require.NoError(t, err)
			tc.check(t, ev)
		})
	}
}

// TestIntakeBoundsHTTP: every refusal below comes before Temporal is called
// (the server has no client).
func TestIntakeBoundsHTTP(t *testing.T) {
	cfg := intakeCfg(t)
	require.Equal(t, int64(1<<20), cfg.HTTP.MaxBodyBytes, "the default server-wide limit, over PagerDuty's 512 KB")
	h := NewServer(&Incidents{Config: cfg}, slog.New(slog.NewTextHandler(io.Discard, nil)), func(name string) string {
		if name == "PD_KEY" {
			return "pd-secret"
		}
		return ""
	}).Handler()
	event := func(summarySize int, mod func(map[string]any)) string {
		e := map[string]any{"routing_key": "pd-secret", "event_action": "trigger", "dedup_key": "k",
			"payload": map[string]any{"summary": strings.Repeat("s", summarySize), "source": "db-1", "severity": "critical"}}
		if mod != nil {
			mod(e)
		}
		b, err := json.Marshal(e)
		require.NoError(t, err)
		return string(b)
	}
	big := event(600<<10, nil)
	for _, tc := range []struct {
		name       string
		path       string
		body       string
		wantStatus int
		wantError  string
		// eventsV2 answers in PagerDuty's shape as well.
		eventsV2 bool
	}{
		{name: "a 600 KB event is refused", path: "/v2/enqueue", body: big,
			wantStatus: http.StatusBadRequest, wantError: fmt.Sprintf("body: %d bytes is too long (at most 524288)", len(big)), eventsV2: true},
		{name: "a 500 KB event is not refused for its size", path: "/v2/enqueue",
			body:       event(500<<10, func(e map[string]any) { delete(e["payload"].(map[string]any), "source") }),
			wantStatus: http.StatusBadRequest, wantError: "payload.source: required", eventsV2: true},
		{name: "over http.max_body_bytes is still a 413", path: "/v2/enqueue", body: event(1100<<10, nil),
			wantStatus: http.StatusRequestEntityTooLarge, wantError: "max_body_bytes"},
		{name: "events v2: a 600-byte dedup_key", path: "/v2/enqueue",
			body:       event(10, func(e map[string]any) { e["dedup_key"] = strings.Repeat("k", 600) }),
			wantStatus: http.StatusBadRequest, wantError: "dedup_key: 600 bytes is too long (at most 512)", eventsV2: true},
		{name: "generic: a 600-byte key", path: "/v1/alerts",
			body:       `{"key":"` + strings.Repeat("k", 600) + `"}`,
			wantStatus: http.StatusBadRequest, wantError: "key: 600 bytes is too long (at most 512)"},
		{name: "alertmanager: a 600-byte groupKey", path: "/v1/alerts/alertmanager",
			body:       `{"version":"4","groupKey":"` + strings.Repeat("k", 600) + `","alerts":[{"status":"firing"}]}`,
			wantStatus: http.StatusBadRequest, wantError: "groupKey: 600 bytes is too long (at most 512)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodPost, tc.path, strings.NewReader(tc.body))
			req.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			require.Equal(t, tc.wantStatus, rec.Code, rec.Body.String())
			var answer struct {
				Error   string   `json:"error"`
				Status  string   `json:"status"`
				Message string   `json:"message"`
				Errors  []string `json:"errors"`
			}
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &answer), rec.Body.String())
			require.Contains(t, answer.Error, tc.wantError)
			if tc.eventsV2 {
				require.Equal(t, "invalid event", answer.Status)
				require.Equal(t, []string{answer.Error}, answer.Errors)
			}
		})
	}
}
