package workflows

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/incidentflow/incidentflow/activities"
	"github.com/incidentflow/incidentflow/config"
	"github.com/incidentflow/incidentflow/incident"
)

// Runbook automation: the steps the config defines for the incident's
// service are read once as it opens (runbook-steps-v1) and offered on its
// card, over HTTP and the CLI. A step runs, as one activity, only when a
// person it allows asks; one that needs approval runs when a second
// allowed person, not the one who asked, asks too. Each run is recorded
// before its activity is scheduled, and a request names the run it is
// about, so one click never runs a step twice.
const runbookChange = "runbook-steps-v1"

const (
	SignalRunbookStep = "runbook-step"
	UpdateRunbookStep = SignalRunbookStep
	QueryRunbook      = "runbook"
)

// Timeline kinds of runbook steps.
const (
	KindRunbook       Kind = "runbook"
	KindRunbookFailed Kind = "runbook_failed"
)

// What a run is doing, or did.
const (
	RunAwaitingApproval = "awaiting_approval"
	RunRunning          = "running"
	RunSucceeded        = "succeeded"
	RunFailed           = "failed"
	// RunWouldHaveRun: a shadow incident's run, which sends nothing.
	RunWouldHaveRun = "would_have_run"
)

// runbookSlack is how long past its own timeout a step's activity may take
// from being scheduled: a call that could not even start by then would
// act on an incident that has moved on, so it is failed instead.
const runbookSlack = 2 * time.Minute

// RunbookRequest asks to run a step, or approves the request awaiting
// approval. Run, when set, is the run of the step it is about (from 1):
// the next one, or the one awaiting approval; a repeated click then finds
// its run taken, and is refused, rather than asking for another.
type RunbookRequest struct {
	By   string `json:"by"`
	Step string `json:"step"`
	Run  int    `json:"run,omitempty"`
}

// RunbookRun is one run of a step, from its request to its outcome.
type RunbookRun struct {
	Step string `json:"step"`
	// Run counts the step's runs on this incident, from 1.
	Run         int        `json:"run"`
	Status      string     `json:"status"`
	RequestedBy string     `json:"requested_by"`
	RequestedAt time.Time  `json:"requested_at"`
	ApprovedBy  string     `json:"approved_by,omitempty"`
	ApprovedAt  *time.Time `json:"approved_at,omitempty"`
	StartedAt   *time.Time `json:"started_at,omitempty"`
	FinishedAt  *time.Time `json:"finished_at,omitempty"`
	// Request is "METHOD URL", the URL without its query.
	Request        string `json:"request"`
	IdempotencyKey string `json:"idempotency_key,omitempty"`
	HTTPStatus     int    `json:"http_status,omitempty"`
	Output         string `json:"output,omitempty"`
	// Error says why a failed run failed.
	Error string `json:"error,omitempty"`
}

func (r RunbookRun) open() bool { return r.Status == RunAwaitingApproval || r.Status == RunRunning }

// runbookAutomation is what the incident keeps: its steps, read when it
// opened, and every run (at most incident.MaxRunbookRuns).
type runbookAutomation struct {
	Steps []incident.RunbookStep `json:"steps"`
	Runs  []RunbookRun           `json:"runs,omitempty"`
}

// Runbook answers the runbook query: the steps the incident offers, where
// each stands, and every run.
type Runbook struct {
	ID      string            `json:"id"`
	Service string            `json:"service"`
	Steps   []RunbookStepView `json:"steps"`
	Runs    []RunbookRun      `json:"runs"`
	Limit   int               `json:"limit"`
}

// RunbookStepView is a step and its state: "available", or the Status of
// its open run. Run is the run a request now is about.
type RunbookStepView struct {
	incident.RunbookStep
	State string `json:"state"`
	Run   int    `json:"run"`
	// RequestedBy is who asked for the run awaiting approval.
	RequestedBy string `json:"requested_by,omitempty"`
	// Refused says why this incident will not run the step (an exercise).
	Refused string `json:"refused,omitempty"`
}

// RunbookAnswer is what the runbook Update answers: the run it touched.
type RunbookAnswer struct {
	ID      string          `json:"id"`
	Status  incident.Status `json:"status"`
	Run     RunbookRun      `json:"run"`
	Message string          `json:"message,omitempty"`
}

// loadRunbookSteps reads the steps the service's incidents offer.
func (w *incidentWorkflow) loadRunbookSteps(ctx workflow.Context) {
	if workflow.GetVersion(ctx, runbookChange, workflow.DefaultVersion, 1) < 1 {
		return
	}
	var steps []incident.RunbookStep
	if err := readConfig(ctx, a.RunbookSteps, incident.RunbookStepsRequest{Service: w.st.Service}, &steps); err != nil {
		w.record(ctx, KindWarning, "", "could not read the runbook steps: "+errorMessage(err))
		return
	}
	// Only then: the state of an incident without steps stays as it was.
	if len(steps) > 0 {
		w.st.Automation = &runbookAutomation{Steps: boundSteps(steps)}
	}
}

// boundSteps keeps what enters the state within its bounds.
func boundSteps(in []incident.RunbookStep) []incident.RunbookStep {
	out := make([]incident.RunbookStep, 0, min(len(in), incident.MaxRunbookSteps))
	for _, s := range in[:min(len(in), incident.MaxRunbookSteps)] {
		if !incident.ValidStepName(s.Name) {
			continue
		}
		s.Title = incident.Cut(s.Title, incident.MaxRunbookTitle)
		s.Method = incident.Cut(s.Method, 16)
		s.Target = incident.Cut(s.Target, incident.MaxRunbook)
		s.Allowed = slices.Clone(s.Allowed[:min(len(s.Allowed), incident.MaxRunbookAllowed)])
		for i := range s.Allowed {
			s.Allowed[i] = incident.Cut(s.Allowed[i], incident.MaxName)
		}
		out = append(out, s)
	}
	return out
}

// runbookHost answers the runbook Update with the run it touched.
type runbookHost struct {
	*incidentWorkflow
	touched *RunbookRun
}

func (h runbookHost) result(from int) RunbookAnswer {
	out := RunbookAnswer{ID: h.st.ID, Status: h.st.Status, Message: firstSince(h.st.Timeline, h.st.TimelineOmitted, from)}
	if h.touched != nil {
		out.Run = *h.touched
	}
	return out
}

// runbookCommands registers the runbook query and command, after every
// other command so the order earlier histories consumed signals in is kept.
func (w *incidentWorkflow) runbookCommands(ctx workflow.Context) []func() (command, error) {
	return []func() (command, error){func() (command, error) {
		if err := workflow.SetQueryHandler(ctx, QueryRunbook, func() (Runbook, error) { return w.st.runbookView(), nil }); err != nil {
			return command{}, fmt.Errorf("register %s query: %w", QueryRunbook, err)
		}
		h := runbookHost{incidentWorkflow: w, touched: &RunbookRun{}}
		return defineCommand(ctx, h, SignalRunbookStep, func(r RunbookRequest) string { return r.By }, w.validateRunbook,
			func(ctx workflow.Context, r RunbookRequest) { *h.touched = w.runbook(ctx, r) })
	}}
}

func (rb *runbookAutomation) step(name string) (incident.RunbookStep, bool) {
	i := slices.IndexFunc(rb.Steps, func(s incident.RunbookStep) bool { return s.Name == name })
	if i < 0 {
		return incident.RunbookStep{}, false
	}
	return rb.Steps[i], true
}

// runsOf counts a step's runs and gives the index of its open one (-1 when
// none: a step has at most one open run at a time).
func (rb *runbookAutomation) runsOf(step string) (n, open int) {
	open = -1
	for i, r := range rb.Runs {
		if r.Step == step {
			n++
			if r.open() {
				open = i
			}
		}
	}
	return n, open
}

func (rb *runbookAutomation) stepNames() string {
	names := make([]string, 0, len(rb.Steps))
	for _, s := range rb.Steps {
		names = append(names, s.Name)
	}
	return strings.Join(names, ", ")
}

// mayRun says whether by is among the step's allowed: by name, or holding
// an allowed role on the incident now.
func (st *incidentState) mayRun(s incident.RunbookStep, by string) bool {
	for _, a := range s.Allowed {
		if role, ok := strings.CutPrefix(a, config.RunbookRolePrefix); ok {
			if st.Roles[role] == by {
				return true
			}
		} else if a == by {
			return true
		}
	}
	return false
}

// exerciseRefuses says why an exercise will not run the step, if it won't.
func (st *incidentState) exerciseRefuses(s incident.RunbookStep) string {
	if st.exercising() && !s.ExerciseOK {
		return "an exercise runs only steps marked exercise_ok"
	}
	return ""
}

func (w *incidentWorkflow) validateRunbook(r RunbookRequest) error {
	if err := requireBy(r.By); err != nil {
		return err
	}
	if strings.TrimSpace(r.Step) == "" {
		return fieldError("step", "required: the step's name")
	}
	if err := checkLen("step", r.Step, incident.MaxStepName); err != nil {
		return err
	}
	rb := w.st.Automation
	if rb == nil || len(rb.Steps) == 0 {
		return fieldError("step", "incident %s offers no runbook steps (none is configured for service %s, or it opened before runbook automation)", w.st.ID, w.st.Service)
	}
	step, ok := rb.step(r.Step)
	if !ok {
		return fieldError("step", "unknown step %q (incident %s offers %s)", r.Step, w.st.ID, rb.stepNames())
	}
	if err := w.validateOpen("run runbook steps"); err != nil {
		return err
	}
	if why := w.st.exerciseRefuses(step); why != "" {
		return fieldError("step", "%s: %s", step.Name, why)
	}
	if !w.st.mayRun(step, r.By) {
		return fieldError("by", "%s may not run %s (allowed: %s)", r.By, step.Name, strings.Join(step.Allowed, ", "))
	}
	n, open := rb.runsOf(step.Name)
	switch {
	case r.Run < 0:
		return fieldError("run", "%d: runs count from 1", r.Run)
	case r.Run > n+1:
		return fieldError("run", "%s has had %d run(s); the next is run %d", step.Name, n, n+1)
	case r.Run > 0 && r.Run <= n && (open < 0 || rb.Runs[open].Run != r.Run):
		return fieldError("run", "run %d of %s already ran (%s)", r.Run, step.Name, rb.run(step.Name, r.Run).outcome())
	}
	if open >= 0 {
		o := rb.Runs[open]
		if o.Status == RunRunning {
			return fieldError("step", "run %d of %s is running; its outcome goes on the timeline", o.Run, step.Name)
		}
		if o.RequestedBy == r.By {
			return fieldError("by", "%s asked for run %d of %s; its approval must come from someone else allowed (%s)", r.By, o.Run, step.Name, strings.Join(step.Allowed, ", "))
		}
		return nil
	}
	if len(rb.Runs) >= incident.MaxRunbookRuns {
		return fmt.Errorf("incident %s has had %d runbook runs, the most one incident keeps (limit %d)", w.st.ID, len(rb.Runs), incident.MaxRunbookRuns)
	}
	return nil
}

func (rb *runbookAutomation) run(step string, n int) RunbookRun {
	for _, r := range rb.Runs {
		if r.Step == step && r.Run == n {
			return r
		}
	}
	return RunbookRun{}
}

// outcome says how a finished run ended, for a refusal.
func (r RunbookRun) outcome() string {
	var b strings.Builder
	b.WriteString(r.Status)
	if r.HTTPStatus != 0 {
		fmt.Fprintf(&b, ", HTTP %d", r.HTTPStatus)
	}
	if r.FinishedAt != nil {
		b.WriteString(" at " + r.FinishedAt.UTC().Format(time.RFC3339))
	}
	if r.ApprovedBy != "" {
		b.WriteString(", approved by " + r.ApprovedBy)
	}
	return b.String()
}

// runbook records a request, or the approval of the one awaiting it, and
// starts the run when it may: recorded first, so a repeat is refused.
func (w *incidentWorkflow) runbook(ctx workflow.Context, r RunbookRequest) RunbookRun {
	rb := w.st.Automation
	step, _ := rb.step(r.Step)
	now := workflow.Now(ctx)
	n, open := rb.runsOf(step.Name)
	if open >= 0 {
		run := &rb.Runs[open]
		run.ApprovedBy, run.ApprovedAt = r.By, &now
		w.startRun(ctx, step, open, fmt.Sprintf("approved run %d of %s (%s), asked for by %s", run.Run, step.Name, step.Title, run.RequestedBy))
		return rb.Runs[open]
	}
	rb.Runs = append(rb.Runs, RunbookRun{Step: step.Name, Run: n + 1, RequestedBy: r.By, RequestedAt: now, Request: step.Method + " " + step.Target})
	i := len(rb.Runs) - 1
	run := &rb.Runs[i]
	if step.NeedsApproval {
		run.Status = RunAwaitingApproval
		w.record(ctx, KindRunbook, r.By, fmt.Sprintf("asked for run %d of %s (%s): awaiting approval by someone else allowed (%s)",
			run.Run, step.Name, step.Title, strings.Join(step.Allowed, ", ")))
		return *run
	}
	w.startRun(ctx, step, i, fmt.Sprintf("ran %s (%s), run %d", step.Name, step.Title, run.Run))
	return rb.Runs[i]
}

// startRun calls the step for run i beside the main loop; a shadow
// incident only says what it would have called.
func (w *incidentWorkflow) startRun(ctx workflow.Context, step incident.RunbookStep, i int, what string) {
	st := &w.st
	rb := st.Automation
	run := &rb.Runs[i]
	now := workflow.Now(ctx)
	actor := run.RequestedBy
	if run.ApprovedBy != "" {
		actor = run.ApprovedBy
	}
	run.StartedAt = &now
	// The opening time tells apart two incidents of one key (a key that
	// fires again after its incident closed reuses the ID).
	run.IdempotencyKey = fmt.Sprintf("%s/%d/runbook/%s/%d", st.ID, st.CreatedAt.Unix(), step.Name, run.Run)
	if st.Shadow {
		run.Status, run.FinishedAt = RunWouldHaveRun, &now
		w.record(ctx, KindRunbook, actor, fmt.Sprintf("%s: would have called %s (shadow mode: nothing sent)", what, run.Request))
		return
	}
	run.Status = RunRunning
	w.record(ctx, KindRunbook, actor, fmt.Sprintf("%s: calling %s", what, run.Request))
	req := incident.RunbookCallRequest{IncidentID: st.ID, Key: st.Key, Service: st.Service, Severity: st.Severity, Title: st.Title,
		Step: step.Name, Run: run.Run, IdempotencyKey: run.IdempotencyKey, Exercise: st.exercising()}
	timeout := time.Duration(step.Timeout)
	if timeout <= 0 {
		timeout = incident.DefaultRunbookTimeout
	}
	opts := workflow.ActivityOptions{
		StartToCloseTimeout:    timeout + 30*time.Second,
		ScheduleToCloseTimeout: timeout + runbookSlack,
		HeartbeatTimeout:       activities.HeartbeatTimeout,
		Summary:                fmt.Sprintf("runbook step %s, run %d", step.Name, run.Run),
		// Every outcome of the call is final in the activity itself (an
		// endpoint that got a request may have acted on it); a retry
		// happens only when the worker making it is lost, and then sends
		// nothing that may already have gone out (see RunRunbookStep).
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, MaximumAttempts: 3},
	}
	var res incident.RunbookCallResult
	w.loop.beside(ctx, opts, a.RunRunbookStep, req, &res, func(gctx workflow.Context, err error) {
		w.finishRun(gctx, i, res, err)
	})
}

// finishRun records a run's outcome on the timeline: the call, its status
// and the first lines of its answer, or why it got none.
func (w *incidentWorkflow) finishRun(ctx workflow.Context, i int, res incident.RunbookCallResult, err error) {
	run := &w.st.Automation.Runs[i]
	now := workflow.Now(ctx)
	run.FinishedAt = &now
	head := fmt.Sprintf("run %d of %s", run.Run, run.Step)
	if err != nil {
		run.Status, run.Error = RunFailed, incident.Cut(runFailure(err), incident.MaxRunbookOutputBytes)
		w.record(ctx, KindRunbookFailed, "", fmt.Sprintf("%s failed: %s", head, run.Error))
		return
	}
	run.Request, run.HTTPStatus = incident.Cut(res.Request, incident.MaxRunbook+16), res.Status
	run.Output = incident.Cut(res.Output, incident.MaxRunbookOutputBytes+16)
	msg := fmt.Sprintf("%s answered %s in %s", run.Request, incident.Cut(res.StatusText, 64), res.Duration)
	if run.Output != "" {
		msg += ":\n" + run.Output
	}
	if !res.OK() {
		run.Status, run.Error = RunFailed, "answered "+incident.Cut(res.StatusText, 64)
		w.record(ctx, KindRunbookFailed, "", fmt.Sprintf("%s failed: %s", head, msg))
		return
	}
	run.Status = RunSucceeded
	w.record(ctx, KindRunbook, "", fmt.Sprintf("%s succeeded: %s", head, msg))
}

// runFailure is why an activity failed, in words: its own message, not
// the wrapping Temporal adds.
func runFailure(err error) string {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return appErr.Message()
	}
	var timeout *temporal.TimeoutError
	if errors.As(err, &timeout) {
		return fmt.Sprintf("no outcome in time (%s timeout): the call may or may not have been made", strings.ToLower(strings.TrimPrefix(timeout.TimeoutType().String(), "TIMEOUT_TYPE_")))
	}
	return err.Error()
}

// runbookButtons are the steps the card offers, each with the run a click
// on it is about; none when the incident has no steps.
func (st *incidentState) runbookButtons() []incident.RunbookButton {
	if st.Automation == nil {
		return nil
	}
	var out []incident.RunbookButton
	for _, v := range st.runbookView().Steps {
		if v.Refused != "" {
			continue
		}
		b := incident.RunbookButton{Step: v.Name, Title: v.Title, Run: v.Run, Running: v.State == RunRunning}
		if v.State == RunAwaitingApproval {
			b.RequestedBy = v.RequestedBy
		}
		out = append(out, b)
	}
	return out
}

// runbookFingerprint is what of the steps the card shows, so it is
// updated when a run changes; "" when there are none, which keeps the
// fingerprint of every earlier card as it was.
func runbookFingerprint(buttons []incident.RunbookButton) string {
	if len(buttons) == 0 {
		return ""
	}
	parts := make([]string, 0, len(buttons))
	for _, b := range buttons {
		parts = append(parts, fmt.Sprintf("%s/%d/%s/%t", b.Step, b.Run, b.RequestedBy, b.Running))
	}
	return "runbook:" + strings.Join(parts, ",")
}

func (st *incidentState) runbookView() Runbook {
	v := Runbook{ID: st.ID, Service: st.Service, Steps: []RunbookStepView{}, Runs: []RunbookRun{}, Limit: incident.MaxRunbookRuns}
	rb := st.Automation
	if rb == nil {
		return v
	}
	v.Runs = append(v.Runs, rb.Runs...)
	for _, s := range rb.Steps {
		s.Allowed = slices.Clone(s.Allowed)
		sv := RunbookStepView{RunbookStep: s, State: "available", Refused: st.exerciseRefuses(s)}
		n, open := rb.runsOf(s.Name)
		sv.Run = n + 1
		if open >= 0 {
			o := rb.Runs[open]
			sv.State, sv.Run = o.Status, o.Run
			if o.Status == RunAwaitingApproval {
				sv.RequestedBy = o.RequestedBy
			}
		}
		v.Steps = append(v.Steps, sv)
	}
	return v
}
