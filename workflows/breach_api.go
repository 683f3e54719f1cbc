package workflows

import (
	"strings"
	"time"

	"github.com/incidentflow/incidentflow/incident"
)

// Names of the data-breach deadline (GDPR Art. 33), shared with every caller.
const (
	BreachWorkflowName = "BreachWorkflow"

	// SignalDataBreach, on an incident, marks it a personal-data breach and
	// starts its regulator-notification deadline (BreachRequest).
	SignalDataBreach = "data-breach"
	UpdateDataBreach = SignalDataBreach
	// SignalBreachCheck, on the breach workflow, ticks one item of the
	// checklist (BreachCheckRequest).
	SignalBreachCheck = "breach-check"
	UpdateBreachCheck = SignalBreachCheck
	// SignalBreachMirror is the breach workflow telling its incident, while
	// that runs, what happened to the checklist and the deadline. A signal
	// only: people tick items on the breach workflow.
	SignalBreachMirror = "breach-mirror"
)

// Timeline kinds of a data breach.
const (
	KindBreach      Kind = "data_breach"
	KindBreachCheck Kind = "breach_check"
)

const breachPrefix = "breach-"

// BreachID is the breach workflow ID for an incident ID or key.
func BreachID(incidentIDOrKey string) string {
	return breachPrefix + strings.TrimPrefix(NormalizeID(incidentIDOrKey), idPrefix)
}

// BreachRequest marks an incident a personal-data breach.
type BreachRequest struct {
	By string `json:"by"`
	// AwareAt is when the team became aware of the breach: the 72 hours run
	// from it. Absent: when the request is applied.
	AwareAt *time.Time `json:"aware_at,omitempty"`
	Note    string     `json:"note,omitempty"`
	// Plan is the privacy settings, which whoever sends the request reads
	// from the config (the workflow reads none); absent, the defaults
	// (72h, reminders at 24h, 48h and 66h, no privacy contact).
	Plan *incident.BreachPlan `json:"plan,omitempty"`
}

// BreachCheckRequest ticks one checklist item (incident.BreachItems).
type BreachCheckRequest struct {
	By   string `json:"by"`
	Item string `json:"item"`
	Note string `json:"note,omitempty"`
}

// BreachInput starts the breach workflow from the incident as it was when
// the breach was declared.
type BreachInput struct {
	IncidentID string              `json:"incident_id"`
	Title      string              `json:"title"`
	Service    string              `json:"service"`
	Severity   string              `json:"severity"`
	Commander  string              `json:"commander,omitempty"`
	DeclaredBy string              `json:"declared_by"`
	AwareAt    time.Time           `json:"aware_at"`
	Note       string              `json:"note,omitempty"`
	Plan       incident.BreachPlan `json:"plan"`
	// Shadow records reminders and sends none; Exercise marks what it sends.
	Shadow   bool `json:"shadow,omitempty"`
	Exercise bool `json:"exercise,omitempty"`
	// Resume carries the whole state across continue-as-new.
	Resume *BreachState `json:"resume,omitempty"`
}

// BreachStatus is where the breach's notification stands.
type BreachStatus string

const (
	// BreachOpen: the regulator is not notified yet, and the deadline is ahead.
	BreachOpen BreachStatus = "open"
	// BreachOverdue: the deadline passed without the regulator notified.
	BreachOverdue BreachStatus = "overdue"
	// BreachNotified: the regulator was notified; other items are open.
	BreachNotified BreachStatus = "notified"
	// BreachDone: every item ticked; the workflow ends.
	BreachDone BreachStatus = "done"
)

// BreachCheck is one item of the checklist, and who ticked it when.
type BreachCheck struct {
	Item string     `json:"item"`
	Done bool       `json:"done"`
	By   string     `json:"by,omitempty"`
	At   *time.Time `json:"at,omitempty"`
	Note string     `json:"note,omitempty"`
}

// BreachState is the `state` query answer of a breach workflow (GET
// /v1/incidents/{id}/data-breach) and what continue-as-new carries.
type BreachState struct {
	ID         string       `json:"id"`
	IncidentID string       `json:"incident_id"`
	Title      string       `json:"title"`
	Service    string       `json:"service"`
	Severity   string       `json:"severity"`
	Status     BreachStatus `json:"status"`
	// Commander is the incident's when the breach was declared: reminders
	// go to them and to the privacy contact.
	Commander  string              `json:"commander,omitempty"`
	DeclaredBy string              `json:"declared_by"`
	DeclaredAt time.Time           `json:"declared_at"`
	AwareAt    time.Time           `json:"aware_at"`
	Deadline   time.Time           `json:"deadline"`
	Plan       incident.BreachPlan `json:"plan"`
	// RemindersSent counts Plan.Reminders gone (or skipped, for those
	// already past when the breach was declared): they are in order.
	RemindersSent int `json:"reminders_sent"`
	// NextReminderAt is derived: the next reminder while the regulator is
	// not notified.
	NextReminderAt  *time.Time      `json:"next_reminder_at,omitempty"`
	Overdue         bool            `json:"overdue"`
	OverdueAt       *time.Time      `json:"overdue_at,omitempty"`
	Checklist       []BreachCheck   `json:"checklist"`
	Shadow          bool            `json:"shadow,omitempty"`
	Exercise        bool            `json:"exercise,omitempty"`
	Timeline        []TimelineEntry `json:"timeline"`
	TimelineOmitted int             `json:"timeline_omitted,omitempty"`
	Runs            int             `json:"runs"`
}

// BreachResult is what a breach Update answers: small, as Temporal keeps
// each answer in the history. The `state` query has the rest.
type BreachResult struct {
	ID      string       `json:"id"`
	Status  BreachStatus `json:"status"`
	Message string       `json:"message,omitempty"`
}

// BreachMirror is what the breach workflow tells its incident.
type BreachMirror struct {
	// Workflow is the breach workflow's ID: an incident that is not the one
	// that started it (a key reused after it closed) ignores the mirror.
	Workflow string `json:"workflow"`
	// Item is the item ticked, or empty when the deadline passed.
	Item    string    `json:"item,omitempty"`
	By      string    `json:"by,omitempty"`
	At      time.Time `json:"at"`
	Message string    `json:"message"`
}

// BreachView is a data breach as the incident's JSON shows it
// (data_breach): what the incident knows, mirrored while it runs. The
// breach workflow (Workflow) has the whole of it.
type BreachView struct {
	Workflow   string        `json:"workflow"`
	DeclaredBy string        `json:"declared_by"`
	DeclaredAt time.Time     `json:"declared_at"`
	AwareAt    time.Time     `json:"aware_at"`
	Deadline   time.Time     `json:"deadline"`
	Overdue    bool          `json:"overdue,omitempty"`
	Checklist  []BreachCheck `json:"checklist"`
}
