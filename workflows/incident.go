// Package workflows holds the deterministic orchestration of an incident. No
// I/O happens here: paging and posting are activities, config is read by an
// activity, time is workflow time.
package workflows

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// IncidentWorkflow runs one incident from trigger to resolution.
func IncidentWorkflow(ctx workflow.Context, in IncidentInput) (*IncidentState, error) {
	w := &incident{}
	if err := w.setup(ctx, in); err != nil {
		return nil, err
	}
	return w.run(ctx)
}

type incident struct {
	st IncidentState
	// wake lets update handlers and page callbacks, which run beside the main
	// loop, tell it that state changed; it holds at most one pending wake-up.
	wake      workflow.Channel
	timer     deadline
	published published
}

// published remembers what the search attributes and memo say, so they are
// upserted only when something visible changed.
type published struct {
	severity, status, service, commander, title string
}

func (w *incident) setup(ctx workflow.Context, in IncidentInput) error {
	info := workflow.GetInfo(ctx)
	title := strings.TrimSpace(in.Title)
	if title == "" {
		title = in.Key
	}
	w.st = IncidentState{
		ID:          info.WorkflowExecution.ID,
		Key:         in.Key,
		Title:       title,
		Service:     in.Service,
		Severity:    in.Severity,
		Status:      StatusTriggered,
		Stage:       "investigating",
		Source:      in.Source,
		Roles:       map[string]string{},
		CreatedAt:   workflow.Now(ctx),
		Alerts:      []Alert{},
		Timeline:    []TimelineEntry{},
		ActionItems: []ActionItem{},
	}
	// The query comes first so even a workflow stuck in its first task can be read.
	if err := workflow.SetQueryHandler(ctx, QueryState, func() (*IncidentState, error) {
		return &w.st, nil
	}); err != nil {
		return fmt.Errorf("register %s query: %w", QueryState, err)
	}
	w.wake = workflow.NewBufferedChannel(ctx, 1)
	w.published = currentlyPublished(ctx)

	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateAck,
		func(ctx workflow.Context, req ActionRequest) (*IncidentState, error) {
			w.ack(ctx, req)
			return &w.st, nil
		},
		workflow.UpdateHandlerOptions{Validator: func(ctx workflow.Context, req ActionRequest) error {
			return w.validateAck(req)
		}},
	); err != nil {
		return fmt.Errorf("register %s update: %w", UpdateAck, err)
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateResolve,
		func(ctx workflow.Context, req ActionRequest) (*IncidentState, error) {
			w.resolve(ctx, req)
			return &w.st, nil
		},
		workflow.UpdateHandlerOptions{Validator: func(ctx workflow.Context, req ActionRequest) error {
			return w.validateResolve(req)
		}},
	); err != nil {
		return fmt.Errorf("register %s update: %w", UpdateResolve, err)
	}
	return nil
}

func currentlyPublished(ctx workflow.Context) published {
	var p published
	sa := workflow.GetTypedSearchAttributes(ctx)
	p.severity, _ = sa.GetKeyword(SearchSeverity)
	p.status, _ = sa.GetKeyword(SearchStatus)
	p.service, _ = sa.GetKeyword(SearchService)
	p.commander, _ = sa.GetKeyword(SearchCommander)
	if f, ok := workflow.GetInfo(ctx).Memo.GetFields()[MemoTitle]; ok {
		var title string
		if err := converter.GetDefaultDataConverter().FromPayload(f, &title); err == nil {
			p.title = title
		}
	}
	return p
}

func (w *incident) run(ctx workflow.Context) (*IncidentState, error) {
	w.record(ctx, "triggered", w.st.Source, fmt.Sprintf("%s incident opened on %s: %s", w.st.Severity, w.st.Service, w.st.Title))
	w.publish(ctx)
	w.st.Plan = w.resolvePlan(ctx)
	w.startEscalation(ctx)

	alerts := workflow.GetSignalChannel(ctx, SignalAlert)
	acks := workflow.GetSignalChannel(ctx, SignalAck)
	resolves := workflow.GetSignalChannel(ctx, SignalResolve)
	escalations := workflow.GetSignalChannel(ctx, SignalEscalate)

	for {
		for w.st.Status != StatusResolved {
			w.advance(ctx)
			w.publish(ctx)
			// People's actions are taken before alerts that arrived with them:
			// a firing alert handled after a resolve reopens the incident,
			// whereas handled first it would be swept away by the resolve.
			sel := workflow.NewSelector(ctx)
			sel.AddReceive(acks, func(c workflow.ReceiveChannel, _ bool) {
				var r ActionRequest
				c.Receive(ctx, &r)
				if err := w.validateAck(r); err != nil {
					w.record(ctx, "ignored", r.By, "ack ignored: "+err.Error())
					return
				}
				w.ack(ctx, r)
			})
			sel.AddReceive(resolves, func(c workflow.ReceiveChannel, _ bool) {
				var r ActionRequest
				c.Receive(ctx, &r)
				if err := w.validateResolve(r); err != nil {
					w.record(ctx, "ignored", r.By, "resolve ignored: "+err.Error())
					return
				}
				w.resolve(ctx, r)
			})
			sel.AddReceive(escalations, func(c workflow.ReceiveChannel, _ bool) {
				var r ActionRequest
				c.Receive(ctx, &r)
				w.escalate(ctx, r)
			})
			sel.AddReceive(alerts, func(c workflow.ReceiveChannel, _ bool) {
				var s AlertSignal
				c.Receive(ctx, &s)
				w.alert(ctx, s)
			})
			sel.AddReceive(w.wake, func(c workflow.ReceiveChannel, _ bool) {
				c.Receive(ctx, nil)
			})
			if f := w.timer.future; f != nil {
				sel.AddFuture(f, func(workflow.Future) { w.timer.fired() })
			}
			sel.Select(ctx)
		}
		w.timer.stop()
		w.publish(ctx)

		// Completing with signals still queued would lose them: an alert that
		// fired again at the last moment must reopen the incident, not vanish.
		if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
			return &w.st, err
		}
		if !w.drainAfterResolve(ctx, alerts, acks, resolves, escalations) {
			return &w.st, nil
		}
	}
}

// drainAfterResolve handles signals that arrived with the resolution. It
// reports whether a firing alert reopened the incident.
func (w *incident) drainAfterResolve(ctx workflow.Context, alerts, acks, resolves, escalations workflow.ReceiveChannel) bool {
	for {
		var a AlertSignal
		if alerts.ReceiveAsync(&a) {
			w.alert(ctx, a)
			if w.st.Status != StatusResolved {
				return true
			}
			continue
		}
		var r ActionRequest
		switch {
		case acks.ReceiveAsync(&r):
			w.record(ctx, "ignored", r.By, "ack ignored: incident is resolved")
		case resolves.ReceiveAsync(&r):
			w.record(ctx, "ignored", r.By, "resolve ignored: incident is already resolved")
		case escalations.ReceiveAsync(&r):
			w.record(ctx, "ignored", r.By, "escalate ignored: incident is resolved")
		default:
			return false
		}
	}
}

func (w *incident) resolvePlan(ctx workflow.Context) EscalationPlan {
	lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: 10 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, MaximumInterval: 30 * time.Second},
	})
	var plan EscalationPlan
	err := workflow.ExecuteLocalActivity(lctx, ActivityResolvePlan, PlanRequest{Service: w.st.Service, Severity: w.st.Severity}).Get(ctx, &plan)
	if err != nil {
		// Never leave an accepted alert unpaged: with no plan, tell the fallback.
		w.record(ctx, "warning", "", "could not resolve the escalation policy: "+err.Error())
		return EscalationPlan{Page: true}
	}
	if plan.Warning != "" {
		w.record(ctx, "warning", "", plan.Warning)
	}
	return plan
}

func (w *incident) startEscalation(ctx workflow.Context) {
	e := &w.st.Escalation
	e.Position, e.Round, e.Step, e.Exhausted = 0, 0, 0, false
	e.NextPageAt = workflow.Now(ctx)
	if !w.st.Plan.Page {
		e.Exhausted = true
		e.NextPageAt = time.Time{}
		w.record(ctx, "escalation", "", fmt.Sprintf("%s does not page; nobody was paged", w.st.Severity))
	}
}

// advance pages every step that is due and arms the timer for the next one.
func (w *incident) advance(ctx workflow.Context) {
	e := &w.st.Escalation
	for w.st.Status == StatusTriggered && !e.Exhausted && !e.NextPageAt.After(workflow.Now(ctx)) {
		w.pageNext(ctx)
	}
	if w.st.Status == StatusTriggered && !e.Exhausted {
		w.timer.arm(ctx, e.NextPageAt, w.nextPageSummary())
	} else {
		w.timer.stop()
	}
}

func (w *incident) nextPageSummary() string {
	e := w.st.Escalation
	if e.Position >= w.lastPosition() {
		return "no ack: tell the fallback"
	}
	return fmt.Sprintf("no ack: page round %d step %d", e.Round+1, e.Step+1)
}

func (w *incident) lastPosition() int {
	return (w.st.Plan.Repeat + 1) * len(w.st.Plan.Steps)
}

// pageNext pages the step at the current position (or the fallback after
// the last round) and schedules the one after it.
func (w *incident) pageNext(ctx workflow.Context) {
	e := &w.st.Escalation
	plan := w.st.Plan
	now := workflow.Now(ctx)
	last := w.lastPosition()
	if e.Position >= last {
		w.announceFallback(ctx)
		e.Position = last + 1
		e.Exhausted = true
		e.NextPageAt = time.Time{}
		return
	}
	n := len(plan.Steps)
	round, step := e.Position/n, e.Position%n
	targets := plan.Steps[step].Targets
	w.record(ctx, "escalation", "", fmt.Sprintf("round %d step %d: paging %s", round+1, step+1, strings.Join(targets, ", ")))
	for _, t := range targets {
		w.page(ctx, round, step, t)
	}
	e.Position++
	var wait time.Duration
	switch next := e.Position; {
	case next >= last:
		wait = plan.RoundGap
	case next%n == 0:
		wait = plan.RoundGap
	default:
		wait = plan.Steps[next%n].Delay
	}
	e.Round, e.Step = e.Position/n, e.Position%n
	e.NextPageAt = now.Add(wait)
}

func (w *incident) page(ctx workflow.Context, round, step int, target string) {
	req := PageRequest{
		IncidentID: w.st.ID,
		Title:      w.st.Title,
		Severity:   w.st.Severity,
		Service:    w.st.Service,
		Target:     target,
		Round:      round + 1,
		Step:       step + 1,
		IdempotencyKey: fmt.Sprintf("%s/g%d/r%d/s%d/%s",
			w.st.ID, w.st.Escalation.Generation, round+1, step+1, target),
	}
	actx := workflow.WithActivityOptions(ctx, notifyOptions("page "+target))
	f := workflow.ExecuteActivity(actx, ActivityPage, req)
	// Pages complete beside the main loop, so a slow or failing channel never
	// holds up an ack or the next escalation step.
	workflow.Go(ctx, func(gctx workflow.Context) {
		var res PageResult
		if err := f.Get(gctx, &res); err != nil {
			w.record(gctx, "page_failed", "", fmt.Sprintf("page to %s failed: %s", target, errorMessage(err)))
		} else {
			w.record(gctx, "paged", "", fmt.Sprintf("paged %s via %s (%s)", res.Recipient, res.Channel, target))
		}
		w.wakeUp()
	})
}

func (w *incident) announceFallback(ctx workflow.Context) {
	rounds := w.st.Plan.Repeat + 1
	text := fmt.Sprintf("Nobody acknowledged %s incident %s (%s) after %d round(s) of paging.",
		w.st.Severity, w.st.ID, w.st.Title, rounds)
	target := w.st.Plan.Fallback
	w.record(ctx, "escalation", "", "policy exhausted: telling "+displayTarget(target))
	req := AnnounceRequest{
		IncidentID:     w.st.ID,
		Target:         target,
		Text:           text,
		IdempotencyKey: fmt.Sprintf("%s/g%d/fallback", w.st.ID, w.st.Escalation.Generation),
	}
	actx := workflow.WithActivityOptions(ctx, notifyOptions("tell fallback "+displayTarget(target)))
	f := workflow.ExecuteActivity(actx, ActivityAnnounce, req)
	workflow.Go(ctx, func(gctx workflow.Context) {
		if err := f.Get(gctx, nil); err != nil {
			w.record(gctx, "page_failed", "", fmt.Sprintf("telling %s failed: %s", displayTarget(target), errorMessage(err)))
		}
		w.wakeUp()
	})
}

func displayTarget(t string) string {
	if t == "" {
		return "the console"
	}
	return t
}

// notifyOptions: a page is retried for a while, but a retry must never page
// twice (the activity is keyed), and after ten minutes the timeline says it failed.
func notifyOptions(summary string) workflow.ActivityOptions {
	return workflow.ActivityOptions{
		StartToCloseTimeout:    30 * time.Second,
		ScheduleToCloseTimeout: 10 * time.Minute,
		Summary:                summary,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    time.Second,
			BackoffCoefficient: 2,
			MaximumInterval:    time.Minute,
		},
	}
}

func (w *incident) alert(ctx workflow.Context, s AlertSignal) {
	now := workflow.Now(ctx)
	fp := s.Fingerprint
	if fp == "" {
		fp = "default"
	}
	idx := -1
	for i := range w.st.Alerts {
		if w.st.Alerts[i].Fingerprint == fp {
			idx = i
			break
		}
	}
	summary := s.Summary
	if summary == "" {
		summary = fp
	}
	switch s.Status {
	case AlertFiring:
		w.st.AlertCount++
		if idx < 0 {
			w.st.Alerts = append(w.st.Alerts, Alert{Fingerprint: fp, Status: AlertFiring, Summary: s.Summary, FirstSeen: now, LastSeen: now, Count: 1})
			w.record(ctx, "alert", s.Source, "alert firing: "+summary)
		} else {
			a := &w.st.Alerts[idx]
			a.Count++
			a.LastSeen = now
			if a.Status != AlertFiring {
				a.Status = AlertFiring
				w.record(ctx, "alert", s.Source, "alert firing again: "+summary)
			}
		}
		if w.st.Status == StatusResolved {
			w.reopen(ctx, "alert:"+s.Source, "alert fired again: "+summary)
		}
	case AlertResolved:
		if idx < 0 {
			w.st.Alerts = append(w.st.Alerts, Alert{Fingerprint: fp, Status: AlertResolved, Summary: s.Summary, FirstSeen: now, LastSeen: now})
		} else if w.st.Alerts[idx].Status == AlertFiring {
			w.st.Alerts[idx].Status = AlertResolved
			w.st.Alerts[idx].LastSeen = now
		} else {
			return
		}
		w.record(ctx, "alert", s.Source, "alert resolved: "+summary)
		if w.st.Status != StatusResolved && w.allAlertsResolved() {
			w.resolve(ctx, ActionRequest{By: "alert:" + s.Source, Note: "every alert of the incident resolved"})
		}
	default:
		w.record(ctx, "ignored", s.Source, fmt.Sprintf("alert with unknown status %q ignored", s.Status))
	}
}

func (w *incident) allAlertsResolved() bool {
	for _, a := range w.st.Alerts {
		if a.Status == AlertFiring {
			return false
		}
	}
	return len(w.st.Alerts) > 0
}

func (w *incident) validateAck(r ActionRequest) error {
	if strings.TrimSpace(r.By) == "" {
		return errors.New("by: required (who is acknowledging)")
	}
	switch w.st.Status {
	case StatusAcknowledged:
		return fmt.Errorf("incident %s is already acknowledged by %s", w.st.ID, w.st.AcknowledgedBy)
	case StatusResolved:
		return fmt.Errorf("incident %s is resolved; it cannot be acknowledged", w.st.ID)
	}
	return nil
}

func (w *incident) ack(ctx workflow.Context, r ActionRequest) {
	now := workflow.Now(ctx)
	w.st.Status = StatusAcknowledged
	w.st.AcknowledgedBy = r.By
	w.st.AcknowledgedAt = &now
	mtta := now.Sub(w.st.CreatedAt).Seconds()
	w.st.MTTASeconds = &mtta
	msg := "acknowledged; escalation stopped"
	if w.st.Commander == "" {
		// Whoever acknowledges first leads until someone takes over.
		w.st.Commander = r.By
		w.st.Roles["commander"] = r.By
		msg += "; " + r.By + " is commander"
	}
	w.record(ctx, "ack", r.By, withNote(msg, r.Note))
	w.wakeUp()
}

func (w *incident) validateResolve(r ActionRequest) error {
	if strings.TrimSpace(r.By) == "" {
		return errors.New("by: required (who is resolving)")
	}
	if w.st.Status == StatusResolved {
		return fmt.Errorf("incident %s is already resolved", w.st.ID)
	}
	return nil
}

func (w *incident) resolve(ctx workflow.Context, r ActionRequest) {
	now := workflow.Now(ctx)
	w.st.Status = StatusResolved
	w.st.Stage = "resolved"
	w.st.ResolvedBy = r.By
	w.st.ResolvedAt = &now
	mttr := now.Sub(w.st.CreatedAt).Seconds()
	w.st.MTTRSeconds = &mttr
	w.record(ctx, "resolve", r.By, withNote("resolved", r.Note))
	w.wakeUp()
}

func (w *incident) reopen(ctx workflow.Context, by, why string) {
	w.st.Status = StatusTriggered
	w.st.Stage = "investigating"
	w.st.AcknowledgedBy, w.st.AcknowledgedAt = "", nil
	w.st.ResolvedBy, w.st.ResolvedAt = "", nil
	w.st.MTTASeconds, w.st.MTTRSeconds = nil, nil
	w.st.Escalation.Generation++
	w.record(ctx, "reopen", by, "reopened: "+why)
	w.startEscalation(ctx)
}

// escalate pages the next step now, acknowledged or not; an unacknowledged
// incident then continues its timers from this page.
func (w *incident) escalate(ctx workflow.Context, r ActionRequest) {
	if w.st.Status == StatusResolved {
		w.record(ctx, "ignored", r.By, "escalate ignored: incident is resolved")
		return
	}
	w.record(ctx, "escalate", r.By, withNote("escalation requested", r.Note))
	e := &w.st.Escalation
	if e.Exhausted {
		w.announceFallback(ctx)
		return
	}
	w.pageNext(ctx)
}

func (w *incident) record(ctx workflow.Context, kind, actor, msg string) {
	w.st.Timeline = append(w.st.Timeline, TimelineEntry{At: workflow.Now(ctx), Kind: kind, Actor: actor, Message: msg})
}

func (w *incident) wakeUp() {
	w.wake.SendAsync(struct{}{})
}

// publish keeps search attributes and memo in step with the state.
func (w *incident) publish(ctx workflow.Context) {
	now := published{
		severity: w.st.Severity, status: string(w.st.Status), service: w.st.Service,
		commander: w.st.Commander, title: w.st.Title,
	}
	var updates []temporal.SearchAttributeUpdate
	if now.severity != w.published.severity {
		updates = append(updates, SearchSeverity.ValueSet(now.severity))
	}
	if now.status != w.published.status {
		updates = append(updates, SearchStatus.ValueSet(now.status))
	}
	if now.service != w.published.service {
		updates = append(updates, SearchService.ValueSet(now.service))
	}
	if now.commander != w.published.commander {
		if now.commander == "" {
			updates = append(updates, SearchCommander.ValueUnset())
		} else {
			updates = append(updates, SearchCommander.ValueSet(now.commander))
		}
	}
	if len(updates) > 0 {
		if err := workflow.UpsertTypedSearchAttributes(ctx, updates...); err != nil {
			workflow.GetLogger(ctx).Warn("upsert search attributes", "error", err)
		}
	}
	if now.title != w.published.title {
		if err := workflow.UpsertMemo(ctx, map[string]interface{}{MemoTitle: now.title}); err != nil {
			workflow.GetLogger(ctx).Warn("upsert memo", "error", err)
		}
	}
	w.published = now
}

func withNote(msg, note string) string {
	if note = strings.TrimSpace(note); note != "" {
		return msg + ": " + note
	}
	return msg
}

func errorMessage(err error) string {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return appErr.Error()
	}
	return err.Error()
}

// deadline is a single durable timer that is re-armed only when its time
// changes, so a burst of signals does not start and cancel a timer each.
type deadline struct {
	at     time.Time
	future workflow.Future
	cancel workflow.CancelFunc
}

func (d *deadline) arm(ctx workflow.Context, at time.Time, summary string) {
	if d.future != nil && d.at.Equal(at) {
		return
	}
	d.stop()
	wait := at.Sub(workflow.Now(ctx))
	if wait < time.Millisecond {
		wait = time.Millisecond
	}
	tctx, cancel := workflow.WithCancel(ctx)
	d.at, d.cancel = at, cancel
	d.future = workflow.NewTimerWithOptions(tctx, wait, workflow.TimerOptions{Summary: summary})
}

func (d *deadline) stop() {
	if d.cancel != nil {
		d.cancel()
	}
	d.future, d.cancel = nil, nil
}

func (d *deadline) fired() {
	d.future, d.cancel = nil, nil
}
