// Command historysize measures the history a long incident leaves: a P1
// acknowledged at once, N status updates (96 is a day at P1's 15m cadence),
// then resolved; the incident closes by itself after its monitoring window
// (resolve_stable_for, 1s here) and hands its post-mortem to a child
// workflow, whose history is reported apart and never counted in the
// incident's. Updates are sent as HTTP sends them (starter.Incidents.Act:
// the Update, then the state query), back to back unless -gap says
// otherwise: on-time updates mean no reminder timer ever fires; the day's
// two one-off reminders (no-progress, handover) would add a few events.
//
// Beside each incident it runs the raw Temporal floor: a trivial workflow
// taking the same N Updates (same argument), each answering a tiny struct
// and running one trivial activity, as a status update posts itself.
//
//	go run ./bench/historysize -updates 24,96,500
//	go run ./bench/historysize -updates 24,96,500 -gap 100ms
//
// Each N runs on a fresh embedded server. The output is a table and one
// JSON line per N (prefixed "JSON ").
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/protobuf/proto"

	"github.com/incidentflow/incidentflow/activities"
	"github.com/incidentflow/incidentflow/bench/inprocess"
	"github.com/incidentflow/incidentflow/config"
	"github.com/incidentflow/incidentflow/starter"
	"github.com/incidentflow/incidentflow/workflows"
)

const benchConfig = `
timings: {resolve_stable_for: 1s}
services: {checkout: {escalation_policy: p}}
escalation_policies: {p: {steps: [{delay: 0s, targets: [user:alice]}, {delay: 5m, targets: [user:bob]}]}}
users: {alice: {}, bob: {}}
`

// window is how many updates the first/last marginal figures cover.
const window = 24

// gap is the pause between updates (-gap). Back to back (0), each request
// after the first few dozen updates meets the previous update's activity
// completion still being handled; a pause of 100ms avoids that.
var gap time.Duration

type discard struct{}

func (discard) Name() string { return "discard" }
func (discard) NotifyUser(context.Context, string, config.User, activities.Message) (bool, error) {
	return true, nil
}
func (discard) NotifyChannel(context.Context, string, activities.Message) (bool, error) {
	return true, nil
}

func main() {
	list := flag.String("updates", "96", "status updates to post, or a comma-separated list run in turn (96 = a day at P1's 15m cadence)")
	floor := flag.Bool("floor", true, "also measure the raw Temporal floor (a trivial workflow taking the same Updates)")
	flag.DurationVar(&gap, "gap", 0, "pause between updates, untimed (0: back to back)")
	flag.Parse()
	var ns []int
	for _, s := range strings.Split(*list, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			fmt.Fprintf(os.Stderr, "historysize: -updates: %q is not a positive number\n", s)
			os.Exit(2)
		}
		ns = append(ns, n)
	}
	var results []result
	for _, n := range ns {
		r, err := run(n, *floor)
		if err != nil {
			fmt.Fprintf(os.Stderr, "historysize: %d updates: %v\n", n, err)
			os.Exit(1)
		}
		r.print()
		results = append(results, r)
	}
	if len(results) > 1 {
		summary(results)
	}
}

// measured is one workflow ID's history after N Updates.
type measured struct {
	Events int   `json:"events"`
	Bytes  int64 `json:"bytes"`
	// ServerBytes is the server's own HistorySizeBytes summed over runs
	// (its encoding of event batches): a cross-check of Bytes.
	ServerBytes int64      `json:"server_bytes"`
	Runs        []runSizes `json:"runs"`
	// Marginal cost per update: history added between the checkpoint before
	// the first update and the one after the 24th, and between the one after
	// update N-24 and the one after update N, each divided by 24.
	FirstBytesPerUpdate  float64 `json:"first24_bytes_per_update"`
	LastBytesPerUpdate   float64 `json:"last24_bytes_per_update"`
	FirstEventsPerUpdate float64 `json:"first24_events_per_update"`
	LastEventsPerUpdate  float64 `json:"last24_events_per_update"`
	// UpdatesBytesPerUpdate: all history added from before the first update
	// to after the last, divided by N.
	UpdatesBytesPerUpdate float64 `json:"updates_bytes_per_update"`
	// Round trips in milliseconds: medians of the first and last 24.
	FirstRTMs float64 `json:"first24_rt_median_ms"`
	LastRTMs  float64 `json:"last24_rt_median_ms"`
	// The floor also times its Update alone, without the query after it.
	FirstUpdateOnlyMs float64 `json:"first24_update_only_median_ms,omitempty"`
	LastUpdateOnlyMs  float64 `json:"last24_update_only_median_ms,omitempty"`
}

type runSizes struct {
	WorkflowID string `json:"workflow_id,omitempty"`
	RunID      string `json:"run_id,omitempty"`
	Events     int    `json:"events"`
	Bytes      int64  `json:"bytes"`
}

type result struct {
	Code       string    `json:"code"`
	Updates    int       `json:"updates"`
	GapMs      float64   `json:"gap_ms"`
	Incident   measured  `json:"incident"`
	Postmortem *runSizes `json:"postmortem,omitempty"`
	Floor      *measured `json:"floor,omitempty"`
}

// checkpoint is where the current run's history stood after an update,
// from DescribeWorkflowExecution (HistoryLength: the last event's ID).
type checkpoint struct {
	runID  string
	length int
}

func run(n int, withFloor bool) (result, error) {
	ctx := context.Background()
	stack, err := inprocess.Start(ctx, benchConfig, discard{})
	if err != nil {
		return result{}, err
	}
	defer stack.Stop()
	res := result{Code: codeVersion, Updates: n, GapMs: float64(gap.Microseconds()) / 1000}

	inc, pm, err := measureIncident(ctx, stack, n)
	if err != nil {
		return res, err
	}
	res.Incident, res.Postmortem = inc, pm
	if withFloor {
		f, err := measureFloor(ctx, stack.Client, n)
		if err != nil {
			return res, fmt.Errorf("floor: %w", err)
		}
		res.Floor = &f
	}
	return res, nil
}

func measureIncident(ctx context.Context, stack *inprocess.Stack, n int) (measured, *runSizes, error) {
	c, inc := stack.Client, stack.Incidents
	id, err := inc.Declare(ctx, starter.Declaration{Service: "checkout", Severity: "P1", Title: "day-long P1", By: "alice"})
	if err != nil {
		return measured{}, nil, err
	}
	if _, err := inc.Act(ctx, id, workflows.UpdateAck, workflows.ActionRequest{By: "alice"}); err != nil {
		return measured{}, nil, fmt.Errorf("ack: %w", err)
	}
	rts, cps, err := sendUpdates(ctx, c, id, n, func(i int) error {
		_, err := inc.Act(ctx, id, workflows.UpdateStatusUpdate, statusUpdate(i))
		return err
	})
	if err != nil {
		return measured{}, nil, err
	}
	if _, err := inc.Act(ctx, id, workflows.UpdateResolve, workflows.ActionRequest{By: "alice"}); err != nil {
		return measured{}, nil, fmt.Errorf("resolve: %w", err)
	}
	if err := afterResolve(ctx, inc, id); err != nil {
		return measured{}, nil, err
	}
	// A P1 closes by itself once stable for resolve_stable_for (1s).
	wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if err := c.GetWorkflow(wctx, id, "").Get(wctx, nil); err != nil {
		return measured{}, nil, fmt.Errorf("wait for the incident to close: %w", err)
	}
	m, hists, err := measure(ctx, c, id, rts, cps)
	if err != nil {
		return m, nil, err
	}
	// The post-mortem child has its own workflow ID: reported apart.
	var pm *runSizes
	for _, h := range hists {
		for _, e := range h {
			if a := e.GetChildWorkflowExecutionStartedEventAttributes(); a != nil {
				r, err := runSize(ctx, c, a.GetWorkflowExecution().GetWorkflowId(), "")
				if err != nil {
					return m, nil, fmt.Errorf("post-mortem: %w", err)
				}
				pm = &r
			}
		}
	}
	return m, pm, nil
}

// sendUpdates sends n updates (-gap apart), timing each and recording the
// history checkpoint after it (cps[0] is before the first).
func sendUpdates(ctx context.Context, c client.Client, id string, n int, send func(i int) error) ([]time.Duration, []checkpoint, error) {
	rts := make([]time.Duration, n)
	cps := make([]checkpoint, n+1)
	var err error
	if cps[0], err = describe(ctx, c, id); err != nil {
		return nil, nil, err
	}
	for i := 0; i < n; i++ {
		if gap > 0 {
			time.Sleep(gap)
		}
		start := time.Now()
		if err := send(i); err != nil {
			return nil, nil, fmt.Errorf("update %d: %w", i+1, err)
		}
		rts[i] = time.Since(start)
		if os.Getenv("HISTORYSIZE_TRACE") != "" {
			fmt.Fprintf(os.Stderr, "%s %d %.1f\n", id, i+1, float64(rts[i].Microseconds())/1000)
		}
		if cps[i+1], err = describe(ctx, c, id); err != nil {
			return nil, nil, err
		}
	}
	return rts, cps, nil
}

func describe(ctx context.Context, c client.Client, id string) (checkpoint, error) {
	d, err := c.DescribeWorkflowExecution(ctx, id, "")
	if err != nil {
		return checkpoint{}, err
	}
	info := d.GetWorkflowExecutionInfo()
	return checkpoint{runID: info.GetExecution().GetRunId(), length: int(info.GetHistoryLength())}, nil
}

// measure reads every run of the workflow ID (following continue-as-new
// back from the last run) and sizes each event with proto.Size.
//
// Marginal cost: DescribeWorkflowExecution after each update gives the
// current run and its history length, i.e. the ID of the last event so far.
// Rather than its HistorySizeBytes (the server's batch encoding, and only
// of the current run), each checkpoint is placed in the complete history
// read afterwards: its position is the events and proto bytes of all
// earlier runs plus the first `length` events of its run. The bytes between
// two checkpoints are then exactly the events written between them,
// continue-as-new included (the new run's start event carries the whole
// state, and is a real cost of the updates that led to it). An update's
// notification activity may complete just after its checkpoint; that shift
// is the same at both ends of a window, so windows of 24 are unaffected
// beyond an event or two.
func measure(ctx context.Context, c client.Client, id string, rts []time.Duration, cps []checkpoint) (measured, [][]*historypb.HistoryEvent, error) {
	var m measured
	type runPos struct {
		events int
		bytes  int64
		cum    []int64 // cum[k]: bytes of this run's first k events
	}
	var hists [][]*historypb.HistoryEvent
	pos := map[string]*runPos{}
	d, err := c.DescribeWorkflowExecution(ctx, id, "")
	if err != nil {
		return m, nil, err
	}
	runIDs := []string{d.GetWorkflowExecutionInfo().GetExecution().GetRunId()}
	for {
		h, err := history(ctx, c, id, runIDs[0])
		if err != nil {
			return m, nil, err
		}
		hists = slices.Insert(hists, 0, h)
		prev := h[0].GetWorkflowExecutionStartedEventAttributes().GetContinuedExecutionRunId()
		if prev == "" {
			break
		}
		runIDs = slices.Insert(runIDs, 0, prev)
	}
	for i, h := range hists {
		p := &runPos{events: m.Events, bytes: m.Bytes, cum: make([]int64, len(h)+1)}
		for k, e := range h {
			p.cum[k+1] = p.cum[k] + int64(proto.Size(e))
		}
		pos[runIDs[i]] = p
		r := runSizes{RunID: runIDs[i], Events: len(h), Bytes: p.cum[len(h)]}
		m.Runs = append(m.Runs, r)
		m.Events += r.Events
		m.Bytes += r.Bytes
		dr, err := c.DescribeWorkflowExecution(ctx, id, runIDs[i])
		if err != nil {
			return m, nil, err
		}
		m.ServerBytes += dr.GetWorkflowExecutionInfo().GetHistorySizeBytes()
	}
	at := func(cp checkpoint) (int, int64, error) {
		p, ok := pos[cp.runID]
		if !ok || cp.length > len(p.cum)-1 {
			return 0, 0, fmt.Errorf("checkpoint %s/%d not in the history read", cp.runID, cp.length)
		}
		return p.events + cp.length, p.bytes + p.cum[cp.length], nil
	}
	between := func(a, b checkpoint, per int) (float64, float64, error) {
		ea, ba, err := at(a)
		if err != nil {
			return 0, 0, err
		}
		eb, bb, err := at(b)
		if err != nil {
			return 0, 0, err
		}
		return float64(eb-ea) / float64(per), float64(bb-ba) / float64(per), nil
	}
	n := len(rts)
	w := min(window, n)
	if m.FirstEventsPerUpdate, m.FirstBytesPerUpdate, err = between(cps[0], cps[w], w); err != nil {
		return m, nil, err
	}
	if m.LastEventsPerUpdate, m.LastBytesPerUpdate, err = between(cps[n-w], cps[n], w); err != nil {
		return m, nil, err
	}
	if _, m.UpdatesBytesPerUpdate, err = between(cps[0], cps[n], n); err != nil {
		return m, nil, err
	}
	m.FirstRTMs, m.LastRTMs = median(rts[:w]), median(rts[n-w:])
	return m, hists, nil
}

func history(ctx context.Context, c client.Client, id, runID string) ([]*historypb.HistoryEvent, error) {
	var h []*historypb.HistoryEvent
	it := c.GetWorkflowHistory(ctx, id, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			return nil, err
		}
		h = append(h, e)
	}
	if len(h) == 0 {
		return nil, fmt.Errorf("%s/%s: empty history", id, runID)
	}
	return h, nil
}

// runSize is one run's history so far (the post-mortem is still open).
func runSize(ctx context.Context, c client.Client, id, runID string) (runSizes, error) {
	h, err := history(ctx, c, id, runID)
	if err != nil {
		return runSizes{}, err
	}
	r := runSizes{WorkflowID: id, Events: len(h)}
	for _, e := range h {
		r.Bytes += int64(proto.Size(e))
	}
	return r, nil
}

func median(ds []time.Duration) float64 {
	s := slices.Clone(ds)
	slices.Sort(s)
	k := len(s) / 2
	mid := s[k]
	if len(s)%2 == 0 {
		mid = (s[k-1] + s[k]) / 2
	}
	return float64(mid.Microseconds()) / 1000
}

// The floor: the least history Temporal can keep for an Update that posts
// something. Same argument as the status update, a tiny answer, one
// activity per Update, started beside the handler as the incident does
// (the Update answers before the activity completes). It never continues
// as new, so at 500 updates it is one long run.

const (
	floorQueue    = "historysize-floor"
	floorWorkflow = "historysize-floor"
	floorUpdate   = "post"
	floorFinish   = "finish"
	floorQuery    = "seq"
)

type floorResult struct {
	Seq int `json:"seq"`
}

func floorFlow(ctx workflow.Context) (int, error) {
	n, pending, done := 0, 0, false
	err := workflow.SetUpdateHandler(ctx, floorUpdate, func(ctx workflow.Context, u json.RawMessage) (floorResult, error) {
		n++
		pending++
		actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 30 * time.Second})
		f := workflow.ExecuteActivity(actx, floorPost, fmt.Sprintf("update %d", n))
		workflow.Go(ctx, func(gctx workflow.Context) {
			_ = f.Get(gctx, nil)
			pending--
		})
		return floorResult{Seq: n}, nil
	})
	if err != nil {
		return 0, err
	}
	if err := workflow.SetQueryHandler(ctx, floorQuery, func() (int, error) { return n, nil }); err != nil {
		return 0, err
	}
	if err := workflow.SetUpdateHandler(ctx, floorFinish, func(workflow.Context) error { done = true; return nil }); err != nil {
		return 0, err
	}
	if err := workflow.Await(ctx, func() bool { return done && pending == 0 && workflow.AllHandlersFinished(ctx) }); err != nil {
		return 0, err
	}
	return n, nil
}

func floorPost(context.Context, string) error { return nil }

func measureFloor(ctx context.Context, c client.Client, n int) (measured, error) {
	w := sdkworker.New(c, floorQueue, sdkworker.Options{})
	w.RegisterWorkflowWithOptions(floorFlow, workflow.RegisterOptions{Name: floorWorkflow})
	w.RegisterActivity(floorPost)
	if err := w.Start(); err != nil {
		return measured{}, err
	}
	defer w.Stop()
	id := fmt.Sprintf("historysize-floor-%d", n)
	wr, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: floorQueue}, floorWorkflow)
	if err != nil {
		return measured{}, err
	}
	update := func(name string, arg ...any) error {
		h, err := c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
			WorkflowID: id, UpdateName: name, Args: arg, WaitForStage: client.WorkflowUpdateStageCompleted,
		})
		if err != nil {
			return err
		}
		var r floorResult
		return h.Get(ctx, &r)
	}
	// Like Act, each Update is followed by a query (no history), so the
	// round trips compare like with like.
	uts := make([]time.Duration, n)
	rts, cps, err := sendUpdates(ctx, c, id, n, func(i int) error {
		start := time.Now()
		if err := update(floorUpdate, statusUpdate(i)); err != nil {
			return err
		}
		uts[i] = time.Since(start)
		_, err := c.QueryWorkflow(ctx, id, "", floorQuery)
		return err
	})
	if err != nil {
		return measured{}, err
	}
	if err := update(floorFinish); err != nil {
		return measured{}, err
	}
	if err := wr.Get(ctx, nil); err != nil {
		return measured{}, err
	}
	m, _, err := measure(ctx, c, id, rts, cps)
	k := min(window, n)
	m.FirstUpdateOnlyMs, m.LastUpdateOnlyMs = median(uts[:k]), median(uts[n-k:])
	return m, err
}

func (r result) print() {
	i := r.Incident
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	how := "back to back"
	if gap > 0 {
		how = fmt.Sprintf("%s apart", gap)
	}
	fmt.Printf("\n%d status updates (code %s): P1 declared, acked, %d updates %s, resolved, closed by itself after 1s\n", r.Updates, r.Code, r.Updates, how)
	fmt.Fprintln(tw, "\tevents\tbytes\truns\tB/update all\tB/update first24\tB/update last24\tlast/first\tev/update first24\tev/update last24\tRT first24 ms\tRT last24 ms\tRT last/first\t")
	row := func(name string, m measured) {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%.0f\t%.0f\t%.0f\t%.2f\t%.1f\t%.1f\t%.1f\t%.1f\t%.2f\t\n", name, m.Events, m.Bytes, len(m.Runs),
			m.UpdatesBytesPerUpdate, m.FirstBytesPerUpdate, m.LastBytesPerUpdate, ratio(m.LastBytesPerUpdate, m.FirstBytesPerUpdate),
			m.FirstEventsPerUpdate, m.LastEventsPerUpdate, m.FirstRTMs, m.LastRTMs, ratio(m.LastRTMs, m.FirstRTMs))
	}
	row("incident", i)
	if r.Floor != nil {
		row("floor", *r.Floor)
		f := *r.Floor
		fmt.Fprintf(tw, "incident/floor\t%.2f\t%.2f\t\t%.2f\t%.2f\t%.2f\t\t%.2f\t%.2f\t%.2f\t%.2f\t\t\n",
			ratio(float64(i.Events), float64(f.Events)), ratio(float64(i.Bytes), float64(f.Bytes)),
			ratio(i.UpdatesBytesPerUpdate, f.UpdatesBytesPerUpdate), ratio(i.FirstBytesPerUpdate, f.FirstBytesPerUpdate), ratio(i.LastBytesPerUpdate, f.LastBytesPerUpdate),
			ratio(i.FirstEventsPerUpdate, f.FirstEventsPerUpdate), ratio(i.LastEventsPerUpdate, f.LastEventsPerUpdate),
			ratio(i.FirstRTMs, f.FirstRTMs), ratio(i.LastRTMs, f.LastRTMs))
	}
	_ = tw.Flush()
	if f := r.Floor; f != nil {
		fmt.Printf("floor Update alone (without the query): median %.1f ms first 24, %.1f ms last 24\n", f.FirstUpdateOnlyMs, f.LastUpdateOnlyMs)
	}
	var runs []string
	for _, x := range i.Runs {
		runs = append(runs, fmt.Sprintf("%d events / %d B", x.Events, x.Bytes))
	}
	fmt.Printf("incident runs: %s; server-counted history size %d B\n", strings.Join(runs, ", "), i.ServerBytes)
	if r.Postmortem != nil {
		fmt.Printf("post-mortem child %s (not counted above, still open): %d events, %d B\n", r.Postmortem.WorkflowID, r.Postmortem.Events, r.Postmortem.Bytes)
	}
	b, _ := json.Marshal(r)
	fmt.Printf("JSON %s\n", b)
}

// summary sets the largest run against the smallest, as the issue's
// targets do (bytes per update and round trip at 500 vs 24).
func summary(rs []result) {
	lo, hi := rs[0], rs[0]
	for _, r := range rs {
		if r.Updates < lo.Updates {
			lo = r
		}
		if r.Updates > hi.Updates {
			hi = r
		}
	}
	a, b := lo.Incident, hi.Incident
	fmt.Printf("\n%d vs %d updates: bytes per update (last 24) %.0f vs %.0f = %.2fx; per update overall %.0f vs %.0f = %.2fx; RT median (last 24) %.1f vs %.1f ms = %.2fx\n",
		hi.Updates, lo.Updates, b.LastBytesPerUpdate, a.LastBytesPerUpdate, ratio(b.LastBytesPerUpdate, a.LastBytesPerUpdate),
		b.UpdatesBytesPerUpdate, a.UpdatesBytesPerUpdate, ratio(b.UpdatesBytesPerUpdate, a.UpdatesBytesPerUpdate),
		b.LastRTMs, a.LastRTMs, ratio(b.LastRTMs, a.LastRTMs))
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}
