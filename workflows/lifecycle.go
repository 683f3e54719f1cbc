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
	record(ctx workflow.Context, kind Kind, actor, msg string)
	// result answers an Update; from is the timeline's seq before it ran,
	// so the answer can say what the command itself recorded.
	result(from int) R
	seq() int
}

// defineCommand registers the Update and returns the signal side. A signal
// that fails validation is recorded on the timeline instead of applied.
func defineCommand[T, R any](ctx workflow.Context, w commandHost[R], name string, actor func(T) string, validate func(T) error, apply func(workflow.Context, T)) (command, error) {
	err := workflow.SetUpdateHandlerWithOptions(ctx, name,
		func(ctx workflow.Context, req T) (R, error) {
			from := w.seq()
			apply(ctx, req)
			w.wakeUp()
			return w.result(from), nil
		},
		workflow.UpdateHandlerOptions{Validator: func(_ workflow.Context, req T) error { return validate(req) }},
	)
	if err != nil {
		return command{}, fmt.Errorf("register %s update: %w", name, err)
	}
	ch := workflow.GetSignalChannel(ctx, name)
	handle := func(ctx workflow.Context, req T) {
		if err := validate(req); err != nil {
			w.record(ctx, KindIgnored, actor(req), name+" ignored: "+err.Error())
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

// result is what an Update answers: small, whatever the incident's age.
func (w *incidentWorkflow) result(from int) UpdateResult {
	return UpdateResult{ID: w.st.ID, Status: w.st.Status, Stage: w.st.Stage, Severity: w.st.Severity, Seq: w.st.seq(),
		Message: firstSince(w.st.Timeline, w.st.TimelineOmitted, from)}
}

func (w *incidentWorkflow) seq() int { return w.st.seq() }

// firstSince is the message of the first entry recorded at or after seq
// from, bounded for an Update's answer.
func firstSince(timeline []TimelineEntry, omitted, from int) string {
	i := max(from-omitted, 0)
	if i >= len(timeline) {
		return ""
	}
	return incident.Cut(timeline[i].Message, resultMessage)
}

// resultMessage bounds the message an Update answers with.
const resultMessage = 1024

func (w *incidentWorkflow) defineCommands(ctx workflow.Context) error {
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
				w.record(ctx, KindNote, n.By, strings.TrimSpace(n.Text))
			})
		},
	}
	var err error
	defs = append(defs, w.subscriberCommands(ctx)...)
	defs = append(defs, w.accessCommands(ctx)...)
	defs = append(defs, w.breachCommands(ctx)...)
	defs = append(defs, w.majorCommands(ctx)...)
	defs = append(defs, w.linkCommands(ctx)...)
	w.commands, err = defineAll(append(defs, w.runbookCommands(ctx)...))
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
		return fieldError("by", "required (who is acting)")
	}
	return checkLen("by", by, incident.MaxName)
}

// fieldError refuses a command for one of its fields, in the API's words;
// the HTTP API answers it 400.
func fieldError(field, format string, args ...any) error {
	msg := field + ": " + fmt.Sprintf(format, args...)
	return temporal.NewNonRetryableApplicationError(msg, FieldError, nil)
}

// checkLen refuses a field over its bound, so no command can grow the
// state past what Temporal can carry.
func checkLen(field, value string, limit int) error {
	if err := incident.CheckLen(field, value, limit); err != nil {
		return temporal.NewNonRetryableApplicationError(err.Error(), FieldError, nil)
	}
	return nil
}

// checkNote bounds the optional note most commands take.
func checkNote(note string) error { return checkLen("note", note, incident.MaxText) }

func (w *incidentWorkflow) validateOpen(what string) error {
	switch w.st.Status {
	case incident.StatusResolved, incident.StatusClosed:
		return fmt.Errorf("incident %s is %s; it cannot %s", w.st.ID, w.st.Status, what)
	}
	return nil
}

func (w *incidentWorkflow) validateClose(r ActionRequest) error {
	if err := requireBy(r.By); err != nil {
		return err
	}
	if err := checkNote(r.Note); err != nil {
		return err
	}
	if w.st.Status != incident.StatusResolved {
		return fmt.Errorf("incident %s is %s; only a resolved incident can be closed", w.st.ID, w.st.Status)
	}
	return nil
}

func (w *incidentWorkflow) close(ctx workflow.Context, r ActionRequest) {
	now := workflow.Now(ctx)
	w.st.Status = incident.StatusClosed
	w.st.ClosedAt = &now
	w.record(ctx, KindClose, r.By, withNote("closed", r.Note))
	w.wakeUp()
}

func (w *incidentWorkflow) validateAck(r ActionRequest) error {
	if err := requireBy(r.By); err != nil {
		return err
	}
	if err := checkNote(r.Note); err != nil {
		return err
	}
	switch w.st.Status {
	case incident.StatusAcknowledged:
		return fmt.Errorf("incident %s is already acknowledged by %s", w.st.ID, w.st.AcknowledgedBy)
	case incident.StatusMonitoring:
		return fmt.Errorf("incident %s is resolved and being monitored; reopen it first", w.st.ID)
	}
	return w.validateOpen("be acknowledged")
}

func (w *incidentWorkflow) ack(ctx workflow.Context, r ActionRequest) {
	now := workflow.Now(ctx)
	w.stopPaging()
	w.st.Status = incident.StatusAcknowledged
	w.st.AcknowledgedBy = r.By
	w.st.LastAckAt = &now
	if w.st.AcknowledgedAt == nil {
		// MTTA counts to the first ack, even if an ack timeout re-pages later.
		w.st.AcknowledgedAt = &now
	}
	msg := "acknowledged; escalation stopped"
	if w.st.commander() == "" && w.personActs(ctx, r.By) {
		// Whoever acknowledges first leads until someone takes over.
		w.setCommander(now, r.By)
		msg += "; " + r.By + " is commander"
	}
	w.record(ctx, KindAck, r.By, withNote(msg, r.Note))
	w.invite(ctx, r.By)
	w.remindMissingRoles(ctx)
	w.wakeUp()
}

func (w *incidentWorkflow) validateResolve(r ActionRequest) error {
	if err := requireBy(r.By); err != nil {
		return err
	}
	if err := checkNote(r.Note); err != nil {
		return err
	}
	switch w.st.Status {
	case incident.StatusResolved, incident.StatusClosed:
		return fmt.Errorf("incident %s is already %s", w.st.ID, w.st.Status)
	case incident.StatusMonitoring:
		return fmt.Errorf("incident %s is already resolved and being monitored until %s", w.st.ID, formatTime(w.st.MonitoringUntil))
	}
	return nil
}

// resolve starts the monitoring window (version 1) or resolves at once (0).
func (w *incidentWorkflow) resolve(ctx workflow.Context, r ActionRequest) {
	now := workflow.Now(ctx)
	w.stopPaging()
	w.st.MitigatedAt = &now
	w.st.ResolvedBy = r.By
	if w.st.Version >= lifecycleV1 && w.st.Policy.ResolveStableFor > 0 {
		until := now.Add(w.st.Policy.ResolveStableFor)
		w.st.Status = incident.StatusMonitoring
		w.setStage(now, incident.StageMonitoring)
		w.st.MonitoringUntil = &until
		w.record(ctx, KindResolve, r.By, withNote(fmt.Sprintf("resolved; monitoring until %s (an alert firing again reopens it)", until.UTC().Format(time.RFC3339)), r.Note))
		w.wakeUp()
		return
	}
	w.finalize(ctx, now, withNote("resolved", r.Note), r.By)
}

func (w *incidentWorkflow) finalize(ctx workflow.Context, now time.Time, msg, by string) {
	w.st.Status = incident.StatusResolved
	w.setStage(now, incident.StageResolved)
	w.st.ResolvedAt = &now
	w.st.MonitoringUntil = nil
	w.st.NextUpdateDue = nil
	w.record(ctx, KindResolve, by, msg)
	w.evaluateExercise(ctx, now)
	w.wakeUp()
}

func (w *incidentWorkflow) validateReopen(r ActionRequest) error {
	if err := requireBy(r.By); err != nil {
		return err
	}
	if err := checkNote(r.Note); err != nil {
		return err
	}
	if w.st.Status != incident.StatusMonitoring && w.st.Status != incident.StatusResolved {
		return fmt.Errorf("incident %s is %s; only a resolved (or monitored) incident can be reopened", w.st.ID, w.st.Status)
	}
	return nil
}

func (w *incidentWorkflow) reopen(ctx workflow.Context, by, why string) {
	now := workflow.Now(ctx)
	w.st.Status = incident.StatusTriggered
	w.setStage(now, incident.StageInvestigating)
	w.st.AcknowledgedBy, w.st.LastAckAt = "", nil
	w.st.ResolvedBy, w.st.ResolvedAt, w.st.MitigatedAt, w.st.MonitoringUntil = "", nil, nil, nil
	w.st.Escalation.Generation++
	w.record(ctx, KindReopen, by, "reopened: "+why)
	w.startEscalation(ctx)
	w.wakeUp()
}

func (w *incidentWorkflow) validateEscalate(r ActionRequest) error {
	if err := requireBy(r.By); err != nil {
		return err
	}
	if err := checkNote(r.Note); err != nil {
		return err
	}
	if w.st.Status == incident.StatusMonitoring {
		return fmt.Errorf("incident %s is resolved and being monitored; reopen it to page", w.st.ID)
	}
	if n := len(w.st.Policy.Steps); r.ToStep < 0 || r.ToStep > n {
		return fieldError("to_step", "%d is not a step of this policy (1 to %d)", r.ToStep, n)
	}
	return w.validateOpen("be escalated")
}

// escalate pages the next step now, acknowledged or not; an unacknowledged
// incident then continues its timers from this page.
func (w *incidentWorkflow) escalate(ctx workflow.Context, r ActionRequest) {
	if r.ToStep > 0 && len(w.st.Policy.Steps) > 0 {
		w.record(ctx, KindEscalate, r.By, withNote(fmt.Sprintf("escalation to step %d requested", r.ToStep), r.Note))
		w.escalateTo(ctx, r.ToStep)
		w.wakeUp()
		return
	}
	w.record(ctx, KindEscalate, r.By, withNote("escalation requested", r.Note))
	if w.st.Escalation.Exhausted {
		w.announceFallback(ctx)
		return
	}
	w.pageNext(ctx)
	w.wakeUp()
}

// escalateTo pages step (from 1) of the round last paged, now, and goes on
// from there; even an exhausted policy pages again when aimed. The page
// gets a key of its own, so a step paged before in this round is paged
// again rather than taken for a retry.
func (w *incidentWorkflow) escalateTo(ctx workflow.Context, step int) {
	e := &w.st.Escalation
	n := len(w.st.Policy.Steps)
	round := max(e.Position-1, 0) / n
	if e.Exhausted {
		round = w.st.Policy.Repeat
	}
	e.Exhausted = false
	e.Position = round*n + step - 1
	w.pageNextTagged(ctx, fmt.Sprintf("aimed%d", w.st.seq()))
}

func (w *incidentWorkflow) validateSeverity(r SeverityRequest) error {
	if err := requireBy(r.By); err != nil {
		return err
	}
	if err := w.validateOpen("change severity"); err != nil {
		return err
	}
	if _, ok := w.st.Policy.Severities[r.Severity]; !ok {
		return fieldError("severity", "unknown severity %q (one of %s)", incident.Cut(r.Severity, incident.MaxName), strings.Join(w.st.Policy.SeverityOrder, ", "))
	}
	if r.Severity == w.st.Severity {
		return fmt.Errorf("severity: incident %s is already %s", w.st.ID, r.Severity)
	}
	return checkNote(r.Note)
}

// setSeverity re-plans cadence and required roles; an upgrade pages as the
// new severity asks.
func (w *incidentWorkflow) setSeverity(ctx workflow.Context, r SeverityRequest) {
	old := w.st.Severity
	upgrade := slices.Index(w.st.Policy.SeverityOrder, r.Severity) < slices.Index(w.st.Policy.SeverityOrder, old)
	oldPaged := w.pages()
	w.st.Severity = r.Severity
	verb := "lowered"
	if upgrade {
		verb = "raised"
	}
	w.record(ctx, KindSeverity, r.By, withNote(fmt.Sprintf("severity %s from %s to %s", verb, old, r.Severity), r.Note))
	if workflow.GetVersion(ctx, policyRefreshChange, workflow.DefaultVersion, 1) >= 1 {
		w.refreshPolicy(ctx)
	}
	if upgrade && w.pages() {
		switch {
		case !oldPaged || w.st.Status == incident.StatusTriggered:
			// Page afresh under the new severity, from the first step.
			w.st.Escalation.Generation++
			w.startEscalation(ctx)
		default:
			// Someone is on it: tell the first step the stakes went up.
			plan := w.st.Policy
			if len(plan.Steps) > 0 {
				w.record(ctx, KindEscalation, "", "severity raised: paging "+strings.Join(plan.Steps[0].Targets, ", "))
				w.pageTargets(ctx, 0, 0, plan.Steps[0].Targets, "raised-"+r.Severity)
			}
		}
	}
	w.openChannel(ctx)
	w.remindMissingRoles(ctx)
	w.wakeUp()
}

// refreshPolicy re-reads the service's policy: a severity change is when
// people look at how the incident is run, so it follows the config as it
// is now (a policy edited since the incident opened, new severities'
// settings). If the config cannot be read, the policy it has stays.
func (w *incidentWorkflow) refreshPolicy(ctx workflow.Context) {
	var policy incident.Policy
	if err := readConfig(ctx, a.ResolvePlan, incident.PlanRequest{Service: w.st.Service, Severity: w.st.Severity}, &policy); err != nil {
		w.record(ctx, KindWarning, "", "could not re-read the escalation policy; keeping the one it had: "+errorMessage(err))
		return
	}
	if policy.Warning != "" {
		w.record(ctx, KindWarning, "", policy.Warning)
	}
	w.st.Policy = w.st.exercisePolicy(policy)
}

func (w *incidentWorkflow) validateRole(r RoleRequest) error {
	if err := requireBy(r.By); err != nil {
		return err
	}
	if err := w.validateOpen("change roles"); err != nil {
		return err
	}
	if !slices.Contains(incident.Roles, r.Role) {
		return fieldError("role", "unknown role %q (one of %s)", incident.Cut(r.Role, incident.MaxName), strings.Join(incident.Roles, ", "))
	}
	if strings.TrimSpace(r.User) == "" {
		return fieldError("user", "required")
	}
	if err := checkLen("user", r.User, incident.MaxName); err != nil {
		return err
	}
	if w.st.Roles[r.Role] == r.User {
		return fmt.Errorf("role: %s is already %s", r.User, r.Role)
	}
	return checkNote(r.Note)
}

func (w *incidentWorkflow) assignRole(ctx workflow.Context, r RoleRequest) {
	now := workflow.Now(ctx)
	prev := w.st.Roles[r.Role]
	if r.Role == incident.RoleCommander {
		w.setCommander(now, r.User)
	} else {
		w.st.Roles[r.Role] = r.User
		w.noteExerciseRole(now, r.Role, r.User)
	}
	msg := fmt.Sprintf("%s is %s", r.User, r.Role)
	if prev != "" {
		msg = fmt.Sprintf("%s handed %s over to %s", prev, r.Role, r.User)
	}
	w.record(ctx, KindRole, r.By, withNote(msg, r.Note))
	w.invite(ctx, r.User)
	w.wakeUp()
}

func (w *incidentWorkflow) setCommander(now time.Time, user string) {
	w.st.Roles[incident.RoleCommander] = user
	w.st.CommanderSince = &now
	w.noteExerciseRole(now, incident.RoleCommander, user)
}

func (w *incidentWorkflow) validateStatusUpdate(u StatusUpdate) error {
	if u.Audience != "" {
		return w.validateExecBrief(u)
	}
	if err := requireBy(u.By); err != nil {
		return err
	}
	if err := w.validateOpen("take status updates"); err != nil {
		return err
	}
	if !incident.ValidStage(u.Stage) {
		return fieldError("stage", "unknown stage %q (one of %s)", incident.Cut(string(u.Stage), incident.MaxName), stageNames())
	}
	if strings.TrimSpace(u.Message) == "" {
		return fieldError("message", "required")
	}
	for _, f := range []struct{ name, value string }{
		{"message", u.Message}, {"impact", u.Impact}, {"known", u.Known}, {"doing", u.Doing}, {"eta", u.ETA}, {"workaround", u.Workaround},
	} {
		if err := checkLen(f.name, f.value, incident.MaxText); err != nil {
			return err
		}
	}
	if u.Stage == incident.StageResolved && w.st.Status == incident.StatusMonitoring {
		return fmt.Errorf("stage: incident %s is already resolved and being monitored", w.st.ID)
	}
	return nil
}

func stageNames() string {
	names := make([]string, len(incident.Stages))
	for i, s := range incident.Stages {
		names[i] = string(s)
	}
	return strings.Join(names, ", ")
}

// statusUpdate records a stakeholder update, resets the cadence and says
// when the next one is due. Stage "resolved" resolves the incident.
func (w *incidentWorkflow) statusUpdate(ctx workflow.Context, u StatusUpdate) {
	if u.Audience != "" {
		w.execBrief(ctx, u)
		return
	}
	now := workflow.Now(ctx)
	u.At = now
	w.noteExerciseUpdate(now)
	w.st.LastUpdate = &u
	if u.Public {
		public := u
		w.st.LastPublicUpdate = &public
	}
	w.notifySubscribers(ctx, u)
	if u.Stage != w.st.Stage && u.Stage != incident.StageResolved {
		w.setStage(now, u.Stage)
	}
	text := fmt.Sprintf("[%s] %s", strings.ToUpper(string(u.Stage)), u.Message)
	for _, f := range []struct{ k, v string }{{"impact", u.Impact}, {"known", u.Known}, {"doing", u.Doing}, {"eta", u.ETA}, {"workaround", u.Workaround}} {
		if strings.TrimSpace(f.v) != "" {
			text += fmt.Sprintf("; %s: %s", f.k, f.v)
		}
	}
	if u.Stage == incident.StageResolved {
		w.record(ctx, KindStatusUpdate, u.By, text)
		w.resolve(ctx, ActionRequest{By: u.By, Note: u.Message})
		w.announce(ctx, w.st.channel(), fmt.Sprintf("%s update on %s: %s", w.st.Severity, w.st.ID, text), fmt.Sprintf("update/%d", w.st.seq()), "post update")
		return
	}
	w.st.NextUpdateDue = nil
	if every := w.updateEvery(); every > 0 {
		due := now.Add(every)
		w.st.NextUpdateDue = &due
		text += fmt.Sprintf(" (next update by %s)", due.UTC().Format("15:04 MST"))
	}
	w.record(ctx, KindStatusUpdate, u.By, text)
	w.announce(ctx, w.st.channel(), fmt.Sprintf("%s update on %s (%s): %s", w.st.Severity, w.st.ID, w.st.Title, text), fmt.Sprintf("update/%d", w.st.seq()), "post update")
	w.wakeUp()
}

func (w *incidentWorkflow) validateActionItem(r ActionItemRequest) error {
	if err := requireBy(r.By); err != nil {
		return err
	}
	if w.st.Status == incident.StatusClosed {
		return fmt.Errorf("incident %s is closed; add follow-ups to its post-mortem", w.st.ID)
	}
	if len(w.st.ActionItems) >= incident.MaxActionItems {
		return fmt.Errorf("incident %s already has %d action items, the most one incident takes", w.st.ID, incident.MaxActionItems)
	}
	// Owners are checked against the config by whoever takes the request
	// (the API, Slack, the CLI): the incident keeps no user list.
	return validateActionItemFields(r, nil)
}

// validateActionItemFields checks an action item against the configured
// users, for the incident and its post-mortem alike.
func validateActionItemFields(r ActionItemRequest, users []string) error {
	if strings.TrimSpace(r.Title) == "" {
		return fieldError("title", "required")
	}
	if err := checkLen("title", r.Title, incident.MaxActionItemTitle); err != nil {
		return err
	}
	if !slices.Contains(ActionItemTypes, r.Type) {
		return fieldError("type", "%q must be one of %s", incident.Cut(r.Type, incident.MaxName), strings.Join(ActionItemTypes, ", "))
	}
	if strings.TrimSpace(r.Owner) == "" {
		return fieldError("owner", "required")
	}
	if err := checkLen("owner", r.Owner, incident.MaxName); err != nil {
		return err
	}
	if len(users) > 0 && !slices.Contains(users, r.Owner) {
		return fieldError("owner", "unknown user %q", r.Owner)
	}
	if r.Due != "" {
		if _, err := time.Parse(time.DateOnly, r.Due); err != nil {
			return fieldError("due", "%q is not YYYY-MM-DD", incident.Cut(r.Due, incident.MaxName))
		}
	}
	return nil
}

func (w *incidentWorkflow) addActionItem(ctx workflow.Context, r ActionItemRequest) {
	item := newActionItem(ctx, r)
	w.st.ActionItems = append(w.st.ActionItems, item)
	w.record(ctx, KindActionItem, r.By, item.describe(len(w.st.ActionItems)))
	w.wakeUp()
}

// newActionItem is an item as the incident and its post-mortem both keep it.
func newActionItem(ctx workflow.Context, r ActionItemRequest) ActionItem {
	return ActionItem{Title: strings.TrimSpace(r.Title), Type: r.Type, Owner: r.Owner, Due: r.Due, AddedBy: r.By, AddedAt: workflow.Now(ctx)}
}

// describe is the timeline line for item number n.
func (it ActionItem) describe(n int) string {
	msg := fmt.Sprintf("action item %d (%s, owner %s", n, it.Type, it.Owner)
	if it.Due != "" {
		msg += ", due " + it.Due
	}
	return msg + "): " + it.Title
}

// pageTarget reads "user:x", "schedule:x" or a bare user name.
func pageTarget(t string) string {
	if !strings.Contains(t, ":") {
		return "user:" + t
	}
	return t
}

func (w *incidentWorkflow) validatePageSomeone(r PageSomeoneRequest) error {
	if err := requireBy(r.By); err != nil {
		return err
	}
	if err := w.validateOpen("page anyone"); err != nil {
		return err
	}
	if err := checkLen("target", r.Target, incident.MaxName); err != nil {
		return err
	}
	kind, name, _ := strings.Cut(pageTarget(strings.TrimSpace(r.Target)), ":")
	switch {
	case name == "":
		return fieldError("target", "required (a user, or schedule:NAME)")
	case kind != "user" && kind != "schedule":
		return fieldError("target", "%q must be a user or schedule:NAME", r.Target)
	}
	if err := w.validateExercisePage(r.Target); err != nil {
		return err
	}
	return checkNote(r.Note)
}

// pageSomeone pages one person or schedule now, outside the policy.
func (w *incidentWorkflow) pageSomeone(ctx workflow.Context, r PageSomeoneRequest) {
	target := pageTarget(strings.TrimSpace(r.Target))
	w.record(ctx, KindEscalation, r.By, withNote("paging "+target, r.Note))
	round, step := w.st.nextRoundStep()
	w.pageTargets(ctx, round, step, []string{target}, fmt.Sprintf("manual-%d", w.st.seq()))
	if user, ok := strings.CutPrefix(target, "user:"); ok {
		w.invite(ctx, user)
	}
	w.wakeUp()
}

func (w *incidentWorkflow) validateNote(n NoteRequest) error {
	if err := validateNoteFields(n); err != nil {
		return err
	}
	return w.validateOpen("take notes")
}

// validateNoteFields checks a note for the incident and its post-mortem alike.
func validateNoteFields(n NoteRequest) error {
	if err := requireBy(n.By); err != nil {
		return err
	}
	if strings.TrimSpace(n.Text) == "" {
		return fieldError("text", "required")
	}
	return checkLen("text", n.Text, incident.MaxText)
}

func (w *incidentWorkflow) setStage(now time.Time, stage incident.Stage) {
	if w.st.Stage != stage {
		w.st.Stage = stage
		w.st.StageChangedAt = now
	}
}

func (w *incidentWorkflow) severityPlan() incident.SeverityPlan { return w.st.severityPlan() }

func (w *incidentWorkflow) updateEvery() time.Duration { return w.severityPlan().UpdateEvery }

func (w *incidentWorkflow) remindMissingRoles(ctx workflow.Context) {
	missing, commander := w.st.missingRoles(), w.st.commander()
	if w.st.Version < lifecycleV1 || len(missing) == 0 || commander == "" {
		return
	}
	text := fmt.Sprintf("%s incident %s needs a %s; %s holds them until assigned.",
		w.st.Severity, w.st.ID, strings.Join(missing, ", "), commander)
	w.record(ctx, KindReminder, "", text)
	w.announce(ctx, w.st.channel(), text, fmt.Sprintf("roles/%d", w.st.seq()), "remind roles")
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
	dueMaintenance   = "maintenance"
)

// nextDue is the earliest pending deadline. Every deadline is derived from
// the state, so a continue-as-new or a replay finds the same ones.
func (w *incidentWorkflow) nextDue() (due, bool) {
	var ds []due
	st := &w.st
	held := st.Hold != nil && st.Status == incident.StatusTriggered
	switch {
	case held:
		ds = append(ds, due{st.Hold.CheckAt, dueMaintenance, "maintenance holds paging until " + st.Hold.Until.UTC().Format(time.RFC3339)})
	case st.Status == incident.StatusTriggered && !st.Escalation.Exhausted:
		ds = append(ds, due{st.Escalation.NextPageAt, duePage, w.nextPageSummary()})
	}
	if st.Version >= lifecycleV1 {
		sev := w.severityPlan()
		if st.Status == incident.StatusAcknowledged && sev.ResolveTimeout > 0 && st.LastAckAt != nil {
			base := *st.LastAckAt
			if st.LastUpdate != nil && st.LastUpdate.At.After(base) {
				base = st.LastUpdate.At
			}
			if !st.Reminders.AckTimeoutFor.Equal(base) {
				ds = append(ds, due{base.Add(sev.ResolveTimeout), dueAckTimeout, "ack timeout: re-page"})
			}
		}
		if at, kind, ok := w.cadence(); ok && !held {
			summary := "status update due"
			if kind == dueUpdateOverdue {
				summary = "status update overdue"
			}
			ds = append(ds, due{at, kind, summary})
		}
		if st.Status == incident.StatusAcknowledged && st.Policy.NoProgressNudge > 0 && !st.Reminders.NoProgressFor.Equal(st.StageChangedAt) {
			ds = append(ds, due{st.StageChangedAt.Add(st.Policy.NoProgressNudge), dueNoProgress, "no progress nudge"})
		}
		if st.Status == incident.StatusAcknowledged && st.CommanderSince != nil && st.Policy.CommanderHandover > 0 && !st.Reminders.HandoverFor.Equal(*st.CommanderSince) {
			ds = append(ds, due{st.CommanderSince.Add(st.Policy.CommanderHandover), dueHandover, "commander handover reminder"})
		}
		if st.Status == incident.StatusMonitoring && st.MonitoringUntil != nil {
			ds = append(ds, due{*st.MonitoringUntil, dueStable, "monitoring window ends"})
		}
	}
	return earliest(w.majorDues(ds))
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
func (w *incidentWorkflow) cadence() (time.Time, string, bool) {
	st := &w.st
	every := w.updateEvery()
	if every <= 0 || !(st.Status == incident.StatusTriggered || st.Status == incident.StatusAcknowledged) {
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
func (w *incidentWorkflow) fire(ctx workflow.Context, kind string) {
	st := &w.st
	now := workflow.Now(ctx)
	switch kind {
	case duePage:
		w.pageNext(ctx)
	case dueMaintenance:
		if hold, ok := w.maintenanceHold(ctx); ok {
			if hold.Until != st.Hold.Until || hold.Reason != st.Hold.Reason {
				w.record(ctx, KindMaintenance, "", fmt.Sprintf("maintenance now holds paging until %s (%s)", hold.Until.UTC().Format(time.RFC3339), hold.Reason))
			}
			st.Hold = &hold
			break
		}
		st.Hold = nil
		w.record(ctx, KindMaintenance, "", "maintenance is over and this still fires: paging as usual")
		if st.Escalation.NextPageAt.Before(now) {
			st.Escalation.NextPageAt = now
		}
	case dueAckTimeout:
		base := *st.LastAckAt
		if st.LastUpdate != nil && st.LastUpdate.At.After(base) {
			base = st.LastUpdate.At
		}
		st.Reminders.AckTimeoutFor = base
		st.Status = incident.StatusTriggered
		w.record(ctx, KindAckTimeout, "", fmt.Sprintf("acknowledged by %s but neither resolved nor updated for %s: paging again", st.AcknowledgedBy, w.severityPlan().ResolveTimeout))
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
		who := st.Roles[incident.RoleComms]
		if who == "" {
			who = st.commander()
		}
		text := fmt.Sprintf("%s: a status update on %s incident %s (%s) is due now (every %s).",
			orTeam(who), st.Severity, st.ID, st.Title, w.updateEvery())
		if missing := st.missingRoles(); len(missing) > 0 && st.commander() != "" {
			text += " Still unassigned: " + strings.Join(missing, ", ") + "."
		}
		w.record(ctx, KindReminder, "", text)
		w.announceTo(ctx, st.channel(), who, text, "update-due/"+dueAt.UTC().Format(time.RFC3339), "remind update")
	case dueUpdateOverdue:
		st.Reminders.UpdateOverdueFor = st.Reminders.UpdateDueFor
		text := fmt.Sprintf("%s: the status update on %s incident %s is overdue (due %s).",
			orTeam(st.commander()), st.Severity, st.ID, st.Reminders.UpdateDueFor.UTC().Format("15:04 MST"))
		w.record(ctx, KindNudge, "", text)
		w.announceTo(ctx, st.channel(), st.commander(), text, "update-overdue/"+st.Reminders.UpdateDueFor.UTC().Format(time.RFC3339), "nudge commander")
	case dueNoProgress:
		st.Reminders.NoProgressFor = st.StageChangedAt
		text := fmt.Sprintf("%s: %s incident %s has been %s for %s with no progress. Consider raising the severity or paging help.",
			orTeam(st.commander()), st.Severity, st.ID, st.Stage, st.Policy.NoProgressNudge)
		w.record(ctx, KindNudge, "", text)
		w.announceTo(ctx, st.channel(), st.commander(), text, "no-progress/"+st.StageChangedAt.UTC().Format(time.RFC3339), "nudge no progress")
	case dueHandover:
		st.Reminders.HandoverFor = *st.CommanderSince
		text := fmt.Sprintf("%s: you have led %s incident %s for %s. Hand over to a fresh commander.",
			st.commander(), st.Severity, st.ID, st.Policy.CommanderHandover)
		w.record(ctx, KindReminder, "", text)
		w.announceTo(ctx, st.channel(), st.commander(), text, "handover/"+st.CommanderSince.UTC().Format(time.RFC3339), "remind handover")
	case dueStable:
		w.finalize(ctx, now, fmt.Sprintf("stable for %s: resolved", st.Policy.ResolveStableFor), "")
		switch {
		case !w.severityPlan().Postmortem && st.Major == nil:
			w.close(ctx, ActionRequest{Note: st.Severity + " needs no post-mortem"})
		case st.Shadow:
			w.close(ctx, ActionRequest{Note: "shadow mode: no post-mortem"})
		case st.exercising():
			w.close(ctx, ActionRequest{Note: "exercise: no post-mortem; its evaluation is above"})
		case st.PostmortemVersion >= 1:
			note := "the post-mortem could not start; see the warning above"
			if w.startPostmortem(ctx) {
				note = "the post-mortem goes on in " + st.Postmortem
			}
			w.close(ctx, ActionRequest{Note: note})
		}
	default:
		w.fireMajor(ctx, kind)
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
func (w *incidentWorkflow) startPostmortem(ctx workflow.Context) bool {
	// From the key, as the starter derives the incident's own ID: the
	// input is history, so a replay (under another ID) names it the same.
	id := postmortemPrefix + strings.TrimPrefix(IncidentID(w.st.Key), idPrefix)
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID:            id,
		ParentClosePolicy:     enumspb.PARENT_CLOSE_POLICY_ABANDON,
		StaticSummary:         fmt.Sprintf("post-mortem of %s %s: %s", w.st.Severity, w.st.Service, w.st.Title),
		TypedSearchAttributes: temporal.NewSearchAttributes(w.postmortemAttributes()...),
		Memo:                  map[string]interface{}{MemoTitle: w.st.Title},
	})
	f := workflow.ExecuteChildWorkflow(cctx, PostmortemWorkflowName, PostmortemInput{Incident: w.st.view()})
	if err := f.GetChildWorkflowExecution().Get(ctx, nil); err != nil {
		w.record(ctx, KindWarning, "", fmt.Sprintf("could not start the post-mortem %s: %s", id, errorMessage(err)))
		return false
	}
	w.st.Postmortem = id
	w.record(ctx, KindPostmortem, "", fmt.Sprintf("post-mortem %s started; it carries on after the incident closes", id))
	return true
}

func (w *incidentWorkflow) postmortemAttributes() []temporal.SearchAttributeUpdate {
	sa := []temporal.SearchAttributeUpdate{SearchSeverity.ValueSet(w.st.Severity), SearchService.ValueSet(w.st.Service)}
	if c := w.st.commander(); c != "" {
		sa = append(sa, SearchCommander.ValueSet(c))
	}
	return sa
}

// personActs says whether by is a person who can lead: an integration
// (an Opsgenie or Events v2 acknowledge) acknowledges but leads nothing.
// Histories from before integration-ack made it commander, and replay so.
func (w *incidentWorkflow) personActs(ctx workflow.Context, by string) bool {
	if !strings.HasPrefix(by, "integration:") {
		return true
	}
	return workflow.GetVersion(ctx, integrationAckChange, workflow.DefaultVersion, 1) == workflow.DefaultVersion
}
