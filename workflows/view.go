package workflows

import (
	"maps"
	"slices"
	"time"

	"github.com/incidentflow/incidentflow/incident"
)

// Incident is the incident as readers see it: the `state` query answer,
// the HTTP API's JSON, what `incidentflow show` prints and what the
// post-mortem starts from. It is built from the state by view(), never
// kept: durations read "5m", and times that have not happened are absent
// (acknowledged_at and resolved_at are null until they happen).
type Incident struct {
	ID       string          `json:"id"`
	Key      string          `json:"key"`
	Title    string          `json:"title"`
	Service  string          `json:"service"`
	Severity string          `json:"severity"`
	Status   incident.Status `json:"status"`
	Stage    incident.Stage  `json:"stage"`
	Source   string          `json:"source,omitempty"`
	Shadow   bool            `json:"shadow,omitempty"`
	// Exercise: a game day, which pages only its Participants; it ends
	// with its ExerciseEvaluation.
	Exercise           bool                `json:"exercise,omitempty"`
	Participants       []string            `json:"participants,omitempty"`
	ExerciseEvaluation *ExerciseEvaluation `json:"exercise_evaluation,omitempty"`
	Runbook            string              `json:"runbook_url,omitempty"`
	// Commander leads; Roles maps every held role, commander included.
	Commander string            `json:"commander"`
	Roles     map[string]string `json:"roles"`
	// MissingRoles are required by the severity and held by nobody in their
	// own right: the commander covers them meanwhile.
	MissingRoles   []string `json:"missing_roles"`
	AcknowledgedBy string   `json:"acknowledged_by"`
	ResolvedBy     string   `json:"resolved_by,omitempty"`

	CreatedAt      time.Time  `json:"created_at"`
	AcknowledgedAt *time.Time `json:"acknowledged_at"`
	// MitigatedAt is when a person resolved it and monitoring began;
	// ResolvedAt when the stable-for window passed.
	MitigatedAt     *time.Time `json:"mitigated_at,omitempty"`
	MonitoringUntil *time.Time `json:"monitoring_until,omitempty"`
	ResolvedAt      *time.Time `json:"resolved_at"`
	ClosedAt        *time.Time `json:"closed_at,omitempty"`
	// MTTA is trigger to first ack, MTTR trigger to mitigation; the
	// _seconds twins are for scripts. MTTM says the same as MTTR under the
	// name the incident review uses (time to mitigate), since MTTR there
	// runs to resolved_at; mttr keeps its meaning for existing readers.
	// MTTD runs from the problem's start, as the first alert reported it
	// (problem_started_at), to the incident's opening.
	ProblemStartedAt *time.Time         `json:"problem_started_at,omitempty"`
	MTTD             *incident.Duration `json:"mttd,omitempty"`
	MTTDSeconds      *float64           `json:"mttd_seconds,omitempty"`
	MTTA             *incident.Duration `json:"mtta,omitempty"`
	MTTR             *incident.Duration `json:"mttr,omitempty"`
	MTTM             *incident.Duration `json:"mttm,omitempty"`
	MTTASeconds      *float64           `json:"mtta_seconds,omitempty"`
	MTTRSeconds      *float64           `json:"mttr_seconds,omitempty"`
	MTTMSeconds      *float64           `json:"mttm_seconds,omitempty"`
	// TimeToResolveSeconds runs to resolved_at, after the monitoring window.
	TimeToResolveSeconds *float64 `json:"time_to_resolve_seconds,omitempty"`

	LastUpdate *StatusUpdate `json:"last_update,omitempty"`
	// LastPublicUpdate is what the status page shows.
	LastPublicUpdate *StatusUpdate          `json:"last_public_update,omitempty"`
	NextUpdateDue    *time.Time             `json:"next_update_due,omitempty"`
	SlackChannel     *incident.SlackChannel `json:"slack_channel,omitempty"`
	Postmortem       string                 `json:"postmortem,omitempty"`

	AlertCount int     `json:"alert_count"`
	Alerts     []Alert `json:"alerts"`
	// AlertsForgotten counts distinct alerts no longer listed (the list
	// keeps the most recent).
	AlertsForgotten int `json:"alerts_forgotten,omitempty"`

	Escalation EscalationView `json:"escalation"`
	// Maintenance is set while a maintenance window holds the paging.
	Maintenance *incident.MaintenanceHold `json:"maintenance,omitempty"`

	Timeline []TimelineEntry `json:"timeline"`
	// TimelineOmitted counts the oldest entries dropped to keep the timeline
	// bounded (the first, the trigger, is always kept).
	TimelineOmitted int          `json:"timeline_omitted,omitempty"`
	ActionItems     []ActionItem `json:"action_items"`
	// Access are the grants given to responders, and when each ends.
	Access []AccessRecord `json:"access,omitempty"`
	// MergedInto names the incident this duplicate was merged into;
	// MergedFrom the duplicates merged into this one (MergedOmitted counts
	// those past the list's bound). Parent and Children are the links.
	MergedInto    string           `json:"merged_into,omitempty"`
	MergedFrom    []MergedIncident `json:"merged_from,omitempty"`
	MergedOmitted int              `json:"merged_omitted,omitempty"`
	Parent        string           `json:"parent,omitempty"`
	Children      []ChildIncident  `json:"children,omitempty"`
	// Subscribers counts who gets the public updates; the list, with its
	// addresses, is GET .../subscribers, behind a token.
	Subscribers int `json:"subscribers,omitempty"`
	// DataBreach is set once the incident is a personal-data breach;
	// GET .../data-breach has its deadline's whole state (breach.go).
	DataBreach *BreachView `json:"data_breach,omitempty"`
	// Major is the major-incident protocol, once declared (major.go).
	Major *MajorView `json:"major,omitempty"`
}

// EscalationView says who was paged last, who is next and when.
type EscalationView struct {
	// Round and Step (from 1) of the last page; 0 before the first.
	Round int `json:"round,omitempty"`
	Step  int `json:"step,omitempty"`
	// NextPageAt is set only while a page is pending.
	NextPageAt *time.Time `json:"next_page_at,omitempty"`
	// Exhausted: every round was paged and the fallback told (or the
	// severity does not page).
	Exhausted  bool `json:"exhausted"`
	Generation int  `json:"generation"`
	// The policy being followed.
	Steps    []StepView `json:"steps"`
	Repeat   int        `json:"repeat"`
	Fallback string     `json:"fallback,omitempty"`
}

// StepView is one escalation step: its targets, paged After the previous one.
type StepView struct {
	After   incident.Duration `json:"after"`
	Targets []string          `json:"targets"`
}

// view builds what readers see. It copies what it shares, so a reader
// holding a view never sees the state change under it.
func (st *incidentState) view() Incident {
	v := Incident{
		ID: st.ID, Key: st.Key, Title: st.Title, Service: st.Service, Severity: st.Severity,
		Status: st.Status, Stage: st.Stage, Source: st.Source, Shadow: st.Shadow, Runbook: st.runbook(),
		Commander: st.commander(), Roles: maps.Clone(st.Roles), MissingRoles: st.missingRoles(),
		AcknowledgedBy: st.AcknowledgedBy, ResolvedBy: st.ResolvedBy,
		CreatedAt: st.CreatedAt, AcknowledgedAt: st.AcknowledgedAt, MitigatedAt: st.MitigatedAt,
		MonitoringUntil: st.MonitoringUntil, ResolvedAt: st.ResolvedAt, ClosedAt: st.ClosedAt,
		LastUpdate: st.LastUpdate, LastPublicUpdate: st.LastPublicUpdate, SlackChannel: st.SlackChannel, Postmortem: st.Postmortem,
		AlertCount: st.alertCount(), Alerts: append([]Alert{}, st.Alerts...), AlertsForgotten: st.Forgotten.Alerts,
		Timeline: append([]TimelineEntry{}, st.Timeline...), TimelineOmitted: st.TimelineOmitted,
		ActionItems: append([]ActionItem{}, st.ActionItems...),
	}
	if v.Roles == nil {
		v.Roles = map[string]string{}
	}
	if st.Status == incident.StatusTriggered || st.Status == incident.StatusAcknowledged {
		v.NextUpdateDue = st.NextUpdateDue
	}
	if st.ProblemStartedAt != nil {
		v.ProblemStartedAt = st.ProblemStartedAt
		v.MTTD, v.MTTDSeconds = since(*st.ProblemStartedAt, st.CreatedAt)
	}
	if st.AcknowledgedAt != nil {
		v.MTTA, v.MTTASeconds = since(st.CreatedAt, *st.AcknowledgedAt)
	}
	if st.MitigatedAt != nil {
		v.MTTR, v.MTTRSeconds = since(st.CreatedAt, *st.MitigatedAt)
		v.MTTM, v.MTTMSeconds = since(st.CreatedAt, *st.MitigatedAt)
	}
	if st.ResolvedAt != nil {
		_, v.TimeToResolveSeconds = since(st.CreatedAt, *st.ResolvedAt)
	}
	v.Escalation = st.escalationView()
	v.Subscribers = len(st.Subscribers)
	v.DataBreach = st.breachView()
	v.Major = st.majorView()
	v.Access = slices.Clone(st.Access)
	st.exerciseView(&v)
	st.linksView(&v)
	if st.Hold != nil && st.Status == incident.StatusTriggered {
		v.Maintenance = &incident.MaintenanceHold{Until: st.Hold.Until, Reason: st.Hold.Reason}
		v.Escalation.NextPageAt = nil
	}
	return v
}

func since(from, to time.Time) (*incident.Duration, *float64) {
	d := to.Sub(from).Round(time.Second)
	secs := to.Sub(from).Seconds()
	dur := incident.Duration(d)
	return &dur, &secs
}

func (st *incidentState) escalationView() EscalationView {
	e := st.Escalation
	v := EscalationView{Exhausted: e.Exhausted, Generation: e.Generation, Repeat: st.Policy.Repeat, Fallback: st.Policy.Fallback, Steps: []StepView{}}
	for _, s := range st.Policy.Steps {
		v.Steps = append(v.Steps, StepView{After: incident.Duration(s.Delay), Targets: append([]string{}, s.Targets...)})
	}
	if n := len(st.Policy.Steps); n > 0 && e.Position > 0 {
		last := min(e.Position, st.lastPosition()) - 1
		v.Round, v.Step = last/n+1, last%n+1
	}
	if st.Status == incident.StatusTriggered && !e.Exhausted && !e.NextPageAt.IsZero() {
		at := e.NextPageAt
		v.NextPageAt = &at
	}
	return v
}
