package workflows

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/incidentflow/incidentflow/incident"
)

// Names shared with every caller (intake, CLI, `temporal workflow signal`).
const (
	IncidentWorkflowName = "IncidentWorkflow"

	SignalAlert = "alert"
	// SignalAlerts carries a batch: the intake folds the alerts that arrive
	// together for one incident into one signal, so a storm is a few
	// signals a second rather than one per alert.
	SignalAlerts       = "alerts"
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

	MemoTitle = "title"
	// MemoPagedUser and MemoIncident say, on a NotifyPersonWorkflow, whom
	// it pages and for which incident.
	MemoPagedUser = "user"
	MemoIncident  = "incident"
	// MemoExercise is set (true) on an exercise from its start, so lists
	// (the status page, metrics) can leave it out without querying it.
	MemoExercise = "exercise"
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
	safe := incident.Slug(key, "._", 80)
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

// IncidentInput starts an incident. Secrets never go here: it is history.
type IncidentInput struct {
	Key      string `json:"key"`
	Title    string `json:"title"`
	Service  string `json:"service"`
	Severity string `json:"severity"`
	// Source names the integration or person that opened it.
	Source string `json:"source"`
	// Shadow: run as usual but send nothing; every page is recorded as the
	// one it would have been.
	Shadow bool `json:"shadow,omitempty"`
	// Runbook is the first alert's runbook_url, known before its signal.
	Runbook string `json:"runbook_url,omitempty"`
	// Exercise: a game day. It pages only Participants (configured user
	// names), never the service's policy, and marks everything it sends.
	Exercise     bool     `json:"exercise,omitempty"`
	Participants []string `json:"participants,omitempty"`
	// Resume carries the state across continue-as-new. Its JSON names are
	// those earlier versions carried, so their hand-overs still decode.
	Resume *incidentState `json:"resume,omitempty"`
}

// AlertSignal is one alert event for the incident, from intake.
type AlertSignal struct {
	Fingerprint string            `json:"fingerprint"`
	Status      string            `json:"status"`
	Summary     string            `json:"summary,omitempty"`
	Source      string            `json:"source,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	// Count is how many events of this alert, in this status, the entry
	// stands for (0 means 1): duplicates folded at intake.
	Count int `json:"count,omitempty"`
	// Runbook is the alert's runbook_url annotation (or link).
	Runbook string `json:"runbook_url,omitempty"`
	// StartsAt is when the monitoring saw the problem begin (Alertmanager's
	// startsAt, an Events v2 timestamp): the start of MTTD.
	StartsAt time.Time `json:"starts_at,omitzero"`
}

// AlertBatch is the alerts that arrived together for one incident, in the
// order each alert's events came (events of different alerts that arrived
// together have no order between them).
type AlertBatch struct {
	Alerts []AlertSignal `json:"alerts"`
}

// MaxBatchAlerts bounds the entries of one batch, which keeps its signal
// far below Temporal's payload limit; the intake sends more batches.
const MaxBatchAlerts = 500

// ActionRequest is what a person sends to ack, resolve or escalate.
type ActionRequest struct {
	By   string `json:"by"`
	Note string `json:"note,omitempty"`
	// ToStep aims an escalation: page step N (from 1) of the current round
	// now, rather than the next one. Only escalate reads it.
	ToStep int `json:"to_step,omitempty"`
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
	By         string         `json:"by"`
	Stage      incident.Stage `json:"stage"`
	Message    string         `json:"message"`
	Impact     string         `json:"impact,omitempty"`
	Known      string         `json:"known,omitempty"`
	Doing      string         `json:"doing,omitempty"`
	ETA        string         `json:"eta,omitempty"`
	Workaround string         `json:"workaround,omitempty"`
	// Public: the comms lead means it for customers too; only public
	// updates reach the status page.
	Public bool `json:"public,omitempty"`
	// Audience "exec" makes it a major incident's executive brief
	// (major.go), sent to the executives instead of the team.
	Audience string    `json:"audience,omitempty"`
	At       time.Time `json:"at,omitempty"`
}

// NoteRequest adds a line to the timeline.
type NoteRequest struct {
	By   string `json:"by"`
	Text string `json:"text"`
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
	// Next, with a schedule: target, pages who is on call after the
	// current shift (the intake resolves it to that user).
	Next bool `json:"next,omitempty"`
}

// UpdateResult is what every incident Update answers: small, and the same
// size on the first day of an incident as on its tenth, because Temporal
// keeps each answer in the history. Who wants the whole incident queries
// `state`.
type UpdateResult struct {
	ID       string          `json:"id"`
	Status   incident.Status `json:"status"`
	Stage    incident.Stage  `json:"stage"`
	Severity string          `json:"severity"`
	// Seq numbers the timeline entries recorded so far.
	Seq int `json:"seq"`
	// Message is the timeline's last entry: what the command did.
	Message string `json:"message,omitempty"`
}

// FieldError is the error type of a command refused for one of its fields:
// the HTTP API answers it 400 (other refusals are 409 conflicts).
const FieldError = "InvalidField"
