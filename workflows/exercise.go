package workflows

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/incidentflow/incidentflow/incident"
)

// An exercise (a game day) runs the whole lifecycle of a real incident, so
// people practise on the tool they will use, with three differences:
//
//   - it pages only its participants, all of them at step 1 (a drill is
//     about who answers first, not about waking the real on-call chain);
//     the real policy, schedules, fallback and service channel are never
//     used, and each round's repeat pages the participants again;
//   - everything it sends carries incident.ExerciseMark (the activities
//     add it when a request says Exercise), and its channel is exercise-...;
//   - at resolution it evaluates itself instead of starting a post-mortem.
//
// Only workflows started as exercises (IncidentInput.Exercise) take any of
// these paths, so no recorded history of a real incident is touched.

// exercise is what a game day keeps in the incident's state.
type exercise struct {
	Participants []string `json:"participants"`
	// FirstUpdateAt is the first status update; the state keeps only the last.
	FirstUpdateAt *time.Time `json:"first_update_at,omitempty"`
	// Roles are the first filling of each role, in order (at most one per
	// role, so bounded by incident.Roles).
	Roles      []RoleFilled        `json:"roles,omitempty"`
	Evaluation *ExerciseEvaluation `json:"evaluation,omitempty"`
}

// RoleFilled is a role taken during an exercise, and how long after the
// start.
type RoleFilled struct {
	Role         string            `json:"role"`
	User         string            `json:"user"`
	At           time.Time         `json:"at"`
	After        incident.Duration `json:"after"`
	AfterSeconds float64           `json:"after_seconds"`
}

// ExerciseEvaluation is the short debrief an exercise ends with: how fast
// its participants answered, spoke up and organised.
type ExerciseEvaluation struct {
	Participants   []string  `json:"participants"`
	StartedAt      time.Time `json:"started_at"`
	EndedAt        time.Time `json:"ended_at"`
	AcknowledgedBy string    `json:"acknowledged_by,omitempty"`
	// Absent when it never happened.
	TimeToAck                *incident.Duration `json:"time_to_ack,omitempty"`
	TimeToAckSeconds         *float64           `json:"time_to_ack_seconds,omitempty"`
	TimeToFirstUpdate        *incident.Duration `json:"time_to_first_update,omitempty"`
	TimeToFirstUpdateSeconds *float64           `json:"time_to_first_update_seconds,omitempty"`
	TimeToMitigate           *incident.Duration `json:"time_to_mitigate,omitempty"`
	TimeToMitigateSeconds    *float64           `json:"time_to_mitigate_seconds,omitempty"`
	Roles                    []RoleFilled       `json:"roles"`
	// Unfilled are the roles the severity needs that nobody took.
	Unfilled []string `json:"unfilled_roles"`
	// Summary is the evaluation in one line, as posted.
	Summary string `json:"summary"`
}

// newExercise is the exercise an input starts, nil for a real incident.
// Participants are bounded and de-duplicated: they enter the state.
func newExercise(in IncidentInput) *exercise {
	if !in.Exercise {
		return nil
	}
	ex := &exercise{Participants: []string{}}
	for _, p := range in.Participants {
		p = incident.Cut(strings.TrimSpace(strings.TrimPrefix(p, "user:")), incident.MaxName)
		if p == "" || slices.Contains(ex.Participants, p) {
			continue
		}
		if len(ex.Participants) == incident.MaxParticipants {
			break
		}
		ex.Participants = append(ex.Participants, p)
	}
	return ex
}

func (st *incidentState) exercising() bool { return st.Exercise != nil }

// exercisePolicy replaces whoever the service's policy would reach with
// the participants; timings, severities and roles stay the service's, so
// the drill runs at the real pace. An exercise always pages (that is what
// it practises), unless it has nobody to page.
func (st *incidentState) exercisePolicy(p incident.Policy) incident.Policy {
	if st.Exercise == nil {
		return p
	}
	targets := make([]string, 0, len(st.Exercise.Participants))
	for _, u := range st.Exercise.Participants {
		targets = append(targets, "user:"+u)
	}
	pages := len(targets) > 0
	p.Steps, p.Fallback, p.Channel, p.Announce = nil, "", "", ""
	if pages {
		p.Steps = []incident.PlanStep{{Targets: targets}}
		// The first participant leads the drill: told when nobody answers,
		// and reminded until the exercise has a channel of its own.
		p.Fallback, p.Channel = targets[0], targets[0]
	}
	p.Page = pages
	p.Severities = maps.Clone(p.Severities)
	// By the configured order, not over the map: a workflow never ranges
	// over a map (workflowcheck), even where the order would not matter.
	for _, name := range p.SeverityOrder {
		if sev, ok := p.Severities[name]; ok {
			sev.Page = pages
			p.Severities[name] = sev
		}
	}
	return p
}

// startExercise says on the timeline what kind of incident this is.
func (w *incidentWorkflow) startExercise(ctx workflow.Context) {
	if !w.st.exercising() {
		return
	}
	who := strings.Join(w.st.Exercise.Participants, ", ")
	if who == "" {
		who = "nobody (no participants named)"
	}
	w.record(ctx, KindExercise, "", "exercise: pages only "+who+"; kept out of metrics, reports and the status page")
}

// validateExercisePage keeps a page by hand among the participants: an
// exercise must never reach the real on-call.
func (w *incidentWorkflow) validateExercisePage(target string) error {
	if !w.st.exercising() {
		return nil
	}
	kind, name, _ := strings.Cut(pageTarget(strings.TrimSpace(target)), ":")
	if kind != "user" || !slices.Contains(w.st.Exercise.Participants, name) {
		return fieldError("target", "an exercise pages only its participants (%s)", strings.Join(w.st.Exercise.Participants, ", "))
	}
	return nil
}

// noteExerciseRole remembers when a role was first filled.
func (w *incidentWorkflow) noteExerciseRole(now time.Time, role, user string) {
	ex := w.st.Exercise
	if ex == nil || slices.ContainsFunc(ex.Roles, func(r RoleFilled) bool { return r.Role == role }) {
		return
	}
	d := now.Sub(w.st.CreatedAt)
	ex.Roles = append(ex.Roles, RoleFilled{Role: role, User: user, At: now, After: incident.Duration(d.Round(time.Second)), AfterSeconds: d.Seconds()})
}

// noteExerciseUpdate remembers the first status update.
func (w *incidentWorkflow) noteExerciseUpdate(now time.Time) {
	if ex := w.st.Exercise; ex != nil && ex.FirstUpdateAt == nil {
		ex.FirstUpdateAt = &now
	}
}

// evaluateExercise ends an exercise with its evaluation: on the timeline,
// in the incident's JSON, and in its Slack channel when it has one. A
// reopened exercise is evaluated again when it is resolved again.
func (w *incidentWorkflow) evaluateExercise(ctx workflow.Context, now time.Time) {
	st := &w.st
	if st.Exercise == nil {
		return
	}
	ev := st.evaluation(now)
	st.Exercise.Evaluation = &ev
	w.record(ctx, KindExercise, "", ev.Summary)
	if st.SlackChannel != nil {
		w.announce(ctx, "slack_channel:"+st.SlackChannel.ID, fmt.Sprintf("%s %s (%s): %s", st.Severity, st.ID, st.Title, ev.Summary),
			fmt.Sprintf("exercise-evaluation/%d", st.seq()), "post exercise evaluation")
	}
}

func (st *incidentState) evaluation(now time.Time) ExerciseEvaluation {
	ex := st.Exercise
	ev := ExerciseEvaluation{Participants: slices.Clone(ex.Participants), StartedAt: st.CreatedAt, EndedAt: now,
		AcknowledgedBy: st.firstAcker(), Roles: slices.Clone(ex.Roles), Unfilled: []string{}}
	if ev.Roles == nil {
		ev.Roles = []RoleFilled{}
	}
	if st.AcknowledgedAt != nil {
		ev.TimeToAck, ev.TimeToAckSeconds = since(st.CreatedAt, *st.AcknowledgedAt)
	}
	if ex.FirstUpdateAt != nil {
		ev.TimeToFirstUpdate, ev.TimeToFirstUpdateSeconds = since(st.CreatedAt, *ex.FirstUpdateAt)
	}
	if st.MitigatedAt != nil {
		ev.TimeToMitigate, ev.TimeToMitigateSeconds = since(st.CreatedAt, *st.MitigatedAt)
	}
	for _, r := range st.severityPlan().Roles {
		if !slices.ContainsFunc(ex.Roles, func(f RoleFilled) bool { return f.Role == r }) {
			ev.Unfilled = append(ev.Unfilled, r)
		}
	}
	ev.Summary = ev.summary()
	return ev
}

// firstAcker is who acknowledged first: the state keeps the latest acker,
// whom a resolve does not clear but an ack timeout does.
func (st *incidentState) firstAcker() string {
	for _, e := range st.Timeline {
		if e.Kind == KindAck {
			return e.Actor
		}
	}
	return st.AcknowledgedBy
}

func (ev ExerciseEvaluation) summary() string {
	orNever := func(d *incident.Duration, who string) string {
		if d == nil {
			return "never"
		}
		if who != "" {
			return fmt.Sprintf("%s (%s)", d, who)
		}
		return d.String()
	}
	roles := make([]string, 0, len(ev.Roles))
	for _, r := range ev.Roles {
		roles = append(roles, fmt.Sprintf("%s %s after %s", r.Role, r.User, r.After))
	}
	filled := "none"
	if len(roles) > 0 {
		filled = strings.Join(roles, ", ")
	}
	s := fmt.Sprintf("Exercise evaluation: time to ack %s; time to first status update %s; time to mitigate %s; roles filled: %s",
		orNever(ev.TimeToAck, ev.AcknowledgedBy), orNever(ev.TimeToFirstUpdate, ""), orNever(ev.TimeToMitigate, ""), filled)
	if len(ev.Unfilled) > 0 {
		s += "; never filled: " + strings.Join(ev.Unfilled, ", ")
	}
	return s + "; participants: " + strings.Join(ev.Participants, ", ") + "."
}

// settleExercise lets the evaluation's post go out before the exercise's
// workflow ends, which would drop an activity still scheduled (bounded, so
// a broken Slack never keeps it open).
func (w *incidentWorkflow) settleExercise(ctx workflow.Context) {
	if !w.st.exercising() || w.inFlight == 0 {
		return
	}
	_, _ = workflow.AwaitWithTimeout(ctx, time.Minute, func() bool { return w.inFlight == 0 })
}

// exerciseView shows the exercise in the incident's JSON.
func (st *incidentState) exerciseView(v *Incident) {
	if st.Exercise == nil {
		return
	}
	v.Exercise = true
	v.Participants = slices.Clone(st.Exercise.Participants)
	if ev := st.Exercise.Evaluation; ev != nil {
		c := *ev
		c.Participants, c.Roles, c.Unfilled = slices.Clone(ev.Participants), slices.Clone(ev.Roles), slices.Clone(ev.Unfilled)
		v.ExerciseEvaluation = &c
	}
}
