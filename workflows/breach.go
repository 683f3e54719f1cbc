package workflows

import (
	"fmt"
	"slices"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/incidentflow/incidentflow/incident"
)

// A personal-data breach must be reported to the regulator within 72 hours
// of becoming aware of it (GDPR Art. 33). The incident may be resolved and
// closed within hours, so the deadline runs in a child of its own,
// breach-<key>, which the incident abandons when it closes: it reminds the
// commander and the privacy contact, escalates a missed deadline, and keeps
// the checklist until every item is ticked.
//
// Shadow incidents run it and record every reminder, sending nothing (as
// they page nobody). Exercises run it as a real one, with every message
// marked [EXERCISE], so the drill includes the deadline.

// breachChange: an incident takes the data-breach Update and starts the
// breach child. Checked only when a breach is declared, so no history
// without one is touched.
const breachChange = "breach-v1"

// breachCommands are the incident's data-breach commands, registered after
// every other so the order earlier histories consumed signals in is kept.
func (w *incidentWorkflow) breachCommands(ctx workflow.Context) []func() (command, error) {
	return []func() (command, error){
		func() (command, error) {
			return defineCommand(ctx, w, SignalDataBreach, func(r BreachRequest) string { return r.By },
				func(r BreachRequest) error { return w.validateBreach(workflow.Now(ctx), r) }, w.declareBreach)
		},
		func() (command, error) { return signalOnly(ctx, SignalBreachMirror, w.applyBreachMirror), nil },
	}
}

// signalOnly is a command with no Update: what another workflow tells this
// one, which people have no business sending.
func signalOnly[T any](ctx workflow.Context, name string, apply func(workflow.Context, T)) command {
	ch := workflow.GetSignalChannel(ctx, name)
	return command{
		ch: ch,
		receive: func(ctx workflow.Context) {
			var req T
			ch.Receive(ctx, &req)
			apply(ctx, req)
		},
		receiveAsync: func(ctx workflow.Context) bool {
			var req T
			if !ch.ReceiveAsync(&req) {
				return false
			}
			apply(ctx, req)
			return true
		},
	}
}

func (w *incidentWorkflow) validateBreach(now time.Time, r BreachRequest) error {
	if err := requireBy(r.By); err != nil {
		return err
	}
	if err := checkNote(r.Note); err != nil {
		return err
	}
	if r.AwareAt != nil {
		if err := incident.CheckAwareAt(*r.AwareAt, now); err != nil {
			return fieldError("aware_at", "%s", err.Error())
		}
	}
	if r.Plan != nil {
		if field, msg, ok := r.Plan.Check(); !ok {
			return fieldError(field, "%s", msg)
		}
	}
	if b := w.st.Breach; b != nil {
		return fmt.Errorf("incident %s is already a data breach (declared by %s; aware at %s, regulator deadline %s): %s tracks it",
			w.st.ID, b.DeclaredBy, b.AwareAt.UTC().Format(time.RFC3339), b.Deadline.UTC().Format(time.RFC3339), b.Workflow)
	}
	if w.st.Status == incident.StatusClosed {
		return fmt.Errorf("incident %s is closed; it cannot become a data breach", w.st.ID)
	}
	return nil
}

// declareBreach starts the breach child and waits until it runs: an
// incident closing first would take an unstarted child down with it.
func (w *incidentWorkflow) declareBreach(ctx workflow.Context, r BreachRequest) {
	if workflow.GetVersion(ctx, breachChange, workflow.DefaultVersion, 1) < 1 {
		return
	}
	st := &w.st
	now := workflow.Now(ctx)
	aware := now
	if r.AwareAt != nil {
		aware = r.AwareAt.UTC()
	}
	plan := incident.DefaultBreachPlan()
	if r.Plan != nil {
		plan = *r.Plan
	} else {
		w.record(ctx, KindWarning, "", "no privacy settings came with the data breach: the 72h deadline, reminders at 24h, 48h and 66h, no privacy contact")
	}
	// From the key, as the post-mortem's: a replay (under another ID)
	// names it the same.
	id := breachPrefix + strings.TrimPrefix(IncidentID(st.Key), idPrefix)
	// Set before the child starts, so a second declaration validated
	// meanwhile is refused rather than racing it.
	st.Breach = &BreachView{Workflow: id, DeclaredBy: r.By, DeclaredAt: now, AwareAt: aware, Deadline: aware.Add(plan.Deadline), Checklist: newChecklist()}
	summary := fmt.Sprintf("GDPR Art. 33 deadline of %s %s: %s", st.Severity, st.Service, st.Title)
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID:            id,
		ParentClosePolicy:     enumspb.PARENT_CLOSE_POLICY_ABANDON,
		StaticSummary:         incident.Cut(incident.ExerciseText(st.exercising(), summary), 200),
		TypedSearchAttributes: temporal.NewSearchAttributes(w.postmortemAttributes()...),
		Memo:                  map[string]interface{}{MemoTitle: st.Title},
	})
	in := BreachInput{IncidentID: st.ID, Title: st.Title, Service: st.Service, Severity: st.Severity, Commander: st.commander(),
		DeclaredBy: r.By, AwareAt: aware, Note: strings.TrimSpace(r.Note), Plan: plan, Shadow: st.Shadow, Exercise: st.exercising()}
	f := workflow.ExecuteChildWorkflow(cctx, BreachWorkflowName, in)
	if err := f.GetChildWorkflowExecution().Get(ctx, nil); err != nil {
		st.Breach = nil
		w.record(ctx, KindWarning, "", fmt.Sprintf("could not start the data-breach deadline %s: %s", id, errorMessage(err)))
		return
	}
	w.record(ctx, KindBreach, r.By, withNote(fmt.Sprintf("personal-data breach: aware since %s, the regulator must be notified by %s (GDPR Art. 33); %s keeps the deadline and the checklist after this incident closes",
		aware.Format(time.RFC3339), st.Breach.Deadline.Format(time.RFC3339), id), r.Note))
}

// applyBreachMirror shows on the incident what its breach workflow did.
func (w *incidentWorkflow) applyBreachMirror(ctx workflow.Context, m BreachMirror) {
	b := w.st.Breach
	if b == nil || m.Workflow != b.Workflow {
		return
	}
	kind := KindBreach
	if m.Item == "" {
		b.Overdue = true
	} else {
		kind = KindBreachCheck
		for i := range b.Checklist {
			if c := &b.Checklist[i]; c.Item == m.Item && !c.Done {
				at := m.At
				c.Done, c.By, c.At = true, incident.Cut(m.By, incident.MaxName), &at
			}
		}
	}
	w.record(ctx, kind, m.By, m.Message)
	w.wakeUp()
}

func newChecklist() []BreachCheck {
	out := make([]BreachCheck, len(incident.BreachItems))
	for i, item := range incident.BreachItems {
		out[i] = BreachCheck{Item: item}
	}
	return out
}

// breachView is the incident's data breach for readers, copied.
func (st *incidentState) breachView() *BreachView {
	if st.Breach == nil {
		return nil
	}
	v := *st.Breach
	v.Checklist = slices.Clone(st.Breach.Checklist)
	return &v
}

// BreachWorkflow keeps one data breach's regulator-notification deadline.
// It ends when every checklist item is ticked.
func BreachWorkflow(ctx workflow.Context, in BreachInput) (*BreachState, error) {
	b := &breach{}
	if err := b.setup(ctx, in); err != nil {
		return nil, err
	}
	return b.run(ctx, in.Resume != nil, in.Note)
}

type breach struct {
	loop
	st BreachState
}

// Kinds of due work in a breach.
const (
	dueBreachReminder = "breach_reminder"
	dueBreachDeadline = "breach_deadline"
)

func (b *breach) setup(ctx workflow.Context, in BreachInput) error {
	if in.Resume != nil {
		b.st = *in.Resume
		b.st.Runs++
	} else {
		plan := in.Plan
		if _, _, ok := plan.Check(); !ok {
			plan = incident.DefaultBreachPlan()
		}
		plan.Reminders = slices.Clone(plan.Reminders)
		slices.Sort(plan.Reminders)
		aware := in.AwareAt.UTC()
		b.st = BreachState{
			ID:         workflow.GetInfo(ctx).WorkflowExecution.ID,
			IncidentID: incident.Cut(in.IncidentID, incident.MaxKey),
			Title:      incident.Cut(in.Title, incident.MaxTitle),
			Service:    incident.Cut(in.Service, incident.MaxName),
			Severity:   incident.Cut(in.Severity, incident.MaxName),
			Commander:  incident.Cut(in.Commander, incident.MaxName),
			DeclaredBy: incident.Cut(in.DeclaredBy, incident.MaxName),
			DeclaredAt: workflow.Now(ctx),
			AwareAt:    aware,
			Deadline:   aware.Add(plan.Deadline),
			Plan:       plan,
			Checklist:  newChecklist(),
			Shadow:     in.Shadow,
			Exercise:   in.Exercise,
			Timeline:   []TimelineEntry{},
		}
	}
	if err := workflow.SetQueryHandler(ctx, QueryState, func() (*BreachState, error) {
		return b.snapshot(), nil
	}); err != nil {
		return fmt.Errorf("register %s query: %w", QueryState, err)
	}
	b.init(ctx)
	defs := []func() (command, error){
		func() (command, error) {
			return defineCommand(ctx, b, SignalBreachCheck, func(r BreachCheckRequest) string { return r.By }, b.validateCheck, b.check)
		},
		func() (command, error) {
			return defineCommand(ctx, b, SignalNote, func(n NoteRequest) string { return n.By }, validateNoteFields, func(ctx workflow.Context, n NoteRequest) {
				b.record(ctx, KindNote, n.By, strings.TrimSpace(n.Text))
			})
		},
	}
	var err error
	b.commands, err = defineAll(defs)
	return err
}

// run keeps the deadline; note is the declaration's, not kept in the state.
func (b *breach) run(ctx workflow.Context, resumed bool, note string) (*BreachState, error) {
	if !resumed {
		b.start(ctx, strings.TrimSpace(note))
	} else {
		b.record(ctx, KindContinued, "", fmt.Sprintf("continued as new (run %d)", b.st.Runs+1))
	}
	for {
		if err := b.mainLoop(ctx); err != nil {
			return nil, err
		}
		if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
			return &b.st, err
		}
		if !b.drain(ctx) {
			break
		}
	}
	b.timer.stop()
	b.record(ctx, KindFinished, "", "data breach checklist complete: "+b.checklistText())
	return b.snapshot(), nil
}

// start says what the breach is and skips reminders already past: a breach
// declared 30 hours after awareness is not reminded of its first day.
func (b *breach) start(ctx workflow.Context, note string) {
	st := &b.st
	now := workflow.Now(ctx)
	skipped := 0
	for st.RemindersSent < len(st.Plan.Reminders) && st.AwareAt.Add(st.Plan.Reminders[st.RemindersSent]).Before(now) {
		st.RemindersSent++
		skipped++
	}
	msg := fmt.Sprintf("personal-data breach in %s incident %s (%s): aware since %s; the regulator must be notified by %s, %s after awareness (GDPR Art. 33)",
		st.Severity, st.IncidentID, st.Title, st.AwareAt.Format(time.RFC3339), st.Deadline.Format(time.RFC3339), st.Plan.Deadline)
	if skipped > 0 {
		msg += fmt.Sprintf("; %d reminder(s) already past were skipped", skipped)
	}
	if st.Plan.Contact == "" {
		msg += "; no privacy contact is configured (privacy.contact)"
	}
	if st.Shadow {
		msg += "; shadow mode: reminders are recorded, nothing is sent"
	}
	b.record(ctx, KindStarted, st.DeclaredBy, withNote(msg, note))
}

// mainLoop runs until every item is ticked, or returns the continue-as-new
// error that hands the breach to a new run.
func (b *breach) mainLoop(ctx workflow.Context) error {
	for {
		if b.finished() {
			return nil
		}
		if b.continueAsNewDue(ctx, 0) {
			return b.continueAsNew(ctx)
		}
		if d, ok := b.nextDue(); ok {
			b.timer.arm(ctx, d.at, d.summary)
		} else {
			b.timer.stop()
		}
		b.selector(ctx, nil, func() { b.fireDue(ctx) }).Select(ctx)
	}
}

func (b *breach) finished() bool {
	if b.inFlight > 0 {
		return false
	}
	for _, c := range b.st.Checklist {
		if !c.Done {
			return false
		}
	}
	return true
}

func (b *breach) drain(ctx workflow.Context) bool {
	applied := false
	for b.drainCommands(ctx) {
		applied = true
	}
	return applied
}

func (b *breach) done(item string) bool {
	i := slices.IndexFunc(b.st.Checklist, func(c BreachCheck) bool { return c.Item == item })
	return i >= 0 && b.st.Checklist[i].Done
}

// nextDue is the next reminder or the deadline, while the regulator is not
// notified; derived from the state alone, so a new run finds the same.
func (b *breach) nextDue() (due, bool) {
	st := &b.st
	if b.done(incident.BreachRegulatorNotified) {
		return due{}, false
	}
	var ds []due
	if at, ok := b.nextReminder(); ok {
		n := st.RemindersSent + 1
		ds = append(ds, due{at, dueBreachReminder, fmt.Sprintf("GDPR Art. 33 reminder %d of %d (%s after awareness): notify the regulator by %s",
			n, len(st.Plan.Reminders), st.Plan.Reminders[st.RemindersSent], st.Deadline.Format(time.RFC3339))})
	}
	if !st.Overdue {
		ds = append(ds, due{st.Deadline, dueBreachDeadline, fmt.Sprintf("GDPR Art. 33 deadline: regulator not notified %s after awareness, escalate", st.Plan.Deadline)})
	}
	return earliest(ds)
}

func (b *breach) nextReminder() (time.Time, bool) {
	st := &b.st
	if st.RemindersSent >= len(st.Plan.Reminders) {
		return time.Time{}, false
	}
	at := st.AwareAt.Add(st.Plan.Reminders[st.RemindersSent])
	return at, at.Before(st.Deadline)
}

func (b *breach) fireDue(ctx workflow.Context) {
	d, ok := b.nextDue()
	now := workflow.Now(ctx)
	if !ok || d.at.After(now) {
		return
	}
	st := &b.st
	tick := fmt.Sprintf("When it is done: /incident breach %s %s", st.IncidentID, incident.BreachRegulatorNotified)
	switch d.kind {
	case dueBreachReminder:
		n := st.RemindersSent
		st.RemindersSent++
		text := fmt.Sprintf("%s: %s incident %s (%s) is a personal-data breach. The regulator must be notified by %s, in %s (GDPR Art. 33). %s",
			orTeam(st.Commander), st.Severity, st.IncidentID, st.Title, st.Deadline.Format("Mon Jan 2 15:04 MST"), st.Deadline.Sub(now).Round(time.Minute), tick)
		b.record(ctx, KindReminder, "", b.shadowed(text))
		b.tell(ctx, b.targets(false), text, fmt.Sprintf("reminder/%d", n))
	case dueBreachDeadline:
		st.Overdue = true
		st.OverdueAt = &now
		text := fmt.Sprintf("%s: OVERDUE: the regulator was to be notified of the personal-data breach in %s incident %s (%s) by %s (%s after awareness, GDPR Art. 33) and that is not recorded. Notify now, with the reasons for the delay. %s",
			orTeam(st.Commander), st.Severity, st.IncidentID, st.Title, st.Deadline.Format(time.RFC3339), st.Plan.Deadline, tick)
		b.record(ctx, KindOverdue, "", b.shadowed(text))
		b.tell(ctx, b.targets(true), text, "overdue")
		b.mirror(ctx, BreachMirror{Workflow: st.ID, At: now, Message: "data breach overdue: the regulator was not notified by " + st.Deadline.Format(time.RFC3339)})
	}
}

func (b *breach) shadowed(text string) string {
	if b.st.Shadow {
		return text + " (shadow mode: nothing sent)"
	}
	return text
}

// targets are who is told: the commander and the privacy contact, else
// the announce channel; a missed deadline tells all three.
func (b *breach) targets(overdue bool) []string {
	st := &b.st
	var out []string
	add := func(t string) {
		if t != "" && !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	if st.Commander != "" {
		add("user:" + st.Commander)
	}
	add(st.Plan.Contact)
	if overdue || len(out) == 0 {
		add(st.Plan.Announce)
	}
	return out
}

// tell sends text to each target beside the main loop, once each: the key
// holds the awareness time, so a later breach of a reused ID differs.
func (b *breach) tell(ctx workflow.Context, targets []string, text, key string) {
	st := &b.st
	if st.Shadow {
		return
	}
	for _, target := range targets {
		req := incident.AnnounceRequest{IncidentID: st.IncidentID, Target: target, Text: text, Exercise: st.Exercise,
			IdempotencyKey: fmt.Sprintf("%s/%d/%s/%s", st.ID, st.AwareAt.Unix(), key, target)}
		if !strings.HasPrefix(target, "user:") {
			req.Addressee = st.Commander
		}
		b.beside(ctx, notifyOptions("tell "+displayTarget(target)), a.Announce, req, nil, func(gctx workflow.Context, err error) {
			if err != nil {
				b.record(gctx, KindNotifyFailed, "", fmt.Sprintf("telling %s failed: %s", displayTarget(target), errorMessage(err)))
			}
		})
	}
}

// mirror tells the incident, if it still runs; once it has closed there
// is nobody to tell, and the breach's own timeline has it all.
func (b *breach) mirror(ctx workflow.Context, m BreachMirror) {
	f := workflow.SignalExternalWorkflow(ctx, b.st.IncidentID, "", SignalBreachMirror, m)
	b.inFlight++
	workflow.Go(ctx, func(gctx workflow.Context) {
		defer func() {
			b.inFlight--
			b.wakeUp()
		}()
		_ = f.Get(gctx, nil)
	})
}

func (b *breach) validateCheck(r BreachCheckRequest) error {
	if err := requireBy(r.By); err != nil {
		return err
	}
	if err := checkNote(r.Note); err != nil {
		return err
	}
	i := slices.IndexFunc(b.st.Checklist, func(c BreachCheck) bool { return c.Item == r.Item })
	if i < 0 {
		return fieldError("item", "%q is not on the checklist (one of %s)", incident.Cut(r.Item, incident.MaxName), strings.Join(incident.BreachItems, ", "))
	}
	if c := b.st.Checklist[i]; c.Done {
		return fmt.Errorf("item: %s was already ticked by %s at %s", c.Item, c.By, c.At.UTC().Format(time.RFC3339))
	}
	return nil
}

func (b *breach) check(ctx workflow.Context, r BreachCheckRequest) {
	st := &b.st
	now := workflow.Now(ctx)
	i := slices.IndexFunc(st.Checklist, func(c BreachCheck) bool { return c.Item == r.Item })
	c := &st.Checklist[i]
	c.Done, c.By, c.At, c.Note = true, r.By, &now, strings.TrimSpace(r.Note)
	msg := r.Item + " ticked"
	if r.Item == incident.BreachRegulatorNotified {
		after := now.Sub(st.AwareAt).Round(time.Minute)
		if now.After(st.Deadline) {
			msg += fmt.Sprintf(", %s after awareness: %s after the deadline", after, now.Sub(st.Deadline).Round(time.Minute))
		} else {
			msg += fmt.Sprintf(", %s after awareness, within the deadline; reminders stop", after)
		}
	}
	msg = withNote(msg, r.Note)
	b.record(ctx, KindBreachCheck, r.By, msg)
	b.mirror(ctx, BreachMirror{Workflow: st.ID, Item: r.Item, By: r.By, At: now, Message: "data breach: " + msg})
}

func (b *breach) checklistText() string {
	parts := make([]string, 0, len(b.st.Checklist))
	for _, c := range b.st.Checklist {
		if c.Done {
			parts = append(parts, fmt.Sprintf("%s by %s at %s", c.Item, c.By, c.At.UTC().Format(time.RFC3339)))
		}
	}
	return strings.Join(parts, "; ")
}

func (b *breach) record(ctx workflow.Context, kind Kind, actor, msg string) {
	var dropped int
	b.st.Timeline, dropped = appendBounded(b.st.Timeline, TimelineEntry{At: workflow.Now(ctx), Kind: kind, Actor: actor, Message: msg})
	b.st.TimelineOmitted += dropped
}

func (b *breach) result(from int) BreachResult {
	return BreachResult{ID: b.st.ID, Status: b.st.status(), Message: firstSince(b.st.Timeline, b.st.TimelineOmitted, from)}
}

func (b *breach) seq() int { return len(b.st.Timeline) + b.st.TimelineOmitted }

func (st *BreachState) status() BreachStatus {
	notified := false
	all := true
	for _, c := range st.Checklist {
		if c.Item == incident.BreachRegulatorNotified {
			notified = c.Done
		}
		all = all && c.Done
	}
	switch {
	case all:
		return BreachDone
	case notified:
		return BreachNotified
	case st.Overdue:
		return BreachOverdue
	}
	return BreachOpen
}

// snapshot is the state with what is derived filled in, copied.
func (b *breach) snapshot() *BreachState {
	st := b.st
	st.Status = st.status()
	st.NextReminderAt = nil
	if at, ok := b.nextReminder(); ok && !b.done(incident.BreachRegulatorNotified) {
		st.NextReminderAt = &at
	}
	st.Checklist = slices.Clone(b.st.Checklist)
	st.Timeline = slices.Clone(b.st.Timeline)
	st.Plan.Reminders = slices.Clone(b.st.Plan.Reminders)
	return &st
}

func (b *breach) continueAsNew(ctx workflow.Context) error {
	return b.handOver(ctx, func() { b.drain(ctx) }, BreachWorkflowName, func() any {
		st := b.st
		return BreachInput{IncidentID: st.IncidentID, Resume: &st}
	})
}
