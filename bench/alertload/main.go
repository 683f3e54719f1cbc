// Command alertload measures, in one process on the embedded Temporal
// server: the latency from an Alertmanager POST to the first page, and how
// many duplicate alerts per second the intake absorbs with none lost.
//
//	go run ./bench/alertload -incidents 100 -rate 5 -dup-incidents 10 -dups 50 -concurrency 8
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/incidentflow/incidentflow/activities"
	"github.com/incidentflow/incidentflow/bench/inprocess"
	"github.com/incidentflow/incidentflow/config"
	"github.com/incidentflow/incidentflow/starter"
	"github.com/incidentflow/incidentflow/workflows"
)

const benchConfig = `
integrations: [{name: prom, kind: alertmanager, service: checkout}]
timings: {ack_timeout: 1h}
services: {checkout: {escalation_policy: p}}
escalation_policies: {p: {steps: [{delay: 0s, targets: [user:alice]}, {delay: 1h, targets: [user:bob]}]}}
users: {alice: {}, bob: {}}
`

// pageRecorder is a notifier that notes when each incident was first paged.
type pageRecorder struct {
	mu    sync.Mutex
	pages map[string][]time.Time
	ch    chan string
}

func (p *pageRecorder) Name() string { return "bench" }
func (p *pageRecorder) NotifyUser(_ context.Context, _ string, _ config.User, m activities.Message) (bool, error) {
	p.mu.Lock()
	p.pages[m.IncidentID] = append(p.pages[m.IncidentID], time.Now())
	p.mu.Unlock()
	p.ch <- m.IncidentID
	return true, nil
}
func (p *pageRecorder) NotifyChannel(context.Context, string, activities.Message) (bool, error) {
	return true, nil
}

func main() {
	incidents := flag.Int("incidents", 100, "distinct incidents for the latency run")
	rate := flag.Float64("rate", 5, "new incidents per second in the latency run")
	dupIncidents := flag.Int("dup-incidents", 10, "incidents in the dedup run")
	dups := flag.Int("dups", 50, "alerts per incident in the dedup run")
	concurrency := flag.Int("concurrency", 8, "concurrent senders in the dedup run")
	flag.Parse()
	if err := run(*incidents, *rate, *dupIncidents, *dups, *concurrency); err != nil {
		fmt.Fprintln(os.Stderr, "alertload:", err)
		os.Exit(1)
	}
}

func run(incidents int, rate float64, dupIncidents, dups, concurrency int) error {
	ctx := context.Background()
	rec := &pageRecorder{pages: map[string][]time.Time{}, ch: make(chan string, 100000)}
	stack, err := inprocess.Start(ctx, benchConfig, rec)
	if err != nil {
		return err
	}
	defer stack.Stop()
	api := httptest.NewServer(starter.NewServer(stack.Incidents, stack.Logger, os.Getenv).Handler())
	defer api.Close()
	httpc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: concurrency * 2}}

	fmt.Printf("machine: %d CPUs, %s/%s, %s\n", runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, runtime.Version())

	// Latency: one new incident every 1/rate seconds, POST to first page.
	sent := map[string]time.Time{}
	var lat []time.Duration
	interval := time.Duration(float64(time.Second) / rate)
	for i := 0; i < incidents; i++ {
		key := fmt.Sprintf("latency-%d-%d", time.Now().UnixNano(), i)
		t0 := time.Now()
		if code, err := post(httpc, api.URL, key); err != nil || code != http.StatusAccepted {
			return fmt.Errorf("POST %s: %d %v", key, code, err)
		}
		sent[workflows.IncidentID(key)] = t0
		time.Sleep(time.Until(t0.Add(interval)))
	}
	deadline := time.After(60 * time.Second)
	for len(lat) < incidents {
		select {
		case id := <-rec.ch:
			if t0, ok := sent[id]; ok {
				lat = append(lat, rec.first(id).Sub(t0))
			}
		case <-deadline:
			return fmt.Errorf("only %d of %d incidents paged within 60s", len(lat), incidents)
		}
	}
	slices.Sort(lat)
	fmt.Printf("alert POST -> first page, %d incidents at %.0f/s: p50 %s  p95 %s  p99 %s  max %s\n",
		incidents, rate, pct(lat, 50), pct(lat, 95), pct(lat, 99), lat[len(lat)-1])

	// Dedup: many senders, few keys; every POST must be counted, one page each.
	keys := make([]string, dupIncidents)
	for i := range keys {
		keys[i] = fmt.Sprintf("dedup-%d-%d", time.Now().UnixNano(), i)
	}
	total := dupIncidents * dups
	var next, failed atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for g := 0; g < concurrency; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				n := int(next.Add(1)) - 1
				if n >= total {
					return
				}
				if code, err := post(httpc, api.URL, keys[n%dupIncidents]); err != nil || code != http.StatusAccepted {
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	inc := stack.Incidents
	lost := 0
	for _, k := range keys {
		var st *workflows.Incident
		for wait := time.Now(); time.Since(wait) < 30*time.Second; time.Sleep(100 * time.Millisecond) {
			if st, err = inc.Get(ctx, workflows.IncidentID(k)); err == nil && st.AlertCount == dups {
				break
			}
		}
		if st == nil || st.AlertCount != dups {
			lost++
		}
		if n := len(rec.pagesOf(workflows.IncidentID(k))); n != 1 {
			return fmt.Errorf("incident %s paged %d times", k, n)
		}
	}
	fmt.Printf("dedup: %d alerts into %d incidents by %d senders in %s = %.0f alerts/s accepted; non-2xx %d; incidents with a lost alert %d; pages per incident 1\n",
		total, dupIncidents, concurrency, elapsed.Round(time.Millisecond), float64(total)/elapsed.Seconds(), failed.Load(), lost)
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Printf("process heap in use after run (server + worker + intake): %d MiB\n", ms.HeapInuse>>20)
	return nil
}

func (p *pageRecorder) first(id string) time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.pages[id][0]
}

func (p *pageRecorder) pagesOf(id string) []time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.pages[id]
}

func post(c *http.Client, base, key string) (int, error) {
	body, _ := json.Marshal(map[string]any{
		"version": "4", "groupKey": key, "status": "firing",
		"commonLabels": map[string]string{"alertname": "Bench", "severity": "critical"},
		"alerts":       []map[string]any{{"status": "firing", "fingerprint": "fp", "labels": map[string]string{"alertname": "Bench"}}},
	})
	resp, err := c.Post(base+"/v1/alerts/alertmanager", "application/json", bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

func pct(sorted []time.Duration, p int) time.Duration {
	i := (len(sorted)*p + 99) / 100
	if i > 0 {
		i--
	}
	return sorted[i].Round(100 * time.Microsecond)
}
