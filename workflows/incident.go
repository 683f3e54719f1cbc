// Package workflows holds the deterministic orchestration of an incident. No
// I/O happens here: paging and posting are activities, config is read by an
// activity, time is workflow time.
package workflows

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/incidentflow/incidentflow/activities"
	"github.com/incidentflow/incidentflow/config"
	"github.com/incidentflow/incidentflow/incident"
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
	// policyRefreshChange re-reads the policy when the severity changes.
	policyRefreshChange = "policy-refresh"
	// rulesChange pages each person of a step through their notification
	// rules, in a child workflow the ack cancels.
	rulesChange = "notification-rules"
	// maintenanceChange holds the first page while a maintenance window
	// covers the incident's service.
	maintenanceChange = "maintenance-hold"
	// integrationAckChange: an integration's ack no longer makes it
	// commander.
	integrationAckChange = "integration-ack"
	// firstRuleChange sends a person's immediate first rule from the
	// incident, not from the child that pages them through their rules.
	firstRuleChange = "first-rule-direct"
)

// maintenanceRecheck is how often a held incident asks again whether its
// window still holds: one removed early, or ended, releases it within this.
const maintenanceRecheck = 5 * time.Minute

// a names the activities; workflows call them by method reference, so a
// renamed activity breaks the build rather than a running incident.
var a *activities.Activities

// IncidentWorkflow runs one incident from trigger to resolution.
func IncidentWorkflow(ctx workflow.Context, in IncidentInput) (*Incident, error) {
	w := &incidentWorkflow{}
	if err := w.setup(ctx, in); err != nil {
		return nil, err
	}
	return w.run(ctx, in.Resume != nil)
}

type incidentWorkflow struct {
	loop
	st        incidentState
	published published
	alerts    workflow.ReceiveChannel
	batches   workflow.ReceiveChannel
	// paging cancels the people being paged through their rules (an ack
	// stops them all at once).
	paging []workflow.CancelFunc
	// signals counts the signals this run took: Temporal refuses more than
	// 10,000 in one run, so a storm hands over to a new run well before.
	signals int
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

func (w *incidentWorkflow) setup(ctx workflow.Context, in IncidentInput) error {
	if in.Resume != nil {
		w.st = *in.Resume
		w.st.Runs++
		if w.st.Roles == nil {
			w.st.Roles = map[string]string{}
		}
	} else {
		info := workflow.GetInfo(ctx)
		// Every string that enters state is bounded: an input that made the
		// state too big to hand over would wedge the incident.
		title := incident.Cut(strings.TrimSpace(in.Title), incident.MaxTitle)
		key := incident.CutID(in.Key, incident.MaxKey)
		if title == "" {
			title = incident.Cut(key, incident.MaxTitle)
		}
		now := workflow.Now(ctx)
		w.st = incidentState{
			ID:             info.WorkflowExecution.ID,
			Key:            key,
			Title:          title,
			Service:        incident.Cut(in.Service, incident.MaxName),
			Severity:       incident.Cut(in.Severity, incident.MaxName),
			Status:         incident.StatusTriggered,
			Stage:          incident.StageInvestigating,
			StageChangedAt: now,
			Source:         incident.Cut(in.Source, incident.MaxName),
			Shadow:         in.Shadow,
			Exercise:       newExercise(in),
			Runbook:        incident.RunbookURL(in.Runbook),
			Roles:          map[string]string{},
			CreatedAt:      now,
			Alerts:         []Alert{},
			Timeline:       []TimelineEntry{},
			ActionItems:    []ActionItem{},
		}
	}
	// The query comes first so even a workflow stuck in its first task can be read.
	if err := workflow.SetQueryHandler(ctx, QueryState, func() (Incident, error) {
		return w.st.view(), nil
	}); err != nil {
		return fmt.Errorf("register %s query: %w", QueryState, err)
	}
	w.init(ctx)
	w.published = currentlyPublished(ctx)
	w.alerts = workflow.GetSignalChannel(ctx, SignalAlert)
	w.batches = workflow.GetSignalChannel(ctx, SignalAlerts)
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

func (w *incidentWorkflow) run(ctx workflow.Context, resumed bool) (*Incident, error) {
	if !resumed {
		w.st.Version = int(workflow.GetVersion(ctx, lifecycleChange, workflow.DefaultVersion, lifecycleV1))
		w.record(ctx, KindTriggered, w.st.Source, fmt.Sprintf("%s incident opened on %s: %s", w.st.Severity, w.st.Service, w.st.Title))
		w.publish(ctx)
		w.st.Policy = w.st.exercisePolicy(w.resolvePolicy(ctx))
		w.startExercise(ctx)
		w.startEscalation(ctx)
		if workflow.GetVersion(ctx, maintenanceChange, workflow.DefaultVersion, 1) >= 1 {
			w.holdForMaintenance(ctx)
		}
		if w.st.Version >= lifecycleV1 {
			w.st.ChannelVersion = int(workflow.GetVersion(ctx, channelChange, workflow.DefaultVersion, 1))
			w.st.CardVersion = int(workflow.GetVersion(ctx, cardChange, workflow.DefaultVersion, 1))
			w.st.InviteVersion = int(workflow.GetVersion(ctx, inviteChange, workflow.DefaultVersion, 1))
			w.st.PostmortemVersion = int(workflow.GetVersion(ctx, postmortemChange, workflow.DefaultVersion, 1))
			w.st.RulesVersion = int(workflow.GetVersion(ctx, rulesChange, workflow.DefaultVersion, 1))
		}
		w.openChannel(ctx)
		w.findSimilar(ctx)
		w.startMajor(ctx)
		w.loadRunbookSteps(ctx)
	} else {
		w.record(ctx, KindContinued, "", fmt.Sprintf("continued as new (run %d); timers resume", w.st.Runs+1))
	}

	for {
		for !w.finished() {
			w.advance(ctx)
			w.publish(ctx)
			w.syncCard(ctx)
			w.reconcileAccess(ctx)
			w.reportToParent(ctx)
			if w.shouldContinueAsNew(ctx) {
				return nil, w.continueAsNew(ctx)
			}
			// People's commands are taken before alerts that arrived with
			// them: a firing alert handled after a resolve reopens the
			// incident, whereas handled first it would be swept away by it.
			w.selector(ctx, func(sel workflow.Selector) {
				sel.AddReceive(w.alerts, func(c workflow.ReceiveChannel, _ bool) {
					var s AlertSignal
					c.Receive(ctx, &s)
					w.signals++
					w.alert(ctx, s)
				})
				sel.AddReceive(w.batches, func(c workflow.ReceiveChannel, _ bool) {
					var b AlertBatch
					c.Receive(ctx, &b)
					w.signals++
					w.alertBatch(ctx, b)
				})
			}, func() {}).Select(ctx)
		}
		w.timer.stop()
		w.publish(ctx)
		w.flushCard(ctx)
		w.settleExercise(ctx)
		w.revokeAccess(ctx)

		// Completing with signals still queued would lose them: an alert that
		// fired again at the last moment must reopen the incident, not vanish.
		if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
			return nil, err
		}
		// A linked incident's last signals must be out before it ends.
		if !w.drain(ctx) && !w.settleLinks(ctx) {
			final := w.st.view()
			return &final, nil
		}
	}
}

// finished: version 0 ended at resolution; version 1 ends when closed.
func (w *incidentWorkflow) finished() bool {
	if w.st.Version < lifecycleV1 {
		return w.st.Status == incident.StatusResolved
	}
	return w.st.Status == incident.StatusClosed
}

// drain handles every queued signal. It reports whether one of them
// brought the incident back to life.
func (w *incidentWorkflow) drain(ctx workflow.Context) bool {
	for {
		got := w.drainCommands(ctx)
		var a AlertSignal
		for w.alerts.ReceiveAsync(&a) {
			got = true
			w.alert(ctx, a)
		}
		var b AlertBatch
		for w.batches.ReceiveAsync(&b) {
			got = true
			w.alertBatch(ctx, b)
		}
		if !got {
			return !w.finished()
		}
	}
}

func (w *incidentWorkflow) resolvePolicy(ctx workflow.Context) incident.Policy {
	var policy incident.Policy
	err := readConfig(ctx, a.ResolvePlan, incident.PlanRequest{Service: w.st.Service, Severity: w.st.Severity}, &policy)
	if err != nil {
		// Never leave an accepted alert unpaged: with no policy, tell the fallback.
		w.record(ctx, KindWarning, "", "could not resolve the escalation policy: "+err.Error())
		return incident.Policy{Page: true}
	}
	if policy.Warning != "" {
		w.record(ctx, KindWarning, "", policy.Warning)
	}
	return policy
}

// readConfig runs a local activity that reads the worker's config: it is
// quick and local, and its answer goes into history once.
func readConfig(ctx workflow.Context, activity, req, result any) error {
	lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: 10 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, MaximumInterval: 30 * time.Second},
	})
	return workflow.ExecuteLocalActivity(lctx, activity, req).Get(ctx, result)
}

// holdForMaintenance holds the first page while a maintenance window
// covers the service: the incident and its alerts are recorded, and
// nobody is paged unless it still fires when the window ends.
func (w *incidentWorkflow) holdForMaintenance(ctx workflow.Context) {
	if w.st.Escalation.Exhausted {
		return // nothing would page anyway
	}
	hold, ok := w.maintenanceHold(ctx)
	if !ok {
		return
	}
	w.st.Hold = &hold
	w.record(ctx, KindMaintenance, "", fmt.Sprintf("in maintenance until %s (%s): alerts are recorded, nobody is paged unless this still fires then",
		hold.Until.UTC().Format(time.RFC3339), hold.Reason))
}

// maintenanceHold asks whether a window holds the service's paging now.
// When that cannot be told, it does not: paging when unsure beats holding.
func (w *incidentWorkflow) maintenanceHold(ctx workflow.Context) (maintenanceHold, bool) {
	var h incident.MaintenanceHold
	if err := readConfig(ctx, a.MaintenanceFor, incident.MaintenanceRequest{Service: w.st.Service}, &h); err != nil {
		w.record(ctx, KindWarning, "", "could not tell whether a maintenance window holds paging: "+err.Error())
		return maintenanceHold{}, false
	}
	now := workflow.Now(ctx)
	if !h.Holds(now) {
		return maintenanceHold{}, false
	}
	check := now.Add(maintenanceRecheck)
	if h.Until.Before(check) {
		check = h.Until
	}
	return maintenanceHold{Until: h.Until, Reason: h.Reason, CheckAt: check}, true
}

func (w *incidentWorkflow) startEscalation(ctx workflow.Context) {
	e := &w.st.Escalation
	e.Position, e.Exhausted = 0, false
	e.NextPageAt = workflow.Now(ctx)
	if !w.pages() {
		e.Exhausted = true
		e.NextPageAt = time.Time{}
		w.record(ctx, KindEscalation, "", fmt.Sprintf("%s does not page; nobody was paged", w.st.Severity))
	}
}

// pages says whether the current severity pages. Version 0 fixed it at start.
func (w *incidentWorkflow) pages() bool {
	if sev, ok := w.st.Policy.Severities[w.st.Severity]; ok && w.st.Version >= lifecycleV1 {
		return sev.Page
	}
	return w.st.Policy.Page
}

// advance fires everything that is due and arms the timer for what is next.
func (w *incidentWorkflow) advance(ctx workflow.Context) {
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

func (w *incidentWorkflow) nextPageSummary() string {
	if w.st.Escalation.Position >= w.st.lastPosition() {
		return "no ack: tell the fallback"
	}
	round, step := w.st.nextRoundStep()
	return fmt.Sprintf("no ack: page round %d step %d", round+1, step+1)
}

// pageNext pages the step at the current position (or the fallback after
// the last round) and schedules the one after it.
func (w *incidentWorkflow) pageNext(ctx workflow.Context) { w.pageNextTagged(ctx, "") }

// pageNextTagged is pageNext whose pages carry tag in their keys.
func (w *incidentWorkflow) pageNextTagged(ctx workflow.Context, tag string) {
	e := &w.st.Escalation
	plan := w.st.Policy
	now := workflow.Now(ctx)
	last := w.st.lastPosition()
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
	w.record(ctx, KindEscalation, "", fmt.Sprintf("round %d step %d: paging %s", round+1, step+1, strings.Join(targets, ", ")))
	w.pageTargets(ctx, round, step, targets, tag)
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
	e.NextPageAt = now.Add(wait)
}

// page pages one target; tag distinguishes extra pages of the same step
// (a severity raise) so their idempotency keys differ.
func (w *incidentWorkflow) page(ctx workflow.Context, round, step int, target, tag string) {
	req := incident.PageRequest{
		IncidentID: w.st.ID,
		Title:      w.st.Title,
		Severity:   w.st.Severity,
		Service:    w.st.Service,
		Target:     target,
		Round:      round + 1,
		Step:       step + 1,
		IdempotencyKey: fmt.Sprintf("%s/g%d/r%d/s%d/%s",
			w.st.ID, w.st.Escalation.Generation, round+1, step+1, target),
		Runbook:  w.st.runbook(),
		Exercise: w.st.exercising(),
	}
	if tag != "" {
		req.IdempotencyKey += "/" + tag
	}
	if w.st.Shadow {
		w.record(ctx, KindPaged, "", fmt.Sprintf("would have paged %s (shadow mode: nothing sent)", target))
		return
	}
	// Pages complete beside the main loop, so a slow or failing channel never
	// holds up an ack or the next escalation step.
	var res incident.PageResult
	w.beside(ctx, "page "+target, a.Page, req, &res, func(gctx workflow.Context, err error) {
		if err != nil {
			w.record(gctx, KindPageFailed, "", fmt.Sprintf("page to %s failed: %s", target, errorMessage(err)))
		} else {
			w.record(gctx, KindPaged, "", pagedText(res.Recipient, res.Channel, res.Digest, target))
		}
	})
}

// openChannel opens the incident's Slack channel beside the main loop, so
// the first page never waits for it; reminders and updates then go there.
func (w *incidentWorkflow) openChannel(ctx workflow.Context) {
	st := &w.st
	if st.Shadow || st.ChannelVersion < 1 || st.SlackChannel != nil || w.openingChannel || !st.Policy.SlackChannels || !st.severityPlan().Channel {
		return
	}
	var invite []string
	if len(st.Policy.Steps) > 0 {
		invite = st.Policy.Steps[0].Targets
	}
	req := incident.ChannelRequest{IncidentID: st.ID, Title: st.Title, Severity: st.Severity, Commander: st.commander(),
		OpenedAt: st.CreatedAt, Invite: invite, Announce: st.Policy.Announce, Exercise: st.exercising()}
	var ch incident.SlackChannel
	w.openingChannel = true
	w.beside(ctx, "open incident channel", a.OpenChannel, req, &ch, func(gctx workflow.Context, err error) {
		w.openingChannel = false
		if err != nil {
			w.record(gctx, KindChannelFailed, "", "could not open the incident channel: "+errorMessage(err))
			return
		}
		st.SlackChannel = &ch
		w.record(gctx, KindChannel, "", fmt.Sprintf("incident channel #%s opened", ch.Name))
		// Whoever acked or took a role while it was being opened joins now.
		var holders []string
		for _, r := range incident.Roles {
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
func (w *incidentWorkflow) invite(ctx workflow.Context, users ...string) {
	if w.st.Shadow {
		return
	}
	st := &w.st
	if st.InviteVersion < 1 || st.SlackChannel == nil || len(users) == 0 {
		return
	}
	w.beside(ctx, "invite "+strings.Join(users, ", "), a.InviteToChannel, incident.InviteRequest{Channel: st.SlackChannel.ID, Users: users}, nil, func(gctx workflow.Context, err error) {
		if err != nil {
			w.record(gctx, KindChannelFailed, "", fmt.Sprintf("could not invite %s: %s", strings.Join(users, ", "), errorMessage(err)))
		}
	})
}

// syncCard posts or updates the incident card when what it shows changed.
// It waits for the incident channel if one is being opened; the alert count
// alone does not move it, so a storm of duplicates edits nothing.
func (w *incidentWorkflow) syncCard(ctx workflow.Context) {
	if w.st.Shadow {
		return
	}
	st := &w.st
	if st.CardVersion < 1 || !st.Policy.SlackChannels || w.cardInFlight || w.openingChannel {
		return
	}
	channel := ""
	switch {
	case st.Card != nil:
		channel = st.Card.Channel
	case strings.HasPrefix(st.channel(), "slack_channel:"):
		channel = strings.TrimPrefix(st.channel(), "slack_channel:")
	}
	if channel == "" {
		return
	}
	req := incident.CardRequest{IncidentID: st.ID, Channel: channel, Ref: st.Card, Title: st.Title, Severity: st.Severity,
		Status: st.Status, Stage: st.Stage, Roles: maps.Clone(st.Roles), NextUpdate: st.NextUpdateDue, AlertCount: st.alertCount(),
		Runbook: st.runbook(), Exercise: st.exercising(), Similar: st.Similar, RunbookSteps: st.runbookButtons()}
	if st.LastUpdate != nil {
		req.LastUpdate = fmt.Sprintf("[%s] %s", st.LastUpdate.Stage, st.LastUpdate.Message)
	}
	shown := cardFingerprint(req)
	if shown == w.cardShown {
		return
	}
	var ref incident.CardRef
	w.cardInFlight = true
	w.beside(ctx, "update incident card", a.UpsertCard, req, &ref, func(gctx workflow.Context, err error) {
		w.cardInFlight = false
		w.cardShown = shown
		if err != nil {
			w.record(gctx, KindCardFailed, "", "could not update the incident card: "+errorMessage(err))
			return
		}
		st.Card = &ref
	})
}

func cardFingerprint(r incident.CardRequest) string {
	parts := []string{r.Title, r.Severity, string(r.Status), string(r.Stage), r.LastUpdate, ""}
	if r.NextUpdate != nil {
		parts[5] = r.NextUpdate.UTC().Format(time.RFC3339)
	}
	for _, role := range incident.Roles {
		parts = append(parts, r.Roles[role])
	}
	if len(r.Similar) > 0 {
		// Only then: cards of incidents that never had any keep the
		// fingerprint their histories were recorded with.
		parts = append(parts, fmt.Sprintf("similar:%d", len(r.Similar)))
	}
	if rb := runbookFingerprint(r.RunbookSteps); rb != "" {
		parts = append(parts, rb)
	}
	return strings.Join(parts, "|")
}

// flushCard shows the final state before the run ends (bounded, so a
// broken Slack never keeps an incident open).
func (w *incidentWorkflow) flushCard(ctx workflow.Context) {
	if w.st.Shadow {
		return
	}
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
func (w *incidentWorkflow) beside(ctx workflow.Context, summary string, activity, req, result any, done func(gctx workflow.Context, err error)) {
	w.loop.beside(ctx, notifyOptions(summary), activity, req, result, done)
}

func (w *incidentWorkflow) announceFallback(ctx workflow.Context) {
	rounds := w.st.Policy.Repeat + 1
	text := fmt.Sprintf("Nobody acknowledged %s incident %s (%s) after %d round(s) of paging.",
		w.st.Severity, w.st.ID, w.st.Title, rounds)
	w.record(ctx, KindEscalation, "", "policy exhausted: telling "+displayTarget(w.st.Policy.Fallback))
	w.announce(ctx, w.st.Policy.Fallback, text, fmt.Sprintf("g%d/fallback", w.st.Escalation.Generation), "tell fallback")
}

// announce posts text to a target beside the main loop; key makes the
// delivery idempotent within this incident.
func (w *incidentWorkflow) announce(ctx workflow.Context, target, text, key, summary string) {
	w.announceTo(ctx, target, "", text, key, summary)
}

// announceTo is announce for text that begins by naming addressee, who
// is mentioned where the channel can notify them.
func (w *incidentWorkflow) announceTo(ctx workflow.Context, target, addressee, text, key, summary string) {
	if w.st.Shadow {
		return // the timeline has it; shadow mode tells nobody
	}
	req := incident.AnnounceRequest{IncidentID: w.st.ID, Target: target, Text: text, IdempotencyKey: w.st.ID + "/" + key, Addressee: addressee,
		Exercise: w.st.exercising()}
	w.beside(ctx, summary+" "+displayTarget(target), a.Announce, req, nil, func(gctx workflow.Context, err error) {
		if err != nil {
			w.record(gctx, KindNotifyFailed, "", fmt.Sprintf("telling %s failed: %s", displayTarget(target), errorMessage(err)))
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
// twice (the activity is keyed), and after ten minutes the timeline says it
// failed. An attempt may wait its turn for a busy channel as long as it
// must; it heartbeats meanwhile, so a worker dying mid-page costs the
// heartbeat timeout, seconds, before another worker retries it.
func notifyOptions(summary string) workflow.ActivityOptions {
	return workflow.ActivityOptions{
		StartToCloseTimeout:    5 * time.Minute,
		HeartbeatTimeout:       activities.HeartbeatTimeout,
		ScheduleToCloseTimeout: 10 * time.Minute,
		Summary:                summary,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    time.Second,
			BackoffCoefficient: 2,
			MaximumInterval:    time.Minute,
		},
	}
}

// maxSignalsPerRun hands a storm to a new run at half of Temporal's
// 10,000-signal limit per run.
const maxSignalsPerRun = 5000

// alertBatch applies a batch from the intake, each entry as its events would be.
func (w *incidentWorkflow) alertBatch(ctx workflow.Context, b AlertBatch) {
	for i, s := range b.Alerts {
		if i >= MaxBatchAlerts {
			w.record(ctx, KindWarning, "", fmt.Sprintf("a batch of %d alerts was cut to its first %d", len(b.Alerts), MaxBatchAlerts))
			return
		}
		w.alert(ctx, s)
	}
}

func (w *incidentWorkflow) alert(ctx workflow.Context, s AlertSignal) {
	if w.forwardMerged(ctx, s) {
		return
	}
	now := workflow.Now(ctx)
	fp := incident.CutID(s.Fingerprint, incident.MaxFingerprint)
	if fp == "" {
		fp = "default"
	}
	s.Summary = incident.Cut(s.Summary, incident.MaxTitle)
	s.Source = incident.Cut(s.Source, incident.MaxName)
	if w.st.Runbook == "" {
		w.st.Runbook = incident.RunbookURL(s.Runbook)
	}
	w.noteProblemStart(s.StartsAt)
	events := max(s.Count, 1)
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
	forgotten := &w.st.Forgotten
	switch s.Status {
	case incident.AlertFiring:
		if idx < 0 {
			w.keepAlert(Alert{Fingerprint: fp, Status: incident.AlertFiring, Summary: s.Summary, FirstSeen: now, LastSeen: now, Count: events})
			w.record(ctx, KindAlert, s.Source, "alert firing: "+summary)
		} else {
			a := &w.st.Alerts[idx]
			a.Count += events
			a.LastSeen = now
			if a.Status != incident.AlertFiring {
				a.Status = incident.AlertFiring
				w.record(ctx, KindAlert, s.Source, "alert firing again: "+summary)
			}
		}
		if w.st.Status == incident.StatusResolved || w.st.Status == incident.StatusMonitoring {
			w.reopen(ctx, "alert:"+s.Source, "alert fired again: "+summary)
		}
	case incident.AlertResolved:
		switch {
		case idx < 0 && forgotten.Firing > 0:
			// Most likely one of the forgotten alerts, which fired.
			forgotten.Firing--
		case idx < 0:
			w.keepAlert(Alert{Fingerprint: fp, Status: incident.AlertResolved, Summary: s.Summary, FirstSeen: now, LastSeen: now})
		case w.st.Alerts[idx].Status == incident.AlertFiring:
			w.st.Alerts[idx].Status = incident.AlertResolved
			w.st.Alerts[idx].LastSeen = now
		default:
			return
		}
		w.record(ctx, KindAlert, s.Source, "alert resolved: "+summary)
		if (w.st.Status == incident.StatusTriggered || w.st.Status == incident.StatusAcknowledged) && w.allAlertsResolved() {
			w.resolve(ctx, ActionRequest{By: "alert:" + s.Source, Note: "every alert of the incident resolved"})
		}
	default:
		w.record(ctx, KindIgnored, s.Source, fmt.Sprintf("alert with unknown status %q ignored", incident.Cut(s.Status, incident.MaxName)))
	}
}

// keepAlert lists a new distinct alert. A full list forgets its stalest
// alert, a resolved one if there is any, and only counts it from then on.
func (w *incidentWorkflow) keepAlert(al Alert) {
	if len(w.st.Alerts) >= incident.MaxAlertsKept {
		stalest := -1
		for i, a := range w.st.Alerts {
			if stalest < 0 || stale(a, w.st.Alerts[stalest]) {
				stalest = i
			}
		}
		gone := w.st.Alerts[stalest]
		w.st.Forgotten.Alerts++
		w.st.Forgotten.Events += gone.Count
		if gone.Status == incident.AlertFiring {
			w.st.Forgotten.Firing++
		}
		w.st.Alerts = slices.Delete(w.st.Alerts, stalest, stalest+1)
	}
	w.st.Alerts = append(w.st.Alerts, al)
}

// stale: a resolved alert goes before a firing one, then the least recently seen.
func stale(a, than Alert) bool {
	if (a.Status == incident.AlertFiring) != (than.Status == incident.AlertFiring) {
		return a.Status != incident.AlertFiring
	}
	return a.LastSeen.Before(than.LastSeen)
}

func (w *incidentWorkflow) allAlertsResolved() bool {
	for _, a := range w.st.Alerts {
		if a.Status == incident.AlertFiring {
			return false
		}
	}
	return len(w.st.Alerts) > 0 && w.st.Forgotten.Firing == 0
}

func (w *incidentWorkflow) record(ctx workflow.Context, kind Kind, actor, msg string) {
	var dropped int
	w.st.Timeline, dropped = appendBounded(w.st.Timeline, TimelineEntry{At: workflow.Now(ctx), Kind: kind, Actor: actor, Message: msg})
	w.st.TimelineOmitted += dropped
}

// publish keeps search attributes and memo in step with the state.
func (w *incidentWorkflow) publish(ctx workflow.Context) {
	now := published{
		severity: w.st.Severity, status: string(w.st.Status), service: w.st.Service,
		commander: w.st.commander(), title: w.st.Title,
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
	// Shown in the Temporal UI beside the workflow: no command, so it may
	// change with every task without touching history.
	workflow.SetCurrentDetails(ctx, w.st.details(workflow.Now(ctx)))
}

// details is the incident at a glance, in Markdown, for the Temporal UI.
func (st *incidentState) details(now time.Time) string {
	var b strings.Builder
	b.WriteString(fmt.Sprintf("**%s %s** on %s: %s\n\n", st.Severity, st.Status, st.Service, st.Title))
	b.WriteString(fmt.Sprintf("- commander: %s\n", orNone(st.commander())))
	b.WriteString(fmt.Sprintf("- stage: %s\n", st.Stage))
	e := st.Escalation
	switch triggered := st.Status == incident.StatusTriggered; {
	case triggered && st.Hold != nil:
		b.WriteString(fmt.Sprintf("- paging held by maintenance until %s (%s)\n", st.Hold.Until.UTC().Format(time.RFC3339), st.Hold.Reason))
	case triggered && !e.Exhausted && !e.NextPageAt.IsZero():
		round, step := st.nextRoundStep()
		b.WriteString(fmt.Sprintf("- next page: round %d step %d at %s (in %s)\n", round+1, step+1, e.NextPageAt.UTC().Format(time.RFC3339), e.NextPageAt.Sub(now).Round(time.Second)))
	}
	if st.NextUpdateDue != nil && (st.Status == incident.StatusTriggered || st.Status == incident.StatusAcknowledged) {
		b.WriteString(fmt.Sprintf("- next status update due: %s\n", st.NextUpdateDue.UTC().Format(time.RFC3339)))
	}
	if st.Shadow {
		b.WriteString("- shadow mode: nothing is sent\n")
	}
	if st.Exercise != nil {
		b.WriteString("- exercise: pages only " + strings.Join(st.Exercise.Participants, ", ") + "\n")
	}
	b.WriteString(st.majorDetails())
	return b.String()
}

func orNone(s string) string {
	if s == "" {
		return "none yet"
	}
	return s
}

// shouldContinueAsNew: Temporal suggests it (history near its limits) or the
// configured event count is passed, and no notification is in flight.
func (w *incidentWorkflow) shouldContinueAsNew(ctx workflow.Context) bool {
	if w.st.Version < lifecycleV1 {
		return false
	}
	return w.continueAsNewDue(ctx, w.st.Policy.ContinueAsNewEvents) || w.inFlight == 0 && w.signals >= maxSignalsPerRun
}

// continueAsNew hands the whole state to a fresh run: pending signals are
// applied first and handlers finish, so nothing sent to this run is lost.
func (w *incidentWorkflow) continueAsNew(ctx workflow.Context) error {
	return w.handOver(ctx, func() {
		w.drain(ctx)
		w.publish(ctx)
	}, IncidentWorkflowName, func() any {
		st := w.st
		return IncidentInput{Key: st.Key, Title: st.Title, Service: st.Service, Severity: st.Severity, Source: st.Source, Resume: &st}
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

// pageTargets pages targets for round and step; tag tells extra pages of
// the same step (a severity raise, a page by hand) apart. Since the
// notification-rules gate each person the targets name is paged once,
// through their rules; channels and webhooks are paged as they are.
func (w *incidentWorkflow) pageTargets(ctx workflow.Context, round, step int, targets []string, tag string) {
	if w.st.RulesVersion < 1 {
		for _, t := range targets {
			w.page(ctx, round, step, t, tag)
		}
		return
	}
	var people incident.People
	if err := readConfig(ctx, a.People, incident.PeopleRequest{Targets: targets}, &people); err != nil {
		w.record(ctx, KindWarning, "", "could not work out who to page, paging each target as it is: "+errorMessage(err))
		people = incident.People{Others: targets}
	}
	for _, p := range people.People {
		w.pagePerson(ctx, round, step, p, tag)
	}
	for _, t := range people.Others {
		w.page(ctx, round, step, t, tag)
	}
}

// pagePerson starts a child that pages one person through their rules.
func (w *incidentWorkflow) pagePerson(ctx workflow.Context, round, step int, p incident.Person, tag string) {
	gen := w.st.Escalation.Generation
	req := incident.PageRequest{IncidentID: w.st.ID, Title: w.st.Title, Severity: w.st.Severity, Service: w.st.Service,
		Target: p.Targets[0], Round: round + 1, Step: step + 1, Runbook: w.st.runbook(), Exercise: w.st.exercising(),
		IdempotencyKey: fmt.Sprintf("%s/g%d/r%d/s%d", w.st.ID, gen, round+1, step+1)}
	// From the key, as the post-mortem's: a replay under another ID names it the same.
	id := fmt.Sprintf("notify-%s-g%d-r%d-s%d-%s", strings.TrimPrefix(IncidentID(w.st.Key), idPrefix), gen, round+1, step+1, incident.Slug(p.User, "._", 64))
	if tag != "" {
		req.IdempotencyKey += "/" + tag
		id += "-" + incident.Slug(tag, "._", 40)
	}
	summary := fmt.Sprintf("paging %s: %s", p.User, rulesSummary(p.Rules))
	// An SMS reply names nobody: the intake finds the incident by whom it
	// last paged. A shadow page reached nobody, so it must not be found.
	memo := map[string]interface{}{MemoPagedUser: p.User, MemoIncident: w.st.ID}
	if w.st.Shadow {
		summary = "shadow: would page " + strings.TrimPrefix(summary, "paging ")
		memo = map[string]interface{}{MemoIncident: w.st.ID}
	}
	targets := strings.Join(p.Targets, ", ")
	in := NotifyPersonInput{Page: req, User: p.User, Rules: p.Rules, Shadow: w.st.Shadow}
	if w.notifiesFirstRule(ctx, p) {
		// The first rule goes from here, at once: through the child it
		// waited for the child's start and first task (a third of the page's
		// time). The child keeps the later rules, timed from now, and its
		// memo says whom this incident paged, for replies to their texts.
		w.notifyFirst(ctx, req, p, targets)
		in.Rules, in.From, in.Skipped = p.Rules[1:], workflow.Now(ctx), 1
		if len(in.Rules) == 0 {
			// Nothing left for a child to do; no text went, so no reply
			// needs its memo.
			return
		}
	}
	cctx, cancel := workflow.WithCancel(ctx)
	cctx = workflow.WithChildOptions(cctx, workflow.ChildWorkflowOptions{WorkflowID: id, StaticSummary: incident.Cut(summary, 200), Memo: memo})
	w.paging = append(w.paging, cancel)
	f := workflow.ExecuteChildWorkflow(cctx, NotifyPersonWorkflowName, in)
	w.inFlight++
	workflow.Go(ctx, func(gctx workflow.Context) {
		defer func() {
			w.inFlight--
			w.wakeUp()
		}()
		var res NotifyPersonResult
		if err := f.Get(gctx, &res); err != nil {
			w.record(gctx, KindPageFailed, "", fmt.Sprintf("paging %s (%s) failed: %s", p.User, targets, errorMessage(err)))
			return
		}
		for _, n := range res.Notified {
			w.recordNotified(gctx, p.User, targets, n)
		}
		if res.Stopped {
			w.record(gctx, KindEscalation, "", fmt.Sprintf("stopped paging %s: the incident was acknowledged", p.User))
		}
	})
}

// notifiesFirstRule: whether a person's first rule, due at once, is sent
// by the incident itself rather than by the child that pages them. Before
// the first-rule-direct gate the child sent every rule. Shadow pages send
// nothing, so their child times them all. A text stays with the child: a
// reply to it names no incident, and is matched to the child that last
// paged its sender, which must be visible by the time the reply comes.
func (w *incidentWorkflow) notifiesFirstRule(ctx workflow.Context, p incident.Person) bool {
	if w.st.Shadow || len(p.Rules) == 0 || p.Rules[0].After > 0 || p.Rules[0].Via == config.ViaSMS {
		return false
	}
	return workflow.GetVersion(ctx, firstRuleChange, workflow.DefaultVersion, 1) >= 1
}

// notifyFirst sends a person's first rule beside the main loop, keyed as
// the child would have keyed it, so a retry or a replay never sends it
// twice.
func (w *incidentWorkflow) notifyFirst(ctx workflow.Context, page incident.PageRequest, p incident.Person, targets string) {
	via := p.Rules[0].Via
	req := incident.NotifyRequest{Page: page, User: p.User, Via: via}
	req.Page.IdempotencyKey = ruleKey(page.IdempotencyKey, p.User, 0, via)
	var got incident.PageResult
	w.beside(ctx, fmt.Sprintf("page %s by %s", p.User, viaName(via)), a.NotifyPerson, req, &got, func(gctx workflow.Context, err error) {
		n := Notified{Via: via, Recipient: got.Recipient, Channel: got.Channel, Digest: got.Digest}
		if err != nil {
			n.Error = errorMessage(err)
		}
		w.recordNotified(gctx, p.User, targets, n)
	})
}

// recordNotified puts one rule's outcome for user on the timeline, whether
// the incident or the person's child sent it.
func (w *incidentWorkflow) recordNotified(ctx workflow.Context, user, targets string, n Notified) {
	switch {
	case n.Error != "":
		w.record(ctx, KindPageFailed, "", fmt.Sprintf("page to %s by %s failed: %s", user, viaName(n.Via), n.Error))
	case n.Channel == shadowChannel:
		// Recorded when the person's rules are done (or an ack stops
		// them), so each says when it would have gone out: the shadow
		// comparison times pages by it.
		w.record(ctx, KindPaged, "", fmt.Sprintf("would have paged %s by %s at %s (%s; shadow mode: nothing sent)", n.Recipient, viaName(n.Via), n.At.UTC().Format(time.RFC3339), targets))
	default:
		w.record(ctx, KindPaged, "", pagedText(n.Recipient, n.Channel, n.Digest, targets))
	}
}

// stopPaging cancels every person still being paged through their rules.
func (w *incidentWorkflow) stopPaging() {
	for _, cancel := range w.paging {
		cancel()
	}
	w.paging = nil
}

// maxDetectionLag bounds how far back an alert's start may put the
// problem: an older start is a sender's clock or a long-firing alert
// reopening, not detection time.
const maxDetectionLag = 7 * 24 * time.Hour

// noteProblemStart keeps the earliest problem start an alert reports
// before the incident opened.
func (w *incidentWorkflow) noteProblemStart(at time.Time) {
	st := &w.st
	if at.IsZero() || !at.Before(st.CreatedAt) || st.CreatedAt.Sub(at) > maxDetectionLag {
		return
	}
	if st.ProblemStartedAt == nil || at.Before(*st.ProblemStartedAt) {
		at = at.UTC()
		st.ProblemStartedAt = &at
	}
}
