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
)

// Requests the API can refuse without asking Temporal: the client is nil,
// so reaching it would panic.
func TestPostmortemEndpointsRejectBadInput(t *testing.T) {
	srv := NewServer(&Incidents{Config: intakeCfg(t)}, slog.New(slog.NewTextHandler(io.Discard, nil)), func(k string) string {
		return map[string]string{"ALICE_API_TOKEN": "alice-api"}[k]
	})
	h := srv.Handler()
	for _, tc := range []struct {
		name, path, body string
		status           int
		want             string
	}{
		{"item is not a number", "/v1/incidents/x/action-items/two/close", `{"by":"alice"}`, http.StatusBadRequest, "item: "},
		{"item zero", "/v1/incidents/x/action-items/0/drop", `{"by":"alice","note":"n"}`, http.StatusBadRequest, "item: "},
		{"unknown change", "/v1/incidents/x/action-items/1/reopen", `{"by":"alice"}`, http.StatusNotFound, "close or drop"},
		{"closing as someone else", "/v1/incidents/x/action-items/1/close", `{"by":"mallory"}`, http.StatusForbidden, `not "mallory"`},
		{"complete as someone else", "/v1/incidents/x/postmortem/complete", `{"by":"bob"}`, http.StatusForbidden, `by: token alice-laptop acts as alice, not "bob"`},
		{"complete bad JSON", "/v1/incidents/x/postmortem/complete", `{"by":`, http.StatusBadRequest, "body: invalid JSON"},
		{"action item owner unknown", "/v1/incidents/x/action-items", `{"by":"alice","title":"t","type":"detect","owner":"zed"}`, http.StatusBadRequest, `owner: unknown user "zed"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			req := httptest.NewRequest(http.MethodPost, tc.path, strings.NewReader(tc.body))
			req.Header.Set("Authorization", "Bearer alice-api")
			h.ServeHTTP(rec, req)
			require.Equal(t, tc.status, rec.Code, rec.Body.String())
			var out map[string]string
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &out))
			require.Contains(t, out["error"], tc.want)
		})
	}
}
