package starter

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/incidentflow/incidentflow/config"
)

// Every write of the API, without a token, with a wrong one, with a
// read-only one, and with a good one whose body names someone else: none
// gets past the credential (the server has no Temporal client, so one that
// did would panic).
func TestEveryWriteNeedsATokenThatNamesWhoActs(t *testing.T) {
	cfg, err := config.Parse([]byte(`
api_tokens:
  - {name: alice-laptop, token_env: ALICE, user: alice}
  - {name: wallboard, token_env: WALL, user: alice, read_only: true}
services: {checkout: {escalation_policy: p}}
escalation_policies: {p: {steps: [{targets: [schedule:primary]}]}}
schedules:
  primary: {time_zone: UTC, layers: [{start: "2026-01-01T00:00:00Z", shift: 24h, users: [alice, bob]}]}
users: {alice: {}, bob: {}}
`))
	require.NoError(t, err)
	h := NewServer(&Incidents{Config: cfg}, slog.New(slog.NewTextHandler(io.Discard, nil)), func(k string) string {
		return map[string]string{"ALICE": "alice-secret", "WALL": "wall-secret"}[k]
	}).Handler()
	writes := []struct{ method, path, body string }{
		{"POST", "/v1/incidents", `{"title":"t","service":"checkout","severity":"P2"}`},
		{"POST", "/v1/incidents/incident-x/ack", `{}`},
		{"POST", "/v1/incidents/incident-x/resolve", `{}`},
		{"POST", "/v1/incidents/incident-x/reopen", `{}`},
		{"POST", "/v1/incidents/incident-x/close", `{}`},
		{"POST", "/v1/incidents/incident-x/escalate", `{"to_step":1}`},
		{"POST", "/v1/incidents/incident-x/severity", `{"severity":"P1"}`},
		{"POST", "/v1/incidents/incident-x/roles", `{"role":"comms","user":"bob"}`},
		{"POST", "/v1/incidents/incident-x/status-updates", `{"stage":"identified","message":"m"}`},
		{"POST", "/v1/incidents/incident-x/notes", `{"text":"n"}`},
		{"POST", "/v1/incidents/incident-x/action-items", `{"title":"t","type":"prevent","owner":"bob"}`},
		{"POST", "/v1/incidents/incident-x/page", `{"target":"bob"}`},
		{"POST", "/v1/incidents/incident-x/postmortem/complete", `{}`},
		{"POST", "/v1/incidents/incident-x/action-items/1/close", `{}`},
		{"POST", "/v1/schedules/primary/overrides", `{"user":"bob","start":"2026-12-01T00:00:00Z","end":"2026-12-02T00:00:00Z"}`},
		{"DELETE", "/v1/schedules/primary/overrides/o1", ``},
		{"POST", "/v1/maintenance", `{"for":"1h","reason":"r"}`},
		{"DELETE", "/v1/maintenance/m1", ``},
	}
	for _, wr := range writes {
		for _, c := range []struct {
			name, auth, by string
			status         int
			want           string
		}{
			{"no token", "", "", http.StatusUnauthorized, "an API token is required"},
			{"a wrong token", "Bearer nope", "", http.StatusUnauthorized, "that API token is not one of api_tokens"},
			{"a read-only token", "Bearer wall-secret", "", http.StatusForbidden, "token wallboard is read-only"},
			{"a spoofed by", "Bearer alice-secret", "bob", http.StatusForbidden, `acts as alice, not "bob"`},
		} {
			t.Run(wr.method+" "+wr.path+" with "+c.name, func(t *testing.T) {
				body, path := wr.body, wr.path
				if c.by != "" {
					if body == "" {
						path += "?by=" + c.by
					} else {
						body = strings.Replace(body, "{", `{"by":"`+c.by+`",`, 1)
						body = strings.Replace(body, `,}`, `}`, 1)
					}
				}
				req := httptest.NewRequest(wr.method, path, strings.NewReader(body))
				if c.auth != "" {
					req.Header.Set("Authorization", c.auth)
				}
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				require.Equal(t, c.status, rec.Code, rec.Body.String())
				var out map[string]string
				require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &out))
				require.Contains(t, out["error"], c.want)
			})
		}
	}
}
