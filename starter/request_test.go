package starter

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	ics "github.com/arran4/golang-ical"
	"github.com/stretchr/testify/require"

	"github.com/incidentflow/incidentflow/config"
)

// Requests refused before anything reaches Temporal: each answers 4xx with
// a message in the API's words.
func TestRequestsRefusedWithTheirReason(t *testing.T) {
	h := NewServer(&Incidents{Config: intakeCfg(t)}, slog.New(slog.NewTextHandler(io.Discard, nil)), func(string) string { return "" }).Handler()
	for _, tc := range []struct {
		name, method, path, body string
		wantStatus               int
		wantError                string
	}{
		{"NUL and a right-to-left override in an id", "POST", "/v1/incidents/incident-%00%E2%80%AE/ack", `{"by":"alice"}`,
			http.StatusBadRequest, "id: has the unprintable character U+0000"},
		{"a bidi override alone", "GET", "/v1/incidents/incident-x%E2%80%AEy", "",
			http.StatusBadRequest, "id: has the unprintable character U+202E"},
		{"invalid UTF-8", "GET", "/v1/incidents/incident-%ff", "", http.StatusBadRequest, "id: not valid UTF-8"},
		{"an id too long", "GET", "/v1/incidents/" + strings.Repeat("k", 600), "", http.StatusBadRequest, "id: 600 bytes is too long (at most 521)"},
		{"an unknown action", "POST", "/v1/incidents/incident-x/delete", `{"by":"alice"}`,
			http.StatusNotFound, `no action "delete" on an incident (one of ack, resolve, reopen, escalate, close, severity, roles, status-updates, notes, action-items, page)`},
		{"a type error names the JSON kind", "POST", "/v1/alerts/alertmanager", `{"version":"4","groupKey":"g","alerts":"x"}`,
			http.StatusBadRequest, "alerts: want an array, got string"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(tc.method, tc.path, strings.NewReader(tc.body))
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			var body map[string]string
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body), rec.Body.String())
			require.Equal(t, tc.wantStatus, rec.Code, body)
			require.Equal(t, tc.wantError, body["error"])
		})
	}
}

func TestAuthorizationSchemeIgnoresCase(t *testing.T) {
	for _, h := range []string{"Bearer s3cret", "bearer s3cret", "BEARER  s3cret ", "  Bearer s3cret"} {
		r := httptest.NewRequest("POST", "/", nil)
		r.Header.Set("Authorization", h)
		require.Equal(t, "s3cret", credential(r, "Bearer"), h)
	}
	r := httptest.NewRequest("POST", "/", nil)
	r.Header.Set("Authorization", "GenieKey s3cret")
	require.Empty(t, credential(r, "Bearer"), "another scheme is not a bearer token")
}

func TestOnCallSaysWhoSinceWhenUntilWhenAndWhoIsNext(t *testing.T) {
	cfg := intakeCfg(t)
	cfg.Schedules = map[string]config.Schedule{"primary": {TimeZone: "UTC", Layers: []config.Layer{
		{Start: "2026-01-01T09:00:00Z", Shift: config.Duration(24 * time.Hour), Users: []string{"alice", "bob"}}}}}
	h := NewServer(&Incidents{Config: cfg}, slog.New(slog.NewTextHandler(io.Discard, nil)), func(string) string { return "" }).Handler()
	get := func(path string) (int, map[string]any) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		var body map[string]any
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body), rec.Body.String())
		return rec.Code, body
	}
	code, body := get("/v1/oncall?schedule=primary&at=2026-11-24T12:00:00Z")
	require.Equal(t, http.StatusOK, code, body)
	list := body["oncall"].([]any)
	require.Len(t, list, 1)
	require.Equal(t, map[string]any{"schedule": "primary", "user": "bob", "next": "alice",
		"start": "2026-11-24T09:00:00Z", "end": "2026-11-25T09:00:00Z"}, list[0])

	code, body = get("/v1/oncall?schedule=nope")
	require.Equal(t, http.StatusNotFound, code)
	require.Contains(t, body["error"], `no schedule "nope"`)
	code, body = get("/v1/oncall?at=yesterday")
	require.Equal(t, http.StatusBadRequest, code)
	require.Contains(t, body["error"], "at: ")
	code, body = get("/v1/oncall?who=alice")
	require.Equal(t, http.StatusBadRequest, code)
	require.Contains(t, body["error"], "who: unknown filter")
}

func TestScheduleFeedIsAnICalendarOfTheNextWeeks(t *testing.T) {
	cfg := intakeCfg(t)
	cfg.Schedules = map[string]config.Schedule{"primary": {TimeZone: "UTC", Layers: []config.Layer{
		{Start: "2026-01-01T09:00:00Z", Shift: config.Duration(24 * time.Hour), Users: []string{"alice", "bob"}}}}}
	cfg.Users["alice"] = config.User{}
	h := NewServer(&Incidents{Config: cfg}, slog.New(slog.NewTextHandler(io.Discard, nil)), func(string) string { return "" }).Handler()
	get := func(path string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		return rec
	}
	rec := get("/v1/schedules/primary.ics?weeks=2")
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.Equal(t, "text/calendar; charset=utf-8", rec.Header().Get("Content-Type"))
	cal, err := ics.ParseCalendar(strings.NewReader(rec.Body.String()))
	require.NoError(t, err)
	events := cal.Events()
	require.GreaterOrEqual(t, len(events), 14, "a shift a day for two weeks")
	for i, ev := range events {
		start, err := ev.GetStartAt()
		require.NoError(t, err)
		end, err := ev.GetEndAt()
		require.NoError(t, err)
		require.Equal(t, 24*time.Hour, end.Sub(start).Round(time.Minute), "event %d", i)
		require.Equal(t, 9, start.UTC().Hour(), "handover at 09:00")
	}

	rec = get("/v1/schedules/primary.ics?weeks=2&user=alice")
	cal, err = ics.ParseCalendar(strings.NewReader(rec.Body.String()))
	require.NoError(t, err)
	require.InDelta(t, len(events)/2, len(cal.Events()), 1, "alice's shifts only")
	for _, ev := range cal.Events() {
		require.Contains(t, ev.GetProperty(ics.ComponentPropertySummary).Value, "alice")
	}
	require.Equal(t, http.StatusNotFound, get("/v1/schedules/nope.ics").Code)
	require.Equal(t, http.StatusBadRequest, get("/v1/schedules/primary.ics?weeks=99").Code)
}

// Requests that match no route, or not with that method, are answered in
// JSON like every other error (the README promises it).
func TestMissesAnswerJSON(t *testing.T) {
	h := NewServer(&Incidents{Config: intakeCfg(t)}, slog.New(slog.NewTextHandler(io.Discard, nil)), func(string) string { return "" }).Handler()
	for _, tc := range []struct {
		method, path string
		status       int
		want, allow  string
	}{
		{"GET", "/v1/nothing", http.StatusNotFound, "no endpoint GET /v1/nothing", ""},
		{"DELETE", "/v1/alerts", http.StatusMethodNotAllowed, "DELETE /v1/alerts: method not allowed (allowed: POST)", "POST"},
		{"PUT", "/v1/incidents", http.StatusMethodNotAllowed, "method not allowed", "GET, HEAD, POST"},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, nil))
		require.Equal(t, tc.status, rec.Code, rec.Body.String())
		require.Equal(t, "application/json", rec.Header().Get("Content-Type"))
		var body map[string]string
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body), rec.Body.String())
		require.Contains(t, body["error"], tc.want)
		require.Equal(t, tc.allow, rec.Header().Get("Allow"))
	}
}
