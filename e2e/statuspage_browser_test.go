package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/workflowservice/v1"
	"golang.org/x/net/html"

	"github.com/incidentflow/incidentflow/starter"
)

// chromium finds Debian's headless browser. Without it the test skips on a
// laptop, but fails under CI (.ci/run sets INCIDENTFLOW_CI and installs it).
func chromium(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("INCIDENTFLOW_CI") == "" {
			t.Skip("no chromium on PATH (apt-get install chromium); under CI (INCIDENTFLOW_CI set) this fails")
		}
		t.Fatalf("INCIDENTFLOW_CI is set but chromium is not on PATH: %v", err)
	}
	return path
}

// dumpDOM loads url in headless chromium and returns the DOM it built.
func dumpDOM(t *testing.T, browser, url string) *html.Node {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	// A profile of its own, so runs beside each other never share a lock.
	cmd := exec.CommandContext(ctx, browser, "--headless", "--no-sandbox", "--disable-gpu",
		"--user-data-dir="+t.TempDir(), "--dump-dom", url)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "chromium: %s", stderr.String())
	doc, err := html.Parse(strings.NewReader(string(out)))
	require.NoError(t, err)
	return doc
}

// A customer opens /status in a real browser while an incident runs: they
// see it (service, impact, stage) with its public update, never the update
// marked internal nor the alert's title, and /status.json says the same.
func TestStatusPageInABrowser(t *testing.T) {
	browser := chromium(t)
	h := newHarness(t)
	title := "pg-primary-7 disk full on /var/lib/postgresql " + t.Name()
	code, body := h.post("/v1/alerts", []byte(fmt.Sprintf(`{"key":"status-%s","title":%q,"severity":"warning"}`, t.Name(), title)), genericToken)
	require.Equal(t, http.StatusAccepted, code, body)
	id := body["incident_id"].(string)

	private := "internal: the replica on pg-7 lags 40 minutes"
	code, body = h.post("/v1/incidents/"+id+"/status-updates", []byte(`{"stage":"investigating","message":"`+private+`"}`), aliceToken)
	require.Equal(t, http.StatusOK, code, body)
	public := "Some checkouts fail; we are on it " + t.Name()
	code, body = h.post("/v1/incidents/"+id+"/status-updates",
		[]byte(`{"stage":"identified","public":true,"message":"`+public+`","workaround":"retry the payment"}`), aliceToken)
	require.Equal(t, http.StatusOK, code, body)

	// The page lists from visibility and caches for 15 s: load it only once
	// visibility has the incident, or the first load would miss it.
	waitFor(t, "the incident in visibility", 15*time.Second, func() bool {
		r, err := temporalClient.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{
			Query: fmt.Sprintf("WorkflowId = '%s' AND IncidentStatus = 'triggered' AND IncidentService = 'checkout'", id)})
		return err == nil && len(r.GetExecutions()) == 1
	})

	doc := dumpDOM(t, browser, h.api.URL+"/status")
	page := textOf(doc)
	require.Empty(t, findAll(doc, "script"), "the page works without JavaScript")
	// Other tests' incidents on checkout may still be open (P1s among
	// them): the banner is at least degraded.
	require.True(t, strings.Contains(page, "Some systems are degraded") || strings.Contains(page, "Major outage"), page)

	// What a visitor sees of the incident: its heading, its stage, the
	// public update; not the internal update, nor the alert's title (alerts
	// write host names into titles).
	var mine *html.Node
	for _, n := range withClass(doc, "inc") {
		if strings.Contains(textOf(n), public) {
			mine = n
		}
	}
	require.NotNil(t, mine, "the incident with its public update, in:\n%s", page)
	seen := textOf(mine)
	require.Contains(t, seen, "Degraded performance: checkout")
	require.Contains(t, seen, "(Identified, since ")
	require.Contains(t, seen, "Workaround: retry the payment")
	require.NotContains(t, page, private)
	require.NotContains(t, page, "pg-primary-7")
	require.NotContains(t, page, id, "incident IDs are made of alert keys")

	// The JSON twin, from the same cache, lists the same incidents.
	resp, err := http.Get(h.api.URL + "/status.json")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var twin starter.StatusPage
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&twin))
	require.NotContains(t, fmt.Sprint(twin), private)

	shown := withClass(doc, "inc")
	require.Len(t, shown, len(twin.Incidents), "one block per incident of the JSON")
	found := false
	for i, inc := range twin.Incidents {
		block := textOf(shown[i])
		require.Contains(t, block, ": "+inc.Service, "incident %d", i)
		require.Contains(t, block, "("+strings.ToUpper(inc.Stage[:1])+inc.Stage[1:]+", since ", "incident %d", i)
		if inc.Update != nil {
			require.Contains(t, block, inc.Update.Message, "incident %d", i)
			found = found || inc.Update.Message == public
		}
	}
	require.True(t, found, "the JSON has the public update too")
	require.Contains(t, []string{"degraded", "major_outage"}, twin.Status, "at least degraded (other tests' incidents may be open)")

	var services []string
	for _, li := range findAll(doc, "li") {
		if len(withClass(li, "state")) == 1 {
			services = append(services, strings.Join(strings.Fields(textOf(li)), " "))
		}
	}
	var want []string
	for _, s := range twin.Services {
		want = append(want, s.Name+" "+map[string]string{
			starter.StateOperational: "Operational", starter.StateMaintenance: "Under maintenance",
			starter.StateDegraded: "Degraded performance", starter.StateMajorOutage: "Major outage"}[s.Status])
	}
	require.Equal(t, want, services, "the components, as the JSON has them")
	require.True(t, slices.Contains(want, "checkout Degraded performance") || slices.Contains(want, "checkout Major outage"), "%v", want)

	_, _ = h.post("/v1/incidents/"+id+"/resolve", []byte(`{}`), aliceToken)
}

// textOf is the text of n and below, as a visitor reads it (no styles).
func textOf(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && (n.Data == "style" || n.Data == "script" || n.Data == "head") {
			return
		}
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return b.String()
}

func findAll(n *html.Node, tag string) []*html.Node {
	var out []*html.Node
	if n.Type == html.ElementNode && n.Data == tag {
		out = append(out, n)
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		out = append(out, findAll(c, tag)...)
	}
	return out
}

// withClass finds the elements under n whose class list has class.
func withClass(n *html.Node, class string) []*html.Node {
	var out []*html.Node
	if n.Type == html.ElementNode {
		for _, a := range n.Attr {
			if a.Key == "class" && slices.Contains(strings.Fields(a.Val), class) {
				out = append(out, n)
			}
		}
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		out = append(out, withClass(c, class)...)
	}
	return out
}
