package e2e

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Declared over HTTP with a token: 201 with the incident, its commander
// set, two declarations of one title a moment apart are two incidents.
// Then found again by search: by service and severity, by words in the
// title, by commander, page by page with a cursor; an unknown filter is a
// 400 naming it.
func TestDeclareOverHTTPAndFindItAgain(t *testing.T) {
	h := newHarness(t)
	title := fmt.Sprintf("disk full on db-%d", time.Now().UnixNano()%1_000_000)
	declare := func(body map[string]any, token string) (int, map[string]any) {
		return h.doJSON(http.MethodPost, "/v1/incidents", body, token)
	}
	code, out := declare(map[string]any{"title": title, "service": "checkout", "severity": "P2", "commander": "bob"}, aliceToken)
	require.Equal(t, http.StatusCreated, code, out)
	first := out["id"].(string)
	require.Equal(t, "bob", out["commander"], out)
	code, out = declare(map[string]any{"title": title, "service": "checkout", "severity": "sev2"}, aliceToken)
	require.Equal(t, http.StatusCreated, code, out)
	second := out["id"].(string)
	require.Equal(t, "alice", out["commander"], "whoever declares is commander unless one is named")
	require.NotEqual(t, first, second, "a second declaration is a second incident")

	for _, bad := range []struct {
		body  map[string]any
		token string
		code  int
		want  string
	}{
		{map[string]any{"title": title, "service": "checkout", "severity": "P2"}, "", 401, "authorization"},
		{map[string]any{"service": "checkout", "severity": "P2"}, aliceToken, 400, "title: required"},
		{map[string]any{"title": title, "service": "nosuch", "severity": "P2"}, aliceToken, 400, "service: unknown"},
		{map[string]any{"title": title, "service": "checkout", "severity": "P9"}, aliceToken, 400, "severity: unknown"},
		{map[string]any{"title": title, "service": "checkout", "severity": "P2", "commander": "zed"}, aliceToken, 400, "commander: unknown"},
	} {
		code, out := declare(bad.body, bad.token)
		require.Equal(t, bad.code, code, out)
		require.Contains(t, out["error"], bad.want)
	}

	search := func(q url.Values) (int, map[string]any) {
		return h.doJSON(http.MethodGet, "/v1/incidents?"+q.Encode(), nil, "")
	}
	ids := func(out map[string]any) []string {
		var got []string
		for _, s := range out["incidents"].([]any) {
			got = append(got, s.(map[string]any)["id"].(string))
		}
		return got
	}
	// Visibility is eventually consistent: wait for both to be listed.
	waitFor(t, "both declared incidents listed", 10*time.Second, func() bool {
		_, out := search(url.Values{"q": {title}})
		return len(ids(out)) == 2
	})
	// Opening one, a responder sees the others like it.
	code, out = h.doJSON(http.MethodGet, "/v1/incidents/"+first, nil, "")
	require.Equal(t, http.StatusOK, code)
	similar, _ := out["similar"].([]any)
	require.NotEmpty(t, similar, out["similar"])
	require.Equal(t, second, similar[0].(map[string]any)["id"])
	require.Equal(t, "a near-identical title", similar[0].(map[string]any)["why"])

	_, out = search(url.Values{"q": {title}, "service": {"checkout"}, "severity": {"P2"}, "since": {"1h"}})
	require.ElementsMatch(t, []string{first, second}, ids(out))
	_, out = search(url.Values{"q": {title}, "until": {"1h"}})
	require.Empty(t, ids(out), "none was opened an hour ago")
	waitFor(t, "the commander searchable", 10*time.Second, func() bool {
		_, out := search(url.Values{"q": {title}, "commander": {"bob"}})
		got := ids(out)
		return len(got) == 1 && got[0] == first
	})

	// "Page the next on call": who takes over after the current shift.
	code, out = h.doJSON(http.MethodPost, "/v1/incidents/"+second+"/page", map[string]any{"target": "schedule:primary", "next": true}, aliceToken)
	require.Equal(t, http.StatusOK, code, out)
	code, out = h.doJSON(http.MethodPost, "/v1/incidents/"+second+"/page", map[string]any{"target": "user:bob", "next": true}, aliceToken)
	require.Equal(t, http.StatusBadRequest, code, out)
	require.Contains(t, out["error"], "next: only with a schedule")

	_, out = search(url.Values{"q": {title}, "limit": {"1"}})
	require.Len(t, ids(out), 1)
	next, _ := out["next_cursor"].(string)
	require.NotEmpty(t, next, out)
	page1 := ids(out)[0]
	_, out = search(url.Values{"q": {title}, "limit": {"1"}, "cursor": {next}})
	require.Len(t, ids(out), 1)
	require.NotEqual(t, page1, ids(out)[0], "the cursor goes on")

	code, out = search(url.Values{"colour": {"red"}})
	require.Equal(t, http.StatusBadRequest, code)
	require.Contains(t, out["error"], "colour: unknown filter")
	code, out = search(url.Values{"since": {"yesterday"}})
	require.Equal(t, http.StatusBadRequest, code)
	require.Contains(t, out["error"], "since: ")
	code, _ = search(url.Values{"status": {"monitoring"}})
	require.Equal(t, http.StatusOK, code, "every status the list shows can be asked for")
}
