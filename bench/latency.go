package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"github.com/incidentflow/incidentflow/activities"
	"github.com/incidentflow/incidentflow/internal/fakeslack"
	"github.com/incidentflow/incidentflow/workflows"
)

const benchSlackToken = "xoxb-bench"

// latencyUsers is how many people (services, DMs) the latency incidents
// are spread over: at 20/s each DM gets a page every 3.2 s, more than
// Slack's one post a second per channel, so no page waits for pacing or
// is folded into another's digest.
const latencyUsers = 64

type latencyDetail struct {
	Rate      float64 `json:"rate_per_s"`
	Incidents int     `json:"incidents"`
	P50       float64 `json:"p50_ms"`
	P95       float64 `json:"p95_ms"`
	P99       float64 `json:"p99_ms"`
	Max       float64 `json:"max_ms"`
	// OpenP50: alert POST -> the page's first Slack request
	// (conversations.open), p50.
	OpenP50   float64 `json:"open_p50_ms"`
	FloorP50  float64 `json:"floor_p50_ms"`
	FloorP95  float64 `json:"floor_p95_ms"`
	FloorP99  float64 `json:"floor_p99_ms"`
	FloorMax  float64 `json:"floor_max_ms"`
	Unpaged   int     `json:"unpaged"`
	FloorLost int     `json:"floor_unpaged"`
	// SlackCalls counts the calls Slack received by method (cumulative).
	SlackCalls map[string]int `json:"slack_calls"`
}

// runLatency: alert POST (Alertmanager webhook over real HTTP to the
// intake) -> the page's chat.postMessage arriving at a Slack-speaking
// server, through the real slack-go client; beside it the floor:
// SignalWithStart -> an activity POSTing chat.postMessage to the same
// server. Open loop: each send leaves at its scheduled time.
func runLatency(ctx context.Context, o *options) ([]figure, any, error) {
	fake := fakeslack.New(benchSlackToken)
	defer fake.Close()
	sc := slack.New(benchSlackToken, slack.OptionAPIURL(fake.APIURL()))
	slackActs := &activities.Slack{Client: sc}
	policies := make([][]time.Duration, latencyUsers)
	for i := range policies {
		policies[i] = []time.Duration{time.Hour}
	}
	httpc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	s, err := startStack(ctx, stackOptions{configYAML: configYAML(policies, true), notifier: slackActs, slack: slackActs,
		floor: &floorActivities{httpc: httpc}, temporal: o.temporal})
	if err != nil {
		return nil, nil, err
	}
	defer s.stop()

	var figs []figure
	var details []latencyDetail
	for _, step := range []struct {
		rate float64
		n    int
	}{{5, o.scaled(o.latencyAt5)}, {20, o.scaled(o.latencyAt20)}} {
		d, err := latencyAt(ctx, s, fake, step.rate, step.n, o.latencyTrace)
		if err != nil {
			return nil, nil, err
		}
		details = append(details, d)
		at := fmt.Sprintf(" at %.0f/s", step.rate)
		figs = append(figs,
			fig("latency", "alert POST -> page p50"+at, "ms", d.P50).withFloor(d.FloorP50).goal("ratio <= 1.0", ratioAtMost(1.0)),
			fig("latency", "alert POST -> page p95"+at, "ms", d.P95).withFloor(d.FloorP95),
			fig("latency", "alert POST -> page p99"+at, "ms", d.P99).withFloor(d.FloorP99),
			fig("latency", "alert POST -> first Slack request p50"+at, "ms", d.OpenP50).withFloor(d.FloorP50).
				note("conversations.open, before the retry-safety conversations.history and the post; floor: its one post"),
		)
		if d.Unpaged > 0 || d.FloorLost > 0 {
			figs[len(figs)-4] = figs[len(figs)-4].note(fmt.Sprintf("%d incidents and %d floor workflows not paged within the wait", d.Unpaged, d.FloorLost))
		}
	}
	return figs, details, nil
}

func latencyAt(ctx context.Context, s *stack, fake *fakeslack.Server, rate float64, n int, trace bool) (latencyDetail, error) {
	d := latencyDetail{Rate: rate, Incidents: n}
	interval := time.Duration(float64(time.Second) / rate)

	// incidentflow: one new incident per interval, each on the next person.
	ids := make([]string, n)
	sent := make([]time.Time, n)
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	start := time.Now()
	for i := 0; i < n; i++ {
		time.Sleep(time.Until(start.Add(time.Duration(i) * interval)))
		key := fmt.Sprintf("latency-%s-%.0f-%04d", s.run, rate, i)
		ids[i] = workflows.IncidentID(key)
		body := alertmanagerBody(key, serviceName(i%latencyUsers), 1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			t0 := time.Now()
			code, err := postJSON(s.httpc, s.api.URL+"/v1/alerts/alertmanager", body)
			mu.Lock()
			defer mu.Unlock()
			sent[i] = t0
			if (err != nil || code/100 != 2) && firstErr == nil {
				firstErr = fmt.Errorf("POST %s: %d %v", key, code, err)
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return d, firstErr
	}
	logf("latency %.0f/s: %d alerts sent in %s; waiting for the pages", rate, n, time.Since(start).Round(time.Millisecond))
	lat, unpaged := waitSlackPages(fake, ids, sent, func(id string) string { return id }, 60*time.Second)
	d.Unpaged = unpaged
	// Where the time goes: the page's first Slack request (opening the DM)
	// against its post. Incident i pages user i%latencyUsers, whose next
	// conversations.open after the alert is this page's.
	var opened []time.Duration
	opens := fake.Calls("conversations.open")
	for i := range ids {
		want := "U" + strings.ToUpper(userName(i%latencyUsers))
		for _, c := range opens {
			if c.Form.Get("users") == want && !c.At.Before(sent[i]) {
				opened = append(opened, c.At.Sub(sent[i]))
				break
			}
		}
	}
	slices.Sort(opened)
	d.OpenP50 = pct(opened, 50)
	d.SlackCalls = map[string]int{}
	for _, c := range fake.Calls("") {
		d.SlackCalls[c.Method]++
	}
	logf("latency %.0f/s: Slack calls so far %v", rate, d.SlackCalls)
	if trace {
		traceOne(ctx, s, fake, ids[len(ids)/2], sent[len(ids)/2])
	}

	// The floor: the same schedule, SignalWithStart straight to Temporal.
	fids := make([]string, n)
	fsent := make([]time.Time, n)
	start = time.Now()
	for i := 0; i < n; i++ {
		time.Sleep(time.Until(start.Add(time.Duration(i) * interval)))
		id := fmt.Sprintf("floor-latency-%s-%.0f-%04d", s.run, rate, i)
		fids[i] = id
		wg.Add(1)
		go func() {
			defer wg.Done()
			t0 := time.Now()
			err := s.startFloor(ctx, id, floorInput{URL: fake.APIURL() + "chat.postMessage", Token: benchSlackToken, Channel: "DF" + id})
			mu.Lock()
			defer mu.Unlock()
			fsent[i] = t0
			if err != nil && firstErr == nil {
				firstErr = err
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return d, firstErr
	}
	flat, funpaged := waitSlackPages(fake, fids, fsent, func(id string) string { return "page " + id + " step 1" }, 60*time.Second)
	d.FloorLost = funpaged
	s.stopFloors(ctx, fids)

	if len(lat) == 0 || len(flat) == 0 {
		return d, fmt.Errorf("at %.0f/s: %d incidents and %d floor workflows paged, of %d", rate, len(lat), len(flat), n)
	}
	d.P50, d.P95, d.P99, d.Max = pct(lat, 50), pct(lat, 95), pct(lat, 99), ms(lat[len(lat)-1])
	d.FloorP50, d.FloorP95, d.FloorP99, d.FloorMax = pct(flat, 50), pct(flat, 95), pct(flat, 99), ms(flat[len(flat)-1])
	logf("latency %.0f/s: incident p50 %.1f p95 %.1f p99 %.1f max %.1f ms; floor p50 %.1f p95 %.1f p99 %.1f max %.1f ms",
		rate, d.P50, d.P95, d.P99, d.Max, d.FloorP50, d.FloorP95, d.FloorP99, d.FloorMax)
	return d, nil
}

// waitSlackPages waits until a DM post naming each id arrived (or the
// timeout) and answers the sorted delays from each send, and how many
// never arrived.
func waitSlackPages(fake *fakeslack.Server, ids []string, sent []time.Time, needle func(id string) string, timeout time.Duration) ([]time.Duration, int) {
	deadline := time.Now().Add(timeout)
	for {
		got := map[string]time.Time{}
		for _, c := range fake.Messages("") {
			if !strings.HasPrefix(c.Form.Get("channel"), "D") {
				continue
			}
			text := c.Form.Get("text")
			for _, id := range ids {
				if _, seen := got[id]; !seen && strings.Contains(text, needle(id)) {
					got[id] = c.At
				}
			}
		}
		if len(got) == len(ids) || time.Now().After(deadline) {
			var lat []time.Duration
			for i, id := range ids {
				if at, ok := got[id]; ok {
					lat = append(lat, at.Sub(sent[i]))
				}
			}
			slices.Sort(lat)
			return lat, len(ids) - len(lat)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// alertmanagerBody is a firing webhook for groupKey with alerts alerts,
// routed to service by its label.
func alertmanagerBody(groupKey, service string, alerts int) []byte {
	as := make([]map[string]any, alerts)
	for i := range as {
		as[i] = map[string]any{"status": "firing", "fingerprint": fmt.Sprintf("fp-%05d", i),
			"labels":      map[string]string{"alertname": "Bench", "instance": fmt.Sprintf("db-%d", i)},
			"annotations": map[string]string{"summary": fmt.Sprintf("bench alert %d", i)}}
	}
	b, _ := json.Marshal(map[string]any{
		"version": "4", "groupKey": groupKey, "status": "firing", "receiver": "incidentflow",
		"commonLabels":      map[string]string{"alertname": "Bench", "severity": "critical", "service": service},
		"commonAnnotations": map[string]string{"summary": "bench " + groupKey},
		"alerts":            as,
	})
	return b
}

func postJSON(c *http.Client, url string, body []byte) (int, error) {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// traceOne (-latency-trace) prints where one incident's first page spent
// its time: each history event of the incident and of the children it
// started, and each Slack call, as milliseconds after the alert POST.
func traceOne(ctx context.Context, s *stack, fake *fakeslack.Server, id string, sent time.Time) {
	type line struct {
		at   time.Duration
		what string
	}
	var lines []line
	var dump func(wid string, depth int)
	dump = func(wid string, depth int) {
		it := s.c.GetWorkflowHistory(ctx, wid, "", false, 0)
		for it.HasNext() {
			e, err := it.Next()
			if err != nil {
				return
			}
			at := e.GetEventTime().AsTime().Sub(sent)
			if at > 2*time.Second {
				return
			}
			lines = append(lines, line{at, fmt.Sprintf("%s%s %s", strings.Repeat("  ", depth), wid, e.GetEventType())})
			if ci := e.GetStartChildWorkflowExecutionInitiatedEventAttributes(); ci != nil {
				dump(ci.GetWorkflowId(), depth+1)
			}
		}
	}
	dump(id, 0)
	for _, c := range fake.Calls("") {
		if at := c.At.Sub(sent); at >= 0 && at < 2*time.Second {
			lines = append(lines, line{at, "slack " + c.Method + " " + c.Form.Get("users") + c.Form.Get("channel")})
		}
	}
	slices.SortStableFunc(lines, func(a, b line) int { return int(a.at - b.at) })
	for _, l := range lines {
		fmt.Fprintf(progress, "  %8.1f ms  %s\n", float64(l.at)/float64(time.Millisecond), l.what)
	}
}
