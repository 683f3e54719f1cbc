package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"go.temporal.io/api/workflowservice/v1"

	"github.com/incidentflow/incidentflow/workflows"
)

// stormResult is one storm's figures.
type stormResult struct {
	Storm        string         `json:"storm"`
	Alerts       int            `json:"alerts"`
	Keys         int            `json:"keys"`
	Senders      int            `json:"senders"`
	WallS        float64        `json:"wall_s"`
	AlertsPerS   float64        `json:"alerts_per_s"`
	Accepted     int64          `json:"accepted"`
	Refused      int64          `json:"refused"`
	RefusedCodes map[string]int `json:"refused_codes,omitempty"`
	Counted      int64          `json:"counted"`
	Lost         int64          `json:"lost"`
	Settled      bool           `json:"settled"`
	Unread       int            `json:"unread_incidents"`
	Incidents    int            `json:"incidents"`
	Runs         int            `json:"runs"`
	FloorCalls   int            `json:"floor_calls"`
	FloorErrors  int64          `json:"floor_errors"`
	FloorPerS    float64        `json:"floor_signals_per_s"`
	// FirstPageP50/Max: each new incident's first page after its first
	// alert was sent (ms); PagedDuring: how many came before the storm
	// ended.
	FirstPageP50 float64 `json:"first_page_p50_ms,omitempty"`
	FirstPageMax float64 `json:"first_page_max_ms,omitempty"`
	PagedDuring  int     `json:"paged_during_storm,omitempty"`
}

// runStorm: three storms through the real HTTP intake, each followed by
// the floor, the same number of raw SignalWithStart calls from the same
// number of goroutines over the same keys to the trivial workflow.
func runStorm(ctx context.Context, o *options) ([]figure, any, error) {
	rec := newPageRecorder()
	s, err := startStack(ctx, stackOptions{configYAML: configYAML([][]time.Duration{{time.Hour}}, false), notifier: rec, temporal: o.temporal})
	if err != nil {
		return nil, nil, err
	}
	defer s.stop()
	alerts, group, senders := o.scaled(o.stormAlerts), o.scaled(o.stormGroup), o.stormSenders
	keys200 := min(200, alerts)
	var figs []figure
	var results []stormResult
	for _, st := range []struct {
		name   string
		alerts int
		keys   int
	}{
		{fmt.Sprintf("%d alerts on %d keys", alerts, keys200), alerts, keys200},
		{fmt.Sprintf("%d alerts on one key", alerts), alerts, 1},
		{fmt.Sprintf("one Alertmanager group of %d", group), group, 0},
	} {
		var r stormResult
		var err error
		if st.keys == 0 {
			r, err = amGroupStorm(ctx, s, st.name, st.alerts)
		} else {
			r, err = httpStorm(ctx, s, rec, st.name, st.alerts, st.keys, senders)
		}
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", st.name, err)
		}
		results = append(results, r)
		lost := fig("storm", st.name+": lost", "alerts", float64(r.Lost)).goal("0", valueAtMost(0))
		if !r.Settled {
			lost = lost.note(fmt.Sprintf("alert counts had not settled when read (%d incidents unreadable)", r.Unread))
		}
		if r.Refused > 0 {
			lost = lost.note(fmt.Sprintf("%d refused: %v", r.Refused, r.RefusedCodes))
		}
		figs = append(figs,
			fig("storm", st.name+": absorbed", "alerts/s", r.AlertsPerS).withFloor(r.FloorPerS).goal("ratio >= 5", ratioAtLeast(5)),
			lost,
			fig("storm", st.name+": incidents made", "", float64(r.Incidents)).note(fmt.Sprintf("%d runs (continue-as-new included)", r.Runs)),
		)
		if st.keys > 1 {
			figs = append(figs, fig("storm", st.name+": first page p50", "ms", r.FirstPageP50).
				note(fmt.Sprintf("each new incident's first page after its first alert was sent, during the storm; max %.0f ms, %d of %d paged before the storm ended", r.FirstPageMax, r.PagedDuring, st.keys)))
		}
	}
	return figs, results, nil
}

func httpStorm(ctx context.Context, s *stack, rec *pageRecorder, name string, alerts, nkeys, senders int) (stormResult, error) {
	r := stormResult{Storm: name, Alerts: alerts, Keys: nkeys, Senders: senders, RefusedCodes: map[string]int{}}
	keys := make([]string, nkeys)
	bodies := make([][]byte, nkeys)
	for i := range keys {
		keys[i] = fmt.Sprintf("storm-%s-%d-%03d", s.run, nkeys, i)
		bodies[i], _ = json.Marshal(map[string]string{"key": keys[i], "title": "storm " + name, "severity": "critical", "status": "firing"})
	}
	var accepted, refused atomic.Int64
	var mu sync.Mutex
	firstSent := make([]time.Time, nkeys)
	start := time.Now()
	fanOut(senders, alerts, func(n int) {
		if n < nkeys {
			firstSent[n] = time.Now()
		}
		code, err := postJSON(s.httpc, s.api.URL+"/v1/alerts", bodies[n%nkeys])
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
	r.WallS = time.Since(start).Seconds()
	r.Accepted, r.Refused = accepted.Load(), refused.Load()
	r.AlertsPerS = float64(r.Accepted) / r.WallS
	logf("storm %s: %d accepted in %.1f s (%.0f/s), %d refused", name, r.Accepted, r.WallS, r.AlertsPerS, r.Refused)
	// Pages must not stall in a storm: each new incident's first page,
	// from its first alert's sending.
	ended := start.Add(time.Duration(r.WallS * float64(time.Second)))
	var firsts []time.Duration
	for i, k := range keys {
		if at, ok := rec.at(workflows.IncidentID(k), 1); ok {
			firsts = append(firsts, at.Sub(firstSent[i]))
			if !at.After(ended) {
				r.PagedDuring++
			}
		}
	}
	if len(firsts) > 0 {
		slices.Sort(firsts)
		r.FirstPageP50, r.FirstPageMax = pct(firsts, 50), ms(firsts[len(firsts)-1])
	}
	if err := readBack(ctx, s, &r, keys); err != nil {
		return r, err
	}
	return r, stormFloor(ctx, s, &r, alerts, nkeys, senders)
}

func amGroupStorm(ctx context.Context, s *stack, name string, n int) (stormResult, error) {
	r := stormResult{Storm: name, Alerts: n, Keys: 1, Senders: 1, RefusedCodes: map[string]int{}}
	key := fmt.Sprintf("storm-%s-group", s.run)
	body := alertmanagerBody(key, serviceName(0), n)
	start := time.Now()
	code, err := postJSON(s.httpc, s.api.URL+"/v1/alerts/alertmanager", body)
	r.WallS = time.Since(start).Seconds()
	if err == nil && code/100 == 2 {
		r.Accepted = int64(n)
	} else {
		r.Refused = int64(n)
		r.RefusedCodes[fmt.Sprint(code, err)] = n
	}
	r.AlertsPerS = float64(r.Accepted) / r.WallS
	logf("storm %s: answered %d in %.2f s (%.0f alerts/s)", name, code, r.WallS, r.AlertsPerS)
	if err := readBack(ctx, s, &r, []string{key}); err != nil {
		return r, err
	}
	return r, stormFloor(ctx, s, &r, n, 1, 16)
}

// readBack waits until the incidents' alert_count (GET /v1/incidents/{id},
// the state query) adds up to the accepted alerts, or 90 s pass, then
// looks once more so a count past the accepted (counted twice) shows.
func readBack(ctx context.Context, s *stack, r *stormResult, keys []string) error {
	ids := make([]string, len(keys))
	for i, k := range keys {
		ids[i] = workflows.IncidentID(k)
	}
	start := time.Now()
	var sum int64
	var unread int
	var err error
	for {
		if sum, unread, err = countAlerts(s, ids); err != nil {
			return err
		}
		if sum >= r.Accepted || time.Since(start) > 90*time.Second {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	r.Settled = sum >= r.Accepted
	if r.Settled {
		time.Sleep(time.Second)
		if sum, unread, err = countAlerts(s, ids); err != nil {
			return err
		}
	}
	r.Counted, r.Lost, r.Unread = sum, r.Accepted-sum, unread
	if unread > 0 {
		// An incident that cannot be read is not known to have lost anything.
		r.Settled = false
	}
	r.Incidents, r.Runs, err = countIncidents(ctx, s, ids)
	logf("storm %s: read back %d of %d accepted (lost %d) after %.1f s; %d incidents, %d runs",
		r.Storm, r.Counted, r.Accepted, r.Lost, time.Since(start).Seconds(), r.Incidents, r.Runs)
	return err
}

// countAlerts sums alert_count over the incidents; unread counts those
// that could not be read this time (a query timing out on a loaded
// machine), which must not pass for lost alerts.
func countAlerts(s *stack, ids []string) (sum int64, unread int, err error) {
	var total, failed atomic.Int64
	var refused atomic.Value
	fanOut(8, len(ids), func(i int) {
		resp, err := s.httpc.Get(s.api.URL + "/v1/incidents/" + ids[i])
		if err != nil {
			failed.Add(1)
			return
		}
		defer resp.Body.Close()
		var st struct {
			AlertCount int64 `json:"alert_count"`
		}
		if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
			refused.Store(resp.Status)
		}
		if resp.StatusCode == http.StatusOK && json.NewDecoder(resp.Body).Decode(&st) == nil {
			total.Add(st.AlertCount)
		} else {
			failed.Add(1)
		}
	})
	if v := refused.Load(); v != nil {
		return 0, 0, fmt.Errorf("GET /v1/incidents/{id} answered %v", v)
	}
	return total.Load(), int(failed.Load()), nil
}

// countIncidents counts, in visibility, the incident workflows with these
// IDs on this stack's task queue and all their runs (a storm may hand an
// incident to a new run). The store lags a little: it is read until two
// reads agree.
func countIncidents(ctx context.Context, s *stack, ids []string) (int, int, error) {
	want := map[string]bool{}
	for _, id := range ids {
		want[id] = true
	}
	q := fmt.Sprintf("WorkflowType = '%s' AND TaskQueue = '%s'", workflows.IncidentWorkflowName, s.cfg.Temporal.TaskQueue)
	lastI, lastR := -1, -1
	var listErr error
	for try := 0; try < 20; try++ {
		listErr = nil
		seen := map[string]bool{}
		runs := 0
		var token []byte
		for {
			lctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			resp, err := s.c.ListWorkflow(lctx, &workflowservice.ListWorkflowExecutionsRequest{Query: q, PageSize: 1000, NextPageToken: token})
			cancel()
			if err != nil {
				listErr = fmt.Errorf("list incidents: %w", err)
				break
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
		if listErr != nil {
			// A loaded server may time a read out; the next try reads again.
			time.Sleep(time.Second)
			continue
		}
		if len(seen) == lastI && runs == lastR && len(seen) >= len(ids) {
			return len(seen), runs, nil
		}
		lastI, lastR = len(seen), runs
		time.Sleep(300 * time.Millisecond)
	}
	return lastI, lastR, listErr
}

var stormFloorSeq atomic.Int64

// stormFloor makes calls SignalWithStart calls from senders goroutines,
// round-robin over nkeys trivial workflows.
func stormFloor(ctx context.Context, s *stack, r *stormResult, calls, nkeys, senders int) error {
	// Each storm has floor workflows of its own: the one-key storm's,
	// still taking its last signals as it stops, must not be the group's.
	seq := stormFloorSeq.Add(1)
	ids := make([]string, nkeys)
	for i := range ids {
		ids[i] = fmt.Sprintf("floor-storm-%s-%d-%d-%03d", s.run, seq, nkeys, i)
	}
	var failed atomic.Int64
	var firstErr atomic.Value
	start := time.Now()
	fanOut(senders, calls, func(n int) {
		if err := s.startFloor(ctx, ids[n%nkeys], floorInput{}); err != nil {
			failed.Add(1)
			firstErr.CompareAndSwap(nil, err.Error())
		}
	})
	wall := time.Since(start).Seconds()
	r.FloorCalls, r.FloorErrors = calls, failed.Load()
	r.FloorPerS = float64(int64(calls)-r.FloorErrors) / wall
	logf("storm %s floor: %d SignalWithStart over %d workflows by %d goroutines: %.0f/s, %d errors %v",
		r.Storm, calls, nkeys, senders, r.FloorPerS, r.FloorErrors, firstErr.Load())
	s.stopFloors(ctx, ids)
	if r.FloorErrors > int64(calls)/100 {
		return fmt.Errorf("floor: %d of %d calls failed: %v", r.FloorErrors, calls, firstErr.Load())
	}
	return nil
}
