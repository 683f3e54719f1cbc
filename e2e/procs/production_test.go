package procs

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"

	"github.com/incidentflow/incidentflow/internal/fakeslack"
	"github.com/incidentflow/incidentflow/internal/pgtemporal"
	"github.com/incidentflow/incidentflow/workflows"
)

// pgTemporalEnv starts this test binary as a Temporal server process on
// PostgreSQL; its value is the JSON of pgtemporal.ServerOptions.
const pgTemporalEnv = "INCIDENTFLOW_E2E_PG_TEMPORAL"

// init runs before TestMain, so a server process never starts the
// embedded dev server the other tests share.
func init() {
	spec := os.Getenv(pgTemporalEnv)
	if spec == "" {
		return
	}
	var o pgtemporal.ServerOptions
	if err := json.Unmarshal([]byte(spec), &o); err != nil {
		fmt.Fprintln(os.Stderr, "temporal server options:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := pgtemporal.Run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "temporal server:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// Step 2 is due 12 s after step 1: longer than the 10 s for which matching
// still trusts a vanished worker's sticky queue, as a real escalation delay
// (minutes) always is, and short enough for a test.
const productionConfig = `
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
      - {delay: 12s, targets: [user:bob]}
users:
  alice: {slack_id: U0ALICE, email: alice@example.com}
  bob: {slack_id: U0BOB, email: bob@example.com}
`

const productionStep2 = 12 * time.Second

// proc is a child process in its own process group, its output in a file.
type proc struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
}

func startProc(t *testing.T, dir, name string, env []string, bin string, args ...string) *proc {
	t.Helper()
	logPath := filepath.Join(dir, name+".log")
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	require.NoError(t, err)
	cmd := exec.Command(bin, args...)
	cmd.Env, cmd.Stdout, cmd.Stderr = env, f, f
	// Its own process group, killed whole; killed too if the test binary dies.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	require.NoError(t, cmd.Start(), name)
	p := &proc{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); f.Close(); close(p.done) }()
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			if len(b) > 3000 {
				b = b[len(b)-3000:]
			}
			t.Logf("--- %s log (tail) ---\n%s", name, b)
		}
	})
	return p
}

// kill is kill -9 of the process group, waiting for it to be gone.
func (p *proc) kill() {
	if !p.exited() {
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	}
	<-p.done
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// The production path: PostgreSQL, a Temporal server process persisting to
// it, two `incidentflow worker` processes and one `incidentflow serve`, all
// separate. One worker is killed -9 mid-escalation: the other pages step 2
// once, on time. Then the Temporal server is killed -9 mid-incident and
// started again on the same database: the incident is still there and its
// escalation timer still fires.
func TestProductionPathPostgresTwoWorkersOneKilled(t *testing.T) {
	needsProcesses(t)
	if testing.Short() {
		t.Skip("starts PostgreSQL, a Temporal server and three incidentflow processes (~60 s)")
	}
	pgBin := pgtemporal.FindBinDir()
	if pgBin == "" {
		t.Skip("no PostgreSQL server binaries (initdb, postgres): apt-get install postgresql-15, or set " + pgtemporal.BinDirEnv)
	}
	began := time.Now()
	ctx := context.Background()
	dir := t.TempDir()
	// PostgreSQL refuses root, so as root it runs as the postgres user, which
	// must reach its directory: one of its own in os.TempDir(), not t.TempDir().
	pgDir, err := os.MkdirTemp("", "incidentflow-pg-")
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(pgDir) })

	// 1. PostgreSQL.
	pg, err := pgtemporal.StartPostgres(ctx, pgtemporal.PostgresOptions{BinDir: pgBin, Dir: pgDir})
	require.NoError(t, err)
	t.Cleanup(pg.Stop)
	t.Logf("postgres (%s) on %s after %s", pgBin, pg.Addr(), time.Since(began).Round(100*time.Millisecond))

	// 2 and 3. Schemas and the namespace (here, so a failure reads well), then
	// a Temporal server process on them.
	opts, err := pgtemporal.NewServerOptions(pg, "default", uuid.NewString())
	require.NoError(t, err)
	schemaStart := time.Now()
	require.NoError(t, pgtemporal.Prepare(opts))
	t.Logf("temporal and temporal_visibility schemas applied in %s", time.Since(schemaStart).Round(100*time.Millisecond))
	spec, err := json.Marshal(opts)
	require.NoError(t, err)
	serverEnv := append(os.Environ(), pgTemporalEnv+"="+string(spec))
	startTemporal := func() *proc {
		return startProc(t, dir, "temporal", serverEnv, os.Args[0], "-test.run=^$")
	}
	temporalProc := startTemporal()
	tc, err := pgtemporal.Dial(ctx, opts.FrontendAddress(), "default", 90*time.Second)
	require.NoError(t, err, "temporal server process exited: %v", temporalProc.exited())
	t.Cleanup(tc.Close)
	require.NoError(t, pgtemporal.AddSearchAttributes(ctx, tc, "default", workflows.SearchAttributeNames()))
	t.Logf("temporal server up after %s", time.Since(began).Round(100*time.Millisecond))

	// 4. The real binary, two workers and serve, configured by a file.
	bin := buildIncidentflow(t)
	t.Logf("incidentflow built after %s", time.Since(began).Round(100*time.Millisecond))

	fake := fakeslack.New(botToken)
	t.Cleanup(fake.Close)
	fake.AddChannel("incidents", "")
	httpPort, err := pgtemporal.FreePort()
	require.NoError(t, err)
	listen := "127.0.0.1:" + strconv.Itoa(httpPort)
	cfgPath := filepath.Join(dir, "incidentflow.yaml")
	require.NoError(t, os.WriteFile(cfgPath, []byte(fmt.Sprintf(productionConfig, opts.FrontendAddress(), listen, fake.APIURL())), 0o600))
	env := []string{"HOME=" + dir, "XDG_CONFIG_HOME=" + filepath.Join(dir, ".config"), "PATH=" + os.Getenv("PATH"),
		"SLACK_BOT_TOKEN=" + botToken, "GENERIC_TOKEN=" + genericToken, "ALICE_API_TOKEN=" + aliceToken}
	workers := map[int]*proc{}
	startWorker := func(name string) *proc {
		p := startProc(t, dir, name, env, bin, "worker", "--config", cfgPath)
		workers[p.cmd.Process.Pid] = p
		return p
	}
	startWorker("worker-a")
	startWorker("worker-b")
	serve := startProc(t, dir, "serve", env, bin, "serve", "--config", cfgPath)
	pollers := func(kind enumspb.TaskQueueType) map[int]bool {
		d, err := tc.DescribeTaskQueue(ctx, "incidents", kind)
		if err != nil {
			return nil
		}
		pids := map[int]bool{}
		for _, p := range d.GetPollers() {
			pids[identityPID(p.GetIdentity())] = true
		}
		return pids
	}
	alive := func(pids ...int) func() bool {
		return func() bool {
			wf, act := pollers(enumspb.TASK_QUEUE_TYPE_WORKFLOW), pollers(enumspb.TASK_QUEUE_TYPE_ACTIVITY)
			for _, pid := range pids {
				if !wf[pid] || !act[pid] {
					return false
				}
			}
			return true
		}
	}
	var pids []int
	for pid := range workers {
		pids = append(pids, pid)
	}
	waitFor(t, "both workers to poll", 30*time.Second, alive(pids...))
	api := "http://" + listen
	waitFor(t, "serve to answer", 30*time.Second, func() bool {
		resp, err := http.Get(api + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	require.False(t, serve.exited())
	t.Logf("2 workers and serve up after %s", time.Since(began).Round(100*time.Millisecond))

	post := func(path, body, token string) (int, map[string]any) {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, api+path, bytes.NewReader([]byte(body)))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		var m map[string]any
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&m))
		return resp.StatusCode, m
	}
	get := func(id string) workflows.Incident {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, api+"/v1/incidents/"+id, nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+aliceToken)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
		var inc workflows.Incident
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&inc))
		return inc
	}
	// quiet waits until the incident has no workflow task or activity in
	// flight, and answers which worker ran its last workflow task: the one
	// holding it in its cache, whose sticky queue Temporal would try first.
	quiet := func(id string) int {
		t.Helper()
		var holder int
		waitFor(t, "the incident to settle", 20*time.Second, func() bool {
			d, err := tc.DescribeWorkflowExecution(ctx, id, "")
			if err != nil || d.GetPendingWorkflowTask() != nil || len(d.GetPendingActivities()) > 0 || len(d.GetPendingChildren()) > 0 {
				return false
			}
			holder = 0
			iter := tc.GetWorkflowHistory(ctx, id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
			for iter.HasNext() {
				e, err := iter.Next()
				if err != nil {
					return false
				}
				if a := e.GetWorkflowTaskCompletedEventAttributes(); a != nil {
					holder = identityPID(a.GetIdentity())
				}
			}
			return holder != 0
		})
		return holder
	}

	// 5. An alert through serve pages alice from whichever worker.
	posted := time.Now()
	code, body := post("/v1/alerts", `{"key":"prod-db-down","title":"primary db down","severity":"critical"}`, genericToken)
	require.Equal(t, http.StatusAccepted, code, body)
	id := body["incident_id"].(string)
	waitFor(t, "alice's page", 15*time.Second, func() bool { return len(fake.Messages(aliceDM)) == 1 })
	firstPage := fake.Messages(aliceDM)[0].At.Sub(posted)
	t.Logf("alert POST to first page (serve -> Temporal on PostgreSQL -> worker -> Slack): %s", firstPage.Round(time.Millisecond))

	// kill -9 of the worker holding the incident while step 2's timer is pending.
	holder := quiet(id)
	victim, ok := workers[holder]
	require.True(t, ok, "the incident's worker %d is one of ours", holder)
	due := get(id).Escalation.NextPageAt
	require.NotNil(t, due, "step 2 pending")
	require.Empty(t, fake.Messages(bobDM))
	victim.kill()
	killedAt := time.Now()
	delete(workers, holder)
	t.Logf("killed -9 %s (pid %d), which ran the incident's last workflow task, %s before step 2 was due",
		victim.name, holder, due.Sub(killedAt).Round(100*time.Millisecond))

	waitFor(t, "bob's page from the surviving worker", productionStep2+20*time.Second, func() bool { return len(fake.Messages(bobDM)) >= 1 })
	bobPage := fake.Messages(bobDM)[0].At
	late := bobPage.Sub(*due)
	t.Logf("step 2 paged %s after it was due (worker killed %s earlier)", late.Round(time.Millisecond), bobPage.Sub(killedAt).Round(100*time.Millisecond))
	require.Less(t, late, 5*time.Second, "step 2 on time despite the kill")
	var survivor int
	for pid := range workers {
		survivor = pid
	}
	require.Equal(t, survivor, quiet(id), "the surviving worker carries the incident on")

	// Ack over HTTP with alice's API token: nothing more is paged.
	code, body = post("/v1/incidents/"+id+"/ack", `{"by":"alice","note":"on it"}`, aliceToken)
	require.Equal(t, http.StatusOK, code, body)
	require.Equal(t, "acknowledged", body["status"])

	// The killed worker comes back and rejoins.
	restarted := startWorker("worker-a-restarted")
	waitFor(t, "the restarted worker to poll", 30*time.Second, alive(restarted.cmd.Process.Pid))

	// kill -9 of the Temporal server mid-incident, and a start on the same
	// PostgreSQL data: the incident survives and its timer still fires.
	code, body = post("/v1/alerts", `{"key":"prod-cache-down","title":"cache cluster down","severity":"critical"}`, genericToken)
	require.Equal(t, http.StatusAccepted, code, body)
	id2 := body["incident_id"].(string)
	waitFor(t, "alice's page for the second incident", 15*time.Second, func() bool { return len(fake.Messages(aliceDM)) == 2 })
	quiet(id2)
	due2 := get(id2).Escalation.NextPageAt
	require.NotNil(t, due2)
	temporalProc.kill()
	down := time.Now()
	temporalProc = startTemporal()
	tc2, err := pgtemporal.Dial(ctx, opts.FrontendAddress(), "default", 60*time.Second)
	require.NoError(t, err, "temporal server restarted")
	tc2.Close()
	t.Logf("temporal server killed -9 and back in %s, %s before the second incident's step 2 was due",
		time.Since(down).Round(100*time.Millisecond), time.Until(*due2).Round(100*time.Millisecond))
	waitFor(t, "the second incident through serve after the restart", 30*time.Second, func() bool {
		req, _ := http.NewRequest(http.MethodGet, api+"/v1/incidents/"+id2, nil)
		req.Header.Set("Authorization", "Bearer "+aliceToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	inc2 := get(id2)
	require.Equal(t, "triggered", string(inc2.Status))
	require.Equal(t, "cache cluster down", inc2.Title)
	require.Equal(t, "acknowledged", string(get(id).Status), "the first incident too")
	waitFor(t, "the second incident's step 2 after the restart", productionStep2+30*time.Second, func() bool { return len(fake.Messages(bobDM)) == 2 })
	late2 := fake.Messages(bobDM)[1].At.Sub(*due2)
	t.Logf("second incident's step 2 paged %s after it was due, across a Temporal server kill -9 and restart", late2.Round(time.Millisecond))
	code, body = post("/v1/incidents/"+id2+"/ack", `{"by":"alice"}`, aliceToken)
	require.Equal(t, http.StatusOK, code, body)

	// Exactly once each: no duplicate pages from the kills, none after the acks.
	time.Sleep(2 * time.Second)
	require.Len(t, fake.Messages(aliceDM), 2, "alice paged once per incident")
	require.Len(t, fake.Messages(bobDM), 2, "bob paged once per incident")
	require.False(t, serve.exited(), "serve rode out the Temporal restart")
	for _, w := range workers {
		require.False(t, w.exited(), "%s rode out the Temporal restart", w.name)
	}
	t.Logf("production path: first page %s, step 2 late by %s after a worker kill -9, by %s across a server restart; %s in all (%d CPUs)",
		firstPage.Round(time.Millisecond), late.Round(time.Millisecond), late2.Round(time.Millisecond), time.Since(began).Round(time.Second), runtime.NumCPU())
}

// identityPID is the process id in an SDK worker identity ("pid@host@...").
func identityPID(identity string) int {
	pid, _ := strconv.Atoi(strings.SplitN(identity, "@", 2)[0])
	return pid
}
