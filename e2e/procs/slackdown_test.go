package procs

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/incidentflow/incidentflow/incident"
	"github.com/incidentflow/incidentflow/internal/fakegithub"
	"github.com/incidentflow/incidentflow/internal/fakeslack"
	"github.com/incidentflow/incidentflow/workflows"
)

// Step 2 is due 15 s after step 1, so incidents opened during the outage
// page both steps into it.
const providerOutageConfig = `
api_tokens:
  - {name: alice-laptop, token_env: ALICE_API_TOKEN, user: alice}
integrations:
  - {name: scripts, kind: generic, token_env: GENERIC_TOKEN, service: checkout}
slack: {bot_token_env: SLACK_BOT_TOKEN, api_url: %q, announce_channel: "#incidents"}
github: {token_env: GITHUB_TOKEN, api_url: %q, default_repo: acme/postmortems}
timings: {ack_timeout: 1h, resolve_stable_for: 2s}
services:
  checkout: {escalation_policy: primary, github_repo: acme/checkout}
escalation_policies:
  primary:
    repeat: 0
    steps:
      - {delay: 0s, targets: [user:alice]}
      - {delay: 15s, targets: [user:bob]}
users:
  alice: {slack_id: U0ALICE, email: alice@example.com}
  bob: {slack_id: U0BOB, email: bob@example.com}
`

const (
	// providerOutageEnv sets the outage's length (a Go duration); half of it
	// answers 500, the other half 429 with Retry-After.
	providerOutageEnv     = "INCIDENTFLOW_E2E_PROVIDER_OUTAGE"
	providerOutageDefault = 60 * time.Second
	outagePages           = 8 // incidents opened during the outage
	outagePostmortems     = 3 // P1s resolved as it starts
	outageItems           = 2 // action items of each
	outageRetryAfter      = 3 // seconds
	// outageEdge is how long writes are done but answered 500 as the
	// outage begins: long enough for the first pages and the first
	// post-mortem issue to meet it.
	outageEdge = 8 * time.Second
)

// slackReads are the Web API methods that change nothing.
var slackReads = map[string]bool{
	"auth.test": true, "conversations.open": true, "conversations.history": true, "conversations.list": true, "users.lookupByEmail": true,
}

// Slack and the local GitHub server both answer every request with 500,
// then with 429 and Retry-After, for a minute, while incidents page and
// post-mortems file their action items; `incidentflow dev` runs on. Once
// they answer again, every page is delivered exactly once (per incident and
// person, at Slack) and every post-mortem and action item has exactly one
// issue.
func TestSlackAndGitHubDownForAMinuteDeliverEverythingOnce(t *testing.T) {
	needsProcesses(t)
	if testing.Short() {
		t.Skip("takes Slack and GitHub down for a minute under the real binary (~100 s)")
	}
	window := providerOutageDefault
	if s := os.Getenv(providerOutageEnv); s != "" {
		var err error
		window, err = time.ParseDuration(s)
		require.NoError(t, err, providerOutageEnv)
	}
	began := time.Now()

	fake := fakeslack.New(botToken)
	t.Cleanup(fake.Close)
	fake.AddChannel("incidents", "")
	gh := fakegithub.New(githubToken, "acme/checkout", "acme/postmortems")
	t.Cleanup(gh.Close)
	slackProxy := newOutageProxy(t, fake.APIURL(), outageRetryAfter, func(r *http.Request) bool {
		return !slackReads[strings.TrimPrefix(r.URL.Path, "/api/")]
	})
	githubProxy := newOutageProxy(t, gh.APIURL(), outageRetryAfter, func(r *http.Request) bool { return r.Method != http.MethodGet })
	bin := buildIncidentflow(t)
	dev := newDevProcess(t, bin, fmt.Sprintf(providerOutageConfig, slackProxy.url(fake.APIURL()), githubProxy.url(gh.APIURL())),
		"GITHUB_TOKEN="+githubToken)
	dev.start()

	do := func(method, path, token, body string, want int) []byte {
		t.Helper()
		a := callDev(method, dev.url()+path, token, body)
		require.NoError(t, a.err, "%s %s", method, path)
		require.Equal(t, want, a.status, "%s %s: %s", method, path, a.body)
		return a.body
	}
	alert := func(key, severity string) string {
		t.Helper()
		var out struct {
			ID string `json:"incident_id"`
		}
		require.NoError(t, json.Unmarshal(do(http.MethodPost, "/v1/alerts", genericToken,
			fmt.Sprintf(`{"key":%q,"title":"outage %s","severity":%q}`, key, key, severity), http.StatusAccepted), &out))
		return out.ID
	}
	status := func(id string) incident.Status {
		var inc workflows.Incident
		require.NoError(t, json.Unmarshal(do(http.MethodGet, "/v1/incidents/"+id, aliceToken, "", http.StatusOK), &inc))
		return inc.Status
	}

	// Before the outage: P1s acked, each with its action items.
	var p1s []string
	items := map[string][]string{}
	for i := range outagePostmortems {
		id := alert(fmt.Sprintf("pm-%d-%d", i, began.UnixNano()%100000), "critical")
		p1s = append(p1s, id)
		waitFor(t, "the P1's first page", 15*time.Second, func() bool { return len(pageTimes(fake, aliceDM)[id][1]) == 1 })
		do(http.MethodPost, "/v1/incidents/"+id+"/ack", aliceToken, `{"by":"alice"}`, http.StatusOK)
		for j := range outageItems {
			title := fmt.Sprintf("Item %d of %s", j+1, id)
			items[id] = append(items[id], "[prevent] "+title) // as the post-mortem titles its issue
			do(http.MethodPost, "/v1/incidents/"+id+"/action-items", aliceToken,
				fmt.Sprintf(`{"by":"alice","title":%q,"type":"prevent","owner":"bob"}`, title), http.StatusOK)
		}
	}
	require.Empty(t, gh.Issues("acme/checkout"), "no post-mortem before resolution")
	delivered := len(fake.Messages(""))

	// The outage: writes done but answered 500 at its edge, then 500s,
	// then 429s. The P1s resolve into their post-mortems as it starts; new
	// incidents open through its first three quarters.
	downAt := time.Now()
	setBoth := func(mode outage) {
		slackProxy.set(mode)
		githubProxy.set(mode)
	}
	setBoth(serviceDegrading)
	t.Logf("set up in %s; Slack and GitHub do writes but answer 500 for %s, answer 500 until %s, then 429 (Retry-After: %d) until %s",
		downAt.Sub(began).Round(100*time.Millisecond), outageEdge, window/2, outageRetryAfter, window)
	for _, id := range p1s {
		do(http.MethodPost, "/v1/incidents/"+id+"/resolve", aliceToken, `{"by":"alice"}`, http.StatusOK)
	}
	for at, mode := range map[time.Duration]outage{outageEdge: serviceErrors, window / 2: serviceThrottled} {
		phase := time.AfterFunc(at, func() { setBoth(mode) })
		t.Cleanup(func() { phase.Stop() })
	}
	var paging []string
	for i := range outagePages {
		time.Sleep(time.Until(downAt.Add(time.Duration(i) * window * 3 / 4 / outagePages)))
		paging = append(paging, alert(fmt.Sprintf("down-%d-%d", i, began.UnixNano()%100000), "warning"))
	}
	for _, id := range p1s {
		waitFor(t, "the P1 to close into its post-mortem", 30*time.Second, func() bool { return status(id) == incident.StatusClosed })
	}
	time.Sleep(time.Until(downAt.Add(window)))
	upAt := time.Now()
	slackProxy.set(serviceUp)
	githubProxy.set(serviceUp)
	// What reached the fakes during the outage is what they answered 500 to.
	lostPosts, lostIssues := slackProxy.lostAnswers("chat.postMessage"), githubProxy.lostAnswers("/issues")
	require.Len(t, fake.Messages(""), delivered+lostPosts, "only posts whose answer was lost reached Slack during the outage")
	require.Len(t, gh.Issues("acme/checkout"), lostIssues, "only issues whose answer was lost reached GitHub during the outage")
	refused := fmt.Sprintf("Slack posted %d messages but answered 500, then refused %d requests with 500 and %d with 429; GitHub created %d issues but answered 500, then refused %d and %d",
		lostPosts, slackProxy.refusedBy(serviceErrors), slackProxy.refusedBy(serviceThrottled), lostIssues, githubProxy.refusedBy(serviceErrors), githubProxy.refusedBy(serviceThrottled))
	t.Log(refused)
	require.Positive(t, lostPosts, "a page was posted and its answer lost")
	require.Positive(t, lostIssues, "an issue was created and its answer lost")
	for _, p := range []*outageProxy{slackProxy, githubProxy} {
		require.Positive(t, p.refusedBy(serviceErrors), "500s met callers")
		require.Positive(t, p.refusedBy(serviceThrottled), "429s met callers")
	}

	// Afterwards: every page and every issue, each once.
	wantIssues := outagePostmortems * (1 + outageItems)
	var lastPage, lastIssue time.Time
	waitFor(t, "every page and issue after the outage", 90*time.Second, func() bool {
		alice, bob := pageTimes(fake, aliceDM), pageTimes(fake, bobDM)
		for _, id := range paging {
			if len(alice[id][1]) == 0 || len(bob[id][2]) == 0 {
				return false
			}
		}
		return len(gh.Issues("acme/checkout")) >= wantIssues
	})
	drained := time.Since(upAt)
	// A duplicate from a retry that had already delivered would follow within seconds.
	time.Sleep(2 * outageRetryAfter * time.Second)

	alice, bob := pageTimes(fake, aliceDM), pageTimes(fake, bobDM)
	pages := 0
	for _, id := range paging {
		for _, got := range [][]time.Time{alice[id][1], bob[id][2]} {
			pages += len(got)
			assert.Len(t, got, 1, "%s: paged exactly once per person", id)
			for _, at := range got {
				lastPage = maxTime(lastPage, at)
			}
		}
	}
	for _, id := range p1s {
		assert.Len(t, alice[id][1], 1, "%s: paged once, before the outage", id)
		assert.Empty(t, bob[id][2], "%s: acked, never escalated", id)
	}
	issues := gh.Issues("acme/checkout")
	assert.Len(t, issues, wantIssues, "one issue per post-mortem and per action item")
	for _, id := range p1s {
		var postmortems int
		titles := map[string]int{}
		for _, is := range issues {
			if len(is.Labels) == 0 || is.Labels[0] != workflows.IncidentLabel(id) {
				continue
			}
			switch {
			case slices.Contains(is.Labels, "postmortem"):
				postmortems++
			case slices.Contains(is.Labels, "action-item"):
				titles[is.Title]++
			}
		}
		assert.Equal(t, 1, postmortems, "%s: one post-mortem issue", id)
		for _, title := range items[id] {
			assert.Equal(t, 1, titles[title], "%s: one issue for %q", id, title)
		}
		assert.Len(t, titles, len(items[id]), "%s: no issue for an item that does not exist", id)
	}
	for _, w := range gh.Writes() {
		if w.Method == http.MethodPost {
			lastIssue = maxTime(lastIssue, w.At)
		}
	}
	t.Logf("provider outage of %s: %s; afterwards %d pages for %d incidents (%d expected, each once), last %s after recovery; %d issues (%d expected, each once), last %s after recovery; all in %s after recovery; %s in all",
		window, refused, pages, len(paging), 2*len(paging), lastPage.Sub(upAt).Round(100*time.Millisecond), len(issues), wantIssues,
		lastIssue.Sub(upAt).Round(100*time.Millisecond), drained.Round(100*time.Millisecond), time.Since(began).Round(time.Second))
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
