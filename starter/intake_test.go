package starter

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/incidentflow/incidentflow/config"
	"github.com/incidentflow/incidentflow/workflows"
)

const intakeConfig = `
integrations:
  - {name: pd, kind: events_v2, token_env: PD_KEY, service: checkout}
  - {name: scripts, kind: generic, service: checkout, default_severity: P3}
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
			require.Equal(t, workflows.AlertFiring, ev.Alert.Status)
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
			require.Equal(t, workflows.AlertResolved, ev.Alert.Status)
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
