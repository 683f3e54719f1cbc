package starter

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/incidentflow/incidentflow/config"
)

// Without http.public_reads, reading needs a token too; a read-only one
// will do, and a calendar feed takes it as ?token= (calendar apps send no
// headers), nothing else does. A token whose variable is empty opens
// nothing.
func TestReadsNeedATokenUnlessPublic(t *testing.T) {
	cfg, err := config.Parse([]byte(`
api_tokens:
  - {name: dashboard, token_env: DASHBOARD_TOKEN, user: alice, read_only: true}
  - {name: unset, token_env: UNSET_TOKEN, user: alice}
schedules:
  primary: {time_zone: UTC, layers: [{start: "2026-01-01T00:00:00Z", shift: 24h, users: [alice]}]}
users: {alice: {}}
`))
	require.NoError(t, err)
	require.False(t, cfg.HTTP.PublicReads, "reads are closed by default")
	h := NewServer(&Incidents{Config: cfg}, slog.New(slog.NewTextHandler(io.Discard, nil)), func(k string) string {
		return map[string]string{"DASHBOARD_TOKEN": "dash"}[k]
	}).Handler()
	for _, tc := range []struct {
		name, path, auth string
		want             int
	}{
		{"no token", "/v1/oncall", "", http.StatusUnauthorized},
		{"a read-only token", "/v1/oncall", "Bearer dash", http.StatusOK},
		{"a wrong token", "/v1/oncall", "Bearer nope", http.StatusUnauthorized},
		{"an empty bearer", "/v1/oncall", "Bearer ", http.StatusUnauthorized},
		{"a token in the query of an API read", "/v1/oncall?token=dash", "", http.StatusUnauthorized},
		{"a token in the query of a feed", "/v1/schedules/primary.ics?token=dash", "", http.StatusOK},
		{"a feed without one", "/v1/schedules/primary.ics", "", http.StatusUnauthorized},
		{"incidents without one", "/v1/incidents", "", http.StatusUnauthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, tc.path, nil)
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			require.Equal(t, tc.want, rec.Code, rec.Body.String())
			if tc.want == http.StatusUnauthorized {
				require.Equal(t, `Bearer realm="incidentflow"`, rec.Header().Get("WWW-Authenticate"))
			}
		})
	}
}
