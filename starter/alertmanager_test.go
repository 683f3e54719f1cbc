package starter

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/incidentflow/incidentflow/config"
	"github.com/incidentflow/incidentflow/incident"
)

// testYAML has one token-protected Alertmanager integration for checkout and
// a second service, payments, that a `service` label may select.
const testYAML = `
http:
  max_body_bytes: 200
  public_reads: true
api_tokens:
  - {name: alice-laptop, token_env: ALICE_API_TOKEN, user: alice}
  - {name: dashboard, token_env: DASHBOARD_TOKEN, user: bob, read_only: true}
  - {name: chatops, token_env: CHATOPS_TOKEN, user: bob, act_for_others: true}
integrations:
  - name: prometheus
    kind: alertmanager
    token_env: PROM_TOKEN
    service: checkout
services:
  checkout: {escalation_policy: main}
  payments: {escalation_policy: main}
escalation_policies:
  main:
    steps:
      - targets: [user:alice]
users:
  alice: {email: alice@example.com}
  bob: {email: bob@example.com}
`

func testConfig(t *testing.T) *config.Config {
	t.Helper()
	cfg, err := config.Parse([]byte(testYAML))
	require.NoError(t, err)
	return cfg
}

func firing(fingerprint string, labels map[string]string) alertmanagerAlert {
	return alertmanagerAlert{Status: incident.AlertFiring, Fingerprint: fingerprint, Labels: labels}
}

func TestAlertmanagerEvents(t *testing.T) {
	cfg := testConfig(t)
	integ := cfg.Integrations[0]
	require.Equal(t, "P3", integ.DefaultSeverity)

	base := func() alertmanagerWebhook {
		return alertmanagerWebhook{
			Version:      "4",
			GroupKey:     `{}:{alertname="HighLatency"}`,
			Status:       "firing",
			CommonLabels: map[string]string{"alertname": "HighLatency"},
			Alerts: []alertmanagerAlert{
				firing("aaa", map[string]string{"alertname": "HighLatency", "instance": "a"}),
				{Status: incident.AlertResolved, Fingerprint: "bbb", Labels: map[string]string{"alertname": "HighLatency", "instance": "b"}},
			},
		}
	}

	tests := []struct {
		name string
		edit func(*alertmanagerWebhook)
		// check inspects the events of a valid webhook.
		check func(t *testing.T, evs []AlertEvent)
		// wantField is the BadRequest field of an invalid webhook.
		wantField string
	}{
		{
			name: "two alerts give two events keyed by the group key",
			edit: func(*alertmanagerWebhook) {},
			check: func(t *testing.T, evs []AlertEvent) {
				require.Len(t, evs, 2)
				for _, ev := range evs {
					require.Equal(t, `{}:{alertname="HighLatency"}`, ev.Key)
					require.Equal(t, "checkout", ev.Service)
					require.Equal(t, "P3", ev.Severity, "integration default")
					require.Equal(t, "prometheus", ev.Source)
					require.Equal(t, "prometheus", ev.Alert.Source)
					require.Equal(t, "HighLatency", ev.Title)
				}
				require.Equal(t, "aaa", evs[0].Alert.Fingerprint)
				require.Equal(t, incident.AlertFiring, evs[0].Alert.Status)
				require.Equal(t, "a", evs[0].Alert.Labels["instance"])
				require.Equal(t, "bbb", evs[1].Alert.Fingerprint)
				require.Equal(t, incident.AlertResolved, evs[1].Alert.Status)
			},
		},
		{
			name:  "version may be omitted",
			edit:  func(w *alertmanagerWebhook) { w.Version = "" },
			check: func(t *testing.T, evs []AlertEvent) { require.Len(t, evs, 2) },
		},
		{
			name: "common severity label critical is P1",
			edit: func(w *alertmanagerWebhook) { w.CommonLabels["severity"] = "critical" },
			check: func(t *testing.T, evs []AlertEvent) {
				for _, ev := range evs {
					require.Equal(t, "P1", ev.Severity)
				}
			},
		},
		{
			name: "group severity label is used without a common one",
			edit: func(w *alertmanagerWebhook) { w.GroupLabels = map[string]string{"severity": "high"} },
			check: func(t *testing.T, evs []AlertEvent) {
				for _, ev := range evs {
					require.Equal(t, "P2", ev.Severity)
				}
			},
		},
		{
			name: "unknown severity label keeps the integration default",
			edit: func(w *alertmanagerWebhook) { w.CommonLabels["severity"] = "spicy" },
			check: func(t *testing.T, evs []AlertEvent) {
				for _, ev := range evs {
					require.Equal(t, "P3", ev.Severity)
				}
			},
		},
		{
			name: "a more severe alert raises every event",
			edit: func(w *alertmanagerWebhook) {
				w.CommonLabels["severity"] = "warning"
				w.Alerts[1].Labels["severity"] = "critical"
			},
			check: func(t *testing.T, evs []AlertEvent) {
				require.Len(t, evs, 2)
				for _, ev := range evs {
					require.Equal(t, "P1", ev.Severity)
				}
			},
		},
		{
			name: "a less severe alert does not lower the group",
			edit: func(w *alertmanagerWebhook) {
				w.CommonLabels["severity"] = "high"
				w.Alerts[0].Labels["severity"] = "info"
			},
			check: func(t *testing.T, evs []AlertEvent) {
				for _, ev := range evs {
					require.Equal(t, "P2", ev.Severity)
				}
			},
		},
		{
			name: "service label selects a configured service",
			edit: func(w *alertmanagerWebhook) { w.CommonLabels["service"] = "payments" },
			check: func(t *testing.T, evs []AlertEvent) {
				for _, ev := range evs {
					require.Equal(t, "payments", ev.Service)
				}
			},
		},
		{
			name: "group service label selects a configured service",
			edit: func(w *alertmanagerWebhook) { w.GroupLabels = map[string]string{"service": "payments"} },
			check: func(t *testing.T, evs []AlertEvent) {
				for _, ev := range evs {
					require.Equal(t, "payments", ev.Service)
				}
			},
		},
		{
			name: "unknown service label falls back to the integration's",
			edit: func(w *alertmanagerWebhook) { w.CommonLabels["service"] = "billing" },
			check: func(t *testing.T, evs []AlertEvent) {
				for _, ev := range evs {
					require.Equal(t, "checkout", ev.Service)
				}
			},
		},
		{
			name: "title from the common summary",
			edit: func(w *alertmanagerWebhook) {
				w.CommonAnnotations = map[string]string{"summary": "Checkout p99 above 2s"}
			},
			check: func(t *testing.T, evs []AlertEvent) { require.Equal(t, "Checkout p99 above 2s", evs[0].Title) },
		},
		{
			name:  "title falls back to the group key",
			edit:  func(w *alertmanagerWebhook) { w.CommonLabels = nil },
			check: func(t *testing.T, evs []AlertEvent) { require.Equal(t, `{}:{alertname="HighLatency"}`, evs[0].Title) },
		},
		{
			name: "alert summary from its annotation, else its alertname",
			edit: func(w *alertmanagerWebhook) {
				w.Alerts[0].Annotations = map[string]string{"summary": "instance a is slow"}
			},
			check: func(t *testing.T, evs []AlertEvent) {
				require.Equal(t, "instance a is slow", evs[0].Alert.Summary)
				require.Equal(t, "HighLatency", evs[1].Alert.Summary)
			},
		},
		{name: "missing group key", edit: func(w *alertmanagerWebhook) { w.GroupKey = "" }, wantField: "groupKey"},
		{name: "blank group key", edit: func(w *alertmanagerWebhook) { w.GroupKey = "  " }, wantField: "groupKey"},
		{name: "invalid second alert status", edit: func(w *alertmanagerWebhook) { w.Alerts[1].Status = "pending" }, wantField: "alerts[1].status"},
		{name: "missing first alert status", edit: func(w *alertmanagerWebhook) { w.Alerts[0].Status = "" }, wantField: "alerts[0].status"},
		{name: "version 3", edit: func(w *alertmanagerWebhook) { w.Version = "3" }, wantField: "version"},
		{name: "no alerts", edit: func(w *alertmanagerWebhook) { w.Alerts = nil }, wantField: "alerts"},
		{name: "empty alerts", edit: func(w *alertmanagerWebhook) { w.Alerts = []alertmanagerAlert{} }, wantField: "alerts"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := base()
			tc.edit(&w)
			evs, err := alertmanagerEvents(cfg, integ, w)
			if tc.wantField != "" {
				var bad *BadRequest
				require.True(t, errors.As(err, &bad), "want *BadRequest, got %v", err)
				require.Equal(t, tc.wantField, bad.Field)
				require.True(t, strings.HasPrefix(bad.Error(), tc.wantField+": "), bad.Error())
				require.Nil(t, evs, "nothing is returned unless every alert is valid")
				return
			}
			require.NoError(t, err)
			tc.check(t, evs)
		})
	}
}

func TestAlertmanagerLabelFingerprint(t *testing.T) {
	cfg := testConfig(t)
	integ := cfg.Integrations[0]
	fingerprint := func(labels map[string]string) string {
		t.Helper()
		evs, err := alertmanagerEvents(cfg, integ, alertmanagerWebhook{
			GroupKey: "g",
			Alerts:   []alertmanagerAlert{firing("", labels)},
		})
		require.NoError(t, err)
		require.Len(t, evs, 1)
		fp := evs[0].Alert.Fingerprint
		require.NotEmpty(t, fp)
		return fp
	}
	ab := map[string]string{"alertname": "Down", "instance": "a"}
	tests := []struct {
		name  string
		other map[string]string
		same  bool
	}{
		{"same labels", map[string]string{"instance": "a", "alertname": "Down"}, true},
		{"different value", map[string]string{"alertname": "Down", "instance": "b"}, false},
		{"extra label", map[string]string{"alertname": "Down", "instance": "a", "job": "x"}, false},
		{"key/value boundary moved", map[string]string{"alertname": "Down", "instanc": "ea"}, false},
		{"no labels", nil, false},
	}
	first := fingerprint(ab)
	require.Equal(t, first, fingerprint(ab), "stable across calls")
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.same {
				require.Equal(t, first, fingerprint(tc.other))
			} else {
				require.NotEqual(t, first, fingerprint(tc.other))
			}
		})
	}
	t.Run("a given fingerprint wins", func(t *testing.T) {
		evs, err := alertmanagerEvents(cfg, integ, alertmanagerWebhook{GroupKey: "g", Alerts: []alertmanagerAlert{firing("abc123", ab)}})
		require.NoError(t, err)
		require.Equal(t, "abc123", evs[0].Alert.Fingerprint)
	})
}

// testServer is the HTTP handler without Temporal: every case below must
// fail before the first Temporal call (Client is nil).
func testServer(t *testing.T, getenv func(string) string) http.Handler {
	t.Helper()
	cfg := testConfig(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	return NewServer(&Incidents{Config: cfg}, log, getenv).Handler()
}

func TestServerRequestValidation(t *testing.T) {
	withToken := func(name string) string {
		return map[string]string{"PROM_TOKEN": "s3cret", "ALICE_API_TOKEN": "alice-api", "DASHBOARD_TOKEN": "dash-api", "CHATOPS_TOKEN": "chatops-api"}[name]
	}
	noToken := func(string) string { return "" }
	const alerts = "/v1/alerts/alertmanager"
	noGroupKey := `{"version":"4","alerts":[{"status":"firing","labels":{"alertname":"X"}}]}`

	tests := []struct {
		name       string
		getenv     func(string) string
		method     string
		path       string
		auth       string
		body       string
		wantStatus int
		// wantError must appear in the JSON error.
		wantError string
	}{
		{name: "no token", getenv: withToken, path: alerts, body: noGroupKey, wantStatus: http.StatusUnauthorized, wantError: "bearer token"},
		{name: "wrong token", getenv: withToken, path: alerts, auth: "Bearer nope", body: noGroupKey, wantStatus: http.StatusUnauthorized, wantError: "bearer token"},
		{name: "token without Bearer", getenv: withToken, path: alerts, auth: "s3cret", body: noGroupKey, wantStatus: http.StatusUnauthorized, wantError: "bearer token"},
		{name: "empty token variable fails closed", getenv: noToken, path: alerts, auth: "Bearer ", body: noGroupKey, wantStatus: http.StatusUnauthorized, wantError: "bearer token"},
		{name: "empty token variable refuses any token", getenv: noToken, path: alerts, auth: "Bearer s3cret", body: noGroupKey, wantStatus: http.StatusUnauthorized, wantError: "bearer token"},
		{name: "body too large", getenv: withToken, path: alerts, auth: "Bearer s3cret", body: `{"groupKey":"` + strings.Repeat("x", 300) + `"}`, wantStatus: http.StatusRequestEntityTooLarge, wantError: "max_body_bytes"},
		{name: "missing groupKey", getenv: withToken, path: alerts, auth: "Bearer s3cret", body: noGroupKey, wantStatus: http.StatusBadRequest, wantError: "groupKey"},
		{name: "invalid JSON", getenv: withToken, path: alerts, auth: "Bearer s3cret", body: `{"groupKey":`, wantStatus: http.StatusBadRequest, wantError: "body: invalid JSON"},
		{name: "empty body", getenv: withToken, path: alerts, auth: "Bearer s3cret", body: "", wantStatus: http.StatusBadRequest, wantError: "body"},
		{name: "wrong JSON type names the field", getenv: withToken, path: alerts, auth: "Bearer s3cret", body: `{"groupKey":"g","alerts":"x"}`, wantStatus: http.StatusBadRequest, wantError: "alerts"},
		{name: "bad alert status", getenv: withToken, path: alerts, auth: "Bearer s3cret", body: `{"groupKey":"g","alerts":[{"status":"firing"},{"status":"ok"}]}`, wantStatus: http.StatusBadRequest, wantError: "alerts[1].status"},
		{name: "webhook version 3", getenv: withToken, path: alerts, auth: "Bearer s3cret", body: `{"version":"3","groupKey":"g","alerts":[{"status":"firing"}]}`, wantStatus: http.StatusBadRequest, wantError: "version"},
		{name: "ack without an API token", getenv: withToken, path: "/v1/incidents/x/ack", body: `{"by":"alice"}`, wantStatus: http.StatusUnauthorized, wantError: "an API token is required"},
		{name: "ack with an integration's token", getenv: withToken, path: "/v1/incidents/x/ack", auth: "Bearer s3cret", body: `{}`, wantStatus: http.StatusUnauthorized, wantError: "that API token is not one of api_tokens"},
		{name: "ack as someone else", getenv: withToken, path: "/v1/incidents/x/ack", auth: "Bearer alice-api", body: `{"by":"bob"}`, wantStatus: http.StatusForbidden, wantError: `by: token alice-laptop acts as alice, not "bob"`},
		{name: "ack with a read-only token", getenv: withToken, path: "/v1/incidents/x/ack", auth: "bearer dash-api", body: `{}`, wantStatus: http.StatusForbidden, wantError: "token dashboard is read-only"},
		{name: "a bot acting for an unknown user", getenv: withToken, path: "/v1/incidents/x/ack", auth: "Bearer chatops-api", body: `{"by":"zed"}`, wantStatus: http.StatusBadRequest, wantError: `by: unknown user "zed"`},
		{name: "the token is checked before the body", getenv: withToken, path: "/v1/incidents/x/escalate", body: `{by}`, wantStatus: http.StatusUnauthorized, wantError: "an API token is required"},
		{name: "resolve by a number", getenv: withToken, path: "/v1/incidents/x/resolve", auth: "Bearer alice-api", body: `{"by":5}`, wantStatus: http.StatusBadRequest, wantError: "by"},
		{name: "escalate with invalid JSON", getenv: withToken, path: "/v1/incidents/x/escalate", auth: "Bearer alice-api", body: `{by}`, wantStatus: http.StatusBadRequest, wantError: "body: invalid JSON"},
		{name: "escalate with a field it does not take", getenv: withToken, path: "/v1/incidents/x/escalate", auth: "Bearer alice-api", body: `{"step":2}`, wantStatus: http.StatusBadRequest, wantError: "step: unknown field (this command takes by, note, to_step)"},
		{name: "unknown action", getenv: withToken, path: "/v1/incidents/x/dance", body: `{"by":"alice"}`, wantStatus: http.StatusNotFound, wantError: `no action "dance" on an incident`},
		{name: "list with bad limit", getenv: withToken, method: http.MethodGet, path: "/v1/incidents?limit=0", wantStatus: http.StatusBadRequest, wantError: "limit"},
		{name: "list with bad status", getenv: withToken, method: http.MethodGet, path: "/v1/incidents?status=sleeping", wantStatus: http.StatusBadRequest, wantError: "status"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			method := tc.method
			if method == "" {
				method = http.MethodPost
			}
			req := httptest.NewRequest(method, tc.path, strings.NewReader(tc.body))
			req.Header.Set("Content-Type", "application/json")
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			rec := httptest.NewRecorder()
			testServer(t, tc.getenv).ServeHTTP(rec, req)

			require.Equal(t, tc.wantStatus, rec.Code, rec.Body.String())
			require.Equal(t, "application/json", rec.Header().Get("Content-Type"))
			var answer map[string]any
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &answer), rec.Body.String())
			msg, ok := answer["error"].(string)
			require.True(t, ok, "no error string in %s", rec.Body.String())
			require.Contains(t, msg, tc.wantError)
		})
	}
}

func TestServerOpenIntegration(t *testing.T) {
	// Without token_env an integration accepts alerts with no token; the
	// payload is still validated before Temporal is called.
	cfg, err := config.Parse([]byte(strings.Replace(testYAML, "    token_env: PROM_TOKEN\n", "", 1)))
	require.NoError(t, err)
	h := NewServer(&Incidents{Config: cfg}, slog.New(slog.NewTextHandler(io.Discard, nil)), func(string) string { return "" }).Handler()
	req := httptest.NewRequest(http.MethodPost, "/v1/alerts/alertmanager", strings.NewReader(`{"alerts":[{"status":"firing"}]}`))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	require.Equal(t, http.StatusBadRequest, rec.Code, rec.Body.String())
	require.JSONEq(t, `{"error":"groupKey: required (the dedup key of the incident)"}`, rec.Body.String())
}

func TestAlertmanagerTriageWhenNoSeverity(t *testing.T) {
	cfg, err := config.Parse([]byte(`
integrations: [{name: am, kind: alertmanager, service: checkout, default_severity: P3}]
services: {checkout: {escalation_policy: p}}
escalation_policies: {p: {steps: [{targets: [user:alice]}]}}
users: {alice: {}}
triage:
  aliases: {SEV1: P1}
  rules:
    - {severity: P1, all: [{key: tier, equals: critical}, {key: error_rate, above: 0.2}]}
    - {severity: P2, any: [{key: users_affected, above: 1000}]}
`))
	require.NoError(t, err)
	integ := cfg.Integrations[0]
	hook := func(common map[string]string, alerts ...map[string]string) alertmanagerWebhook {
		w := alertmanagerWebhook{Version: "4", GroupKey: "g", CommonLabels: common}
		for _, l := range alerts {
			w.Alerts = append(w.Alerts, alertmanagerAlert{Status: "firing", Labels: l})
		}
		return w
	}
	for _, tc := range []struct {
		name string
		w    alertmanagerWebhook
		want string
	}{
		{"rule on common labels", hook(map[string]string{"tier": "critical", "error_rate": "0.3"}, map[string]string{}), "P1"},
		{"most severe alert's rule wins", hook(nil, map[string]string{"users_affected": "2000"}, map[string]string{"tier": "critical", "error_rate": "25%"}), "P1"},
		{"no rule matches: integration default", hook(nil, map[string]string{"error_rate": "0.01"}), "P3"},
		{"an explicit label beats the rules", hook(map[string]string{"severity": "warning", "tier": "critical", "error_rate": "0.3"}, map[string]string{}), "P3"},
		{"config alias", hook(map[string]string{"severity": "SEV1"}, map[string]string{}), "P1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			events, err := alertmanagerEvents(cfg, integ, tc.w)
			require.NoError(t, err)
			for _, e := range events {
				require.Equal(t, tc.want, e.Severity)
			}
		})
	}
}

// assertCut checks a string the intake cut: within limit, whole characters,
// marked as cut, and starting as the original did.
func assertCut(t *testing.T, got, original string, limit int) {
	t.Helper()
	require.LessOrEqual(t, len(got), limit)
	require.True(t, utf8.ValidString(got), "cut inside a character")
	require.Contains(t, got, "[cut ")
	require.True(t, strings.HasPrefix(original, strings.SplitN(got, " … [cut ", 2)[0]), "the kept part is the original's start")
}

// manyLabels has n labels l000..l(n-1), each with a value naming itself.
func manyLabels(n int) map[string]string {
	labels := make(map[string]string, n)
	for i := range n {
		labels[fmt.Sprintf("l%03d", i)] = fmt.Sprintf("v%03d", i)
	}
	return labels
}

func TestAlertmanagerBounds(t *testing.T) {
	cfg := testConfig(t)
	integ := cfg.Integrations[0]
	huge := strings.Repeat("é", 450<<10) // 900 KB of two-byte characters
	hook := func(alerts ...alertmanagerAlert) alertmanagerWebhook {
		return alertmanagerWebhook{Version: "4", GroupKey: "g", Alerts: alerts}
	}
	tests := []struct {
		name string
		w    alertmanagerWebhook
		// wantError starts the 400 of a refused webhook.
		wantError string
		check     func(t *testing.T, evs []AlertEvent)
	}{
		{
			name:      "a 600-byte group key is refused",
			w:         alertmanagerWebhook{GroupKey: strings.Repeat("k", 600), Alerts: []alertmanagerAlert{firing("a", nil)}},
			wantError: "groupKey: 600 bytes is too long (at most 512)",
		},
		{
			name: "a 512-byte group key is taken whole",
			w:    alertmanagerWebhook{GroupKey: strings.Repeat("k", 512), Alerts: []alertmanagerAlert{firing("a", nil)}},
			check: func(t *testing.T, evs []AlertEvent) {
				require.Equal(t, strings.Repeat("k", 512), evs[0].Key)
			},
		},
		{
			name: "a 900 KB common summary is cut into the title",
			w: func() alertmanagerWebhook {
				w := hook(firing("a", nil))
				w.CommonAnnotations = map[string]string{"summary": huge}
				return w
			}(),
			check: func(t *testing.T, evs []AlertEvent) {
				assertCut(t, evs[0].Title, huge, incident.MaxTitle)
			},
		},
		{
			name: "a 900 KB alert summary is cut",
			w:    hook(alertmanagerAlert{Status: "firing", Annotations: map[string]string{"summary": huge}}),
			check: func(t *testing.T, evs []AlertEvent) {
				assertCut(t, evs[0].Alert.Summary, huge, incident.MaxTitle)
			},
		},
		{
			name: "a 900 KB alertname is cut into title and summary",
			w:    hook(firing("a", map[string]string{"alertname": huge})),
			check: func(t *testing.T, evs []AlertEvent) {
				assertCut(t, evs[0].Alert.Summary, huge, incident.MaxTitle)
				require.Equal(t, "g", evs[0].Title, "the group's title does not come from one alert")
				assertCut(t, evs[0].Alert.Labels["alertname"], huge, incident.MaxLabel)
			},
		},
		{
			name: "200 labels: the first 64 by key are kept",
			w:    hook(firing("a", manyLabels(200))),
			check: func(t *testing.T, evs []AlertEvent) {
				labels := evs[0].Alert.Labels
				require.Len(t, labels, incident.MaxLabels)
				for i := range incident.MaxLabels {
					require.Equal(t, fmt.Sprintf("v%03d", i), labels[fmt.Sprintf("l%03d", i)])
				}
			},
		},
		{
			name: "long label keys and values are cut, and two long keys stay two",
			w: hook(firing("a", map[string]string{
				strings.Repeat("k", 2000) + "1": "one",
				strings.Repeat("k", 2000) + "2": "two",
				"big":                           huge,
			})),
			check: func(t *testing.T, evs []AlertEvent) {
				labels := evs[0].Alert.Labels
				require.Len(t, labels, 3)
				for k, v := range labels {
					require.LessOrEqual(t, len(k), incident.MaxLabel)
					require.LessOrEqual(t, len(v), incident.MaxLabel)
				}
				assertCut(t, labels["big"], huge, incident.MaxLabel)
			},
		},
		{
			name: "a long fingerprint keeps its start and a hash",
			w:    hook(firing(strings.Repeat("f", 5000)+"1", nil), firing(strings.Repeat("f", 5000)+"2", nil)),
			check: func(t *testing.T, evs []AlertEvent) {
				require.Len(t, evs, 2)
				for _, ev := range evs {
					require.LessOrEqual(t, len(ev.Alert.Fingerprint), incident.MaxFingerprint)
					require.True(t, strings.HasPrefix(ev.Alert.Fingerprint, "ffff"))
				}
				require.NotEqual(t, evs[0].Alert.Fingerprint, evs[1].Alert.Fingerprint)
			},
		},
		{
			name: "the label fingerprint counts the labels that were dropped",
			w: func() alertmanagerWebhook {
				a, b := manyLabels(200), manyLabels(200)
				b["l199"] = "changed"
				return hook(firing("", a), firing("", b))
			}(),
			check: func(t *testing.T, evs []AlertEvent) {
				require.Equal(t, evs[0].Alert.Labels, evs[1].Alert.Labels)
				require.NotEqual(t, evs[0].Alert.Fingerprint, evs[1].Alert.Fingerprint)
			},
		},
		{
			name: "huge service and severity labels select nothing",
			w: func() alertmanagerWebhook {
				w := hook(firing("a", map[string]string{"severity": huge}))
				w.CommonLabels = map[string]string{"service": huge, "severity": huge}
				return w
			}(),
			check: func(t *testing.T, evs []AlertEvent) {
				require.Equal(t, "checkout", evs[0].Service)
				require.Equal(t, "P3", evs[0].Severity)
				require.Equal(t, "prometheus", evs[0].Source)
			},
		},
		{
			name:      "an invalid status is quoted cut, not echoed whole",
			w:         hook(alertmanagerAlert{Status: huge}),
			wantError: "alerts[0].status: ",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			evs, err := alertmanagerEvents(cfg, integ, tc.w)
			if tc.wantError != "" {
				var bad *BadRequest
				require.ErrorAs(t, err, &bad)
				require.True(t, strings.HasPrefix(bad.Error(), tc.wantError), bad.Error())
				require.Less(t, len(bad.Error()), 512, "a 400 never echoes a huge value")
				require.Nil(t, evs)
				return
			}
			require.NoError(t, err)
			require.NotEmpty(t, evs)
			tc.check(t, evs)
		})
	}
}
