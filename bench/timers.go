package main

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/incidentflow/incidentflow/incident"
	"github.com/incidentflow/incidentflow/starter"
	"github.com/incidentflow/incidentflow/workflows"
)

// Fire-together: an escalation delay is relative to the incident's start,
// so incidents opened one after another over a minute or more cannot share
// a delay and still come due together. Each is opened on the service whose
// step-2 delay is the time left until the common moment T, rounded up to
// a grid of timerGrid; the floor's workflows get their due time the same
// way. Due times are then read back (the incident's next_page_at), and
// their spread is reported beside the lateness.
const (
	timerGrid    = 250 * time.Millisecond
	timerMaxLead = 10 * time.Minute
	// spreadRate: the spread case opens incidents at 20/s with step 2 a
	// fixed delay later (-timers-spread-delay), so step 2s come due at 20/s.
	spreadRate = 20
	// creators open incidents (and floor workflows) concurrently.
	creators = 16
)

// timing is the scenario's delays: the shortest step-2 delay of the grid
// (-timers-min-delay) and the spread case's (-timers-spread-delay).
type timing struct {
	minDelay, spreadDelay time.Duration
}

type timerPhase struct {
	Opened     int     `json:"opened"`
	OpenS      float64 `json:"open_s"`
	Measured   int     `json:"measured"`
	Unpaged    int     `json:"unpaged"`
	NoDue      int     `json:"no_due"`
	DueSpreadS float64 `json:"due_spread_p1_p99_s"`
	P50        float64 `json:"lateness_p50_ms"`
	P99        float64 `json:"lateness_p99_ms"`
	Max        float64 `json:"lateness_max_ms"`
}

type timersDetail struct {
	N, Spread                    int
	Together, FloorTogether      timerPhase
	SpreadInc, SpreadFloor       timerPhase
	TogetherLeadS, FloorLeadS    float64
	ProbePerS, FloorProbePerS    float64
	IncidentsOpenDuringSpreading int
}

// timerLayout: policies[k] pages at once, then step 2 after
// timerMinDelay + k*timerGrid, then a last step a day later (so the
// incident stays open with a timer armed); the last two are the spread
// policy and the probe's (step 2 a day out).
func (tm timing) layout() (policies [][]time.Duration, spreadIdx, holdIdx int) {
	k := int((timerMaxLead - tm.minDelay) / timerGrid)
	for i := 0; i < k; i++ {
		policies = append(policies, []time.Duration{tm.minDelay + time.Duration(i)*timerGrid, 24 * time.Hour})
	}
	policies = append(policies, []time.Duration{tm.spreadDelay, 24 * time.Hour}, []time.Duration{24 * time.Hour})
	return policies, k, k + 1
}

// gridIndex is the policy whose step-2 delay, from now, reaches T.
func (tm timing) gridIndex(now, t time.Time, k int) int {
	need := t.Sub(now) - tm.minDelay
	i := int(math.Ceil(float64(need) / float64(timerGrid)))
	return min(max(i, 0), k-1)
}

func runTimers(ctx context.Context, o *options) ([]figure, any, error) {
	tm := timing{minDelay: o.timersMinDelay, spreadDelay: o.timersSpreadDelay}
	policies, spreadIdx, holdIdx := tm.layout()
	rec := newPageRecorder()
	s, err := startStack(ctx, stackOptions{configYAML: configYAML(policies, false), notifier: rec, floor: &floorActivities{rec: rec}, temporal: o.temporal})
	if err != nil {
		return nil, nil, err
	}
	defer s.stop()
	d := timersDetail{N: o.scaled(o.timersN), Spread: o.scaled(o.timersSpread)}

	// The floor first, then stopped, so its workflows are out of the
	// worker cache before the incidents come (the cache is per process).
	floorIDs, err := floorTimers(ctx, s, rec, tm, &d, spreadIdx)
	if err != nil {
		return nil, nil, err
	}
	s.stopFloors(ctx, floorIDs)
	if err := incidentTimers(ctx, s, rec, tm, &d, spreadIdx, holdIdx); err != nil {
		return nil, nil, err
	}

	n := fmt.Sprintf("%d", d.N)
	figs := []figure{
		fig("timers", n+" fire together: lateness p50", "ms", d.Together.P50).withFloor(d.FloorTogether.P50),
		fig("timers", n+" fire together: lateness p99", "ms", d.Together.P99).withFloor(d.FloorTogether.P99).goal("ratio <= 0.5", ratioAtMost(0.5)).
			note(fmt.Sprintf("due times spread %.1f s (p1-p99) for incidents, %.1f s for the floor; %d of %d incidents measured%s",
				d.Together.DueSpreadS, d.FloorTogether.DueSpreadS, d.Together.Measured, d.N, missing(d.Together, d.FloorTogether))),
		fig("timers", fmt.Sprintf("%d spread at 20/s: lateness p99", d.Spread), "ms", d.SpreadInc.P99).withFloor(d.SpreadFloor.P99).goal("<= 1000 ms", valueAtMost(1000)).
			note(fmt.Sprintf("with %d incidents open; p50 %.1f ms (floor %.1f ms)%s", d.IncidentsOpenDuringSpreading, d.SpreadInc.P50, d.SpreadFloor.P50, missing(d.SpreadInc, d.SpreadFloor))),
	}
	return figs, d, nil
}

// missing says what could not be measured: pages that never came, due
// times that could not be read.
func missing(inc, floor timerPhase) string {
	s := ""
	if n := inc.Unpaged + floor.Unpaged; n > 0 {
		s += fmt.Sprintf("; %d incidents and %d floor workflows not paged at step 2", inc.Unpaged, floor.Unpaged)
	}
	if inc.NoDue > 0 {
		s += fmt.Sprintf("; %d incidents' due time unread", inc.NoDue)
	}
	return s
}

func floorTimers(ctx context.Context, s *stack, rec *pageRecorder, tm timing, d *timersDetail, k int) ([]string, error) {
	var all []string
	// The probe's first half warms up; its rate is the second half's.
	probe := min(100, max(d.N/20, creators))
	var el time.Duration
	for half := 0; half < 2; half++ {
		ids, took, err := openFloors(ctx, s, rec, fmt.Sprintf("floor-probe%d-%s", half, s.run), probe, func(time.Time) time.Time { return time.Time{} })
		if err != nil {
			return nil, err
		}
		all, el = append(all, ids...), took
	}
	d.FloorProbePerS = float64(probe) / el.Seconds()
	lead := tm.leadFor(d.N, d.FloorProbePerS)
	d.FloorLeadS = lead.Seconds()
	t := time.Now().Add(lead)
	logf("timers floor: probe %.0f/s; %d workflows due together in %s", d.FloorProbePerS, d.N, lead.Round(time.Second))
	ids, el, err := openFloors(ctx, s, rec, fmt.Sprintf("floor-together-%s", s.run), d.N, func(now time.Time) time.Time {
		return now.Add(tm.minDelay + time.Duration(tm.gridIndex(now, t, k))*timerGrid)
	})
	if err != nil {
		return nil, err
	}
	all = append(all, ids...)
	d.FloorTogether.Opened, d.FloorTogether.OpenS = d.N, el.Seconds()
	d.FloorTogether = lateness(ctx, rec, ids, dueFromFloor(ids), d.FloorTogether, time.Until(t)+10*time.Minute)
	logf("timers floor together: lateness p50 %.1f p99 %.1f max %.1f ms, due spread %.2f s", d.FloorTogether.P50, d.FloorTogether.P99, d.FloorTogether.Max, d.FloorTogether.DueSpreadS)

	ids, el, err = openPaced(ctx, d.Spread, func(i int) (string, error) {
		id := fmt.Sprintf("floor-spread-%s-%05d", s.run, i)
		now := time.Now()
		floorDues.Store(id, now.Add(tm.spreadDelay))
		return id, s.startFloor(ctx, id, floorInput{FireAt: now.Add(tm.spreadDelay)})
	})
	if err != nil {
		return nil, err
	}
	all = append(all, ids...)
	d.SpreadFloor.Opened, d.SpreadFloor.OpenS = len(ids), el.Seconds()
	d.SpreadFloor = lateness(ctx, rec, ids, dueFromFloor(ids), d.SpreadFloor, tm.spreadDelay+5*time.Minute)
	logf("timers floor spread: lateness p50 %.1f p99 %.1f max %.1f ms", d.SpreadFloor.P50, d.SpreadFloor.P99, d.SpreadFloor.Max)
	return all, nil
}

// floorDues remembers each floor workflow's due time, as given it.
var floorDues sync.Map

func dueFromFloor(ids []string) []time.Time {
	due := make([]time.Time, len(ids))
	for i, id := range ids {
		if v, ok := floorDues.Load(id); ok {
			due[i] = v.(time.Time)
		}
	}
	return due
}

func incidentTimers(ctx context.Context, s *stack, rec *pageRecorder, tm timing, d *timersDetail, spreadIdx, holdIdx int) error {
	// The probe's first half warms up; its rate is the second half's.
	probe := min(100, max(d.N/20, creators))
	var el time.Duration
	for half := 0; half < 2; half++ {
		_, took, err := openIncidents(ctx, s, rec, fmt.Sprintf("probe%d-%s", half, s.run), probe, func(time.Time) int { return holdIdx })
		if err != nil {
			return err
		}
		el = took
	}
	d.ProbePerS = float64(probe) / el.Seconds()
	lead := tm.leadFor(d.N, d.ProbePerS)
	d.TogetherLeadS = lead.Seconds()
	t := time.Now().Add(lead)
	logf("timers incidents: probe %.0f/s; %d incidents due together in %s", d.ProbePerS, d.N, lead.Round(time.Second))
	ids, el, err := openIncidents(ctx, s, rec, fmt.Sprintf("together-%s", s.run), d.N, func(now time.Time) int { return tm.gridIndex(now, t, spreadIdx) })
	if err != nil {
		return err
	}
	d.Together.Opened, d.Together.OpenS = d.N, el.Seconds()
	logf("timers incidents: %d opened in %.1f s; reading their due times", d.N, el.Seconds())
	rec.waitPaged(ctx, ids, 1, time.Until(t))
	due := make([]time.Time, len(ids))
	fanOut(16, len(ids), func(i int) { due[i] = incidentDue(ctx, s, ids[i]) })
	d.Together = lateness(ctx, rec, ids, due, d.Together, time.Until(t)+10*time.Minute)
	logf("timers incidents together: lateness p50 %.1f p99 %.1f max %.1f ms, due spread %.2f s", d.Together.P50, d.Together.P99, d.Together.Max, d.Together.DueSpreadS)

	d.IncidentsOpenDuringSpreading = d.N + 2*probe
	var mu sync.Mutex
	dues := map[string]time.Time{}
	ids, el, err = openPaced(ctx, d.Spread, func(i int) (string, error) {
		key := fmt.Sprintf("spread-%s-%05d", s.run, i)
		id := workflows.IncidentID(key)
		if err := openIncident(ctx, s, key, serviceName(spreadIdx)); err != nil {
			return id, err
		}
		// Its due time exists once step 1 was paged.
		go func() {
			rec.waitPaged(ctx, []string{id}, 1, tm.spreadDelay)
			at := incidentDue(ctx, s, id)
			mu.Lock()
			dues[id] = at
			mu.Unlock()
		}()
		return id, nil
	})
	if err != nil {
		return err
	}
	d.SpreadInc.Opened, d.SpreadInc.OpenS = len(ids), el.Seconds()
	rec.waitPaged(ctx, ids, 2, tm.spreadDelay+5*time.Minute)
	time.Sleep(time.Second) // the last reads of due times
	mu.Lock()
	due = make([]time.Time, len(ids))
	for i, id := range ids {
		due[i] = dues[id]
	}
	mu.Unlock()
	d.SpreadInc = lateness(ctx, rec, ids, due, d.SpreadInc, time.Minute)
	logf("timers incidents spread: lateness p50 %.1f p99 %.1f max %.1f ms", d.SpreadInc.P50, d.SpreadInc.P99, d.SpreadInc.Max)
	return nil
}

// incidentDue is the incident's step-2 due time (next_page_at), read
// with the state query; zero when it cannot be read or already moved on
// to the day-later step.
func incidentDue(ctx context.Context, s *stack, id string) time.Time {
	qctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	st, err := s.inc.Get(qctx, id)
	if err != nil || st.Escalation.NextPageAt == nil || time.Until(*st.Escalation.NextPageAt) > time.Hour {
		return time.Time{}
	}
	return *st.Escalation.NextPageAt
}

// leadFor is how far ahead the common moment is set: time to open n at
// the probe's rate with room to spare, to see every step-1 page and read
// every due time.
func (tm timing) leadFor(n int, perS float64) time.Duration {
	open := time.Duration(float64(n) / perS * float64(time.Second))
	// Opening slows as more are open (1.3x the probe's estimate was too
	// little once the probe itself got fast: 2,000 took 62 s where the
	// probe said 28 s, and most fired before their due time was read).
	lead := open*5/2 + time.Duration(n)*4*time.Millisecond + 5*time.Second
	return min(max(lead, tm.minDelay+2*time.Second), timerMaxLead)
}

// lateness waits for each id's step-2 page and sets the lateness figures.
func lateness(ctx context.Context, rec *pageRecorder, ids []string, due []time.Time, p timerPhase, wait time.Duration) timerPhase {
	rec.waitPaged(ctx, ids, 2, wait)
	var late []time.Duration
	var dues []time.Time
	for i, id := range ids {
		at, ok := rec.at(id, 2)
		switch {
		case !ok:
			p.Unpaged++
		case due[i].IsZero():
			p.NoDue++
		default:
			late = append(late, at.Sub(due[i]))
			dues = append(dues, due[i])
		}
	}
	p.Measured = len(late)
	if len(late) == 0 {
		return p
	}
	slices.Sort(late)
	slices.SortFunc(dues, func(a, b time.Time) int { return a.Compare(b) })
	lo, hi := dues[int(float64(len(dues)-1)*0.01)], dues[int(float64(len(dues)-1)*0.99)]
	p.DueSpreadS = hi.Sub(lo).Seconds()
	p.P50, p.P99, p.Max = pct(late, 50), pct(late, 99), ms(late[len(late)-1])
	return p
}

// openIncidents opens n incidents through the intake's alert path
// (starter.Incidents.Alert: what the HTTP handlers call) from creators
// goroutines, each waiting for its incident's first page before opening
// the next: open loop, the worker would fall behind and an incident's
// first task (which its escalation delays count from) would come seconds
// after it was sent. service picks each one's policy as it is sent.
func openIncidents(ctx context.Context, s *stack, rec *pageRecorder, prefix string, n int, service func(now time.Time) int) ([]string, time.Duration, error) {
	ids := make([]string, n)
	var mu sync.Mutex
	var firstErr error
	start := time.Now()
	fanOut(creators, n, func(i int) {
		key := fmt.Sprintf("%s-%05d", prefix, i)
		ids[i] = workflows.IncidentID(key)
		err := openIncident(ctx, s, key, serviceName(service(time.Now())))
		if err == nil {
			rec.waitPaged(ctx, ids[i:i+1], 1, time.Minute)
		}
		if err != nil {
			mu.Lock()
			if firstErr == nil {
				firstErr = err
			}
			mu.Unlock()
		}
	})
	return ids, time.Since(start), firstErr
}

// openIncident sends a key's alert, once more if the first try timed out
// (a loaded machine): a second alert for the key joins the same incident.
func openIncident(ctx context.Context, s *stack, key, service string) error {
	var err error
	for try := 0; try < 2; try++ {
		actx, cancel := context.WithTimeout(ctx, 60*time.Second)
		_, err = s.inc.Alert(actx, starter.AlertEvent{Key: key, Title: "bench " + key, Service: service, Severity: "P1", Source: "scripts",
			Alert: workflows.AlertSignal{Fingerprint: key, Status: incident.AlertFiring, Summary: "bench " + key, Source: "scripts"}})
		cancel()
		if err == nil || ctx.Err() != nil {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("open incident %s: %w", key, err)
	}
	return nil
}

// openFloors starts n floor workflows as openIncidents opens incidents,
// each creator waiting for the workflow's first page; fireAt gives each
// its due time at the moment it is sent (zero: none).
func openFloors(ctx context.Context, s *stack, rec *pageRecorder, prefix string, n int, fireAt func(now time.Time) time.Time) ([]string, time.Duration, error) {
	ids := make([]string, n)
	var mu sync.Mutex
	var firstErr error
	start := time.Now()
	fanOut(creators, n, func(i int) {
		id := fmt.Sprintf("%s-%05d", prefix, i)
		ids[i] = id
		at := fireAt(time.Now())
		if !at.IsZero() {
			floorDues.Store(id, at)
		}
		err := s.startFloor(ctx, id, floorInput{FireAt: at})
		if err == nil {
			rec.waitPaged(ctx, ids[i:i+1], 1, time.Minute)
		}
		if err != nil {
			mu.Lock()
			if firstErr == nil {
				firstErr = err
			}
			mu.Unlock()
		}
	})
	return ids, time.Since(start), firstErr
}

// openPaced calls open for 0..n-1 at spreadRate a second, each on its own
// goroutine at its scheduled time (open loop).
func openPaced(ctx context.Context, n int, open func(i int) (string, error)) ([]string, time.Duration, error) {
	ids := make([]string, n)
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	start := time.Now()
	interval := time.Second / spreadRate
	for i := 0; i < n && ctx.Err() == nil; i++ {
		time.Sleep(time.Until(start.Add(time.Duration(i) * interval)))
		wg.Add(1)
		go func() {
			defer wg.Done()
			id, err := open(i)
			mu.Lock()
			defer mu.Unlock()
			ids[i] = id
			if err != nil && firstErr == nil {
				firstErr = err
			}
		}()
	}
	wg.Wait()
	return ids, time.Since(start), firstErr
}
