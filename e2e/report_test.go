package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidentflow/incidentflow/config"
)

// A service of the test's own: the embedded Temporal server is shared by
// every test of the binary, and a report or a status page over "checkout"
// would read other tests' incidents (whose workers are gone).
func ownService(t *testing.T, tweak func(*config.Config, string)) (*harness, string) {
	svc := fmt.Sprintf("svc%d", time.Now().UnixNano()%1_000_000_000)
	h := newHarnessWith(t, func(cfg *config.Config) {
		cfg.Services[svc] = cfg.Services["checkout"]
		if tweak != nil {
			tweak(cfg, svc)
		}
	})
	return h, svc
}

// waitListed waits until the visibility store lists n incidents of the
// service (with status, when given).
func waitListed(t *testing.T, h *harness, svc, status string, n int) {
	t.Helper()
	q := url.Values{"service": {svc}, "since": {"1h"}}
	if status != "" {
		q.Set("status", status)
	}
	waitFor(t, fmt.Sprintf("%d %s incidents of %s listed", n, status, svc), 15*time.Second, func() bool {
		code, out := h.do(http.MethodGet, "/v1/incidents?"+q.Encode(), nil, aliceToken)
		list, _ := out["incidents"].([]any)
		return code == http.StatusOK && len(list) == n
	})
}

// Incidents opened by an alert and by hand, some acked and resolved, one
// with an overdue action item: GET /v1/report counts them by severity,
// with MTTA, and finds the title that came back.
func TestReportOverHTTP(t *testing.T) {
	h, svc := ownService(t, nil)
	declare := func(sev, title string) string {
		code, out := h.doJSON(http.MethodPost, "/v1/incidents", map[string]any{"title": title, "service": svc, "severity": sev}, aliceToken)
		require.Equal(t, http.StatusCreated, code, out)
		return out["id"].(string)
	}
	p1 := declare("P1", "payments down")
	diskA := declare("P2", "disk 91% full on db-7")
	diskB := declare("P2", "disk 97% full on db-9")
	code, out := h.post("/v1/alerts", []byte(`{"key":"`+svc+`-latency","title":"latency high","service":"`+svc+`","severity":"P3","status":"firing"}`), genericToken)
	require.Equal(t, http.StatusAccepted, code, out)

	for _, id := range []string{p1, diskA} {
		code, out := h.post("/v1/incidents/"+id+"/ack", []byte(`{}`), aliceToken)
		require.Equal(t, http.StatusOK, code, out)
	}
	code, out = h.post("/v1/incidents/"+diskA+"/action-items", []byte(`{"title":"alert at 80%","type":"detect","owner":"bob","due":"2020-01-01"}`), aliceToken)
	require.Equal(t, http.StatusOK, code, out)
	code, out = h.post("/v1/incidents/"+diskA+"/resolve", []byte(`{"note":"cleaned up"}`), aliceToken)
	require.Equal(t, http.StatusOK, code, out)
	_ = diskB
	waitListed(t, h, svc, "", 4)

	code, body := getText(t, h, "/v1/report?since=1h&format=json&service="+svc, aliceToken)
	require.Equal(t, http.StatusOK, code, body)
	var rep struct {
		Incidents int `json:"incidents"`
		Totals    []struct {
			Severity string `json:"severity"`
			Count    int    `json:"count"`
			Open     int    `json:"open"`
			MTTA     struct {
				N           int      `json:"n"`
				MeanSeconds *float64 `json:"mean_seconds"`
			} `json:"mtta"`
			MTTM struct {
				N int `json:"n"`
			} `json:"mttm"`
		} `json:"totals"`
		TopServices []struct {
			Service string `json:"service"`
			Count   int    `json:"count"`
		} `json:"top_services"`
		ActionItems struct {
			Total, Open, Overdue int
		} `json:"action_items"`
		Recurring []struct {
			By    string `json:"by"`
			Count int    `json:"count"`
		} `json:"recurring"`
		Notes []string `json:"notes"`
	}
	require.NoError(t, jsonUnmarshal(body, &rep))
	require.Equal(t, 4, rep.Incidents, body)
	counts := map[string]int{}
	for _, row := range rep.Totals {
		counts[row.Severity] = row.Count
	}
	require.Equal(t, map[string]int{"P1": 1, "P2": 2, "P3": 1, "P4": 0, "all": 4}, counts)
	all := rep.Totals[len(rep.Totals)-1]
	require.Equal(t, 2, all.MTTA.N, "two were acknowledged")
	require.NotNil(t, all.MTTA.MeanSeconds, "MTTA is present")
	require.Equal(t, 1, all.MTTM.N, "one was mitigated")
	require.Equal(t, 4, all.Open, "none is resolved yet: the one resolved by hand is being monitored")
	require.Equal(t, svc, rep.TopServices[0].Service)
	require.Equal(t, 1, rep.ActionItems.Overdue, body)
	require.Len(t, rep.Recurring, 1, body)
	require.Equal(t, "title", rep.Recurring[0].By)
	require.Equal(t, 2, rep.Recurring[0].Count)

	code, body = getText(t, h, "/v1/report?since=1h&format=md&service="+svc, aliceToken)
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, body, "## Totals by severity")
	code, body = getText(t, h, "/v1/report?month=2026-13", aliceToken)
	require.Equal(t, http.StatusBadRequest, code)
	require.Contains(t, body, "month")
	code, body = getText(t, h, "/v1/report?week=1", aliceToken)
	require.Equal(t, http.StatusBadRequest, code)
	require.Contains(t, body, "week")
}

// The status page needs no token, shows the service degraded while a P2
// is open with the status update posted, and says nothing internal: not
// the title, not the commander, not the "known" notes.
func TestStatusPageShowsTheServiceDegradedWithItsPublicUpdate(t *testing.T) {
	h, svc := ownService(t, func(cfg *config.Config, svc string) {
		cfg.HTTP.PublicReads = false
		cfg.StatusPage = config.StatusPage{Title: "Acme <status>", Services: []string{svc}}
	})
	code, out := h.doJSON(http.MethodPost, "/v1/incidents", map[string]any{"title": "db-7 internal host 10.1.2.3 fried", "service": svc, "severity": "P2", "commander": "bob"}, aliceToken)
	require.Equal(t, http.StatusCreated, code, out)
	id := out["id"].(string)
	require.Equal(t, "bob", out["commander"])
	message := "Payments are slow; we are rolling back <the> release."
	code, out = h.doJSON(http.MethodPost, "/v1/incidents/"+id+"/status-updates", map[string]any{"stage": "identified", "message": message,
		"impact": "Card payments take 30s", "known": "secret: deploy 4411 broke the pool", "public": true}, aliceToken)
	require.Equal(t, http.StatusOK, code, out)
	// A later update not marked public stays inside.
	code, out = h.doJSON(http.MethodPost, "/v1/incidents/"+id+"/status-updates", map[string]any{"stage": "identified",
		"message": "internal only: pool exhausted on db-7"}, aliceToken)
	require.Equal(t, http.StatusOK, code, out)
	waitListed(t, h, svc, "open", 1)

	code, page := getText(t, h, "/status", "")
	require.Equal(t, http.StatusOK, code, page)
	require.Contains(t, page, "Acme &lt;status&gt;", "the title is escaped")
	require.Contains(t, page, "Degraded performance")
	require.Contains(t, page, "Payments are slow; we are rolling back &lt;the&gt; release.")
	require.Contains(t, page, "Card payments take 30s")
	for _, internal := range []string{"bob", "alice", "10.1.2.3", "fried", "secret", "internal only", id} {
		require.NotContains(t, page, internal)
	}
	require.NotContains(t, page, "<script")

	code, js := getText(t, h, "/status.json", "")
	require.Equal(t, http.StatusOK, code, js)
	var sp struct {
		Status   string `json:"status"`
		Services []struct {
			Name, Status string
		} `json:"services"`
		Incidents []struct {
			Service string `json:"service"`
			Stage   string `json:"stage"`
			Update  struct {
				Message string `json:"message"`
			} `json:"update"`
		} `json:"incidents"`
	}
	require.NoError(t, jsonUnmarshal(js, &sp))
	require.Equal(t, "degraded", sp.Status)
	require.Len(t, sp.Services, 1)
	require.Equal(t, "degraded", sp.Services[0].Status)
	require.Len(t, sp.Incidents, 1)
	require.Equal(t, "identified", sp.Incidents[0].Stage)
	require.Equal(t, message, sp.Incidents[0].Update.Message)
	for _, internal := range []string{"bob", "10.1.2.3", "secret", id} {
		require.NotContains(t, js, internal)
	}

	req, err := http.NewRequest(http.MethodGet, h.api.URL+"/status", nil)
	require.NoError(t, err)
	req.Header.Set("Accept", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, "application/json", resp.Header.Get("Content-Type"), "Accept: application/json gets the JSON twin")

	code, _ = getText(t, h, "/v1/report?since=1h", "")
	require.Equal(t, http.StatusUnauthorized, code, "the report is a read: it needs a token")
}

func getText(t *testing.T, h *harness, path, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, h.api.URL+path, nil)
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

func jsonUnmarshal(s string, v any) error { return json.NewDecoder(strings.NewReader(s)).Decode(v) }
