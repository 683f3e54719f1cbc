package procs

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/incidentflow/incidentflow/incident"
	"github.com/incidentflow/incidentflow/internal/fakeslack"
	"github.com/incidentflow/incidentflow/internal/pgtemporal"
	"github.com/incidentflow/incidentflow/workflows"
)

// Step 2 is due 8 s after step 1: long enough for an ack sent on seeing the
// first page to land before it even across a restart (about a second), short
// enough for 20 lifecycles to fit in a minute.
const devCrashConfig = `
api_tokens:
  - {name: alice-laptop, token_env: ALICE_API_TOKEN, user: alice}
integrations:
  - {name: scripts, kind: generic, token_env: GENERIC_TOKEN, service: checkout}
slack: {bot_token_env: SLACK_BOT_TOKEN, api_url: %q, announce_channel: "#incidents"}
timings: {ack_timeout: 1h, resolve_stable_for: 3s}
services:
  checkout: {escalation_policy: primary}
escalation_policies:
  primary:
    repeat: 0
    steps:
      - {delay: 0s, targets: [user:alice]}
      - {delay: 8s, targets: [user:bob]}
users:
  alice: {slack_id: U0ALICE, email: alice@example.com}
  bob: {slack_id: U0BOB, email: bob@example.com}
`

const (
	devCrashStep2      = 8 * time.Second
	devCrashLifecycles = 20
	devCrashStagger    = 1500 * time.Millisecond
	devCrashKills      = 6
	// devCrashSeedEnv replays a run: its seed is printed at the start.
	devCrashSeedEnv = "INCIDENTFLOW_E2E_SEED"
)

// devProcess is `incidentflow dev` on a db file and fixed ports, so it can
// be killed and started again as the same installation.
type devProcess struct {
	t                      *testing.T
	bin, dir, cfg, db      string
	httpAddr, temporalPort string
	env                    []string
	runs                   int
	p                      *proc
}

func newDevProcess(t *testing.T, bin, configText string, extraEnv ...string) *devProcess {
	t.Helper()
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "incidentflow.yaml")
	require.NoError(t, os.WriteFile(cfgPath, []byte(configText), 0o600))
	httpPort, err := pgtemporal.FreePort()
	require.NoError(t, err)
	temporalPort, err := pgtemporal.FreePort()
	require.NoError(t, err)
	env := append([]string{"HOME=" + dir, "XDG_CONFIG_HOME=" + filepath.Join(dir, ".config"), "PATH=" + os.Getenv("PATH"),
		"SLACK_BOT_TOKEN=" + botToken, "GENERIC_TOKEN=" + genericToken, "ALICE_API_TOKEN=" + aliceToken}, extraEnv...)
	return &devProcess{t: t, bin: bin, dir: dir, cfg: cfgPath, db: filepath.Join(dir, "temporal.db"),
		httpAddr: "127.0.0.1:" + strconv.Itoa(httpPort), temporalPort: strconv.Itoa(temporalPort), env: env}
}

func (d *devProcess) url() string { return "http://" + d.httpAddr }

// start runs dev on the db file and waits for /healthz 200; it answers how
// long that took.
func (d *devProcess) start() time.Duration {
	d.t.Helper()
	began := time.Now()
	d.p = startProc(d.t, d.dir, fmt.Sprintf("dev-%d", d.runs), d.env, d.bin, "dev",
		"--config", d.cfg, "--db", d.db, "--http", d.httpAddr, "--temporal-port", d.temporalPort, "--ui-port", "0")
	d.runs++
	waitFor(d.t, "dev to answer /healthz", 60*time.Second, func() bool {
		require.False(d.t, d.p.exited(), "dev exited during start-up")
		resp, err := http.Get(d.url() + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return time.Since(began)
}

// answer is one HTTP call to dev as its caller saw it. sent is false only
// when the connection was refused: dev never saw the request.
type answer struct {
	status int
	body   []byte
	sent   bool
	err    error
}

var devHTTP = &http.Client{Timeout: 15 * time.Second}

func callDev(method, url, token, body string) answer {
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		return answer{err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := devHTTP.Do(req)
	if err != nil {
		var op *net.OpError
		return answer{err: err, sent: !(errors.As(err, &op) && op.Op == "dial")}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return answer{status: resp.StatusCode, body: b, sent: true}
}

// pageKey is a page's idempotency key: incident, generation, round, step.
var pageKey = regexp.MustCompile(`^(.+)/g\d+/r\d+/s(\d+)(/|$)`)

// pageTimes reads the pages a DM received from the fake's record, by the
// keys each message carries in its metadata (a digest carries several):
// incident -> step -> the times of the messages that paged it.
func pageTimes(fake *fakeslack.Server, dm string) map[string]map[int][]time.Time {
	out := map[string]map[int][]time.Time{}
	for _, m := range fake.Messages(dm) {
		var meta struct {
			Payload struct {
				Key  string   `json:"idempotency_key"`
				Keys []string `json:"idempotency_keys"`
			} `json:"event_payload"`
		}
		if json.Unmarshal([]byte(m.Form.Get("metadata")), &meta) != nil {
			continue
		}
		keys := append([]string{meta.Payload.Key}, meta.Payload.Keys...)
		seen := map[string]bool{}
		for _, k := range keys {
			g := pageKey.FindStringSubmatch(k)
			if g == nil {
				continue
			}
			step, _ := strconv.Atoi(g[2])
			if id := g[1] + "/" + g[2]; !seen[id] {
				seen[id] = true
				if out[g[1]] == nil {
					out[g[1]] = map[int][]time.Time{}
				}
				out[g[1]][step] = append(out[g[1]][step], m.At)
			}
		}
	}
	return out
}

// lifecycle is one incident driven over HTTP as its people would, through
// whatever restarts happen meanwhile.
type lifecycle struct {
	key, id   string
	ack       bool
	alerts    int
	accepted  int // alerts answered 202
	ambiguous int // alerts whose answer was lost: counted or not
	acked     time.Time
	err       error
}

// The real binary's `incidentflow dev`, on a SQLite file, is killed -9 at
// random moments while 20 incidents live their lives over HTTP (half acked
// on seeing the first page, half left to escalate to step 2, all resolved),
// and started again on the same file each time. Nothing accepted is lost,
// no step is missed, no step pages more than twice, and every incident
// closes.
func TestDevKilledAtRandomLosesNothing(t *testing.T) {
	needsProcesses(t)
	if testing.Short() {
		t.Skip("runs the real binary through 20 incident lifecycles and kills it -9 several times (~70 s)")
	}
	began := time.Now()
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv(devCrashSeedEnv); s != "" {
		var err error
		seed, err = strconv.ParseUint(s, 10, 64)
		require.NoError(t, err, devCrashSeedEnv)
	}
	t.Logf("seed %d (%s=%d replays this run's choices)", seed, devCrashSeedEnv, seed)
	rng := rand.New(rand.NewPCG(seed, 0x1ce))

	fake := fakeslack.New(botToken)
	t.Cleanup(fake.Close)
	fake.AddChannel("incidents", "")
	bin := buildIncidentflow(t)
	dev := newDevProcess(t, bin, fmt.Sprintf(devCrashConfig, fake.APIURL()))
	up := dev.start()
	t.Logf("dev up in %s (%s after the test began, with the build)", up.Round(time.Millisecond), time.Since(began).Round(100*time.Millisecond))

	lives := make([]*lifecycle, devCrashLifecycles)
	for i := range lives {
		key := fmt.Sprintf("devcrash-%02d-%d", i, seed%100000)
		lives[i] = &lifecycle{key: key, id: workflows.IncidentID(key), ack: i%2 == 0, alerts: 1 + rng.IntN(3)}
	}

	// retry calls until done says the answer settles it, through the
	// refused connections and lost answers a kill causes.
	retry := func(what string, timeout time.Duration, call func() answer, done func(answer) bool) error {
		deadline := time.Now().Add(timeout)
		for {
			a := call()
			if a.err == nil && done(a) {
				return nil
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("%s: no settling answer in %s (last: %d %s %v)", what, timeout, a.status, a.body, a.err)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	waitPage := func(l *lifecycle, dm string, step int) error {
		deadline := time.Now().Add(60 * time.Second)
		for len(pageTimes(fake, dm)[l.id][step]) == 0 {
			if time.Now().After(deadline) {
				return fmt.Errorf("%s: no step %d page in %s within 60 s", l.id, step, dm)
			}
			time.Sleep(50 * time.Millisecond)
		}
		return nil
	}
	drive := func(l *lifecycle) error {
		for range l.alerts {
			body := fmt.Sprintf(`{"key":%q,"title":"devcrash %s","severity":"warning"}`, l.key, l.key)
			// Each alert is sent until answered; an attempt whose answer was
			// lost may or may not have been kept, and is counted apart.
			err := retry("alert "+l.key, 60*time.Second, func() answer {
				a := callDev(http.MethodPost, dev.url()+"/v1/alerts", genericToken, body)
				if a.status == http.StatusAccepted {
					l.accepted++
				} else if a.sent && a.status != http.StatusServiceUnavailable && (a.err != nil || a.status >= 500) {
					l.ambiguous++
				}
				return a
			}, func(a answer) bool { return a.status == http.StatusAccepted })
			if err != nil {
				return err
			}
		}
		if err := waitPage(l, aliceDM, 1); err != nil {
			return err
		}
		if l.ack {
			// 409 means an earlier attempt, whose answer the kill took, acked it.
			err := retry("ack "+l.id, 60*time.Second, func() answer {
				return callDev(http.MethodPost, dev.url()+"/v1/incidents/"+l.id+"/ack", aliceToken, `{"by":"alice"}`)
			}, func(a answer) bool { return a.status == http.StatusOK || a.status == http.StatusConflict })
			if err != nil {
				return err
			}
			l.acked = time.Now()
		} else if err := waitPage(l, bobDM, 2); err != nil {
			return err
		}
		err := retry("resolve "+l.id, 60*time.Second, func() answer {
			return callDev(http.MethodPost, dev.url()+"/v1/incidents/"+l.id+"/resolve", aliceToken, `{"by":"alice"}`)
		}, func(a answer) bool { return a.status == http.StatusOK || a.status == http.StatusConflict })
		if err != nil {
			return err
		}
		return retry("closing "+l.id, 60*time.Second, func() answer {
			return callDev(http.MethodGet, dev.url()+"/v1/incidents/"+l.id, aliceToken, "")
		}, func(a answer) bool {
			var inc workflows.Incident
			return a.status == http.StatusOK && json.Unmarshal(a.body, &inc) == nil && inc.Status == incident.StatusClosed
		})
	}

	var wg sync.WaitGroup
	allDone := make(chan struct{})
	for i, l := range lives {
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(time.Duration(i) * devCrashStagger)
			l.err = drive(l)
		}()
	}
	go func() { wg.Wait(); close(allDone) }()

	// The kills: at random moments while the lifecycles run, each followed
	// by a start on the same db file after a random pause.
	type kill struct {
		at      time.Duration
		restart time.Duration
	}
	var kills []kill
	driving := true
	for len(kills) < devCrashKills && driving {
		gap := 2*time.Second + time.Duration(rng.Int64N(int64(6*time.Second)))
		select {
		case <-allDone:
			driving = false
			continue
		case <-time.After(gap):
		}
		dev.p.kill()
		k := kill{at: time.Since(began)}
		time.Sleep(time.Duration(rng.Int64N(int64(1500 * time.Millisecond))))
		k.restart = dev.start()
		kills = append(kills, k)
		t.Logf("kill -9 #%d at %s, dev back (on the same db) %s after its start", len(kills), k.at.Round(100*time.Millisecond), k.restart.Round(time.Millisecond))
	}
	select {
	case <-allDone:
	case <-time.After(3 * time.Minute):
		t.Fatal("the lifecycles did not finish within 3 minutes")
	}
	require.GreaterOrEqual(t, len(kills), 3, "killed while the lifecycles ran")
	for _, l := range lives {
		require.NoError(t, l.err)
	}
	// Late duplicates (a retry after a kill) would come within seconds.
	time.Sleep(2 * time.Second)

	alice, bob := pageTimes(fake, aliceDM), pageTimes(fake, bobDM)
	var lost, missed, dupSteps, accepted, ambiguous, acked, escalated int
	var late []time.Duration
	var latest string
	for _, l := range lives {
		a := callDev(http.MethodGet, dev.url()+"/v1/incidents/"+l.id, aliceToken, "")
		var inc workflows.Incident
		if !assert.Equal(t, http.StatusOK, a.status, "%s: %s", l.id, a.body) || !assert.NoError(t, json.Unmarshal(a.body, &inc)) {
			lost++
			continue
		}
		accepted += l.accepted
		ambiguous += l.ambiguous
		if inc.AlertCount < l.accepted || inc.AlertCount > l.accepted+l.ambiguous {
			lost++
			t.Errorf("%s: alert_count %d, want %d accepted (+ up to %d whose answer was lost)", l.id, inc.AlertCount, l.accepted, l.ambiguous)
		}
		assert.Equal(t, incident.StatusClosed, inc.Status, "%s reaches its final state", l.id)
		steps := map[int][]time.Time{1: alice[l.id][1], 2: bob[l.id][2]}
		for step, pages := range steps {
			if len(pages) > 1 {
				dupSteps++
			}
			assert.LessOrEqual(t, len(pages), 2, "%s step %d: at most one duplicate page", l.id, step)
		}
		if len(steps[1]) == 0 {
			missed++
			t.Errorf("%s: step 1 never paged", l.id)
			continue
		}
		// Step 2 is due its delay after step 1 fired (not after its page
		// was delivered, which a kill may hold up).
		var due time.Time
		for _, e := range inc.Timeline {
			if e.Kind == workflows.KindEscalation && strings.HasPrefix(e.Message, "round 1 step 1:") {
				due = e.At.Add(devCrashStep2)
				break
			}
		}
		if !assert.False(t, due.IsZero(), "%s: step 1 on the timeline", l.id) {
			continue
		}
		switch {
		case !l.ack:
			escalated++
			if len(steps[2]) == 0 {
				missed++
				t.Errorf("%s: never acked, step 2 never paged", l.id)
				continue
			}
			d := steps[2][0].Sub(due)
			if len(late) == 0 || d > slices.Max(late) {
				latest = fmt.Sprintf("%s: due at %s, paged at %s", l.id, due.Sub(began).Round(100*time.Millisecond), steps[2][0].Sub(began).Round(100*time.Millisecond))
			}
			late = append(late, d)
		case l.acked.Before(due.Add(-time.Second)):
			// An ack answered before step 2 was due stopped it, kills or not.
			acked++
			assert.Empty(t, steps[2], "%s: acked %s before step 2 was due, still paged", l.id, due.Sub(l.acked).Round(time.Millisecond))
		}
	}
	var slowest time.Duration
	for _, k := range kills {
		slowest = max(slowest, k.restart)
	}
	slices.Sort(late)
	if len(late) > 0 {
		// A step due while dev is down, or whose workflow task a kill took,
		// waits for the restart and that task's timeout (10 s): late, not lost.
		t.Logf("step 2 after due: median %s, max %s (%s)", late[len(late)/2].Round(time.Millisecond), late[len(late)-1].Round(time.Millisecond), latest)
	}
	t.Logf("dev killed -9 %d times (slowest restart to /healthz 200: %s); %d lifecycles: %d alerts accepted (%d more whose answer a kill took), %d incidents lost, %d steps missed, %d steps paged twice, %d acked in time and not escalated, %d escalated to step 2, all closed; %s in all",
		len(kills), slowest.Round(time.Millisecond), len(lives), accepted, ambiguous, lost, missed, dupSteps, acked, escalated, time.Since(began).Round(time.Second))
	require.Zero(t, lost, "incidents lost")
	require.Zero(t, missed, "escalation steps missed")
}
