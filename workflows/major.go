package workflows

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/incidentflow/incidentflow/incident"
)

// The major-incident protocol. An incident becomes major by itself when it
// is still open `after` its opening at one of the protocol's severities,
// or by the `major` command. From then on:
//
//   - it needs a deputy, a planning lead and a liaison, and the commander
//     is reminded every roles_every until all three are filled;
//   - an executive brief (a status update with audience "exec") is due
//     exec_brief_first after the declaration, then exec_brief_every after
//     the last one; the comms lead is reminded when one is due, and each
//     brief goes to the exec channel and email list;
//   - a public statement (a status update with public: true) is due
//     public_first after the declaration, then public_every after the last;
//   - its post-mortem is due postmortem_due after resolution, with a hot
//     wash reminder at hot_wash_after (postmortem.go takes both from the
//     incident's view), and it has a post-mortem whatever its severity.
//
// Every deadline is derived from the state (majorDues), so a replay or a
// continue-as-new finds the same timers. All of it is behind the major-v1
// gate, taken when an incident opens: incidents opened before it never
// become major and refuse the command.

// majorChange gates the protocol (state.MajorVersion).
const majorChange = "major-v1"

// Names of the major command, its Update twin, and the audience of an
// executive brief.
const (
	SignalMajor  = "major"
	UpdateMajor  = SignalMajor
	AudienceExec = "exec"
)

// Timeline kinds of the protocol.
const (
	KindMajor     Kind = "major"
	KindExecBrief Kind = "exec_brief"
)

// Kinds of due work of the protocol.
const (
	dueMajor      = "major"
	dueExecBrief  = "major_exec_brief"
	duePublic     = "major_public"
	dueMajorRoles = "major_roles"
)

// MajorRequest declares an incident major.
type MajorRequest struct {
	By     string `json:"by"`
	Reason string `json:"reason,omitempty"`
}

// majorState is what a major incident keeps; nil until it is declared.
type majorState struct {
	DeclaredAt time.Time `json:"declared_at"`
	// By is who declared it; empty when the protocol's criteria did.
	By     string `json:"by,omitempty"`
	Reason string `json:"reason"`
	// LastExecBriefAt is the last executive brief; ExecBriefs counts them.
	LastExecBriefAt *time.Time     `json:"last_exec_brief_at,omitempty"`
	ExecBriefs      int            `json:"exec_briefs,omitempty"`
	Reminders       majorReminders `json:"reminders"`
}

// majorReminders remember which moment each reminder last went out for,
// so each fires once per period, across continue-as-new.
type majorReminders struct {
	ExecDueFor   time.Time `json:"exec_due_for"`
	PublicDueFor time.Time `json:"public_due_for"`
	RolesFor     time.Time `json:"roles_for"`
}

// MajorView is the protocol in the incident's JSON. The next dues are
// shown while the incident is open; the hot wash and post-mortem dues once
// it is resolved.
type MajorView struct {
	DeclaredAt time.Time `json:"declared_at"`
	// By is who declared it; Automatic when the protocol's criteria did.
	By               string     `json:"by,omitempty"`
	Automatic        bool       `json:"automatic,omitempty"`
	Reason           string     `json:"reason"`
	NextExecBriefDue *time.Time `json:"next_exec_brief_due,omitempty"`
	NextPublicDue    *time.Time `json:"next_public_due,omitempty"`
	HotWashDue       *time.Time `json:"hot_wash_due,omitempty"`
	PostmortemDue    *time.Time `json:"postmortem_due,omitempty"`
	RolesMissing     []string   `json:"roles_missing"`
	ExecBriefs       int        `json:"exec_briefs"`
	LastExecBriefAt  *time.Time `json:"last_exec_brief_at,omitempty"`
	// ExecTargets are where the briefs go (the incident's channel when none
	// is configured).
	ExecTargets []string `json:"exec_targets"`
}

// startMajor takes the gate as the incident opens.
func (w *incidentWorkflow) startMajor(ctx workflow.Context) {
	if w.st.Version < lifecycleV1 {
		return
	}
	w.st.MajorVersion = int(workflow.GetVersion(ctx, majorChange, workflow.DefaultVersion, 1))
}

// majorPlan is the protocol this incident follows. Without one in its
// policy (the config could not be read) it is never major by itself, but
// a declaration still runs the seed's cadences.
func (st *incidentState) majorPlan() incident.MajorPlan {
	if st.Policy.Major != nil {
		return st.Policy.Major.WithDefaults()
	}
	p := incident.DefaultMajorPlan()
	p.After = 0
	return p
}

// majorOpen: the cadences run while people work on it, and stop once it
// is mitigated, as the team's update cadence does.
func (st *incidentState) majorOpen() bool {
	return st.Status == incident.StatusTriggered || st.Status == incident.StatusAcknowledged
}

// majorRolesMissing are the protocol's roles nobody holds, in order.
func (st *incidentState) majorRolesMissing() []string {
	missing := []string{}
	if st.Major == nil {
		return missing
	}
	for _, r := range incident.MajorRoles {
		if st.Roles[r] == "" {
			missing = append(missing, r)
		}
	}
	return missing
}

// withMajorRoles adds the protocol's missing roles to those the severity
// misses, once each.
func (st *incidentState) withMajorRoles(missing []string) []string {
	for _, r := range st.majorRolesMissing() {
		if !slices.Contains(missing, r) {
			missing = append(missing, r)
		}
	}
	return missing
}

// execBriefDue is when the next executive brief is expected (the first
// due not yet reminded, or the last reminded one, which is late), and
// when its next reminder goes out.
func (st *incidentState) execBriefDue(plan incident.MajorPlan) (expected, remind time.Time) {
	m := st.Major
	first := m.DeclaredAt.Add(plan.ExecBriefFirst)
	if m.LastExecBriefAt != nil {
		first = m.LastExecBriefAt.Add(plan.ExecBriefEvery)
	}
	return nextReminder(first, m.Reminders.ExecDueFor, plan.ExecBriefEvery)
}

// publicDue is execBriefDue for the public statement: any public update
// since the declaration counts.
func (st *incidentState) publicDue(plan incident.MajorPlan) (expected, remind time.Time) {
	m := st.Major
	first := m.DeclaredAt.Add(plan.PublicFirst)
	if u := st.LastPublicUpdate; u != nil && !u.At.Before(m.DeclaredAt) {
		first = u.At.Add(plan.PublicEvery)
	}
	return nextReminder(first, m.Reminders.PublicDueFor, plan.PublicEvery)
}

// nextReminder: a reminder goes out when something is due, then every
// period until it comes.
func nextReminder(due, reminded time.Time, every time.Duration) (expected, remind time.Time) {
	if reminded.Before(due) {
		return due, due
	}
	return reminded, reminded.Add(every)
}

// majorRolesDue is the next reminder of the missing roles.
func (st *incidentState) majorRolesDue(plan incident.MajorPlan) time.Time {
	m := st.Major
	if m.Reminders.RolesFor.Before(m.DeclaredAt) {
		return m.DeclaredAt.Add(plan.RolesEvery)
	}
	return m.Reminders.RolesFor.Add(plan.RolesEvery)
}

// majorDues adds the protocol's deadlines to ds.
func (w *incidentWorkflow) majorDues(ds []due) []due {
	st := &w.st
	if st.MajorVersion < 1 || st.exercising() || !st.majorOpen() || st.Hold != nil && st.Status == incident.StatusTriggered {
		return ds
	}
	plan := st.majorPlan()
	if st.Major == nil {
		if plan.After > 0 && slices.Contains(plan.Severities, st.Severity) {
			ds = append(ds, due{st.CreatedAt.Add(plan.After), dueMajor,
				fmt.Sprintf("major incident if still open: %s for %s", st.Severity, incident.Duration(plan.After))})
		}
		return ds
	}
	_, exec := st.execBriefDue(plan)
	ds = append(ds, due{exec, dueExecBrief, "major incident: executive brief due (" + orTeam(st.commsLead()) + ")"})
	_, public := st.publicDue(plan)
	ds = append(ds, due{public, duePublic, "major incident: public statement due (" + orTeam(st.commsLead()) + ")"})
	if missing := st.majorRolesMissing(); len(missing) > 0 {
		ds = append(ds, due{st.majorRolesDue(plan), dueMajorRoles, "major incident: assign " + strings.Join(missing, ", ")})
	}
	return ds
}

// majorByServices declares the protocol when the incident and its linked
// children span the plan's services threshold: one outage on several
// critical services is major whatever its age.
func (w *incidentWorkflow) majorByServices(ctx workflow.Context) {
	st := &w.st
	plan := st.majorPlan()
	if st.MajorVersion < 1 || st.Major != nil || plan.ServicesThreshold <= 0 || st.exercising() || !st.majorOpen() || st.Links == nil {
		return
	}
	services := []string{st.Service}
	for _, c := range st.Links.Children {
		if c.Service != "" && !slices.Contains(services, c.Service) {
			services = append(services, c.Service)
		}
	}
	if len(services) >= plan.ServicesThreshold {
		w.declareMajor(ctx, "", fmt.Sprintf("linked incidents on %d services (%s)", len(services), strings.Join(services, ", ")))
	}
}

// commsLead is who speaks for the incident: the comms role, else the
// commander who holds it meanwhile.
func (st *incidentState) commsLead() string {
	if c := st.Roles[incident.RoleComms]; c != "" {
		return c
	}
	return st.commander()
}

// fireMajor does one of the protocol's due works; each changes the state
// so that it is not due again.
func (w *incidentWorkflow) fireMajor(ctx workflow.Context, kind string) {
	st := &w.st
	plan := st.majorPlan()
	switch kind {
	case dueMajor:
		w.declareMajor(ctx, "", fmt.Sprintf("%s still open after %s", st.Severity, incident.Duration(plan.After)))
	case dueExecBrief:
		expected, at := st.execBriefDue(plan)
		st.Major.Reminders.ExecDueFor = at
		verb := "is due now"
		if expected.Before(at) {
			verb = fmt.Sprintf("is late (due %s)", expected.UTC().Format("15:04 MST"))
		}
		who := st.commsLead()
		text := fmt.Sprintf("%s: the executive brief on major incident %s (%s) %s, then every %s. Post it as a status update with audience exec (`/incident brief %s <message>`); it goes to %s.",
			orTeam(who), st.ID, st.Title, verb, incident.Duration(plan.ExecBriefEvery), st.ID, strings.Join(w.execTargets(), ", "))
		w.record(ctx, KindReminder, "", text)
		w.announceTo(ctx, st.channel(), who, text, "major-exec-due/"+at.UTC().Format(time.RFC3339), "remind executive brief")
	case duePublic:
		expected, at := st.publicDue(plan)
		st.Major.Reminders.PublicDueFor = at
		verb := "is due now"
		if expected.Before(at) {
			verb = fmt.Sprintf("is late (due %s)", expected.UTC().Format("15:04 MST"))
		}
		who := st.commsLead()
		text := fmt.Sprintf("%s: a public statement on major incident %s (%s) %s, then every %s: a status update with public: true, which the status page and subscribers get.",
			orTeam(who), st.ID, st.Title, verb, incident.Duration(plan.PublicEvery))
		w.record(ctx, KindReminder, "", text)
		w.announceTo(ctx, st.channel(), who, text, "major-public-due/"+at.UTC().Format(time.RFC3339), "remind public statement")
	case dueMajorRoles:
		at := st.majorRolesDue(plan)
		st.Major.Reminders.RolesFor = at
		text := fmt.Sprintf("%s: major incident %s still needs a %s (`/incident role %s deputy @user`); you hold them until assigned.",
			orTeam(st.commander()), st.ID, strings.Join(st.majorRolesMissing(), ", "), st.ID)
		w.record(ctx, KindReminder, "", text)
		w.announceTo(ctx, st.channel(), st.commander(), text, "major-roles/"+at.UTC().Format(time.RFC3339), "remind major roles")
	}
}

// declareMajor starts the protocol: the timeline says who declared it and
// why, the executives hear of it at once, and the team is told what it
// now owes.
func (w *incidentWorkflow) declareMajor(ctx workflow.Context, by, reason string) {
	st := &w.st
	now := workflow.Now(ctx)
	plan := st.majorPlan()
	st.Major = &majorState{DeclaredAt: now, By: by, Reason: incident.Cut(strings.TrimSpace(reason), incident.MaxText)}
	who := "automatically"
	if by != "" {
		who = "by " + by
	}
	execDue, publicDue := now.Add(plan.ExecBriefFirst), now.Add(plan.PublicFirst)
	w.record(ctx, KindMajor, by, fmt.Sprintf("major incident declared %s: %s. Needs a %s; executive brief due by %s, then every %s; public statement due by %s, then every %s",
		who, st.Major.Reason, strings.Join(incident.MajorRoles, ", "), execDue.UTC().Format(time.RFC3339), incident.Duration(plan.ExecBriefEvery),
		publicDue.UTC().Format(time.RFC3339), incident.Duration(plan.PublicEvery)))
	w.toExecs(ctx, fmt.Sprintf("Major incident declared %s: %s %s on %s: %s (%s). Commander: %s. First executive brief by %s.",
		who, st.Severity, st.ID, st.Service, st.Title, st.Major.Reason, orNone(st.commander()), execDue.UTC().Format("15:04 MST")), "major-declared")
	text := fmt.Sprintf("%s: %s is now a major incident (%s). Assign a %s; the executive brief is due by %s and a public statement by %s.",
		orTeam(st.commander()), st.ID, st.Major.Reason, strings.Join(st.majorRolesMissing(), ", "), execDue.UTC().Format("15:04 MST"), publicDue.UTC().Format("15:04 MST"))
	w.announceTo(ctx, st.channel(), st.commander(), text, "major-declared-team", "announce major incident")
	w.wakeUp()
}

// execTargets are where executive briefs go: the configured exec channel
// and emails, else the incident's own channel.
func (w *incidentWorkflow) execTargets() []string {
	if t := w.st.majorPlan().ExecTargets; len(t) > 0 {
		return t
	}
	return []string{displayTarget(w.st.channel())}
}

// toExecs posts text to every exec target; key keeps each delivery once.
func (w *incidentWorkflow) toExecs(ctx workflow.Context, text, key string) {
	targets := w.st.majorPlan().ExecTargets
	if len(targets) == 0 {
		w.announce(ctx, w.st.channel(), text, key, "tell executives")
		return
	}
	for _, t := range targets {
		w.announce(ctx, t, text, key+"/"+t, "tell executives")
	}
}

func (w *incidentWorkflow) majorCommands(ctx workflow.Context) []func() (command, error) {
	return []func() (command, error){
		func() (command, error) {
			return defineCommand(ctx, w, SignalMajor, func(r MajorRequest) string { return r.By }, w.validateMajor, func(ctx workflow.Context, r MajorRequest) {
				reason := strings.TrimSpace(r.Reason)
				if reason == "" {
					reason = "declared by hand"
				}
				w.declareMajor(ctx, r.By, reason)
			})
		},
	}
}

func (w *incidentWorkflow) validateMajor(r MajorRequest) error {
	if err := requireBy(r.By); err != nil {
		return err
	}
	if err := checkLen("reason", r.Reason, incident.MaxText); err != nil {
		return err
	}
	st := &w.st
	switch {
	case st.MajorVersion < 1:
		return fmt.Errorf("incident %s opened before major incidents existed; it cannot be declared major", st.ID)
	case st.exercising():
		return fmt.Errorf("incident %s is an exercise: declaring it major would brief the real executives", st.ID)
	case st.Status == incident.StatusMonitoring:
		return fmt.Errorf("incident %s is resolved and being monitored; reopen it first", st.ID)
	}
	if err := w.validateOpen("be declared major"); err != nil {
		return err
	}
	if st.Major != nil {
		return fmt.Errorf("incident %s is already a major incident (declared %s at %s)", st.ID, orAutomatic(st.Major.By), st.Major.DeclaredAt.UTC().Format(time.RFC3339))
	}
	return nil
}

func orAutomatic(by string) string {
	if by == "" {
		return "automatically"
	}
	return "by " + by
}

// validateExecBrief checks a status update meant for executives.
func (w *incidentWorkflow) validateExecBrief(u StatusUpdate) error {
	if err := requireBy(u.By); err != nil {
		return err
	}
	if u.Audience != AudienceExec {
		return fieldError("audience", "%q is not an audience (only %q, an executive brief; leave it out for the team's update)", incident.Cut(u.Audience, incident.MaxName), AudienceExec)
	}
	if err := w.validateOpen("take executive briefs"); err != nil {
		return err
	}
	if w.st.Major == nil {
		return fmt.Errorf("incident %s is not a major incident; executive briefs are part of the major-incident protocol (declare it major first)", w.st.ID)
	}
	if u.Public {
		return fieldError("public", "an executive brief is not public; post the public statement as its own update")
	}
	if u.Stage != "" && (!incident.ValidStage(u.Stage) || u.Stage == incident.StageResolved) {
		return fieldError("stage", "%q: an executive brief takes investigating, identified or monitoring (or none: the incident's own)", incident.Cut(string(u.Stage), incident.MaxName))
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
	return nil
}

// execBrief records an executive brief and sends it to the executives. It
// is not the team's update: the stage, the team's cadence, the status page
// and subscribers are left as they are.
func (w *incidentWorkflow) execBrief(ctx workflow.Context, u StatusUpdate) {
	st := &w.st
	now := workflow.Now(ctx)
	plan := st.majorPlan()
	m := st.Major
	m.LastExecBriefAt = &now
	m.ExecBriefs++
	stage := u.Stage
	if stage == "" {
		stage = st.Stage
	}
	text := fmt.Sprintf("[%s] %s", strings.ToUpper(string(stage)), strings.TrimSpace(u.Message))
	for _, f := range []struct{ k, v string }{{"impact", u.Impact}, {"known", u.Known}, {"doing", u.Doing}, {"eta", u.ETA}, {"workaround", u.Workaround}} {
		if strings.TrimSpace(f.v) != "" {
			text += fmt.Sprintf("; %s: %s", f.k, f.v)
		}
	}
	next := now.Add(plan.ExecBriefEvery).UTC().Format("15:04 MST")
	w.record(ctx, KindExecBrief, u.By, fmt.Sprintf("executive brief %d: %s (next by %s)", m.ExecBriefs, text, next))
	w.toExecs(ctx, fmt.Sprintf("Executive brief %d on major incident %s (%s %s, %s; commander %s): %s (next by %s)",
		m.ExecBriefs, st.ID, st.Severity, st.Service, st.Title, orNone(st.commander()), text, next), fmt.Sprintf("major-brief/%d", m.ExecBriefs))
	w.wakeUp()
}

// majorView shows the protocol in the incident's JSON.
func (st *incidentState) majorView() *MajorView {
	m := st.Major
	if m == nil {
		return nil
	}
	plan := st.majorPlan()
	v := &MajorView{DeclaredAt: m.DeclaredAt, By: m.By, Automatic: m.By == "", Reason: m.Reason, RolesMissing: st.majorRolesMissing(),
		ExecBriefs: m.ExecBriefs, LastExecBriefAt: m.LastExecBriefAt, ExecTargets: slices.Clone(plan.ExecTargets)}
	if v.ExecTargets == nil {
		v.ExecTargets = []string{displayTarget(st.channel())}
	}
	if st.majorOpen() {
		exec, _ := st.execBriefDue(plan)
		public, _ := st.publicDue(plan)
		v.NextExecBriefDue, v.NextPublicDue = &exec, &public
	}
	if st.ResolvedAt != nil {
		hot, pm := st.ResolvedAt.Add(plan.HotWashAfter), st.ResolvedAt.Add(plan.PostmortemDue)
		v.HotWashDue, v.PostmortemDue = &hot, &pm
	}
	return v
}

// majorDetails is the protocol at a glance, for the Temporal UI.
func (st *incidentState) majorDetails() string {
	v := st.majorView()
	if v == nil {
		return ""
	}
	s := fmt.Sprintf("- **major incident** since %s (%s)\n", v.DeclaredAt.UTC().Format(time.RFC3339), v.Reason)
	if v.NextExecBriefDue != nil {
		s += fmt.Sprintf("- executive brief due %s; public statement due %s\n", v.NextExecBriefDue.UTC().Format(time.RFC3339), v.NextPublicDue.UTC().Format(time.RFC3339))
	}
	if len(v.RolesMissing) > 0 {
		s += "- major roles unassigned: " + strings.Join(v.RolesMissing, ", ") + "\n"
	}
	if v.HotWashDue != nil {
		s += fmt.Sprintf("- hot wash due %s; post-mortem due %s\n", v.HotWashDue.UTC().Format(time.RFC3339), v.PostmortemDue.UTC().Format(time.RFC3339))
	}
	return s
}

// hotWash is a major incident's hot wash, kept by its post-mortem.
type hotWash struct {
	Due        time.Time  `json:"due"`
	RemindedAt *time.Time `json:"reminded_at,omitempty"`
}

// dueHotWash is the post-mortem's hot-wash reminder.
const dueHotWash = "hot_wash"

// takeMajorDeadlines gives a major incident's post-mortem the protocol's
// deadlines, which its view carries: the hot wash, and the post-mortem due
// later than usual. Only post-mortems of major incidents (which exist only
// behind major-v1) take the gate, so no other history changes.
func (p *postmortem) takeMajorDeadlines(ctx workflow.Context) {
	m := p.st.Incident.Major
	if m == nil || workflow.GetVersion(ctx, majorChange, workflow.DefaultVersion, 1) < 1 {
		return
	}
	if m.PostmortemDue != nil {
		p.st.DueAt = *m.PostmortemDue
	}
	if m.HotWashDue != nil {
		p.st.HotWash = &hotWash{Due: *m.HotWashDue}
	}
}

// hotWashDue adds the hot-wash reminder to the post-mortem's deadlines
// until it is sent or the post-mortem is written.
func (p *postmortem) hotWashDue(ds []due) []due {
	h := p.st.HotWash
	if h == nil || h.RemindedAt != nil || p.st.CompletedAt != nil {
		return ds
	}
	return append(ds, due{h.Due, dueHotWash, "major incident: hot wash due"})
}

// remindHotWash tells the commander the hot wash is due.
func (p *postmortem) remindHotWash(ctx workflow.Context) {
	st := &p.st
	now := workflow.Now(ctx)
	st.HotWash.RemindedAt = &now
	text := fmt.Sprintf("%s: the hot wash of major incident %s (%s) is due now, %s after its resolution: gather the responders while it is fresh. The post-mortem is due %s. %s",
		orTeam(st.Commander), st.IncidentID, st.Incident.Title, now.Sub(st.ResolvedAt).Round(time.Minute), st.DueAt.UTC().Format("Mon 15:04 MST"), p.where())
	p.record(ctx, KindReminder, "", text)
	p.notify(ctx, p.commanderTarget(), text, "hot-wash")
}
