package procs

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"

	"github.com/incidentflow/incidentflow/internal/fakeslack"
	"github.com/incidentflow/incidentflow/internal/pgtemporal"
	"github.com/incidentflow/incidentflow/workflows"
)

// Step 2 is an hour away, so alice's DM carries first pages only: one per
// incident, whatever the outage did.
const outageConfig = `
temporal: {address: %q, namespace: default, task_queue: incidents}
http: {listen: %q}
api_tokens:
  - {name: alice-laptop, token_env: ALICE_API_TOKEN, user: alice}
integrations:
  - {name: scripts, kind: generic, token_env: GENERIC_TOKEN, service: checkout}
slack: {bot_token_env: SLACK_BOT_TOKEN, api_url: %q, announce_channel: "#incidents"}
services:
  checkout: {escalation_policy: primary}
escalation_policies:
  primary:
    repeat: 0
    steps:
      - {delay: 0s, targets: [user:alice]}
      - {delay: 1h, targets: [user:bob]}
users:
  alice: {slack_id: U0ALICE, email: alice@example.com}
  bob: {slack_id: U0BOB, email: bob@example.com}
`

const (
	outageDown    = 30 * time.Second
	outageRate    = 100 * time.Millisecond // 10 alerts a second
	outageRepeats = 4                      // keys that take most of the alerts
	// outageClientTimeout is what a sender waits at most; serve must answer
	// well inside it however long Temporal is gone.
	outageClientTimeout = 20 * time.Second
)

// outcome is one alert POST as its sender saw it.
type outcome struct {
	key        string
	at         time.Time
	took       time.Duration
	status     int
	retryAfter string
	body       string
	err        error
}

// The Temporal server (on PostgreSQL) is stopped for 30 s and started
// again while alerts arrive at 10/s, with `worker` and `serve` as separate
// processes of the real binary. Every alert answered 2xx is in its
// incident's alert_count, and nothing else is: a sender that got a 503
// (always with Retry-After, never a 500 or a hang) can retry without
// counting twice. /healthz says 503 while Temporal is gone and 200 after;
// worker and serve carry on without a restart, and a new incident pages.
func TestTemporalOutageUnderLoadLosesNoAcceptedAlert(t *testing.T) {
	needsProcesses(t)
	if testing.Short() {
		t.Skip("starts PostgreSQL, a Temporal server and two incidentflow processes, and stops the server for 30 s (~80 s)")
	}
	pgBin := pgtemporal.FindBinDir()
	if pgBin == "" {
		t.Skip("no PostgreSQL server binaries (initdb, postgres): apt-get install postgresql-15, or set " + pgtemporal.BinDirEnv)
	}
	began := time.Now()
	ctx := context.Background()
	dir := t.TempDir()
	// The postgres user (PostgreSQL refuses root) must reach its directory.
	pgDir, err := os.MkdirTemp("", "incidentflow-pg-")
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(pgDir) })
	pg, err := pgtemporal.StartPostgres(ctx, pgtemporal.PostgresOptions{BinDir: pgBin, Dir: pgDir})
	require.NoError(t, err)
	t.Cleanup(pg.Stop)

	opts, err := pgtemporal.NewServerOptions(pg, "default", uuid.NewString())
	require.NoError(t, err)
	require.NoError(t, pgtemporal.Prepare(opts))
	spec, err := json.Marshal(opts)
	require.NoError(t, err)
	serverEnv := append(os.Environ(), pgTemporalEnv+"="+string(spec))
	startTemporal := func(name string) *proc {
		return startProc(t, dir, name, serverEnv, os.Args[0], "-test.run=^$")
	}
	temporalProc := startTemporal("temporal")
	tc, err := pgtemporal.Dial(ctx, opts.FrontendAddress(), "default", 90*time.Second)
	require.NoError(t, err, "temporal server process exited: %v", temporalProc.exited())
	t.Cleanup(tc.Close)
	require.NoError(t, pgtemporal.AddSearchAttributes(ctx, tc, "default", workflows.SearchAttributeNames()))

	bin := buildIncidentflow(t)

	fake := fakeslack.New(botToken)
	t.Cleanup(fake.Close)
	fake.AddChannel("incidents", "")
	httpPort, err := pgtemporal.FreePort()
	require.NoError(t, err)
	listen := "127.0.0.1:" + strconv.Itoa(httpPort)
	cfgPath := filepath.Join(dir, "incidentflow.yaml")
	require.NoError(t, os.WriteFile(cfgPath, []byte(fmt.Sprintf(outageConfig, opts.FrontendAddress(), listen, fake.APIURL())), 0o600))
	env := []string{"HOME=" + dir, "XDG_CONFIG_HOME=" + filepath.Join(dir, ".config"), "PATH=" + os.Getenv("PATH"),
		"SLACK_BOT_TOKEN=" + botToken, "GENERIC_TOKEN=" + genericToken, "ALICE_API_TOKEN=" + aliceToken}
	worker := startProc(t, dir, "worker", env, bin, "worker", "--config", cfgPath)
	serve := startProc(t, dir, "serve", env, bin, "serve", "--config", cfgPath)
	waitFor(t, "the worker to poll", 30*time.Second, func() bool {
		d, err := tc.DescribeTaskQueue(ctx, "incidents", enumspb.TASK_QUEUE_TYPE_WORKFLOW)
		return err == nil && len(d.GetPollers()) > 0
	})
	api := "http://" + listen
	httpc := &http.Client{Timeout: outageClientTimeout}
	healthz := func() int {
		resp, err := httpc.Get(api + "/healthz")
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	waitFor(t, "serve to answer", 30*time.Second, func() bool { return healthz() == http.StatusOK })
	t.Logf("postgres, temporal, worker and serve up after %s", time.Since(began).Round(100*time.Millisecond))

	post := func(key, title string) outcome {
		o := outcome{key: key, at: time.Now()}
		body := fmt.Sprintf(`{"key":%q,"title":%q,"severity":"critical"}`, key, title)
		req, err := http.NewRequest(http.MethodPost, api+"/v1/alerts", strings.NewReader(body))
		if err != nil {
			o.err = err
			return o
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+genericToken)
		resp, err := httpc.Do(req)
		o.took = time.Since(o.at)
		if err != nil {
			o.err = err
			return o
		}
		defer resp.Body.Close()
		var b strings.Builder
		_, _ = fmt.Fprint(&b, resp.Status)
		var m map[string]any
		if json.NewDecoder(resp.Body).Decode(&m) == nil {
			_, _ = fmt.Fprintf(&b, " %v", m)
		}
		o.status, o.retryAfter, o.body = resp.StatusCode, resp.Header.Get("Retry-After"), b.String()
		return o
	}

	// The load: 10 alerts a second, open loop (a slow answer does not slow
	// the senders), most of them repeats on a few keys and one in five on a
	// key of its own, so an alert refused during the outage leaves either a
	// count or a whole incident to find if it was kept after all.
	var (
		mu       sync.Mutex
		outcomes []outcome
		senders  sync.WaitGroup
	)
	stopLoad := make(chan struct{})
	loadDone := make(chan struct{})
	go func() {
		defer close(loadDone)
		tick := time.NewTicker(outageRate)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-stopLoad:
				return
			case <-tick.C:
			}
			key := fmt.Sprintf("outage-r-%d", i%outageRepeats)
			if i%5 == 4 {
				key = fmt.Sprintf("outage-u-%04d", i)
			}
			senders.Add(1)
			go func() {
				defer senders.Done()
				o := post(key, "outage "+key)
				mu.Lock()
				outcomes = append(outcomes, o)
				mu.Unlock()
			}()
		}
	}()

	// /healthz, once a second, from its own goroutine.
	type probe struct {
		at     time.Time
		status int
	}
	var probes []probe
	stopProbes := make(chan struct{})
	probesDone := make(chan struct{})
	go func() {
		defer close(probesDone)
		for {
			at := time.Now()
			code := healthz()
			mu.Lock()
			probes = append(probes, probe{at, code})
			mu.Unlock()
			select {
			case <-stopProbes:
				return
			case <-time.After(time.Second):
			}
		}
	}()

	time.Sleep(5 * time.Second)
	// Stopped as a service manager stops it (SIGTERM); the server drains
	// what it already accepted, so every request it answered is settled.
	stopAt := time.Now()
	require.NoError(t, syscall.Kill(-temporalProc.cmd.Process.Pid, syscall.SIGTERM))
	select {
	case <-temporalProc.done:
	case <-time.After(20 * time.Second):
		t.Log("temporal server still running 20 s after SIGTERM: killed")
		temporalProc.kill()
	}
	stoppedAt := time.Now()
	t.Logf("temporal server stopped in %s", stoppedAt.Sub(stopAt).Round(100*time.Millisecond))
	time.Sleep(time.Until(stopAt.Add(outageDown)))
	startAt := time.Now()
	temporalProc = startTemporal("temporal-restarted")
	waitFor(t, "/healthz 200 after the restart", 60*time.Second, func() bool { return healthz() == http.StatusOK })
	healthyAt := time.Now()
	t.Logf("temporal server started again %s after the stop; /healthz 200 %s after the start",
		startAt.Sub(stopAt).Round(100*time.Millisecond), healthyAt.Sub(startAt).Round(100*time.Millisecond))

	// The load goes on across the recovery, then a new incident pages.
	time.Sleep(5 * time.Second)
	close(stopLoad)
	<-loadDone
	senders.Wait()
	close(stopProbes)
	<-probesDone
	afterKey := "outage-after-recovery"
	afterPosted := time.Now()
	after := post(afterKey, "opened after the outage")
	require.Equal(t, http.StatusAccepted, after.status, after.body)
	afterID := workflows.IncidentID(afterKey)
	pagesOf := func(id string) int {
		n := 0
		for _, m := range fake.Messages(aliceDM) {
			if strings.Contains(m.Form.Get("text")+m.Form.Get("blocks"), id) {
				n++
			}
		}
		return n
	}
	waitFor(t, "the first page of an incident opened after the outage", 15*time.Second, func() bool { return pagesOf(afterID) == 1 })
	t.Logf("alert POST to first page after recovery: %s", time.Since(afterPosted).Round(time.Millisecond))

	// Every answer: 2xx, or 503 with Retry-After; none a 500, none a hang.
	accepted := map[string]int{}
	var refused, slowest time.Duration
	counts := map[int]int{}
	var firstRefused, lastRefused time.Time
	acceptedAfter := 0
	for _, o := range outcomes {
		if !assert.NoError(t, o.err, "%s at %s: no answer within %s", o.key, o.at.Format("15:04:05.000"), outageClientTimeout) {
			continue
		}
		counts[o.status]++
		slowest = max(slowest, o.took)
		switch {
		case o.status == http.StatusAccepted:
			accepted[o.key]++
			if o.at.After(startAt) {
				acceptedAfter++
			}
		case o.status == http.StatusServiceUnavailable:
			refused = max(refused, o.took)
			assert.NotEmpty(t, o.retryAfter, "503 without Retry-After: %s", o.body)
			if firstRefused.IsZero() || o.at.Before(firstRefused) {
				firstRefused = o.at
			}
			if o.at.After(lastRefused) {
				lastRefused = o.at
			}
		default:
			t.Errorf("%s at %s: %s (want 202, or 503 with Retry-After)", o.key, o.at.Format("15:04:05.000"), o.body)
		}
	}
	t.Logf("%d alerts: %v by status (%d accepted after the start); slowest answer %s (slowest 503 %s); refused from %s to %s after the stop",
		len(outcomes), counts, acceptedAfter, slowest.Round(time.Millisecond), refused.Round(time.Millisecond),
		firstRefused.Sub(stopAt).Round(100*time.Millisecond), lastRefused.Sub(stopAt).Round(100*time.Millisecond))
	require.Greater(t, counts[http.StatusServiceUnavailable], 100, "the outage refused alerts")
	require.Greater(t, acceptedAfter, 10, "serve took alerts again after the outage, without a restart")

	// Every accepted alert is counted in its incident, and nothing else is.
	get := func(id string) (int, workflows.Incident) {
		req, err := http.NewRequest(http.MethodGet, api+"/v1/incidents/"+id, nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+aliceToken)
		resp, err := httpc.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		var inc workflows.Incident
		if resp.StatusCode == http.StatusOK {
			require.NoError(t, json.NewDecoder(resp.Body).Decode(&inc))
		}
		return resp.StatusCode, inc
	}
	keys := map[string]bool{}
	for _, o := range outcomes {
		keys[o.key] = true
	}
	var sorted []string
	for k := range keys {
		sorted = append(sorted, k)
	}
	sort.Strings(sorted)
	incidents, lost, extra := 0, 0, 0
	for _, key := range sorted {
		id := workflows.IncidentID(key)
		want := accepted[key]
		if want == 0 {
			code, inc := get(id)
			assert.Equal(t, http.StatusNotFound, code, "%s: every alert for it was refused, yet it has %d", id, inc.AlertCount)
			extra += inc.AlertCount
			continue
		}
		incidents++
		var got int
		deadline := time.Now().Add(15 * time.Second)
		for {
			code, inc := get(id)
			got = inc.AlertCount
			if (code == http.StatusOK && got == want) || time.Now().After(deadline) {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		assert.Equal(t, want, got, "%s: alert_count against the alerts answered 202", id)
		lost += max(want-got, 0)
		extra += max(got-want, 0)
	}
	// One first page per incident: the outage neither lost nor doubled one.
	for _, key := range sorted {
		if accepted[key] == 0 {
			continue
		}
		id := workflows.IncidentID(key)
		waitFor(t, "the page of "+id, 15*time.Second, func() bool { return pagesOf(id) >= 1 })
		assert.Equal(t, 1, pagesOf(id), "%s paged once", id)
	}

	// /healthz: 503 throughout the outage (from 2 s after the stop began,
	// past a check that was under way), 200 before and after.
	var down, up int
	for _, p := range probes {
		switch {
		case p.at.Before(stopAt):
			assert.Equal(t, http.StatusOK, p.status, "/healthz before the outage")
		case p.at.After(stopAt.Add(2*time.Second)) && p.at.Before(startAt):
			down++
			assert.Equal(t, http.StatusServiceUnavailable, p.status, "/healthz %s into the outage", p.at.Sub(stopAt).Round(time.Second))
		case p.at.After(healthyAt):
			up++
			assert.Equal(t, http.StatusOK, p.status, "/healthz after recovery")
		}
	}
	require.Greater(t, down, 15, "/healthz probed through the outage")
	require.Greater(t, up, 2, "/healthz probed after it")

	require.False(t, serve.exited(), "serve rode out the outage")
	require.False(t, worker.exited(), "the worker rode out the outage")
	t.Logf("outage under load: %d alerts (%d accepted, %d refused with 503) over %d incidents; %d accepted alerts lost, %d refused ones kept; %s in all",
		len(outcomes), counts[http.StatusAccepted], counts[http.StatusServiceUnavailable], incidents, lost, extra, time.Since(began).Round(time.Second))
}
