// Command storm measures, in one process on the embedded Temporal server,
// how the HTTP intake absorbs alert storms with none lost, against a raw
// floor of plain SignalWithStart calls made in the same process and run.
//
//	go run ./bench/storm                       # all three scenarios
//	go run ./bench/storm -scenario one-key -alerts 5000
//
// Scenarios:
//
//	one-key   N alerts (generic JSON, POST /v1/alerts) on one key, from S
//	          closed-loop senders (each waits for its answer, then sends again)
//	200-keys  N alerts spread round-robin over 200 keys, S senders
//	am-group  one Alertmanager webhook (POST /v1/alerts/alertmanager) whose
//	          group holds 5,000 distinct alerts
//
// For each: wall time, alerts/s absorbed (accepted / wall), accepted,
// refused (non-2xx, which must all be 503), lost (accepted minus the sum of
// alert_count read back over GET /v1/incidents/{id} once counts settle),
// incidents made, pages, and the delay from a key's first POST to its first
// page. The floor: the same number of client.SignalWithStartWorkflow calls
// from S goroutines to a trivial workflow per key, same key layout. Each
// scenario prints a line and a "JSON {...}" line; a table closes the run.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/incidentflow/incidentflow/activities"
	"github.com/incidentflow/incidentflow/bench/inprocess"
	"github.com/incidentflow/incidentflow/config"
	"github.com/incidentflow/incidentflow/incident"
	"github.com/incidentflow/incidentflow/starter"
	"github.com/incidentflow/incidentflow/workflows"
)

const (
	genericToken = "storm-generic-token"
	promToken    = "storm-prom-token"
	// amGroupAlerts is the size of the am-group webhook.
	amGroupAlerts = 5000
	// goal: duplicates absorbed per second over raw SignalWithStart per second.
	goalRatio = 5.0
)

// The first escalation step pages alice at once; nothing else fires within
// the run. The body limit is raised so one webhook of 5,000 alerts fits.
const benchConfig = `
integrations:
  - {name: prom, kind: alertmanager, token_env: STORM_PROM_TOKEN, service: checkout}
  - {name: scripts, kind: generic, token_env: STORM_GENERIC_TOKEN, service: checkout}
http: {max_body_bytes: 33554432}
timings: {ack_timeout: 1h}
services: {checkout: {escalation_policy: p}}
escalation_policies: {p: {steps: [{delay: 0s, targets: [user:alice]}, {delay: 1h, targets: [user:bob]}]}}
users: {alice: {}, bob: {}}
`

func getenv(k string) string {
	switch k {
	case "STORM_PROM_TOKEN":
		return promToken
	case "STORM_GENERIC_TOKEN":
		return genericToken
	}
	return ""
}

// pageRecorder is a notifier that notes when each incident was paged.
type pageRecorder struct {
	mu    sync.Mutex
	pages map[string][]time.Time
}

func (p *pageRecorder) Name() string { return "bench" }
func (p *pageRecorder) NotifyUser(_ context.Context, _ string, _ config.User, m activities.Message) (bool, error) {
	p.mu.Lock()
	p.pages[m.IncidentID] = append(p.pages[m.IncidentID], time.Now())
	p.mu.Unlock()
	return true, nil
}
func (p *pageRecorder) NotifyChannel(context.Context, string, activities.Message) (bool, error) {
	return true, nil
}

func (p *pageRecorder) pagesOf(id string) []time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.pages[id])
}

// result is one scenario's figures; it is also the JSON line.
type result struct {
	Scenario string `json:"scenario"`
	Alerts   int    `json:"alerts"`
	Senders  int    `json:"senders"`
	Keys     int    `json:"keys"`
	Posts    int    `json:"posts"`

	WallS        float64        `json:"wall_s"`
	AlertsPerS   float64        `json:"alerts_per_s"`
	Accepted     int64          `json:"accepted"`
	Refused      int64          `json:"refused"`
	RefusedCodes map[string]int `json:"refused_codes,omitempty"`
	Counted      int64          `json:"counted"`
	Lost         int64          `json:"lost"`
	Settled      bool           `json:"settled"`
	SettleS      float64        `json:"settle_s"`
	Incidents    int            `json:"incidents"`
	Runs         int            `json:"runs"`
	Pages        int            `json:"pages"`
	Unpaged      int            `json:"unpaged"`
	FirstPageP50 float64        `json:"first_page_p50_ms"`
	FirstPageMax float64        `json:"first_page_max_ms"`
	// From a key's first POST to its incident's first workflow task
	// (created_at): the part of the first-page delay before the workflow ran.
	CreatedP50 float64 `json:"created_p50_ms"`
	CreatedMax float64 `json:"created_max_ms"`
	// Keys whose first page came before the storm's last answer.
	PagedDuringStorm int `json:"paged_during_storm"`

	FloorCalls  int     `json:"floor_calls"`
	FloorErrors int64   `json:"floor_errors"`
	FloorWallS  float64 `json:"floor_wall_s"`
	FloorPerS   float64 `json:"floor_signals_per_s"`
	Ratio       float64 `json:"ratio"`
	RatioMet    bool    `json:"ratio_goal_met"`
	ZeroLossMet bool    `json:"zero_loss_met"`
}

type bench struct {
	stack   *inprocess.Stack
	rec     *pageRecorder
	api     *httptest.Server
	httpc   *http.Client
	senders int
	settle  time.Duration
	run     string // unique per process, so keys never meet an earlier run's
}

func main() {
	alerts := flag.Int("alerts", 20000, "alerts per HTTP storm (one-key, 200-keys)")
	senders := flag.Int("senders", 16, "concurrent closed-loop senders (and floor goroutines)")
	scenario := flag.String("scenario", "all", "one-key | 200-keys | am-group | all")
	settle := flag.Duration("settle", 90*time.Second, "how long to wait for alert counts to settle")
	flag.Parse()
	var scenarios []string
	switch *scenario {
	case "all":
		scenarios = []string{"one-key", "200-keys", "am-group"}
	case "one-key", "200-keys", "am-group":
		scenarios = []string{*scenario}
	default:
		fmt.Fprintf(os.Stderr, "storm: unknown -scenario %q (one-key, 200-keys, am-group or all)\n", *scenario)
		os.Exit(2)
	}
	if *alerts < 1 || *senders < 1 {
		fmt.Fprintln(os.Stderr, "storm: -alerts and -senders must be positive")
		os.Exit(2)
	}
	if err := run(scenarios, *alerts, *senders, *settle); err != nil {
		fmt.Fprintln(os.Stderr, "storm:", err)
		os.Exit(1)
	}
}

func run(scenarios []string, alerts, senders int, settle time.Duration) error {
	ctx := context.Background()
	rec := &pageRecorder{pages: map[string][]time.Time{}}
	stack, err := inprocess.Start(ctx, benchConfig, rec)
	if err != nil {
		return err
	}
	defer stack.Stop()
	api := httptest.NewServer(starter.NewServer(stack.Incidents, stack.Logger, getenv).Handler())
	defer api.Close()
	fw := sdkworker.New(stack.Client, floorQueue, sdkworker.Options{})
	fw.RegisterWorkflowWithOptions(floorWorkflow, workflow.RegisterOptions{Name: floorWorkflowName})
	if err := fw.Start(); err != nil {
		return fmt.Errorf("start floor worker: %w", err)
	}
	defer fw.Stop()

	b := &bench{
		stack: stack, rec: rec, api: api, senders: senders, settle: settle,
		httpc: &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: senders * 2}},
		run:   fmt.Sprintf("%x", time.Now().UnixNano()&0xffffffff),
	}
	fmt.Printf("machine: %d CPUs, %s/%s, %s; alerts %d, senders %d, scenarios %s\n",
		runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, runtime.Version(), alerts, senders, strings.Join(scenarios, ","))
	total := time.Now()
	var results []result
	for _, sc := range scenarios {
		var r result
		var err error
		switch sc {
		case "one-key":
			r, err = b.httpStorm(ctx, sc, alerts, 1)
		case "200-keys":
			r, err = b.httpStorm(ctx, sc, alerts, 200)
		case "am-group":
			r, err = b.amGroup(ctx, amGroupAlerts)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", sc, err)
		}
		r.RatioMet = r.Ratio >= goalRatio
		r.ZeroLossMet = r.Lost == 0 && r.Settled && onlyServiceUnavailable(r.RefusedCodes)
		printResult(r)
		results = append(results, r)
	}
	printTable(results)
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Printf("whole run %s; process heap in use at the end %d MiB\n", time.Since(total).Round(time.Second), ms.HeapInuse>>20)
	return nil
}

// httpStorm sends alerts generic alerts spread round-robin over nkeys keys
// from b.senders closed-loop senders, then measures the floor.
func (b *bench) httpStorm(ctx context.Context, name string, alerts, nkeys int) (result, error) {
	r := result{Scenario: name, Alerts: alerts, Senders: b.senders, Keys: nkeys, Posts: alerts, RefusedCodes: map[string]int{}}
	keys := make([]string, nkeys)
	bodies := make([][]byte, nkeys)
	for i := range keys {
		keys[i] = fmt.Sprintf("storm-%s-%s-%03d", b.run, name, i)
		bodies[i], _ = json.Marshal(map[string]string{"key": keys[i], "title": "storm " + name, "severity": "critical", "status": "firing"})
	}
	firstPost := make([]time.Time, nkeys)
	var firstOnce = make([]sync.Once, nkeys)
	var accepted, refused atomic.Int64
	var mu sync.Mutex
	start := time.Now()
	fanOut(b.senders, alerts, func(n int) {
		k := n % nkeys
		t0 := time.Now()
		firstOnce[k].Do(func() { firstPost[k] = t0 })
		code, err := b.post("/v1/alerts", genericToken, bodies[k])
		if err == nil && code/100 == 2 {
			accepted.Add(1)
			return
		}
		refused.Add(1)
		label := fmt.Sprint(code)
		if err != nil {
			label = "transport error"
		}
		mu.Lock()
		r.RefusedCodes[label]++
		mu.Unlock()
	})
	wall := time.Since(start)
	r.WallS = wall.Seconds()
	r.Accepted, r.Refused = accepted.Load(), refused.Load()
	r.AlertsPerS = float64(r.Accepted) / r.WallS
	fmt.Printf("\n%s: %d alerts over %d key(s) by %d senders in %s: %d accepted (%.0f/s), %d refused %v\n",
		name, alerts, nkeys, b.senders, wall.Round(time.Millisecond), r.Accepted, r.AlertsPerS, r.Refused, r.RefusedCodes)
	if err := b.readBack(ctx, &r, keys, firstPost, start.Add(wall)); err != nil {
		return r, err
	}
	return r, b.floor(ctx, &r, name, alerts, nkeys)
}

// amGroup POSTs one Alertmanager webhook whose group holds n distinct alerts.
func (b *bench) amGroup(ctx context.Context, n int) (result, error) {
	name := "am-group"
	r := result{Scenario: name, Alerts: n, Senders: 1, Keys: 1, Posts: 1, RefusedCodes: map[string]int{}}
	groupKey := fmt.Sprintf("storm-%s-%s-000", b.run, name)
	alerts := make([]map[string]any, n)
	for i := range alerts {
		alerts[i] = map[string]any{"status": "firing", "fingerprint": fmt.Sprintf("fp-%05d", i),
			"labels":      map[string]string{"alertname": "DiskFull", "instance": fmt.Sprintf("db-%d", i)},
			"annotations": map[string]string{"summary": fmt.Sprintf("disk full on db-%d", i)}}
	}
	body, err := json.Marshal(map[string]any{"version": "4", "groupKey": groupKey, "status": "firing", "receiver": "incidentflow",
		"commonLabels": map[string]string{"alertname": "DiskFull", "severity": "critical"}, "alerts": alerts})
	if err != nil {
		return r, err
	}
	start := time.Now()
	code, err := b.post("/v1/alerts/alertmanager", promToken, body)
	wall := time.Since(start)
	r.WallS = wall.Seconds()
	if err == nil && code/100 == 2 {
		r.Accepted = int64(n)
	} else {
		r.Refused = int64(n)
		label := fmt.Sprint(code)
		if err != nil {
			label = "transport error"
		}
		r.RefusedCodes[label] = n
	}
	r.AlertsPerS = float64(r.Accepted) / r.WallS
	fmt.Printf("\n%s: one webhook of %d alerts (%d KiB) answered %d in %s: %d accepted (%.0f/s)\n",
		name, n, len(body)>>10, code, wall.Round(time.Millisecond), r.Accepted, r.AlertsPerS)
	if err := b.readBack(ctx, &r, []string{groupKey}, []time.Time{start}, start.Add(wall)); err != nil {
		return r, err
	}
	return r, b.floor(ctx, &r, name, n, 1)
}

func (b *bench) post(path, token string, body []byte) (int, error) {
	req, err := http.NewRequest(http.MethodPost, b.api.URL+path, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := b.httpc.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// readBack waits until the incidents' alert counts add up to the accepted
// alerts (or b.settle passes), then fills lost, incidents, pages and the
// first-page delays.
func (b *bench) readBack(ctx context.Context, r *result, keys []string, firstPost []time.Time, stormEnd time.Time) error {
	ids := make([]string, len(keys))
	for i, k := range keys {
		ids[i] = workflows.IncidentID(k)
	}
	start := time.Now()
	var sum int64
	for {
		sum = b.countAlerts(ids, nil)
		if sum >= r.Accepted || time.Since(start) > b.settle {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	r.Settled = sum >= r.Accepted
	r.SettleS = time.Since(start).Seconds()
	if r.Settled {
		// Reached: look once more a moment later, so a count that goes on
		// past the accepted alerts (counted twice) shows.
		time.Sleep(time.Second)
	}
	created := make([]time.Time, len(ids))
	sum = b.countAlerts(ids, created)
	r.Counted = sum
	r.Lost = r.Accepted - sum

	// First pages: each key's first page, against its first POST.
	deadline := time.Now().Add(30 * time.Second)
	var delays, createdAfter []time.Duration
	for i, id := range ids {
		if !created[i].IsZero() {
			createdAfter = append(createdAfter, created[i].Sub(firstPost[i]))
		}
		var pages []time.Time
		for {
			if pages = b.rec.pagesOf(id); len(pages) > 0 || time.Now().After(deadline) {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if len(pages) == 0 {
			r.Unpaged++
			continue
		}
		delays = append(delays, pages[0].Sub(firstPost[i]))
		if pages[0].Before(stormEnd) {
			r.PagedDuringStorm++
		}
	}
	// A second page for an incident would come from a second incident (or
	// escalation, an hour out): give a late one a moment to show.
	time.Sleep(500 * time.Millisecond)
	for _, id := range ids {
		r.Pages += len(b.rec.pagesOf(id))
	}
	if len(delays) > 0 {
		slices.Sort(delays)
		r.FirstPageP50 = ms(delays[(len(delays)-1)/2])
		r.FirstPageMax = ms(delays[len(delays)-1])
	}
	if len(createdAfter) > 0 {
		slices.Sort(createdAfter)
		r.CreatedP50 = ms(createdAfter[(len(createdAfter)-1)/2])
		r.CreatedMax = ms(createdAfter[len(createdAfter)-1])
	}
	var err error
	r.Incidents, r.Runs, err = b.incidents(ctx, ids)
	if err != nil {
		return err
	}
	fmt.Printf("%s: read back %d of %d accepted alerts (lost %d) after %.1fs; %d incident(s), %d run(s), %d page(s), %d key(s) unpaged; first page p50 %.1f ms, max %.1f ms (%d paged before the storm's last answer); first POST -> incident created p50 %.1f ms, max %.1f ms\n",
		r.Scenario, r.Counted, r.Accepted, r.Lost, r.SettleS, r.Incidents, r.Runs, r.Pages, r.Unpaged, r.FirstPageP50, r.FirstPageMax, r.PagedDuringStorm, r.CreatedP50, r.CreatedMax)
	return nil
}

// countAlerts sums alert_count over GET /v1/incidents/{id}; an incident
// that cannot be read this time counts 0. created gets each incident's
// created_at (the time of its workflow's first task).
func (b *bench) countAlerts(ids []string, created []time.Time) int64 {
	var sum atomic.Int64
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i, id := range ids {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			resp, err := b.httpc.Get(b.api.URL + "/v1/incidents/" + id)
			if err != nil {
				return
			}
			defer resp.Body.Close()
			var st struct {
				AlertCount int64     `json:"alert_count"`
				CreatedAt  time.Time `json:"created_at"`
			}
			if resp.StatusCode == http.StatusOK && json.NewDecoder(resp.Body).Decode(&st) == nil {
				sum.Add(st.AlertCount)
				if created != nil {
					created[i] = st.CreatedAt
				}
			}
		}()
	}
	wg.Wait()
	return sum.Load()
}

// incidents counts, in the visibility store, the distinct incident
// workflows with these IDs (incidents) and all their runs (a storm may hand
// an incident to a new run: continue-as-new, the same incident). The
// visibility store lags a little, so it is read until two reads agree.
func (b *bench) incidents(ctx context.Context, ids []string) (int, int, error) {
	prefix := ids[0]
	if len(ids) > 1 {
		prefix = ids[0][:strings.LastIndexByte(ids[0], '-')+1]
	}
	q := fmt.Sprintf("WorkflowType = '%s' AND WorkflowId STARTS_WITH '%s'", workflows.IncidentWorkflowName, prefix)
	want := map[string]bool{}
	for _, id := range ids {
		want[id] = true
	}
	lastI, lastR := -1, -1
	for try := 0; try < 20; try++ {
		seen := map[string]bool{}
		runs := 0
		var token []byte
		for {
			resp, err := b.stack.Client.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: q, PageSize: 1000, NextPageToken: token})
			if err != nil {
				return 0, 0, fmt.Errorf("list incidents: %w", err)
			}
			for _, e := range resp.GetExecutions() {
				if id := e.GetExecution().GetWorkflowId(); want[id] {
					seen[id] = true
					runs++
				}
			}
			if token = resp.GetNextPageToken(); len(token) == 0 {
				break
			}
		}
		if len(seen) == lastI && runs == lastR && len(seen) >= len(ids) {
			return len(seen), runs, nil
		}
		lastI, lastR = len(seen), runs
		time.Sleep(300 * time.Millisecond)
	}
	return lastI, lastR, nil
}

// The floor: a trivial workflow per key that only takes signals.
const (
	floorQueue        = "storm-floor"
	floorWorkflowName = "StormFloor"
	floorSignal       = "alerts"
	floorStop         = "stop"
	// floorSignalsPerRun matches the incident's continue-as-new after 5,000
	// signals (Temporal refuses signals to a run past its limit).
	floorSignalsPerRun = 5000
)

func floorWorkflow(ctx workflow.Context) error {
	alerts := workflow.GetSignalChannel(ctx, floorSignal)
	stop := workflow.GetSignalChannel(ctx, floorStop)
	timer := workflow.NewTimer(ctx, time.Hour)
	n := 0
	for done := false; !done; {
		sel := workflow.NewSelector(ctx)
		sel.AddReceive(alerts, func(c workflow.ReceiveChannel, _ bool) {
			var b workflows.AlertBatch
			c.Receive(ctx, &b)
			n++
		})
		sel.AddReceive(stop, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, nil); done = true })
		sel.AddFuture(timer, func(workflow.Future) { done = true })
		sel.Select(ctx)
		if !done && (n >= floorSignalsPerRun || workflow.GetInfo(ctx).GetContinueAsNewSuggested()) {
			for {
				var b workflows.AlertBatch
				if !alerts.ReceiveAsync(&b) {
					break
				}
			}
			return workflow.NewContinueAsNewError(ctx, floorWorkflowName)
		}
	}
	return nil
}

// floor makes calls SignalWithStart calls from b.senders goroutines, spread
// round-robin over nkeys trivial workflows, and fills the floor figures.
func (b *bench) floor(ctx context.Context, r *result, name string, calls, nkeys int) error {
	ids := make([]string, nkeys)
	batches := make([]workflows.AlertBatch, nkeys)
	for i := range ids {
		ids[i] = fmt.Sprintf("storm-floor-%s-%s-%03d", b.run, name, i)
		batches[i] = workflows.AlertBatch{Alerts: []workflows.AlertSignal{{Fingerprint: ids[i], Status: incident.AlertFiring, Summary: "storm " + name, Source: "scripts"}}}
	}
	var failed atomic.Int64
	var firstErr atomic.Value
	start := time.Now()
	fanOut(b.senders, calls, func(n int) {
		k := n % nkeys
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		_, err := b.stack.Client.SignalWithStartWorkflow(cctx, ids[k], floorSignal, batches[k],
			client.StartWorkflowOptions{ID: ids[k], TaskQueue: floorQueue, WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE},
			floorWorkflowName)
		cancel()
		if err != nil {
			failed.Add(1)
			firstErr.CompareAndSwap(nil, err.Error())
		}
	})
	wall := time.Since(start)
	r.FloorCalls = calls
	r.FloorErrors = failed.Load()
	r.FloorWallS = wall.Seconds()
	r.FloorPerS = float64(int64(calls)-r.FloorErrors) / r.FloorWallS
	if r.FloorPerS > 0 {
		r.Ratio = r.AlertsPerS / r.FloorPerS
	}
	e := ""
	if v := firstErr.Load(); v != nil {
		e = "; first error: " + v.(string)
	}
	fmt.Printf("%s floor: %d SignalWithStart over %d workflow(s) by %d goroutines in %s = %.0f signals/s, %d errors%s; absorbed/floor %.2fx\n",
		name, calls, nkeys, b.senders, wall.Round(time.Millisecond), r.FloorPerS, r.FloorErrors, e, r.Ratio)
	// Stop the floor workflows so they cost nothing in the next scenario.
	for _, id := range ids {
		sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		if err := b.stack.Client.SignalWorkflow(sctx, id, "", floorStop, nil); err != nil && !errors.Is(err, context.DeadlineExceeded) {
			fmt.Printf("%s floor: stop %s: %v\n", name, id, err)
		}
		cancel()
	}
	return nil
}

func onlyServiceUnavailable(codes map[string]int) bool {
	for c := range codes {
		if c != fmt.Sprint(http.StatusServiceUnavailable) {
			return false
		}
	}
	return true
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func printResult(r result) {
	j, _ := json.Marshal(r)
	fmt.Printf("JSON %s\n", j)
}

func printTable(rs []result) {
	fmt.Println()
	fmt.Println("| scenario | alerts / keys / senders | wall | alerts/s absorbed | accepted | refused | lost | incidents (runs) | pages | first page p50 / max | raw SignalWithStart/s | absorbed ÷ raw | ≥5x | 0 lost |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
	for _, r := range rs {
		refused := fmt.Sprint(r.Refused)
		if r.Refused > 0 {
			refused += fmt.Sprintf(" %v", r.RefusedCodes)
		}
		lost := fmt.Sprint(r.Lost)
		if !r.Settled {
			lost += " (not settled)"
		}
		fmt.Printf("| %s | %d / %d / %d | %.1f s | %.0f | %d | %s | %s | %d (%d) | %d | %.0f / %.0f ms | %.0f | %.2fx | %s | %s |\n",
			r.Scenario, r.Alerts, r.Keys, r.Senders, r.WallS, r.AlertsPerS, r.Accepted, refused, lost, r.Incidents, r.Runs, r.Pages,
			r.FirstPageP50, r.FirstPageMax, r.FloorPerS, r.Ratio, yes(r.RatioMet), yes(r.ZeroLossMet))
	}
}

func yes(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// fanOut runs each(0..total-1) on senders goroutines, each taking the
// next number when it is done with its last (closed-loop senders), and
// returns when all are done.
func fanOut(senders, total int, each func(n int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for g := 0; g < senders; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := int(next.Add(1)) - 1; n < total; n = int(next.Add(1)) - 1 {
				each(n)
			}
		}()
	}
	wg.Wait()
}
