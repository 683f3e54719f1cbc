package importer

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// fixtureAPI serves a fixture directory as the source's REST API would:
// each path is its saved answer, list endpoints a page at a time.
type fixtureAPI struct {
	dir, auth string
	// lists maps a list path to the key holding its items ("data" for
	// Opsgenie, the resource name for PagerDuty).
	lists     map[string]string
	pagerDuty bool

	mu    sync.Mutex
	pages map[string]int // list path -> pages served
}

func (f *fixtureAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != f.auth {
		http.Error(w, `{"message":"unauthorized"}`, http.StatusUnauthorized)
		return
	}
	path := strings.TrimPrefix(r.URL.Path, "/v2")
	b, err := os.ReadFile(filepath.Join(f.dir, filepath.FromSlash(strings.TrimPrefix(path, "/")+".json")))
	if err != nil {
		http.Error(w, `{"message":"not found"}`, http.StatusNotFound)
		return
	}
	key, isList := f.lists[path]
	if !isList {
		w.Write(b)
		return
	}
	offset, _ := strconv.Atoi(r.URL.Query().Get("offset"))
	limit, err := strconv.Atoi(r.URL.Query().Get("limit"))
	if err != nil || limit <= 0 {
		http.Error(w, `{"message":"limit is required"}`, http.StatusBadRequest)
		return
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(b, &doc); err != nil {
		http.Error(w, err.Error(), 500)
		return
	}
	var items []json.RawMessage
	json.Unmarshal(doc[key], &items)
	end := min(offset+limit, len(items))
	page := items[min(offset, len(items)):end]
	out := map[string]any{key: page}
	if f.pagerDuty {
		out["offset"], out["limit"], out["more"] = offset, limit, end < len(items)
	} else if end < len(items) {
		out["paging"] = map[string]string{"next": r.URL.Path + "?offset=" + strconv.Itoa(end) + "&limit=" + strconv.Itoa(limit)}
	}
	f.mu.Lock()
	f.pages[path]++
	f.mu.Unlock()
	json.NewEncoder(w).Encode(out)
}

func TestLiveFetchIsPaginatedAndMatchesTheExport(t *testing.T) {
	cases := []struct {
		source string
		run    importFunc
		api    *fixtureAPI
	}{
		{"opsgenie", Opsgenie, &fixtureAPI{auth: "GenieKey test-key", lists: map[string]string{
			"/users": "data", "/teams": "data", "/schedules": "data", "/escalations": "data", "/integrations": "data"}}},
		{"pagerduty", PagerDuty, &fixtureAPI{auth: "Token token=test-key", pagerDuty: true, lists: map[string]string{
			"/users": "users", "/schedules": "schedules", "/escalation_policies": "escalation_policies", "/services": "services", "/teams": "teams"}}},
	}
	for _, c := range cases {
		t.Run(c.source, func(t *testing.T) {
			c.api.dir = filepath.Join("testdata", c.source)
			c.api.pages = map[string]int{}
			srv := httptest.NewServer(c.api)
			defer srv.Close()
			live, err := c.run(context.Background(), Options{APIURL: srv.URL, APIKey: "test-key", PageSize: 2, Now: importNow})
			if err != nil {
				t.Fatal(err)
			}
			saved := importFixture(t, c.source, c.run)
			if !bytes.Equal(live.Config, saved.Config) || !bytes.Equal(live.Report, saved.Report) {
				t.Errorf("live import differs from the directory import:\n%s\n%s", live.Config, live.Report)
			}
			if n := c.api.pages["/users"]; n != 3 {
				t.Errorf("users were read in %d pages, want 3 (six users, two a page)", n)
			}
			if _, err := c.run(context.Background(), Options{APIURL: srv.URL, APIKey: "wrong", Now: importNow}); err == nil || !strings.Contains(err.Error(), "401") {
				t.Errorf("a wrong key: err = %v, want the 401", err)
			}
		})
	}
}
