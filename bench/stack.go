package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/incidentflow/incidentflow/activities"
	"github.com/incidentflow/incidentflow/config"
	"github.com/incidentflow/incidentflow/devserver"
	"github.com/incidentflow/incidentflow/starter"
	"github.com/incidentflow/incidentflow/worker"
	"github.com/incidentflow/incidentflow/workflows"
)

// stack is the whole system in this process: a Temporal server (embedded,
// unless -temporal names one), the incident worker wired as production
// wires it, the real HTTP intake on a loopback port, and beside them the
// floor's worker on its own task queue of the same server.
type stack struct {
	cfg   *config.Config
	c     client.Client
	inc   *starter.Incidents
	api   *httptest.Server
	httpc *http.Client
	// run is unique per stack, so keys and IDs never meet an earlier
	// scenario's on a shared server.
	run        string
	floorQueue string

	srv    *devserver.Server
	w      sdkworker.Worker
	fw     sdkworker.Worker
	logger *slog.Logger
}

type stackOptions struct {
	configYAML string
	notifier   activities.Notifier
	// slack, when set, is also the Activities' Slack (incident channels).
	slack    *activities.Slack
	floor    *floorActivities
	temporal string // host:port of an existing server; "" starts one
}

var runSeq struct {
	sync.Mutex
	n int
}

func startStack(ctx context.Context, o stackOptions) (*stack, error) {
	cfg, err := config.Parse([]byte(o.configYAML))
	if err != nil {
		return nil, fmt.Errorf("bench config: %w", err)
	}
	runSeq.Lock()
	runSeq.n++
	run := fmt.Sprintf("%x%d", time.Now().UnixNano()&0xffffff, runSeq.n)
	runSeq.Unlock()
	cfg.Temporal.TaskQueue = "bench-" + run
	quiet := slog.New(slog.DiscardHandler)
	s := &stack{cfg: cfg, run: run, floorQueue: "bench-floor-" + run, logger: quiet}
	addr := o.temporal
	if addr == "" {
		s.srv, err = devserver.Start(ctx, devserver.Options{SearchAttributes: workflows.SearchAttributeNames(), Logger: quiet, LogLevel: slog.LevelError})
		if err != nil {
			return nil, fmt.Errorf("start embedded temporal: %w", err)
		}
		addr = s.srv.FrontendAddress()
	}
	s.c, err = client.Dial(client.Options{HostPort: addr, Logger: sdklog.NewStructuredLogger(quiet)})
	if err != nil {
		s.stop()
		return nil, fmt.Errorf("dial temporal at %s: %w", addr, err)
	}
	starter.KnownNames(cfg)
	acts := &activities.Activities{Config: cfg, Notifiers: []activities.Notifier{o.notifier}, Slack: o.slack, Logger: quiet}
	s.w = worker.New(s.c, cfg.Temporal.TaskQueue, acts)
	if err := s.w.Start(); err != nil {
		s.w = nil
		s.stop()
		return nil, fmt.Errorf("start incident worker: %w", err)
	}
	// The floor's worker gets the incident worker's options (worker.New's),
	// so a ratio measures the workflows, not the pollers.
	s.fw = sdkworker.New(s.c, s.floorQueue, sdkworker.Options{
		MaxConcurrentWorkflowTaskPollers: 4,
		MaxConcurrentActivityTaskPollers: 4,
		StickyScheduleToStartTimeout:     2 * time.Second,
	})
	s.fw.RegisterWorkflowWithOptions(floorWorkflow, workflow.RegisterOptions{Name: floorWorkflowName})
	s.fw.RegisterWorkflowWithOptions(historyFloorWorkflow, workflow.RegisterOptions{Name: historyFloorWorkflowName})
	fa := o.floor
	if fa == nil {
		fa = &floorActivities{}
	}
	s.fw.RegisterActivityWithOptions(fa.Page, activityOptions(floorPageName))
	s.fw.RegisterActivityWithOptions(fa.Post, activityOptions(historyFloorPostName))
	if err := s.fw.Start(); err != nil {
		s.fw = nil
		s.stop()
		return nil, fmt.Errorf("start floor worker: %w", err)
	}
	s.inc = &starter.Incidents{Client: s.c, Config: cfg, TaskQueue: cfg.Temporal.TaskQueue}
	s.api = httptest.NewServer(starter.NewServer(s.inc, quiet, func(string) string { return "" }).Handler())
	s.httpc = &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
	return s, nil
}

func (s *stack) stop() {
	if s.api != nil {
		s.api.Close()
	}
	if s.fw != nil {
		s.fw.Stop()
	}
	if s.w != nil {
		s.w.Stop()
	}
	if s.c != nil {
		s.c.Close()
	}
	if s.srv != nil {
		s.srv.Stop()
	}
}

// pageKey names one page: an incident (or floor workflow) and its step.
type pageKey struct {
	id   string
	step int
}

// pageRecorder is where pages land when the receiver is this process
// rather than an HTTP server: the incident worker's notifier and the
// floor's activity both note the first arrival of each (id, step).
type pageRecorder struct {
	mu    sync.Mutex
	first map[pageKey]time.Time
	count int
}

func newPageRecorder() *pageRecorder { return &pageRecorder{first: map[pageKey]time.Time{}} }

func (p *pageRecorder) note(id string, step int, at time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	k := pageKey{id, step}
	if _, ok := p.first[k]; !ok {
		p.first[k] = at
		p.count++
	}
}

func (p *pageRecorder) at(id string, step int) (time.Time, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	t, ok := p.first[pageKey{id, step}]
	return t, ok
}

// pagesOf counts the ids (of those given) paged at step.
func (p *pageRecorder) pagesOf(ids []string, step int) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, id := range ids {
		if _, ok := p.first[pageKey{id, step}]; ok {
			n++
		}
	}
	return n
}

// stepInKey reads round and step from a page's idempotency key
// ("<id>/g<gen>/r<round>/s<step>[/tag]").
var stepInKey = regexp.MustCompile(`/r(\d+)/s(\d+)`)

func (p *pageRecorder) Name() string { return "bench" }

func (p *pageRecorder) NotifyUser(_ context.Context, _ string, _ config.User, m activities.Message) (bool, error) {
	now := time.Now()
	step := 0
	if g := stepInKey.FindStringSubmatch(m.IdempotencyKey); g != nil {
		round, _ := strconv.Atoi(g[1])
		step, _ = strconv.Atoi(g[2])
		if round > 1 {
			step += 100 * (round - 1)
		}
	}
	p.note(m.IncidentID, step, now)
	return true, nil
}

func (p *pageRecorder) NotifyChannel(context.Context, string, activities.Message) (bool, error) {
	return true, nil
}

// waitPaged waits until every id has its page at step, or timeout; it
// answers how many have.
func (p *pageRecorder) waitPaged(ctx context.Context, ids []string, step int, timeout time.Duration) int {
	deadline := time.Now().Add(timeout)
	for {
		n := p.pagesOf(ids, step)
		if n == len(ids) || time.Now().After(deadline) || ctx.Err() != nil {
			return n
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// discardNotifier takes pages and does nothing (the history scenario).
type discardNotifier struct{}

func (discardNotifier) Name() string { return "discard" }
func (discardNotifier) NotifyUser(context.Context, string, config.User, activities.Message) (bool, error) {
	return true, nil
}
func (discardNotifier) NotifyChannel(context.Context, string, activities.Message) (bool, error) {
	return true, nil
}

// userKeys are the generated users' names: u000, u001, ...
func userName(i int) string { return fmt.Sprintf("u%03d", i) }

// configYAML builds a bench config: one alertmanager and one generic
// integration on service s000, and one service per policy, each policy
// paging its own user at once and then after each of the delays given;
// services[i] pages userName(i). Each person has their own DM, so
// Slack's per-channel pacing never folds two incidents into one message.
func configYAML(policies [][]time.Duration, slackIDs bool) string {
	var b strings.Builder
	b.WriteString(`integrations:
  - {name: prom, kind: alertmanager, service: s000}
  - {name: scripts, kind: generic, service: s000}
http: {max_body_bytes: 33554432, public_reads: true}
timings: {ack_timeout: 24h, resolve_stable_for: 1s}
services:
`)
	for i := range policies {
		fmt.Fprintf(&b, "  s%03d: {escalation_policy: p%03d}\n", i, i)
	}
	b.WriteString("escalation_policies:\n")
	for i, delays := range policies {
		fmt.Fprintf(&b, "  p%03d:\n    repeat: 0\n    steps:\n      - {delay: 0s, targets: [user:%s]}\n", i, userName(i))
		for _, d := range delays {
			fmt.Fprintf(&b, "      - {delay: %s, targets: [user:%s]}\n", d, userName(i))
		}
	}
	b.WriteString("users:\n")
	for i := range policies {
		if slackIDs {
			fmt.Fprintf(&b, "  %s: {slack_id: U%s}\n", userName(i), strings.ToUpper(userName(i)))
		} else {
			fmt.Fprintf(&b, "  %s: {}\n", userName(i))
		}
	}
	return b.String()
}

// serviceName is the service generated for policy i.
func serviceName(i int) string { return fmt.Sprintf("s%03d", i) }
