// Package workflows holds the deterministic orchestration of an incident. No
// I/O happens here: paging and posting are activities, config is read by an
// activity, time is workflow time.
package workflows

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// Lifecycle versions (workflow.GetVersion "lifecycle"). Version 0 resolved
// at once and had only escalation timers; version 1 adds the monitoring
// window, cadence reminders, nudges, ack timeout and continue-as-new.
const (
	lifecycleChange = "lifecycle"
	lifecycleV1     = 1
	// channelChange opens a Slack channel for severities that want one.
	channelChange = "incident-channel"
	// cardChange keeps a live incident card in Slack.
	cardChange = "incident-card"
	// inviteChange invites whoever acks or takes a role into the channel.
	inviteChange = "channel-invites"
	// postmortemChange starts the post-mortem as a child at resolution and
	// closes the incident, instead of waiting in "resolved" for `close`.
	postmortemChange = "postmortem-child"
)

// IncidentWorkflow runs one incident from trigger to resolution.
func IncidentWorkflow(ctx workflow.Context, in IncidentInput) (*IncidentState, error) {
	w := &incident{}
	if err := w.setup(ctx, in); err != nil {
		return nil, err
	}
	return w.run(ctx, in.Resume != nil)
}

type incident struct {
	st IncidentState
	// wake lets update handlers and page callbacks, which run beside the main
	// loop, tell it that state changed; it holds at most one pending wake-up.
	wake      workflow.Channel
	timer     deadline
	published published
	commands  []command
	alerts    workflow.ReceiveChannel
	// inFlight counts notifications whose results the timeline still awaits;
	// continue-as-new waits for them so no "paged" line is lost.
	inFlight int
	// openingChannel is set while the channel activity runs.
	openingChannel bool
	// cardInFlight: one card update at a time, so bursts coalesce;
	// cardShown is what the card last showed.
	cardInFlight bool
	cardShown    string
}

// published remembers what the search attributes and memo say, so they are
// upserted only when something visible changed.
type published struct {
	severity, status, service, commander, title, channel string
}

func (w *incident) setup(ctx workflow.Context, in IncidentInput) error {
	if in.Resume != nil {
		w.st = *in.Resume
		w.st.Runs++
	} else {
		info := workflow.GetInfo(ctx)
		title := strings.TrimSpace(in.Title)
		if title == "" {
			title = in.Key
		}
		now := workflow.Now(ctx)
		w.st = IncidentState{
			ID:             info.WorkflowExecution.ID,
			Key:            in.Key,
			Title:          title,
			Service:        in.Service,
			Severity:       in.Severity,
			Status:         StatusTriggered,
			Stage:          "investigating",
			StageChangedAt: now,
			Source:         in.Source,
			Roles:          map[string]string{},
			CreatedAt:      now,
			Alerts:         []Alert{},
			Timeline:       []TimelineEntry{},
			ActionItems:    []ActionItem{},
			MissingRoles:   []string{},
		}
	}
	// The query comes first so even a workflow stuck in its first task can be read.
	if err := workflow.SetQueryHandler(ctx, QueryState, func() (*IncidentState, error) {
		return &w.st, nil
	}); err != nil {
		return fmt.Errorf("register %s query: %w", QueryState, err)
	}
	w.wake = workflow.NewBufferedChannel(ctx, 1)
	w.published = currentlyPublished(ctx)
	w.alerts = workflow.GetSignalChannel(ctx, SignalAlert)
	return w.defineCommands(ctx)
}

func currentlyPublished(ctx workflow.Context) published {
	var p published
	sa := workflow.GetTypedSearchAttributes(ctx)
	p.severity, _ = sa.GetKeyword(SearchSeverity)
	p.status, _ = sa.GetKeyword(SearchStatus)
	p.service, _ = sa.GetKeyword(SearchService)
	p.commander, _ = sa.GetKeyword(SearchCommander)
	p.channel, _ = sa.GetKeyword(SearchChannel)
	if f, ok := workflow.GetInfo(ctx).Memo.GetFields()[MemoTitle]; ok {
		var title string
		if err := converter.GetDefaultDataConverter().FromPayload(f, &title); err == nil {
			p.title = title
		}
	}
	return p
}

func (w *incident) run(ctx workflow.Context, resumed bool) (*IncidentState, error) {
	if !resumed {
		w.st.Version = int(workflow.GetVersion(ctx, lifecycleChange, workflow.DefaultVersion, lifecycleV1))
		w.record(ctx, "triggered", w.st.Source, fmt.Sprintf("%s incident opened on %s: %s", w.st.Severity, w.st.Service, w.st.Title))
		w.publish(ctx)
		w.st.Plan = w.resolvePlan(ctx)
		w.startEscalation(ctx)
		w.refreshRoles()
		if w.st.Version >= lifecycleV1 {
			w.st.ChannelVersion = int(workflow.GetVersion(ctx, channelChange, workflow.DefaultVersion, 1))
			w.st.CardVersion = int(workflow.GetVersion(ctx, cardChange, workflow.DefaultVersion, 1))
			w.st.InviteVersion = int(workflow.GetVersion(ctx, inviteChange, workflow.DefaultVersion, 1))
			w.st.PostmortemVersion = int(workflow.GetVersion(ctx, postmortemChange, workflow.DefaultVersion, 1))
		}
		w.openChannel(ctx)
	} else {
		w.record(ctx, "continued", "", fmt.Sprintf("continued as new (run %d); timers resume", w.st.Runs+1))
	}

	for {
		for !w.finished() {
			w.advance(ctx)
			w.publish(ctx)
			w.syncCard(ctx)
			if w.shouldContinueAsNew(ctx) {
				return nil, w.continueAsNew(ctx)
			}
			// People's commands are taken before alerts that arrived with
			// them: a firing alert handled after a resolve reopens the
			// incident, whereas handled first it would be swept away by it.
			sel := workflow.NewSelector(ctx)
			for _, c := range w.commands {
				c := c
				sel.AddReceive(c.ch, func(workflow.ReceiveChannel, bool) { c.receive(ctx) })
			}
			sel.AddReceive(w.alerts, func(c workflow.ReceiveChannel, _ bool) {
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
		w.flushCard(ctx)

		// Completing with signals still queued would lose them: an alert that
		// fired again at the last moment must reopen the incident, not vanish.
		if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
			return &w.st, err
		}
		if !w.drain(ctx) {
			return &w.st, nil
		}
	}
}

// finished: version 0 ended at resolution; version 1 ends when closed.
func (w *incident) finished() bool {
	if w.st.Version < lifecycleV1 {
		return w.st.Status == StatusResolved
	}
	return w.st.Status == StatusClosed
}

// drain handles every queued signal. It reports whether one of them
// brought the incident back to life.
func (w *incident) drain(ctx workflow.Context) bool {
	for {
		got := false
		for _, c := range w.commands {
			for c.receiveAsync(ctx) {
				got = true
			}
		}
		var a AlertSignal
		for w.alerts.ReceiveAsync(&a) {
			got = true
			w.alert(ctx, a)
		}
		if !got {
			return !w.finished()
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
	if !w.pages() {
		e.Exhausted = true
		e.NextPageAt = time.Time{}
		w.record(ctx, "escalation", "", fmt.Sprintf("%s does not page; nobody was paged", w.st.Severity))
	}
}

// pages says whether the current severity pages. Version 0 fixed it at start.
func (w *incident) pages() bool {
	if sev, ok := w.st.Plan.Severities[w.st.Severity]; ok && w.st.Version >= lifecycleV1 {
		return sev.Page
	}
	return w.st.Plan.Page
}

// advance fires everything that is due and arms the timer for what is next.
func (w *incident) advance(ctx workflow.Context) {
	for i := 0; i < 100; i++ {
		d, ok := w.nextDue()
		if !ok || d.at.After(workflow.Now(ctx)) {
			break
		}
		w.fire(ctx, d.kind)
	}
	if d, ok := w.nextDue(); ok {
		w.timer.arm(ctx, d.at, d.summary)
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
		w.page(ctx, round, step, t, "")
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

// page pages one target; tag distinguishes extra pages of the same step
// (a severity raise) so their idempotency keys differ.
func (w *incident) page(ctx workflow.Context, round, step int, target, tag string) {
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
	if tag != "" {
		req.IdempotencyKey += "/" + tag
	}
	// Pages complete beside the main loop, so a slow or failing channel never
	// holds up an ack or the next escalation step.
	var res PageResult
	w.beside(ctx, "page "+target, ActivityPage, req, &res, func(gctx workflow.Context, err error) {
		if err != nil {
			w.record(gctx, "page_failed", "", fmt.Sprintf("page to %s failed: %s", target, errorMessage(err)))
		} else {
			w.record(gctx, "paged", "", fmt.Sprintf("paged %s via %s (%s)", res.Recipient, res.Channel, target))
		}
	})
}

// openChannel opens the incident's Slack channel beside the main loop, so
// the first page never waits for it; reminders and updates then go there.
func (w *incident) openChannel(ctx workflow.Context) {
	st := &w.st
	if st.ChannelVersion < 1 || st.SlackChannel != nil || w.openingChannel || !st.Plan.SlackChannels || !w.severityPlan().Channel {
		return
	}
	var invite []string
	if len(st.Plan.Steps) > 0 {
		invite = st.Plan.Steps[0].Targets
	}
	req := ChannelRequest{IncidentID: st.ID, Title: st.Title, Severity: st.Severity, Commander: st.Commander,
		OpenedAt: st.CreatedAt, Invite: invite, Announce: st.Plan.Announce}
	var ch SlackChannel
	w.openingChannel = true
	w.beside(ctx, "open incident channel", ActivityOpenChannel, req, &ch, func(gctx workflow.Context, err error) {
		w.openingChannel = false
		if err != nil {
			w.record(gctx, "channel_failed", "", "could not open the incident channel: "+errorMessage(err))
			return
		}
		st.SlackChannel = &ch
		st.Plan.Channel = "slack_channel:" + ch.ID
		w.record(gctx, "channel", "", fmt.Sprintf("incident channel #%s opened", ch.Name))
		// Whoever acked or took a role while it was being opened joins now.
		var holders []string
		for _, r := range Roles {
			if u := st.Roles[r]; u != "" && !slices.Contains(holders, u) {
				holders = append(holders, u)
			}
		}
		if st.AcknowledgedBy != "" && !slices.Contains(holders, st.AcknowledgedBy) {
			holders = append(holders, st.AcknowledgedBy)
		}
		w.invite(gctx, holders...)
	})
}

// invite brings configured users into the incident channel, if it is open.
func (w *incident) invite(ctx workflow.Context, users ...string) {
	st := &w.st
	if st.InviteVersion < 1 || st.SlackChannel == nil || len(users) == 0 {
		return
	}
	w.beside(ctx, "invite "+strings.Join(users, ", "), ActivityInvite, InviteRequest{Channel: st.SlackChannel.ID, Users: users}, nil, func(gctx workflow.Context, err error) {
		if err != nil {
			w.record(gctx, "channel_failed", "", fmt.Sprintf("could not invite %s: %s", strings.Join(users, ", "), errorMessage(err)))
		}
	})
}

// syncCard posts or updates the incident card when what it shows changed.
// It waits for the incident channel if one is being opened; the alert count
// alone does not move it, so a storm of duplicates edits nothing.
func (w *incident) syncCard(ctx workflow.Context) {
	st := &w.st
	if st.CardVersion < 1 || !st.Plan.SlackChannels || w.cardInFlight || w.openingChannel {
		return
	}
	channel := ""
	switch {
	case st.Card != nil:
		channel = st.Card.Channel
	case st.SlackChannel != nil:
		channel = st.SlackChannel.ID
	case strings.HasPrefix(st.Plan.Channel, "slack_channel:"):
		channel = strings.TrimPrefix(st.Plan.Channel, "slack_channel:")
	}
	if channel == "" {
		return
	}
	req := CardRequest{IncidentID: st.ID, Channel: channel, Ref: st.Card, Title: st.Title, Severity: st.Severity,
		Status: st.Status, Stage: st.Stage, Roles: st.Roles, NextUpdate: st.NextUpdateDue, AlertCount: st.AlertCount}
	if st.LastUpdate != nil {
		req.LastUpdate = fmt.Sprintf("[%s] %s", st.LastUpdate.Stage, st.LastUpdate.Message)
	}
	shown := cardFingerprint(req)
	if shown == w.cardShown {
		return
	}
	var ref CardRef
	w.cardInFlight = true
	w.beside(ctx, "update incident card", ActivityUpsertCard, req, &ref, func(gctx workflow.Context, err error) {
		w.cardInFlight = false
		w.cardShown = shown
		if err != nil {
			w.record(gctx, "card_failed", "", "could not update the incident card: "+errorMessage(err))
			return
		}
		st.Card = &ref
	})
}

func cardFingerprint(r CardRequest) string {
	parts := []string{r.Title, r.Severity, string(r.Status), r.Stage, r.LastUpdate, ""}
	if r.NextUpdate != nil {
		parts[5] = r.NextUpdate.UTC().Format(time.RFC3339)
	}
	for _, role := range Roles {
		parts = append(parts, r.Roles[role])
	}
	return strings.Join(parts, "|")
}

// flushCard shows the final state before the run ends (bounded, so a
// broken Slack never keeps an incident open).
func (w *incident) flushCard(ctx workflow.Context) {
	if w.st.CardVersion < 1 {
		return
	}
	for i := 0; i < 3; i++ {
		w.syncCard(ctx)
		if !w.cardInFlight {
			return
		}
		if ok, err := workflow.AwaitWithTimeout(ctx, time.Minute, func() bool { return !w.cardInFlight }); err != nil || !ok {
			return
		}
	}
}

// beside runs an activity without holding up the main loop: done gets its
// outcome on a workflow coroutine, and continue-as-new waits until it is in.
func (w *incident) beside(ctx workflow.Context, summary, activity string, req, result any, done func(gctx workflow.Context, err error)) {
	actx := workflow.WithActivityOptions(ctx, notifyOptions(summary))
	f := workflow.ExecuteActivity(actx, activity, req)
	w.inFlight++
	workflow.Go(ctx, func(gctx workflow.Context) {
		defer w.settled()
		done(gctx, f.Get(gctx, result))
	})
}

func (w *incident) settled() {
	w.inFlight--
	w.wakeUp()
}

func (w *incident) announceFallback(ctx workflow.Context) {
	rounds := w.st.Plan.Repeat + 1
	text := fmt.Sprintf("Nobody acknowledged %s incident %s (%s) after %d round(s) of paging.",
		w.st.Severity, w.st.ID, w.st.Title, rounds)
	w.record(ctx, "escalation", "", "policy exhausted: telling "+displayTarget(w.st.Plan.Fallback))
	w.announce(ctx, w.st.Plan.Fallback, text, fmt.Sprintf("g%d/fallback", w.st.Escalation.Generation), "tell fallback")
}

// announce posts text to a target beside the main loop; key makes the
// delivery idempotent within this incident.
func (w *incident) announce(ctx workflow.Context, target, text, key, summary string) {
	req := AnnounceRequest{IncidentID: w.st.ID, Target: target, Text: text, IdempotencyKey: w.st.ID + "/" + key}
	w.beside(ctx, summary+" "+displayTarget(target), ActivityAnnounce, req, nil, func(gctx workflow.Context, err error) {
		if err != nil {
			w.record(gctx, "page_failed", "", fmt.Sprintf("telling %s failed: %s", displayTarget(target), errorMessage(err)))
		}
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
		if w.st.Status == StatusResolved || w.st.Status == StatusMonitoring {
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
		if (w.st.Status == StatusTriggered || w.st.Status == StatusAcknowledged) && w.allAlertsResolved() {
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
	if w.st.SlackChannel != nil {
		now.channel = w.st.SlackChannel.ID
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
	if now.channel != w.published.channel {
		updates = append(updates, SearchChannel.ValueSet(now.channel))
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

// shouldContinueAsNew: Temporal suggests it (history near its limits) or the
// configured event count is passed, and no notification is in flight.
func (w *incident) shouldContinueAsNew(ctx workflow.Context) bool {
	if w.st.Version < lifecycleV1 || w.inFlight > 0 {
		return false
	}
	info := workflow.GetInfo(ctx)
	if info.GetContinueAsNewSuggested() {
		return true
	}
	limit := w.st.Plan.ContinueAsNewEvents
	return limit > 0 && info.GetCurrentHistoryLength() >= limit
}

// continueAsNew hands the whole state to a fresh run: pending signals are
// applied first and handlers finish, so nothing sent to this run is lost.
func (w *incident) continueAsNew(ctx workflow.Context) error {
	w.timer.stop()
	if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
		return err
	}
	w.drain(ctx)
	w.publish(ctx)
	st := w.st
	return workflow.NewContinueAsNewError(ctx, IncidentWorkflowName, IncidentInput{
		Key: st.Key, Title: st.Title, Service: st.Service, Severity: st.Severity, Source: st.Source, Resume: &st,
	})
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
