package workflows

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
)

// Names shared with every caller (intake, CLI, `temporal workflow signal`).
const (
	IncidentWorkflowName = "IncidentWorkflow"

	SignalAlert        = "alert"
	SignalAck          = "ack"
	SignalResolve      = "resolve"
	SignalReopen       = "reopen"
	SignalEscalate     = "escalate"
	SignalSetSeverity  = "set-severity"
	SignalAssignRole   = "assign-role"
	SignalStatusUpdate = "status-update"
	SignalNote         = "note"
	SignalClose        = "close"
	SignalActionItem   = "add-action-item"
	SignalPage         = "page"

	// Every command but alert is also an Update of the same name: the HTTP
	// API uses the Update to get a validated answer (409 with the reason);
	// plain `temporal workflow signal` uses the fire-and-forget signal.
	UpdateAck          = SignalAck
	UpdateResolve      = SignalResolve
	UpdateReopen       = SignalReopen
	UpdateEscalate     = SignalEscalate
	UpdateSetSeverity  = SignalSetSeverity
	UpdateAssignRole   = SignalAssignRole
	UpdateStatusUpdate = SignalStatusUpdate
	UpdateNote         = SignalNote
	UpdateClose        = SignalClose
	UpdateActionItem   = SignalActionItem
	UpdatePage         = SignalPage

	QueryState = "state"

	// Activity names: the methods of activities.Activities.
	ActivityResolvePlan = "ResolvePlan"
	ActivityPage        = "Page"
	ActivityAnnounce    = "Announce"
	ActivityOpenChannel = "OpenChannel"
	ActivityUpsertCard  = "UpsertCard"
	ActivityInvite      = "InviteToChannel"

	MemoTitle = "title"
)

// Search attributes ops filter incidents by in the Temporal UI.
var (
	SearchSeverity  = temporal.NewSearchAttributeKeyKeyword("IncidentSeverity")
	SearchStatus    = temporal.NewSearchAttributeKeyKeyword("IncidentStatus")
	SearchService   = temporal.NewSearchAttributeKeyKeyword("IncidentService")
	SearchCommander = temporal.NewSearchAttributeKeyKeyword("IncidentCommander")
	// SearchChannel is the incident's Slack channel ID: `/incident` typed
	// there finds its incident through it.
	SearchChannel = temporal.NewSearchAttributeKeyKeyword("IncidentChannel")
)

// SearchAttributeNames lists the attributes a namespace must have registered.
func SearchAttributeNames() []string {
	return []string{SearchSeverity.GetName(), SearchStatus.GetName(), SearchService.GetName(), SearchCommander.GetName(), SearchChannel.GetName()}
}

const idPrefix = "incident-"

// IncidentID turns a dedup key into the workflow ID `incident-<key>`. Keys
// that are not already lowercase [a-z0-9._-] are made safe and get a short
// hash of the original, so two different keys never share an incident.
func IncidentID(key string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(key) {
		ok := r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '_'
		if ok {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	safe := strings.Trim(b.String(), "-")
	if len(safe) > 80 {
		safe = strings.Trim(safe[:80], "-")
	}
	if safe == key && safe != "" {
		return idPrefix + safe
	}
	sum := sha256.Sum256([]byte(key))
	if safe == "" {
		return idPrefix + hex.EncodeToString(sum[:6])
	}
	return idPrefix + safe + "-" + hex.EncodeToString(sum[:4])
}

// NormalizeID accepts `incident-<key>` or a bare key as typed by a person.
func NormalizeID(idOrKey string) string {
	if strings.HasPrefix(idOrKey, idPrefix) {
		return idOrKey
	}
	return IncidentID(idOrKey)
}

// Status of an incident.
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

// Roles of the incident command system; the commander holds every role
// not assigned to someone else.
var Roles = []string{"commander", "comms", "ops", "scribe"}

// Stages shown to stakeholders.
var Stages = []string{"investigating", "identified", "monitoring", "resolved"}

// Alert statuses, as Alertmanager spells them.
const (
	AlertFiring   = "firing"
	AlertResolved = "resolved"
)

// IncidentInput starts an incident. Secrets never go here: it is history.
type IncidentInput struct {
	Key      string `json:"key"`
	Title    string `json:"title"`
	Service  string `json:"service"`
	Severity string `json:"severity"`
	// Source names the integration or person that opened it.
	Source string `json:"source"`
	// Resume carries the whole state across continue-as-new.
	Resume *IncidentState `json:"resume,omitempty"`
}

// AlertSignal is one alert event for the incident, from intake.
type AlertSignal struct {
	Fingerprint string            `json:"fingerprint"`
	Status      string            `json:"status"`
	Summary     string            `json:"summary,omitempty"`
	Source      string            `json:"source,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
}

// ActionRequest is what a person sends to ack, resolve or escalate.
type ActionRequest struct {
	By   string `json:"by"`
	Note string `json:"note,omitempty"`
}

// SeverityRequest changes the severity.
type SeverityRequest struct {
	By       string `json:"by"`
	Severity string `json:"severity"`
	Note     string `json:"note,omitempty"`
}

// RoleRequest hands a role to a user, with a handover note.
type RoleRequest struct {
	By   string `json:"by"`
	Role string `json:"role"`
	User string `json:"user"`
	Note string `json:"note,omitempty"`
}

// StatusUpdate is a stakeholder update, in the usual template.
type StatusUpdate struct {
	By         string    `json:"by"`
	Stage      string    `json:"stage"`
	Message    string    `json:"message"`
	Impact     string    `json:"impact,omitempty"`
	Known      string    `json:"known,omitempty"`
	Doing      string    `json:"doing,omitempty"`
	ETA        string    `json:"eta,omitempty"`
	Workaround string    `json:"workaround,omitempty"`
	At         time.Time `json:"at,omitempty"`
}

// NoteRequest adds a line to the timeline.
type NoteRequest struct {
	By   string `json:"by"`
	Text string `json:"text"`
}

// TimelineEntry is one event, with who did it and when.
type TimelineEntry struct {
	At      time.Time `json:"at"`
	Kind    string    `json:"kind"`
	Actor   string    `json:"actor,omitempty"`
	Message string    `json:"message"`
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

// Escalation tracks where the incident is in its policy. Position counts
// pages through the flattened policy: round r, step s is r*len(steps)+s; the
// position after the last round is the fallback.
type Escalation struct {
	Position   int       `json:"position"`
	Round      int       `json:"round"`
	Step       int       `json:"step"`
	NextPageAt time.Time `json:"next_page_at,omitempty"`
	Exhausted  bool      `json:"exhausted"`
	// Generation changes when a reopen starts the policy over, so page
	// idempotency keys of the new run never collide with the old ones.
	Generation int `json:"generation"`
}

// IncidentState is the whole incident: the `state` query answer, the
// update result, and what continue-as-new will carry.
type IncidentState struct {
	ID             string            `json:"id"`
	Key            string            `json:"key"`
	Title          string            `json:"title"`
	Service        string            `json:"service"`
	Severity       string            `json:"severity"`
	Status         Status            `json:"status"`
	Stage          string            `json:"stage"`
	Source         string            `json:"source,omitempty"`
	Commander      string            `json:"commander"`
	Roles          map[string]string `json:"roles"`
	AcknowledgedBy string            `json:"acknowledged_by"`
	ResolvedBy     string            `json:"resolved_by,omitempty"`
	CreatedAt      time.Time         `json:"created_at"`
	AcknowledgedAt *time.Time        `json:"acknowledged_at"`
	ResolvedAt     *time.Time        `json:"resolved_at"`
	ClosedAt       *time.Time        `json:"closed_at,omitempty"`
	// MitigatedAt is when a person resolved it and monitoring began;
	// ResolvedAt is when the stable-for window passed.
	MitigatedAt     *time.Time    `json:"mitigated_at,omitempty"`
	MonitoringUntil *time.Time    `json:"monitoring_until,omitempty"`
	LastAckAt       *time.Time    `json:"last_ack_at,omitempty"`
	StageChangedAt  time.Time     `json:"stage_changed_at"`
	CommanderSince  *time.Time    `json:"commander_since,omitempty"`
	LastUpdate      *StatusUpdate `json:"last_update,omitempty"`
	NextUpdateDue   *time.Time    `json:"next_update_due,omitempty"`
	MissingRoles    []string      `json:"missing_roles"`
	Reminders       Reminders     `json:"reminders"`
	// Version is the lifecycle version the incident runs (workflow.GetVersion).
	Version int `json:"version"`
	// ChannelVersion is 1 when this incident opens Slack channels.
	ChannelVersion int `json:"channel_version,omitempty"`
	// SlackChannel is the incident's own channel, once opened.
	SlackChannel *SlackChannel `json:"slack_channel,omitempty"`
	// InviteVersion is 1 when responders who ack or take a role are invited.
	InviteVersion int `json:"invite_version,omitempty"`
	// CardVersion is 1 when this incident keeps a live Slack card.
	CardVersion int `json:"card_version,omitempty"`
	// Card is where the incident's card was posted, for chat.update.
	Card *CardRef `json:"card,omitempty"`
	// PostmortemVersion is 1 when resolution starts a PostmortemWorkflow
	// child and closes the incident (before, P1/P2 waited for `close`).
	PostmortemVersion int `json:"postmortem_version,omitempty"`
	// Postmortem is the post-mortem workflow's ID, once started.
	Postmortem string `json:"postmortem,omitempty"`
	// Runs counts continue-as-new hand-overs.
	Runs int `json:"runs"`
	// MTTASeconds is trigger to first ack; MTTRSeconds trigger to mitigation.
	MTTASeconds *float64        `json:"mtta_seconds,omitempty"`
	MTTRSeconds *float64        `json:"mttr_seconds,omitempty"`
	AlertCount  int             `json:"alert_count"`
	Alerts      []Alert         `json:"alerts"`
	Escalation  Escalation      `json:"escalation"`
	Plan        EscalationPlan  `json:"plan"`
	Timeline    []TimelineEntry `json:"timeline"`
	ActionItems []ActionItem    `json:"action_items"`
}

// Reminders remembers which reminder went out for which moment, so each
// fires once per period and survives continue-as-new.
type Reminders struct {
	UpdateDueFor     time.Time `json:"update_due_for,omitempty"`
	UpdateOverdueFor time.Time `json:"update_overdue_for,omitempty"`
	NoProgressFor    time.Time `json:"no_progress_for,omitempty"`
	HandoverFor      time.Time `json:"handover_for,omitempty"`
	AckTimeoutFor    time.Time `json:"ack_timeout_for,omitempty"`
}

// ActionItem is a post-mortem follow-up: prevent (stop it recurring),
// detect (notice sooner) or respond (recover faster).
type ActionItem struct {
	Title   string    `json:"title"`
	Type    string    `json:"type"`
	Owner   string    `json:"owner"`
	Due     string    `json:"due,omitempty"`
	AddedBy string    `json:"added_by"`
	AddedAt time.Time `json:"added_at"`
}

// ActionItemRequest adds an action item.
type ActionItemRequest struct {
	By    string `json:"by"`
	Title string `json:"title"`
	Type  string `json:"type"`
	Owner string `json:"owner"`
	Due   string `json:"due,omitempty"`
}

// ActionItemTypes are the kinds of follow-up.
var ActionItemTypes = []string{"prevent", "detect", "respond"}

// PageSomeoneRequest pages a person or schedule now ("user:bob",
// "schedule:db-oncall", or a bare user name).
type PageSomeoneRequest struct {
	By     string `json:"by"`
	Target string `json:"target"`
	Note   string `json:"note,omitempty"`
}

// EscalationPlan is the service's policy as resolved when the incident opened.
type EscalationPlan struct {
	Steps []PlanStep `json:"steps"`
	// Repeat is the number of extra rounds after the first.
	Repeat int `json:"repeat"`
	// RoundGap is the wait after a round's last step before the next round
	// or the fallback is paged.
	RoundGap time.Duration `json:"round_gap"`
	Fallback string        `json:"fallback"`
	// Page is false for severities that do not page (P4 by default).
	Page bool `json:"page"`
	// Warning explains a plan made without the service's policy.
	Warning string `json:"warning,omitempty"`

	// SeverityOrder lists severities, highest first; Severities their settings.
	SeverityOrder     []string                `json:"severity_order,omitempty"`
	Severities        map[string]SeverityPlan `json:"severities,omitempty"`
	ResolveStableFor  time.Duration           `json:"resolve_stable_for,omitempty"`
	NoProgressNudge   time.Duration           `json:"no_progress_nudge,omitempty"`
	CommanderHandover time.Duration           `json:"commander_handover,omitempty"`
	// Channel is where reminders and updates go: the service's Slack
	// channel, else the announce channel, else the console ("").
	Channel string `json:"channel,omitempty"`
	// Users are the configured people roles can go to.
	Users []string `json:"users,omitempty"`
	// SlackChannels: Slack is configured, so severities that want one get
	// an incident channel.
	SlackChannels bool `json:"slack_channels,omitempty"`
	// Announce is where new incident channels are linked.
	Announce string `json:"announce,omitempty"`
	// ContinueAsNewEvents hands the incident to a fresh run past this many
	// history events, even if Temporal has not suggested it yet (0: only
	// when suggested).
	ContinueAsNewEvents int `json:"continue_as_new_events,omitempty"`
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

// PlanRequest asks the worker's config for an incident's plan.
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
}

// PageResult says who was reached and how.
type PageResult struct {
	Recipient string `json:"recipient"`
	Channel   string `json:"channel"`
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
	Stage      string            `json:"stage"`
	Roles      map[string]string `json:"roles"`
	LastUpdate string            `json:"last_update,omitempty"`
	NextUpdate *time.Time        `json:"next_update,omitempty"`
	AlertCount int               `json:"alert_count"`
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
}

// AnnounceRequest posts a message to a target (the fallback, say).
type AnnounceRequest struct {
	IncidentID     string `json:"incident_id"`
	Target         string `json:"target"`
	Text           string `json:"text"`
	IdempotencyKey string `json:"idempotency_key"`
}
