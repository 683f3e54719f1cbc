package workflows

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// command is one thing people do to an incident, reachable both as an
// Update (validated, answered) and as its fire-and-forget signal twin.
type command struct {
	ch           workflow.ReceiveChannel
	receive      func(ctx workflow.Context)
	receiveAsync func(ctx workflow.Context) bool
}

// commandHost is a workflow whose commands record refused signals on its
// timeline and wake its main loop once applied.
type commandHost[R any] interface {
	wakeUp()
	record(ctx workflow.Context, kind, actor, msg string)
	snapshot() R
}

// defineCommand registers the Update and returns the signal side. A signal
// that fails validation is recorded on the timeline instead of applied.
func defineCommand[T, R any](ctx workflow.Context, w commandHost[R], name string, actor func(T) string, validate func(T) error, apply func(workflow.Context, T)) (command, error) {
	err := workflow.SetUpdateHandlerWithOptions(ctx, name,
		func(ctx workflow.Context, req T) (R, error) {
			apply(ctx, req)
			w.wakeUp()
			return w.snapshot(), nil
		},
		workflow.UpdateHandlerOptions{Validator: func(_ workflow.Context, req T) error { return validate(req) }},
	)
	if err != nil {
		return command{}, fmt.Errorf("register %s update: %w", name, err)
	}
	ch := workflow.GetSignalChannel(ctx, name)
	handle := func(ctx workflow.Context, req T) {
		if err := validate(req); err != nil {
			w.record(ctx, "ignored", actor(req), name+" ignored: "+err.Error())
			return
		}
		apply(ctx, req)
	}
	return command{
		ch: ch,
		receive: func(ctx workflow.Context) {
			var req T
			ch.Receive(ctx, &req)
			handle(ctx, req)
		},
		receiveAsync: func(ctx workflow.Context) bool {
			var req T
			if !ch.ReceiveAsync(&req) {
				return false
			}
			handle(ctx, req)
			return true
		},
	}, nil
}

// snapshot is a copy of the state, as an Update answers it.
func (w *incident) snapshot() *IncidentState {
	st := w.st
	return &st
}

func (w *incident) defineCommands(ctx workflow.Context) error {
	by := func(r ActionRequest) string { return r.By }
	defs := []func() (command, error){
		// The first three keep the order version 0 consumed signals in.
		func() (command, error) {
			return defineCommand(ctx, w, SignalAck, by, w.validateAck, w.ack)
		},
		func() (command, error) {
			return defineCommand(ctx, w, SignalResolve, by, w.validateResolve, w.resolve)
		},
		func() (command, error) {
			return defineCommand(ctx, w, SignalEscalate, by, w.validateEscalate, w.escalate)
		},
		func() (command, error) {
			return defineCommand(ctx, w, SignalReopen, by, w.validateReopen, func(ctx workflow.Context, r ActionRequest) {
				w.reopen(ctx, r.By, withNote("reopened by hand", r.Note))
			})
		},
		func() (command, error) {
			return defineCommand(ctx, w, SignalSetSeverity, func(r SeverityRequest) string { return r.By }, w.validateSeverity, w.setSeverity)
		},
		func() (command, error) {
			return defineCommand(ctx, w, SignalAssignRole, func(r RoleRequest) string { return r.By }, w.validateRole, w.assignRole)
		},
		func() (command, error) {
			return defineCommand(ctx, w, SignalStatusUpdate, func(u StatusUpdate) string { return u.By }, w.validateStatusUpdate, w.statusUpdate)
		},
		func() (command, error) {
			return defineCommand(ctx, w, SignalClose, by, w.validateClose, w.close)
		},
		func() (command, error) {
			return defineCommand(ctx, w, SignalActionItem, func(r ActionItemRequest) string { return r.By }, w.validateActionItem, w.addActionItem)
		},
		func() (command, error) {
			return defineCommand(ctx, w, SignalPage, func(r PageSomeoneRequest) string { return r.By }, w.validatePageSomeone, w.pageSomeone)
		},
		func() (command, error) {
			return defineCommand(ctx, w, SignalNote, func(n NoteRequest) string { return n.By }, w.validateNote, func(ctx workflow.Context, n NoteRequest) {
				w.record(ctx, "note", n.By, strings.TrimSpace(n.Text))
			})
		},
	}
	var err error
	w.commands, err = defineAll(defs)
	return err
}

// defineAll registers commands in order: the order is the one signals are
// consumed in, which replay depends on.
func defineAll(defs []func() (command, error)) ([]command, error) {
	var out []command
	for _, def := range defs {
		c, err := def()
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

func requireBy(by string) error {
	if strings.TrimSpace(by) == "" {
		return errors.New("by: required (who is acting)")
	}
	return nil
}

func (w *incident) validateOpen(what string) error {
	switch w.st.Status {
	case StatusResolved, StatusClosed:
		return fmt.Errorf("incident %s is %s; it cannot %s", w.st.ID, w.st.Status, what)
	}
	return nil
}

func (w *incident) validateClose(r ActionRequest) error {
	if err := requireBy(r.By); err != nil {
		return err
	}
	if w.st.Status != StatusResolved {
		return fmt.Errorf("incident %s is %s; only a resolved incident can be closed", w.st.ID, w.st.Status)
	}
	return nil
}

func (w *incident) close(ctx workflow.Context, r ActionRequest) {
	now := workflow.Now(ctx)
	w.st.Status = StatusClosed
	w.st.ClosedAt = &now
	w.record(ctx, "close", r.By, withNote("closed", r.Note))
	w.wakeUp()
}

func (w *incident) validateAck(r ActionRequest) error {
	if err := requireBy(r.By); err != nil {
		return err
	}
	switch w.st.Status {
	case StatusAcknowledged:
		return fmt.Errorf("incident %s is already acknowledged by %s", w.st.ID, w.st.AcknowledgedBy)
	case StatusMonitoring:
		return fmt.Errorf("incident %s is resolved and being monitored; reopen it first", w.st.ID)
	}
	return w.validateOpen("be acknowledged")
}

func (w *incident) ack(ctx workflow.Context, r ActionRequest) {
	now := workflow.Now(ctx)
	w.st.Status = StatusAcknowledged
	w.st.AcknowledgedBy = r.By
	w.st.LastAckAt = &now
	if w.st.AcknowledgedAt == nil {
		// MTTA counts to the first ack, even if an ack timeout re-pages later.
		w.st.AcknowledgedAt = &now
		mtta := now.Sub(w.st.CreatedAt).Seconds()
		w.st.MTTASeconds = &mtta
	}
	msg := "acknowledged; escalation stopped"
	if w.st.Commander == "" {
		// Whoever acknowledges first leads until someone takes over.
		w.setCommander(now, r.By)
		msg += "; " + r.By + " is commander"
	}
	w.record(ctx, "ack", r.By, withNote(msg, r.Note))
	w.invite(ctx, r.By)
	w.remindMissingRoles(ctx)
	w.wakeUp()
}

func (w *incident) validateResolve(r ActionRequest) error {
	if err := requireBy(r.By); err != nil {
		return err
	}
	switch w.st.Status {
	case StatusResolved, StatusClosed:
		return fmt.Errorf("incident %s is already %s", w.st.ID, w.st.Status)
	case StatusMonitoring:
		return fmt.Errorf("incident %s is already resolved and being monitored until %s", w.st.ID, formatTime(w.st.MonitoringUntil))
	}
	return nil
}

// resolve starts the monitoring window (version 1) or resolves at once (0).
func (w *incident) resolve(ctx workflow.Context, r ActionRequest) {
	now := workflow.Now(ctx)
	mttr := now.Sub(w.st.CreatedAt).Seconds()
	w.st.MTTRSeconds = &mttr
	w.st.MitigatedAt = &now
	w.st.ResolvedBy = r.By
	if w.st.Version >= lifecycleV1 && w.st.Plan.ResolveStableFor > 0 {
		until := now.Add(w.st.Plan.ResolveStableFor)
		w.st.Status = StatusMonitoring
		w.setStage(now, "monitoring")
		w.st.MonitoringUntil = &until
		w.record(ctx, "resolve", r.By, withNote(fmt.Sprintf("resolved; monitoring until %s (an alert firing again reopens it)", until.UTC().Format(time.RFC3339)), r.Note))
		w.wakeUp()
		return
	}
	w.finalize(ctx, now, withNote("resolved", r.Note), r.By)
}

func (w *incident) finalize(ctx workflow.Context, now time.Time, msg, by string) {
	w.st.Status = StatusResolved
	w.setStage(now, "resolved")
	w.st.ResolvedAt = &now
	w.st.MonitoringUntil = nil
	w.st.NextUpdateDue = nil
	w.record(ctx, "resolve", by, msg)
	w.wakeUp()
}

func (w *incident) validateReopen(r ActionRequest) error {
	if err := requireBy(r.By); err != nil {
		return err
	}
	if w.st.Status != StatusMonitoring && w.st.Status != StatusResolved {
		return fmt.Errorf("incident %s is %s; only a resolved incident can be reopened", w.st.ID, w.st.Status)
	}
	return nil
}

func (w *incident) reopen(ctx workflow.Context, by, why string) {
	now := workflow.Now(ctx)
	w.st.Status = StatusTriggered
	w.setStage(now, "investigating")
	w.st.AcknowledgedBy, w.st.LastAckAt = "", nil
	w.st.ResolvedBy, w.st.ResolvedAt, w.st.MitigatedAt, w.st.MonitoringUntil = "", nil, nil, nil
	w.st.MTTRSeconds = nil
	w.st.Escalation.Generation++
	w.record(ctx, "reopen", by, "reopened: "+why)
	w.startEscalation(ctx)
	w.wakeUp()
}

func (w *incident) validateEscalate(r ActionRequest) error {
	if err := requireBy(r.By); err != nil {
		return err
	}
	if w.st.Status == StatusMonitoring {
		return fmt.Errorf("incident %s is resolved and being monitored; reopen it to page", w.st.ID)
	}
	return w.validateOpen("be escalated")
}

// escalate pages the next step now, acknowledged or not; an unacknowledged
// incident then continues its timers from this page.
func (w *incident) escalate(ctx workflow.Context, r ActionRequest) {
	w.record(ctx, "escalate", r.By, withNote("escalation requested", r.Note))
	if w.st.Escalation.Exhausted {
		w.announceFallback(ctx)
		return
	}
	w.pageNext(ctx)
	w.wakeUp()
}

func (w *incident) validateSeverity(r SeverityRequest) error {
	if err := requireBy(r.By); err != nil {
		return err
	}
	if err := w.validateOpen("change severity"); err != nil {
		return err
	}
	if _, ok := w.st.Plan.Severities[r.Severity]; !ok {
		return fmt.Errorf("severity: unknown severity %q (one of %s)", r.Severity, strings.Join(w.st.Plan.SeverityOrder, ", "))
	}
	if r.Severity == w.st.Severity {
		return fmt.Errorf("severity: incident %s is already %s", w.st.ID, r.Severity)
	}
	return nil
}

// setSeverity re-plans cadence and required roles; an upgrade pages as the
// new severity asks.
func (w *incident) setSeverity(ctx workflow.Context, r SeverityRequest) {
	old := w.st.Severity
	upgrade := slices.Index(w.st.Plan.SeverityOrder, r.Severity) < slices.Index(w.st.Plan.SeverityOrder, old)
	oldPaged := w.pages()
	w.st.Severity = r.Severity
	verb := "lowered"
	if upgrade {
		verb = "raised"
	}
	w.record(ctx, "severity", r.By, withNote(fmt.Sprintf("severity %s from %s to %s", verb, old, r.Severity), r.Note))
	w.refreshRoles()
	if upgrade && w.pages() {
		switch {
		case !oldPaged || w.st.Status == StatusTriggered:
			// Page afresh under the new severity, from the first step.
			w.st.Escalation.Generation++
			w.startEscalation(ctx)
		default:
			// Someone is on it: tell the first step the stakes went up.
			plan := w.st.Plan
			if len(plan.Steps) > 0 {
				w.record(ctx, "escalation", "", "severity raised: paging "+strings.Join(plan.Steps[0].Targets, ", "))
				for _, t := range plan.Steps[0].Targets {
					w.page(ctx, 0, 0, t, "raised-"+r.Severity)
				}
			}
		}
	}
	w.openChannel(ctx)
	w.remindMissingRoles(ctx)
	w.wakeUp()
}

func (w *incident) validateRole(r RoleRequest) error {
	if err := requireBy(r.By); err != nil {
		return err
	}
	if err := w.validateOpen("change roles"); err != nil {
		return err
	}
	if !slices.Contains(Roles, r.Role) {
		return fmt.Errorf("role: unknown role %q (one of %s)", r.Role, strings.Join(Roles, ", "))
	}
	if strings.TrimSpace(r.User) == "" {
		return errors.New("user: required")
	}
	if len(w.st.Plan.Users) > 0 && !slices.Contains(w.st.Plan.Users, r.User) {
		return fmt.Errorf("user: unknown user %q", r.User)
	}
	if w.st.Roles[r.Role] == r.User {
		return fmt.Errorf("role: %s is already %s", r.User, r.Role)
	}
	return nil
}

func (w *incident) assignRole(ctx workflow.Context, r RoleRequest) {
	now := workflow.Now(ctx)
	prev := w.st.Roles[r.Role]
	if r.Role == "commander" {
		w.setCommander(now, r.User)
	} else {
		w.st.Roles[r.Role] = r.User
	}
	msg := fmt.Sprintf("%s is %s", r.User, r.Role)
	if prev != "" {
		msg = fmt.Sprintf("%s handed %s over to %s", prev, r.Role, r.User)
	}
	w.record(ctx, "role", r.By, withNote(msg, r.Note))
	w.invite(ctx, r.User)
	w.refreshRoles()
	w.wakeUp()
}

func (w *incident) setCommander(now time.Time, user string) {
	w.st.Commander = user
	w.st.Roles["commander"] = user
	w.st.CommanderSince = &now
	w.refreshRoles()
}

func (w *incident) validateStatusUpdate(u StatusUpdate) error {
	if err := requireBy(u.By); err != nil {
		return err
	}
	if err := w.validateOpen("take status updates"); err != nil {
		return err
	}
	if !slices.Contains(Stages, u.Stage) {
		return fmt.Errorf("stage: unknown stage %q (one of %s)", u.Stage, strings.Join(Stages, ", "))
	}
	if strings.TrimSpace(u.Message) == "" {
		return errors.New("message: required")
	}
	if u.Stage == "resolved" && w.st.Status == StatusMonitoring {
		return fmt.Errorf("stage: incident %s is already resolved and being monitored", w.st.ID)
	}
	return nil
}

// statusUpdate records a stakeholder update, resets the cadence and says
// when the next one is due. Stage "resolved" resolves the incident.
func (w *incident) statusUpdate(ctx workflow.Context, u StatusUpdate) {
	now := workflow.Now(ctx)
	u.At = now
	w.st.LastUpdate = &u
	if u.Stage != w.st.Stage && u.Stage != "resolved" {
		w.setStage(now, u.Stage)
	}
	text := fmt.Sprintf("[%s] %s", strings.ToUpper(u.Stage), u.Message)
	for _, f := range []struct{ k, v string }{{"impact", u.Impact}, {"known", u.Known}, {"doing", u.Doing}, {"eta", u.ETA}, {"workaround", u.Workaround}} {
		if strings.TrimSpace(f.v) != "" {
			text += fmt.Sprintf("; %s: %s", f.k, f.v)
		}
	}
	if u.Stage == "resolved" {
		w.record(ctx, "status_update", u.By, text)
		w.resolve(ctx, ActionRequest{By: u.By, Note: u.Message})
		w.announce(ctx, w.st.Plan.Channel, fmt.Sprintf("%s update on %s: %s", w.st.Severity, w.st.ID, text), fmt.Sprintf("update/%d", len(w.st.Timeline)), "post update")
		return
	}
	w.st.NextUpdateDue = nil
	if every := w.updateEvery(); every > 0 {
		due := now.Add(every)
		w.st.NextUpdateDue = &due
		text += fmt.Sprintf(" (next update by %s)", due.UTC().Format("15:04 MST"))
	}
	w.record(ctx, "status_update", u.By, text)
	w.announce(ctx, w.st.Plan.Channel, fmt.Sprintf("%s update on %s (%s): %s", w.st.Severity, w.st.ID, w.st.Title, text), fmt.Sprintf("update/%d", len(w.st.Timeline)), "post update")
	w.wakeUp()
}

func (w *incident) validateActionItem(r ActionItemRequest) error {
	if err := requireBy(r.By); err != nil {
		return err
	}
	if w.st.Status == StatusClosed {
		return fmt.Errorf("incident %s is closed; add follow-ups to its post-mortem", w.st.ID)
	}
	return validateActionItemFields(r, w.st.Plan.Users)
}

// validateActionItemFields checks an action item against the configured
// users, for the incident and its post-mortem alike.
func validateActionItemFields(r ActionItemRequest, users []string) error {
	if strings.TrimSpace(r.Title) == "" {
		return errors.New("title: required")
	}
	if !slices.Contains(ActionItemTypes, r.Type) {
		return fmt.Errorf("type: %q must be one of %s", r.Type, strings.Join(ActionItemTypes, ", "))
	}
	if strings.TrimSpace(r.Owner) == "" {
		return errors.New("owner: required")
	}
	if len(users) > 0 && !slices.Contains(users, r.Owner) {
		return fmt.Errorf("owner: unknown user %q", r.Owner)
	}
	if r.Due != "" {
		if _, err := time.Parse(time.DateOnly, r.Due); err != nil {
			return fmt.Errorf("due: %q is not YYYY-MM-DD", r.Due)
		}
	}
	return nil
}

func (w *incident) addActionItem(ctx workflow.Context, r ActionItemRequest) {
	w.st.ActionItems = append(w.st.ActionItems, ActionItem{
		Title: strings.TrimSpace(r.Title), Type: r.Type, Owner: r.Owner, Due: r.Due, AddedBy: r.By, AddedAt: workflow.Now(ctx),
	})
	msg := fmt.Sprintf("action item %d (%s, owner %s", len(w.st.ActionItems), r.Type, r.Owner)
	if r.Due != "" {
		msg += ", due " + r.Due
	}
	w.record(ctx, "action_item", r.By, msg+"): "+strings.TrimSpace(r.Title))
	w.wakeUp()
}

// pageTarget reads "user:x", "schedule:x" or a bare user name.
func pageTarget(t string) string {
	if !strings.Contains(t, ":") {
		return "user:" + t
	}
	return t
}

func (w *incident) validatePageSomeone(r PageSomeoneRequest) error {
	if err := requireBy(r.By); err != nil {
		return err
	}
	if err := w.validateOpen("page anyone"); err != nil {
		return err
	}
	kind, name, _ := strings.Cut(pageTarget(strings.TrimSpace(r.Target)), ":")
	switch {
	case name == "":
		return errors.New("target: required (a user, or schedule:NAME)")
	case kind == "user" && len(w.st.Plan.Users) > 0 && !slices.Contains(w.st.Plan.Users, name):
		return fmt.Errorf("target: unknown user %q", name)
	case kind != "user" && kind != "schedule":
		return fmt.Errorf("target: %q must be a user or schedule:NAME", r.Target)
	}
	return nil
}

// pageSomeone pages one person or schedule now, outside the policy.
func (w *incident) pageSomeone(ctx workflow.Context, r PageSomeoneRequest) {
	target := pageTarget(strings.TrimSpace(r.Target))
	w.record(ctx, "escalation", r.By, withNote("paging "+target, r.Note))
	w.page(ctx, w.st.Escalation.Round, w.st.Escalation.Step, target, fmt.Sprintf("manual-%d", len(w.st.Timeline)))
	if user, ok := strings.CutPrefix(target, "user:"); ok {
		w.invite(ctx, user)
	}
	w.wakeUp()
}

func (w *incident) validateNote(n NoteRequest) error {
	if err := requireBy(n.By); err != nil {
		return err
	}
	if strings.TrimSpace(n.Text) == "" {
		return errors.New("text: required")
	}
	return w.validateOpen("take notes")
}

func (w *incident) setStage(now time.Time, stage string) {
	if w.st.Stage != stage {
		w.st.Stage = stage
		w.st.StageChangedAt = now
	}
}

func (w *incident) severityPlan() SeverityPlan { return w.st.Plan.Severities[w.st.Severity] }

func (w *incident) updateEvery() time.Duration { return w.severityPlan().UpdateEvery }

// refreshRoles lists the roles the severity requires that nobody holds in
// their own right (the commander covers them meanwhile).
func (w *incident) refreshRoles() {
	missing := []string{}
	for _, r := range w.severityPlan().Roles {
		if w.st.Roles[r] == "" {
			missing = append(missing, r)
		}
	}
	w.st.MissingRoles = missing
}

func (w *incident) remindMissingRoles(ctx workflow.Context) {
	if w.st.Version < lifecycleV1 || len(w.st.MissingRoles) == 0 || w.st.Commander == "" {
		return
	}
	text := fmt.Sprintf("%s incident %s needs a %s; %s holds them until assigned.",
		w.st.Severity, w.st.ID, strings.Join(w.st.MissingRoles, ", "), w.st.Commander)
	w.record(ctx, "reminder", "", text)
	w.announce(ctx, w.st.Plan.Channel, text, fmt.Sprintf("roles/%d", len(w.st.Timeline)), "remind roles")
}

// due is the next moment the incident must act on its own.
type due struct {
	at      time.Time
	kind    string
	summary string
}

// Kinds of due work.
const (
	duePage          = "page"
	dueAckTimeout    = "ack_timeout"
	dueUpdate        = "update_due"
	dueUpdateOverdue = "update_overdue"
	dueNoProgress    = "no_progress"
	dueHandover      = "handover"
	dueStable        = "stable"
)

// nextDue is the earliest pending deadline. Every deadline is derived from
// the state, so a continue-as-new or a replay finds the same ones.
func (w *incident) nextDue() (due, bool) {
	var ds []due
	st := &w.st
	if st.Status == StatusTriggered && !st.Escalation.Exhausted {
		ds = append(ds, due{st.Escalation.NextPageAt, duePage, w.nextPageSummary()})
	}
	if st.Version >= lifecycleV1 {
		sev := w.severityPlan()
		if st.Status == StatusAcknowledged && sev.ResolveTimeout > 0 && st.LastAckAt != nil {
			base := *st.LastAckAt
			if st.LastUpdate != nil && st.LastUpdate.At.After(base) {
				base = st.LastUpdate.At
			}
			if !st.Reminders.AckTimeoutFor.Equal(base) {
				ds = append(ds, due{base.Add(sev.ResolveTimeout), dueAckTimeout, "ack timeout: re-page"})
			}
		}
		if at, kind, ok := w.cadence(); ok {
			summary := "status update due"
			if kind == dueUpdateOverdue {
				summary = "status update overdue"
			}
			ds = append(ds, due{at, kind, summary})
		}
		if st.Status == StatusAcknowledged && st.Plan.NoProgressNudge > 0 && !st.Reminders.NoProgressFor.Equal(st.StageChangedAt) {
			ds = append(ds, due{st.StageChangedAt.Add(st.Plan.NoProgressNudge), dueNoProgress, "no progress nudge"})
		}
		if st.Status == StatusAcknowledged && st.CommanderSince != nil && st.Plan.CommanderHandover > 0 && !st.Reminders.HandoverFor.Equal(*st.CommanderSince) {
			ds = append(ds, due{st.CommanderSince.Add(st.Plan.CommanderHandover), dueHandover, "commander handover reminder"})
		}
		if st.Status == StatusMonitoring && st.MonitoringUntil != nil {
			ds = append(ds, due{*st.MonitoringUntil, dueStable, "monitoring window ends"})
		}
	}
	return earliest(ds)
}

// earliest is the first deadline due; the earlier-listed wins a tie.
func earliest(ds []due) (due, bool) {
	if len(ds) == 0 {
		return due{}, false
	}
	best := ds[0]
	for _, d := range ds[1:] {
		if d.at.Before(best.at) {
			best = d
		}
	}
	return best, true
}

// cadence is the next status-update reminder: due every update_every after
// the last update (or the start), and overdue half a period later; it
// repeats each period until someone posts an update. It stops once the
// incident is mitigated: the resolution was announced, nagging is noise.
func (w *incident) cadence() (time.Time, string, bool) {
	st := &w.st
	every := w.updateEvery()
	if every <= 0 || !(st.Status == StatusTriggered || st.Status == StatusAcknowledged) {
		return time.Time{}, "", false
	}
	from := st.CreatedAt
	if st.LastUpdate != nil {
		from = st.LastUpdate.At
	}
	first := from.Add(every)
	last := st.Reminders.UpdateDueFor
	switch {
	case last.Before(first):
		return first, dueUpdate, true
	case !st.Reminders.UpdateOverdueFor.Equal(last):
		return last.Add(every / 2), dueUpdateOverdue, true
	default:
		return last.Add(every), dueUpdate, true
	}
}

// fire does one kind of due work; each changes the state so it is not due again.
func (w *incident) fire(ctx workflow.Context, kind string) {
	st := &w.st
	now := workflow.Now(ctx)
	switch kind {
	case duePage:
		w.pageNext(ctx)
	case dueAckTimeout:
		base := *st.LastAckAt
		if st.LastUpdate != nil && st.LastUpdate.At.After(base) {
			base = st.LastUpdate.At
		}
		st.Reminders.AckTimeoutFor = base
		st.Status = StatusTriggered
		w.record(ctx, "ack_timeout", "", fmt.Sprintf("acknowledged by %s but neither resolved nor updated for %s: paging again", st.AcknowledgedBy, w.severityPlan().ResolveTimeout))
		st.AcknowledgedBy = ""
		if st.Escalation.Exhausted {
			st.Escalation.Generation++
			w.startEscalation(ctx)
		} else {
			st.Escalation.NextPageAt = now
		}
	case dueUpdate:
		dueAt, _, _ := w.cadence()
		st.Reminders.UpdateDueFor = dueAt
		st.NextUpdateDue = &dueAt
		who := st.Roles["comms"]
		if who == "" {
			who = st.Commander
		}
		text := fmt.Sprintf("%s: a status update on %s incident %s (%s) is due now (every %s).",
			orTeam(who), st.Severity, st.ID, st.Title, w.updateEvery())
		if len(st.MissingRoles) > 0 && st.Commander != "" {
			text += " Still unassigned: " + strings.Join(st.MissingRoles, ", ") + "."
		}
		w.record(ctx, "reminder", "", text)
		w.announce(ctx, st.Plan.Channel, text, "update-due/"+dueAt.UTC().Format(time.RFC3339), "remind update")
	case dueUpdateOverdue:
		st.Reminders.UpdateOverdueFor = st.Reminders.UpdateDueFor
		text := fmt.Sprintf("%s: the status update on %s incident %s is overdue (due %s).",
			orTeam(st.Commander), st.Severity, st.ID, st.Reminders.UpdateDueFor.UTC().Format("15:04 MST"))
		w.record(ctx, "nudge", "", text)
		w.announce(ctx, st.Plan.Channel, text, "update-overdue/"+st.Reminders.UpdateDueFor.UTC().Format(time.RFC3339), "nudge commander")
	case dueNoProgress:
		st.Reminders.NoProgressFor = st.StageChangedAt
		text := fmt.Sprintf("%s: %s incident %s has been %s for %s with no progress. Consider raising the severity or paging help.",
			orTeam(st.Commander), st.Severity, st.ID, st.Stage, w.st.Plan.NoProgressNudge)
		w.record(ctx, "nudge", "", text)
		w.announce(ctx, st.Plan.Channel, text, "no-progress/"+st.StageChangedAt.UTC().Format(time.RFC3339), "nudge no progress")
	case dueHandover:
		st.Reminders.HandoverFor = *st.CommanderSince
		text := fmt.Sprintf("%s: you have led %s incident %s for %s. Hand over to a fresh commander.",
			st.Commander, st.Severity, st.ID, st.Plan.CommanderHandover)
		w.record(ctx, "reminder", "", text)
		w.announce(ctx, st.Plan.Channel, text, "handover/"+st.CommanderSince.UTC().Format(time.RFC3339), "remind handover")
	case dueStable:
		w.finalize(ctx, now, fmt.Sprintf("stable for %s: resolved", st.Plan.ResolveStableFor), "")
		switch {
		case !w.severityPlan().Postmortem:
			w.close(ctx, ActionRequest{Note: st.Severity + " needs no post-mortem"})
		case st.PostmortemVersion >= 1:
			note := "the post-mortem could not start; see the warning above"
			if w.startPostmortem(ctx) {
				note = "the post-mortem goes on in " + st.Postmortem
			}
			w.close(ctx, ActionRequest{Note: note})
		}
	}
}

func orTeam(user string) string {
	if user == "" {
		return "Responders"
	}
	return user
}

func formatTime(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

// startPostmortem starts the post-mortem child and waits until it runs: a
// parent that closed first would take an unstarted child down with it.
func (w *incident) startPostmortem(ctx workflow.Context) bool {
	// From the key, as the starter derives the incident's own ID: the
	// input is history, so a replay (under another ID) names it the same.
	id := postmortemPrefix + strings.TrimPrefix(IncidentID(w.st.Key), idPrefix)
	snapshot := w.st
	snapshot.Plan = EscalationPlan{}
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID:            id,
		ParentClosePolicy:     enumspb.PARENT_CLOSE_POLICY_ABANDON,
		StaticSummary:         fmt.Sprintf("post-mortem of %s %s: %s", w.st.Severity, w.st.Service, w.st.Title),
		TypedSearchAttributes: temporal.NewSearchAttributes(w.postmortemAttributes()...),
		Memo:                  map[string]interface{}{MemoTitle: w.st.Title},
	})
	f := workflow.ExecuteChildWorkflow(cctx, PostmortemWorkflowName, PostmortemInput{Incident: snapshot})
	if err := f.GetChildWorkflowExecution().Get(ctx, nil); err != nil {
		w.record(ctx, "warning", "", fmt.Sprintf("could not start the post-mortem %s: %s", id, errorMessage(err)))
		return false
	}
	w.st.Postmortem = id
	w.record(ctx, "postmortem", "", fmt.Sprintf("post-mortem %s started; it carries on after the incident closes", id))
	return true
}

func (w *incident) postmortemAttributes() []temporal.SearchAttributeUpdate {
	sa := []temporal.SearchAttributeUpdate{SearchSeverity.ValueSet(w.st.Severity), SearchService.ValueSet(w.st.Service)}
	if w.st.Commander != "" {
		sa = append(sa, SearchCommander.ValueSet(w.st.Commander))
	}
	return sa
}
