package activities

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/slack-go/slack"
	"go.temporal.io/sdk/activity"

	"github.com/incidentflow/incidentflow/config"
	"github.com/incidentflow/incidentflow/incident"
)

// ActionRunbookPrefix starts the action ID of a runbook step's button on
// the card; the step's name follows.
const ActionRunbookPrefix = "incident_runbook:"

// RunbookButtonValue is a step button's value: the incident and the run a
// click asks for or approves.
func RunbookButtonValue(incidentID string, run int) string {
	return fmt.Sprintf("%s|%d", incidentID, run)
}

// RunbookSteps lists the steps a service's incidents offer, as the
// incident keeps them (a local activity, read once as the incident opens).
func (a *Activities) RunbookSteps(_ context.Context, req incident.RunbookStepsRequest) ([]incident.RunbookStep, error) {
	out := []incident.RunbookStep{}
	for _, name := range a.Config.RunbookStepsFor(req.Service) {
		if len(out) == incident.MaxRunbookSteps {
			break
		}
		s := a.Config.Runbooks[name]
		out = append(out, incident.RunbookStep{
			Name: name, Title: incident.Cut(strings.TrimSpace(s.Title), incident.MaxRunbookTitle), Method: s.CallMethod(),
			Target: incident.Cut(config.RunbookTarget(s.URL), incident.MaxRunbook), NeedsApproval: s.NeedsApproval,
			Allowed: slices.Clone(s.Allowed[:min(len(s.Allowed), incident.MaxRunbookAllowed)]), ExerciseOK: s.ExerciseOK,
			Timeout: incident.Duration(s.CallTimeout()),
		})
	}
	return out, nil
}

// runbookProgress is what an attempt heartbeats: whether its request may
// have gone out, and the answer once it came. A retry (the worker running
// the attempt died) returns a recorded answer, and never sends again a
// request that may have gone out.
type runbookProgress struct {
	Sent   bool                        `json:"sent"`
	Result *incident.RunbookCallResult `json:"result,omitempty"`
}

// RunRunbookStep makes one step's HTTP call for one run. Every outcome of
// the call is final: an answer, whatever its status, is the result (the
// workflow shows a non-2xx as failed), and a call that got no answer
// (refused, timed out) fails without retry, because the endpoint may have
// acted on it. Only an attempt lost before its request went out is tried
// again. The Idempotency-Key header lets the endpoint tell a repeat.
func (a *Activities) RunRunbookStep(ctx context.Context, req incident.RunbookCallRequest) (incident.RunbookCallResult, error) {
	step, ok := a.Config.Runbooks[req.Step]
	if !ok {
		return incident.RunbookCallResult{}, nonRetryable("UnknownStep", "runbook step %q is not in this worker's config (any more)", req.Step)
	}
	line := step.CallMethod() + " " + config.RunbookTarget(step.URL)
	p := &runbookProgress{}
	if activity.IsActivity(ctx) && activity.HasHeartbeatDetails(ctx) {
		if err := activity.GetHeartbeatDetails(ctx, p); err == nil {
			switch {
			case p.Result != nil:
				return *p.Result, nil
			case p.Sent:
				return incident.RunbookCallResult{}, nonRetryable("RunbookOutcomeUnknown",
					"%s: the worker making the call was lost after sending it; not sent again (Idempotency-Key %s): check the endpoint", line, req.IdempotencyKey)
			}
		}
	}
	hreq, secrets, err := runbookRequest(ctx, step, req)
	if err != nil {
		return incident.RunbookCallResult{}, err
	}
	report := p.keepReporting(ctx)
	defer report.stop()

	cctx, cancel := context.WithTimeout(ctx, step.CallTimeout())
	defer cancel()
	report.set(runbookProgress{Sent: true})
	start := time.Now()
	resp, err := runbookClient.Do(hreq.WithContext(cctx))
	if err != nil {
		return incident.RunbookCallResult{}, nonRetryable("RunbookCallFailed", "%s: %s", line, redact(callFailure(err, step.CallTimeout()), secrets))
	}
	defer resp.Body.Close()
	// The first lines are all the timeline keeps; a little more tells
	// whether there was more.
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 4*incident.MaxRunbookOutputBytes))
	res := incident.RunbookCallResult{Request: line, Status: resp.StatusCode, StatusText: resp.Status,
		Output: firstLines(redact(string(raw), secrets)), Duration: incident.Duration(time.Since(start).Round(time.Millisecond))}
	report.set(runbookProgress{Sent: true, Result: &res})
	a.logger().Info("runbook step called", "incident", req.IncidentID, "step", req.Step, "run", req.Run, "request", line, "status", resp.StatusCode)
	return res, nil
}

// runbookClient follows no redirect: a header from value_env must not be
// sent on to wherever a 3xx points, so a redirect is the answer.
var runbookClient = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// runbookRequest builds the call; it also answers the secrets it put in
// headers, which no output or error may show.
func runbookRequest(ctx context.Context, step config.RunbookStep, req incident.RunbookCallRequest) (*http.Request, []string, error) {
	body, err := step.RenderBody(config.RunbookData{ID: req.IncidentID, Key: req.Key, Service: req.Service, Severity: req.Severity, Title: req.Title})
	if err != nil {
		return nil, nil, nonRetryable("RunbookBody", "runbook step %s: %v", req.Step, err)
	}
	hreq, err := http.NewRequestWithContext(ctx, step.CallMethod(), step.URL, strings.NewReader(body))
	if err != nil {
		return nil, nil, nonRetryable("RunbookRequest", "runbook step %s: %s", req.Step, redact(err.Error(), []string{step.URL}))
	}
	var secrets []string
	names := make([]string, 0, len(step.Headers))
	for name := range step.Headers {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		h := step.Headers[name]
		v := h.Value
		if h.ValueEnv != "" {
			// Read here, at the call: the secret is in the worker's
			// environment and nowhere else, never in workflow history.
			v = os.Getenv(h.ValueEnv)
			if v == "" {
				return nil, nil, nonRetryable("RunbookSecretMissing", "runbook step %s: header %s: %s is not set in the worker's environment", req.Step, name, h.ValueEnv)
			}
			secrets = append(secrets, v)
		}
		hreq.Header.Set(name, v)
	}
	hreq.Header.Set("Idempotency-Key", req.IdempotencyKey)
	if req.Exercise {
		// A game day's step (exercise_ok): the endpoint may act differently.
		hreq.Header.Set("Incidentflow-Exercise", "true")
	}
	if body != "" && hreq.Header.Get("Content-Type") == "" {
		hreq.Header.Set("Content-Type", "application/json")
	}
	if hreq.Header.Get("User-Agent") == "" {
		hreq.Header.Set("User-Agent", "incidentflow-runbook")
	}
	return hreq, secrets, nil
}

// callFailure says why a call got no answer, without the URL (its query
// may hold a secret) that net/http puts in its errors.
func callFailure(err error, timeout time.Duration) string {
	var netErr net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded) || errors.As(err, &netErr) && netErr.Timeout():
		return fmt.Sprintf("no answer within %s (timeout)", timeout)
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, context.Canceled):
		return "cancelled"
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) {
		return opErr.Error()
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return dnsErr.Error()
	}
	return "the call failed before an answer"
}

// redact blanks every secret in s.
func redact(s string, secrets []string) string {
	for _, v := range secrets {
		if v != "" {
			s = strings.ReplaceAll(s, v, "[redacted]")
		}
	}
	return s
}

// firstLines is the start of an answer as the timeline shows it: at most
// MaxRunbookOutputLines lines within MaxRunbookOutputBytes, valid UTF-8,
// control characters dropped, and "…" when there was more.
func firstLines(raw string) string {
	s := strings.ToValidUTF8(strings.ReplaceAll(raw, "\r\n", "\n"), "?")
	s = strings.Map(func(r rune) rune {
		if r == '\n' || r == '\t' || r >= ' ' && r != 0x7f {
			return r
		}
		return -1
	}, s)
	s = strings.TrimSpace(s)
	lines := strings.Split(s, "\n")
	more := false
	if len(lines) > incident.MaxRunbookOutputLines {
		lines, more = lines[:incident.MaxRunbookOutputLines], true
	}
	out := strings.Join(lines, "\n")
	if len(out) > incident.MaxRunbookOutputBytes {
		keep := incident.MaxRunbookOutputBytes - len("…")
		for keep > 0 && !isRuneStart(out[keep]) {
			keep--
		}
		out, more = out[:keep], true
	}
	if more {
		out = strings.TrimRight(out, " \n\t") + "…"
	}
	return out
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

// reporter heartbeats an attempt's progress (and keeps it alive) until
// stopped; set records a step at once, so a worker dying right after it
// leaves it behind for the retry.
type reporter struct {
	ctx  context.Context
	mu   sync.Mutex
	p    runbookProgress
	done chan struct{}
	once sync.Once
}

func (p *runbookProgress) keepReporting(ctx context.Context) *reporter {
	r := &reporter{ctx: ctx, p: *p, done: make(chan struct{})}
	if !activity.IsActivity(ctx) {
		return r
	}
	go func() {
		t := time.NewTicker(HeartbeatTimeout / 5)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				r.mu.Lock()
				activity.RecordHeartbeat(ctx, r.p)
				r.mu.Unlock()
			case <-r.done:
				return
			case <-ctx.Done():
				return
			}
		}
	}()
	return r
}

func (r *reporter) set(p runbookProgress) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.p = p
	if activity.IsActivity(r.ctx) {
		activity.RecordHeartbeat(r.ctx, p)
	}
}

func (r *reporter) stop() { r.once.Do(func() { close(r.done) }) }

// runbookButtons offers the incident's runbook steps, one button each: a
// step awaiting approval reads "Approve", and its click approves that run.
func runbookButtons(incidentID string, steps []incident.RunbookButton) *slack.ActionBlock {
	var elems []slack.BlockElement
	for _, s := range steps[:min(len(steps), incident.MaxRunbookSteps)] {
		label := "Run: " + s.Title
		switch {
		case s.Running:
			label = "Running: " + s.Title
		case s.RequestedBy != "":
			label = fmt.Sprintf("Approve: %s (asked by %s)", s.Title, s.RequestedBy)
		}
		b := slack.NewButtonBlockElement(ActionRunbookPrefix+s.Step, RunbookButtonValue(incidentID, s.Run),
			slack.NewTextBlockObject(slack.PlainTextType, truncate(label, incident.MaxRunbookTitle), false, false))
		if s.RequestedBy != "" && !s.Running {
			b.Style = slack.StylePrimary
		}
		elems = append(elems, b)
	}
	return slack.NewActionBlock("incident_runbook", elems...)
}
