package workflows

import (
	"time"

	"github.com/incidentflow/incidentflow/incident"
)

// incidentState is what an incident knows: facts only. Whatever can be
// derived from them (MTTA, the commander, missing roles, the alert count,
// the escalation round) is derived when needed, and readers get view().
//
// It is what continue-as-new carries, so its JSON names are those earlier
// versions wrote: a hand-over from them decodes into it (fields they had
// that are derived now are simply not read).
type incidentState struct {
	ID       string          `json:"id"`
	Key      string          `json:"key"`
	Title    string          `json:"title"`
	Service  string          `json:"service"`
	Severity string          `json:"severity"`
	Status   incident.Status `json:"status"`
	Stage    incident.Stage  `json:"stage"`
	Source   string          `json:"source,omitempty"`
	// Shadow: nothing is sent; pages are recorded as they would have been.
	Shadow bool `json:"shadow,omitempty"`
	// Exercise is set only on a game day (exercise.go).
	Exercise *exercise `json:"exercise,omitempty"`
	// Runbook is the first runbook link an alert brought.
	Runbook string `json:"runbook_url,omitempty"`
	// ProblemStartedAt is the earliest start an alert reported, before the
	// incident opened: MTTD runs from it to CreatedAt.
	ProblemStartedAt *time.Time `json:"problem_started_at,omitempty"`
	// Roles maps each held role, commander included, to its holder.
	Roles          map[string]string `json:"roles"`
	AcknowledgedBy string            `json:"acknowledged_by,omitempty"`
	ResolvedBy     string            `json:"resolved_by,omitempty"`
	CreatedAt      time.Time         `json:"created_at"`
	// AcknowledgedAt is the first ack (MTTA); LastAckAt the latest, from
	// which the ack timeout runs.
	AcknowledgedAt *time.Time `json:"acknowledged_at,omitempty"`
	LastAckAt      *time.Time `json:"last_ack_at,omitempty"`
	// MitigatedAt is when a person resolved it and monitoring began;
	// ResolvedAt is when the stable-for window passed.
	MitigatedAt     *time.Time    `json:"mitigated_at,omitempty"`
	MonitoringUntil *time.Time    `json:"monitoring_until,omitempty"`
	ResolvedAt      *time.Time    `json:"resolved_at,omitempty"`
	ClosedAt        *time.Time    `json:"closed_at,omitempty"`
	StageChangedAt  time.Time     `json:"stage_changed_at"`
	CommanderSince  *time.Time    `json:"commander_since,omitempty"`
	LastUpdate      *StatusUpdate `json:"last_update,omitempty"`
	// LastPublicUpdate is the last update meant for customers.
	LastPublicUpdate *StatusUpdate `json:"last_public_update,omitempty"`
	// NextUpdateDue is the time people were told the next update comes by.
	NextUpdateDue *time.Time `json:"next_update_due,omitempty"`
	Reminders     reminders  `json:"reminders"`

	// Versions of behaviour this incident runs (workflow.GetVersion), so a
	// continued run behaves as the run that started it.
	Version           int `json:"version"`
	ChannelVersion    int `json:"channel_version,omitempty"`
	InviteVersion     int `json:"invite_version,omitempty"`
	CardVersion       int `json:"card_version,omitempty"`
	PostmortemVersion int `json:"postmortem_version,omitempty"`
	RulesVersion      int `json:"rules_version,omitempty"`
	MajorVersion      int `json:"major_version,omitempty"`

	// What the incident did outside: its channel, its card, its post-mortem.
	SlackChannel *incident.SlackChannel `json:"slack_channel,omitempty"`
	Card         *incident.CardRef      `json:"card,omitempty"`
	Postmortem   string                 `json:"postmortem,omitempty"`

	// Runs counts continue-as-new hand-overs.
	Runs int `json:"runs"`

	Alerts []Alert `json:"alerts"`
	// Forgotten counts what fell out of Alerts once it was full.
	Forgotten forgottenAlerts `json:"alerts_forgotten,omitempty"`

	Escalation escalation `json:"escalation"`
	// Hold, while set and the incident is triggered, keeps paging back for
	// a maintenance window (maintenance-hold).
	Hold *maintenanceHold `json:"maintenance,omitempty"`
	// Policy is this incident's slice of the config (the "plan" of earlier
	// versions), read when it opened.
	Policy incident.Policy `json:"plan"`

	Timeline []TimelineEntry `json:"timeline"`
	// TimelineOmitted counts entries dropped to keep the timeline bounded.
	TimelineOmitted int          `json:"timeline_omitted,omitempty"`
	ActionItems     []ActionItem `json:"action_items"`
	// Similar are past incidents like this one, looked up once when it
	// opened (similar.go); its card shows them.
	Similar []incident.SimilarIncident `json:"similar,omitempty"`
	// Access are the grants given to responders (access.go).
	Access []AccessRecord `json:"access,omitempty"`
	// Links are merges and parent/child links (linked.go); nil without any.
	Links *links `json:"links,omitempty"`
	// Subscribers get every public status update (subscribers.go).
	Subscribers []Subscription `json:"subscribers,omitempty"`
	// Breach is set once the incident is a personal-data breach (breach.go).
	Breach *BreachView `json:"data_breach,omitempty"`
	// Major is set once the incident is a major one (major.go).
	Major *majorState `json:"major_incident,omitempty"`
	// Automation is the runbook steps it offers and their runs (runbook.go).
	Automation *runbookAutomation `json:"runbook_automation,omitempty"`
}

// escalation is where the incident is in its policy. Position counts pages
// through the flattened policy: round r, step s is r*len(steps)+s; the
// position after the last round is the fallback.
type escalation struct {
	Position   int       `json:"position"`
	NextPageAt time.Time `json:"next_page_at"`
	Exhausted  bool      `json:"exhausted"`
	// Generation changes when a reopen starts the policy over, so page
	// idempotency keys of the new run never collide with the old ones.
	Generation int `json:"generation"`
}

// reminders remembers which reminder went out for which moment, so each
// fires once per period and survives continue-as-new.
type reminders struct {
	UpdateDueFor     time.Time `json:"update_due_for"`
	UpdateOverdueFor time.Time `json:"update_overdue_for"`
	NoProgressFor    time.Time `json:"no_progress_for"`
	HandoverFor      time.Time `json:"handover_for"`
	AckTimeoutFor    time.Time `json:"ack_timeout_for"`
}

// forgottenAlerts counts the distinct alerts no longer listed.
type forgottenAlerts struct {
	Alerts int `json:"alerts,omitempty"`
	// Events is how many times they had fired, for the alert count.
	Events int `json:"events,omitempty"`
	// Firing is how many of them were still firing when forgotten; an
	// unknown alert that resolves is taken for one of them.
	Firing int `json:"firing,omitempty"`
}

// Alert is one distinct alert (by fingerprint) seen by the incident.
type Alert struct {
	Fingerprint string    `json:"fingerprint"`
	Status      string    `json:"status"`
	Summary     string    `json:"summary,omitempty"`
	FirstSeen   time.Time `json:"first_seen"`
	LastSeen    time.Time `json:"last_seen"`
	Count       int       `json:"count"`
}

// TimelineEntry is one event, with who did it and when.
type TimelineEntry struct {
	At      time.Time `json:"at"`
	Kind    Kind      `json:"kind"`
	Actor   string    `json:"actor,omitempty"`
	Message string    `json:"message"`
}

// maxEntryMessage bounds one timeline line: a status update joins several
// fields, each within incident.MaxText.
const maxEntryMessage = 2 * incident.MaxText

// appendBounded adds an entry and drops the oldest (after the first, which
// says how the incident began) while the timeline is over its bounds.
// It returns how many entries it dropped.
func appendBounded(timeline []TimelineEntry, e TimelineEntry) ([]TimelineEntry, int) {
	e.Actor = incident.Cut(e.Actor, incident.MaxName)
	e.Message = incident.Cut(e.Message, maxEntryMessage)
	timeline = append(timeline, e)
	size := 0
	for _, t := range timeline {
		size += t.size()
	}
	dropped := 0
	for len(timeline) > 2 && (len(timeline) > incident.MaxTimelineEntries || size > incident.MaxTimelineBytes) {
		size -= timeline[1].size()
		timeline = append(timeline[:1], timeline[2:]...)
		dropped++
	}
	return timeline, dropped
}

// size is about what the entry costs as JSON.
func (e TimelineEntry) size() int { return len(e.Kind) + len(e.Actor) + len(e.Message) + 80 }

// seq numbers the entries ever recorded: it keeps growing when the oldest
// are dropped, so keys made from it never repeat.
func (st *incidentState) seq() int { return len(st.Timeline) + st.TimelineOmitted }

func (st *incidentState) commander() string { return st.Roles[incident.RoleCommander] }

func (st *incidentState) severityPlan() incident.SeverityPlan {
	return st.Policy.Severities[st.Severity]
}

// missingRoles lists the roles the severity requires that nobody holds in
// their own right (the commander covers them meanwhile).
func (st *incidentState) missingRoles() []string {
	missing := []string{}
	for _, r := range st.severityPlan().Roles {
		if st.Roles[r] == "" {
			missing = append(missing, r)
		}
	}
	return st.withMajorRoles(missing)
}

func (st *incidentState) alertCount() int {
	n := st.Forgotten.Events
	for _, a := range st.Alerts {
		n += a.Count
	}
	return n
}

// lastPosition is the fallback's position, after every round.
func (st *incidentState) lastPosition() int {
	return (st.Policy.Repeat + 1) * len(st.Policy.Steps)
}

// nextRoundStep is the 0-based round and step the next page goes to.
func (st *incidentState) nextRoundStep() (round, step int) {
	n := len(st.Policy.Steps)
	if n == 0 {
		return 0, 0
	}
	pos := min(st.Escalation.Position, st.lastPosition())
	return pos / n, pos % n
}

// channel is where reminders and updates go: the incident's own channel
// once it has one, else the policy's.
func (st *incidentState) channel() string {
	if st.SlackChannel != nil {
		return "slack_channel:" + st.SlackChannel.ID
	}
	return st.Policy.Channel
}

// maintenanceHold is a maintenance window holding the incident's paging
// until Until; the window is asked about again at CheckAt.
type maintenanceHold struct {
	Until   time.Time `json:"until"`
	Reason  string    `json:"reason"`
	CheckAt time.Time `json:"check_at"`
}

// runbook is where a responder starts: the alert's link, else the service's.
func (st *incidentState) runbook() string {
	if st.Runbook != "" {
		return st.Runbook
	}
	return st.Policy.Runbook
}
