package incident

import (
	"slices"
	"time"
)

// Status is where an incident is in its lifecycle.
type Status string

const (
	StatusTriggered    Status = "triggered"
	StatusAcknowledged Status = "acknowledged"
	// StatusMonitoring: resolved by a person, waiting out the stable-for
	// window; an alert firing again reopens it.
	StatusMonitoring Status = "monitoring"
	// StatusResolved: stable after the window; still reopened by a firing
	// alert until closed (at once when the severity needs no post-mortem).
	StatusResolved Status = "resolved"
	StatusClosed   Status = "closed"
)

// Statuses lists every status, in lifecycle order.
var Statuses = []Status{StatusTriggered, StatusAcknowledged, StatusMonitoring, StatusResolved, StatusClosed}

// Open says whether the incident still takes commands that change its course.
func (s Status) Open() bool { return s != StatusResolved && s != StatusClosed }

// Stage is what stakeholders are told (the status-page stages).
type Stage string

const (
	StageInvestigating Stage = "investigating"
	StageIdentified    Stage = "identified"
	StageMonitoring    Stage = "monitoring"
	StageResolved      Stage = "resolved"
)

// Stages lists every stage, in order.
var Stages = []Stage{StageInvestigating, StageIdentified, StageMonitoring, StageResolved}

// ValidStage says whether s names a stage.
func ValidStage(s Stage) bool { return slices.Contains(Stages, s) }

// Roles of the incident command system; the commander holds every role not
// assigned to someone else.
const (
	RoleCommander = "commander"
	RoleComms     = "comms"
	RoleOps       = "ops"
	RoleScribe    = "scribe"
)

// Roles lists every role, commander first; the last three are those a
// major incident adds (MajorRoles).
var Roles = []string{RoleCommander, RoleComms, RoleOps, RoleScribe, RoleDeputy, RolePlanning, RoleLiaison}

// Alert statuses, as Alertmanager spells them.
const (
	AlertFiring   = "firing"
	AlertResolved = "resolved"
)

// Policy is what one incident needs of the configuration: its escalation
// steps, the settings of each severity, and where its messages go. It is
// read by an activity when the incident opens, and never changed at run
// time: what the incident did (its channel, its card) is state, not policy.
// The JSON names are those of the plan that earlier versions carried, so a
// state handed over by continue-as-new from them decodes.
type Policy struct {
	Steps []PlanStep `json:"steps"`
	// Runbook is the service's runbook_url, for alerts that bring none.
	Runbook string `json:"runbook_url,omitempty"`
	// Repeat is the number of extra rounds after the first.
	Repeat int `json:"repeat"`
	// RoundGap is the wait after a round's last step before the next round
	// or the fallback is paged.
	RoundGap time.Duration `json:"round_gap"`
	Fallback string        `json:"fallback"`
	// Page is the starting severity's paging, kept for incidents that began
	// before severities were planned one by one.
	Page bool `json:"page"`
	// Warning explains a policy made without the service's own.
	Warning string `json:"warning,omitempty"`

	// SeverityOrder lists severities, highest first; Severities their settings.
	SeverityOrder     []string                `json:"severity_order,omitempty"`
	Severities        map[string]SeverityPlan `json:"severities,omitempty"`
	ResolveStableFor  time.Duration           `json:"resolve_stable_for,omitempty"`
	NoProgressNudge   time.Duration           `json:"no_progress_nudge,omitempty"`
	CommanderHandover time.Duration           `json:"commander_handover,omitempty"`
	// Channel is where reminders and updates go until the incident has a
	// channel of its own: the service's Slack channel, else the announce
	// channel, else the console ("").
	Channel string `json:"channel,omitempty"`
	// SlackChannels: Slack is configured, so severities that want one get
	// an incident channel.
	SlackChannels bool `json:"slack_channels,omitempty"`
	// Announce is where new incident channels are linked.
	Announce string `json:"announce,omitempty"`
	// ContinueAsNewEvents hands the incident to a fresh run past this many
	// history events, even if Temporal has not suggested it yet (0: only
	// when suggested).
	ContinueAsNewEvents int `json:"continue_as_new_events,omitempty"`
	// Access are the grants responders of this service get (access_grants).
	Access []AccessGrant `json:"access,omitempty"`
	// Major is the major-incident protocol (major_incident); nil: the
	// incident never becomes major by itself.
	Major *MajorPlan `json:"major,omitempty"`
}

// SeverityPlan is one severity's settings.
type SeverityPlan struct {
	UpdateEvery    time.Duration `json:"update_every"`
	ResolveTimeout time.Duration `json:"resolve_timeout"`
	Roles          []string      `json:"roles"`
	Page           bool          `json:"page"`
	Postmortem     bool          `json:"postmortem"`
	Channel        bool          `json:"channel"`
}

// PlanStep pages Targets Delay after the previous step.
type PlanStep struct {
	Delay   time.Duration `json:"delay"`
	Targets []string      `json:"targets"`
}

// PlanRequest asks the worker's config for an incident's policy.
type PlanRequest struct {
	Service  string `json:"service"`
	Severity string `json:"severity"`
}

// PageRequest pages one target.
type PageRequest struct {
	IncidentID string `json:"incident_id"`
	Title      string `json:"title"`
	Severity   string `json:"severity"`
	Service    string `json:"service"`
	Target     string `json:"target"`
	Round      int    `json:"round"`
	Step       int    `json:"step"`
	// IdempotencyKey is workflow ID + step: a retried activity must never page twice.
	IdempotencyKey string `json:"idempotency_key"`
	// Runbook is where the responder starts: the alert's runbook_url, else
	// the service's.
	Runbook string `json:"runbook_url,omitempty"`
	// Exercise: a game day's page, marked as one and kept out of metrics.
	Exercise bool `json:"exercise,omitempty"`
}

// PageResult says who was reached and how.
type PageResult struct {
	Recipient string `json:"recipient"`
	Channel   string `json:"channel"`
	// Digest, when more than one, is how many incidents the message that
	// reached the person listed (this one among them).
	Digest int `json:"digest,omitempty"`
}

// SlackChannel is an incident's Slack channel.
type SlackChannel struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// InviteRequest brings configured users into a Slack channel.
type InviteRequest struct {
	Channel string   `json:"channel"`
	Users   []string `json:"users"`
}

// CardRef locates the posted card.
type CardRef struct {
	Channel string `json:"channel"`
	TS      string `json:"ts"`
}

// CardRequest posts the incident card, or updates it in place when Ref is set.
type CardRequest struct {
	IncidentID string            `json:"incident_id"`
	Channel    string            `json:"channel"`
	Ref        *CardRef          `json:"ref,omitempty"`
	Title      string            `json:"title"`
	Severity   string            `json:"severity"`
	Status     Status            `json:"status"`
	Stage      Stage             `json:"stage"`
	Roles      map[string]string `json:"roles"`
	LastUpdate string            `json:"last_update,omitempty"`
	NextUpdate *time.Time        `json:"next_update,omitempty"`
	AlertCount int               `json:"alert_count"`
	Runbook    string            `json:"runbook_url,omitempty"`
	// Exercise marks the card as a game day's.
	Exercise bool `json:"exercise,omitempty"`
	// Similar are past incidents like this one.
	Similar []SimilarIncident `json:"similar,omitempty"`
	// RunbookSteps are the runbook steps it offers as buttons.
	RunbookSteps []RunbookButton `json:"runbook_steps,omitempty"`
}

// ChannelRequest opens an incident's Slack channel.
type ChannelRequest struct {
	IncidentID string    `json:"incident_id"`
	Title      string    `json:"title"`
	Severity   string    `json:"severity"`
	Commander  string    `json:"commander"`
	OpenedAt   time.Time `json:"opened_at"`
	// Invite are targets (user:, schedule:) whose people join the channel.
	Invite []string `json:"invite"`
	// Announce is where the channel is linked ("slack_channel:#incidents").
	Announce string `json:"announce"`
	// Exercise names the channel exercise-... and marks its topic.
	Exercise bool `json:"exercise,omitempty"`
}

// AnnounceRequest posts a message to a target (the fallback, say).
type AnnounceRequest struct {
	IncidentID     string `json:"incident_id"`
	Target         string `json:"target"`
	Text           string `json:"text"`
	IdempotencyKey string `json:"idempotency_key"`
	// Addressee is the configured user the text begins by naming
	// ("carol: a status update is due"); Slack mentions them so that they
	// are notified, which a plain name does not do.
	Addressee string `json:"addressee,omitempty"`
	// Exercise marks the text as a game day's.
	Exercise bool `json:"exercise,omitempty"`
}

// Rule is one notification rule: page by Via, After the page began. An
// empty Via is the first channel that can reach the person.
type Rule struct {
	After time.Duration `json:"after"`
	Via   string        `json:"via,omitempty"`
}

// Person is someone a step pages, with how to reach them.
type Person struct {
	User  string `json:"user"`
	Rules []Rule `json:"rules"`
	// Targets are the step's targets that named them (a person named twice
	// is paged once).
	Targets []string `json:"targets"`
}

// PeopleRequest asks who a step's targets page, now.
type PeopleRequest struct {
	Targets []string `json:"targets"`
}

// People is who a step pages: the people, and the targets that are not
// people (channels, webhooks) or could not be resolved, paged as before.
type People struct {
	People []Person `json:"people"`
	Others []string `json:"others,omitempty"`
}

// NotifyRequest reaches one person by one method.
type NotifyRequest struct {
	Page PageRequest `json:"page"`
	User string      `json:"user"`
	Via  string      `json:"via,omitempty"`
}
