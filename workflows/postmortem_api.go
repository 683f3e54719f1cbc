package workflows

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"

	"github.com/incidentflow/incidentflow/incident"
)

// Names of the post-mortem workflow, shared with every caller.
const (
	PostmortemWorkflowName = "PostmortemWorkflow"

	// SignalPostmortemComplete marks the write-up done (the GitHub issue
	// being closed does the same).
	SignalPostmortemComplete = "postmortem-complete"
	// SignalCloseActionItem closes an item that has no GitHub issue (one with
	// an issue closes when the issue does).
	SignalCloseActionItem = "close-action-item"
	// SignalDropActionItem gives an item up, with the reason, so it no
	// longer holds the post-mortem open.
	SignalDropActionItem = "drop-action-item"

	UpdatePostmortemComplete = SignalPostmortemComplete
	UpdateCloseActionItem    = SignalCloseActionItem
	UpdateDropActionItem     = SignalDropActionItem

	// ActionItemsSection names the part of the post-mortem issue body that
	// incidentflow keeps up to date; people own the rest of the document.
	ActionItemsSection = "action-items"

	// GitHub labels (CONTRACT.md).
	LabelIncident   = "incident"
	LabelPostmortem = "postmortem"
	LabelActionItem = "action-item"
	LabelOverdue    = "overdue"
)

const postmortemPrefix = "postmortem-"

// PostmortemID is the post-mortem workflow ID for an incident ID or key.
func PostmortemID(incidentIDOrKey string) string {
	return postmortemPrefix + strings.TrimPrefix(NormalizeID(incidentIDOrKey), idPrefix)
}

// IncidentLabel is the GitHub label naming an incident: its ID, shortened
// with a hash to GitHub's 50-character label limit.
func IncidentLabel(incidentID string) string {
	if len(incidentID) <= 50 {
		return incidentID
	}
	sum := sha256.Sum256([]byte(incidentID))
	return strings.TrimRight(incidentID[:41], "-") + "-" + hex.EncodeToString(sum[:4])
}

// PostmortemInput starts a post-mortem from the incident as it was resolved.
type PostmortemInput struct {
	Incident Incident `json:"incident"`
	// Resume carries the whole state across continue-as-new.
	Resume *PostmortemState `json:"resume,omitempty"`
}

// PostmortemStatus is where the post-mortem is.
type PostmortemStatus string

const (
	// PostmortemOpen: the write-up is being done, not yet due.
	PostmortemOpen PostmortemStatus = "open"
	// PostmortemOverdue: past its due time and not done.
	PostmortemOverdue PostmortemStatus = "overdue"
	// PostmortemCompleted: written up; action items are still open.
	PostmortemCompleted PostmortemStatus = "completed"
	// PostmortemFinished: written up and every action item closed or dropped.
	PostmortemFinished PostmortemStatus = "finished"
)

// Action item states as tracked.
const (
	ItemOpen    = "open"
	ItemClosed  = "closed"
	ItemDropped = "dropped"
)

// PostmortemState is the `state` query answer of a post-mortem, the update
// result, and what continue-as-new carries.
type PostmortemState struct {
	ID         string           `json:"id"`
	IncidentID string           `json:"incident_id"`
	Status     PostmortemStatus `json:"status"`
	// Incident is the incident as resolved; its timeline fills the draft.
	Incident   Incident                `json:"incident"`
	Commander  string                  `json:"commander"`
	ResolvedAt time.Time               `json:"resolved_at"`
	DueAt      time.Time               `json:"due_at"`
	Plan       incident.PostmortemPlan `json:"plan"`
	// Draft is the Markdown document as it would be opened now; the GitHub
	// issue, once open, is the document people edit.
	Draft       string                `json:"draft,omitempty"`
	Issue       *incident.GitHubIssue `json:"issue,omitempty"`
	IssueError  string                `json:"issue_error,omitempty"`
	CompletedAt *time.Time            `json:"completed_at,omitempty"`
	CompletedBy string                `json:"completed_by,omitempty"`
	RootCause   string                `json:"root_cause,omitempty"`
	// RemindersSent counts Plan.Reminders already sent (they are in order).
	RemindersSent  int        `json:"reminders_sent"`
	OverdueNotices int        `json:"overdue_notices"`
	NextOverdueAt  *time.Time `json:"next_overdue_at,omitempty"`
	// OverdueLabelled: the GitHub issue carries the overdue label.
	OverdueLabelled bool `json:"overdue_labelled"`
	// ClosedOnGitHub: the issue was closed after a completion by command.
	ClosedOnGitHub bool       `json:"closed_on_github"`
	LastCheckAt    *time.Time `json:"last_check_at,omitempty"`
	NextCheckAt    time.Time  `json:"next_check_at"`
	// CheckPending: a periodic check is due and waits for GitHub.
	CheckPending bool                `json:"check_pending,omitempty"`
	ActionItems  []TrackedActionItem `json:"action_items"`
	// LinksShown is the action-items section last written into the issue.
	LinksShown string `json:"links_shown,omitempty"`
	// CompletionRate is the share of action items closed or dropped (1 when
	// there are none).
	CompletionRate float64         `json:"completion_rate"`
	ItemsDone      int             `json:"items_done"`
	ItemsTotal     int             `json:"items_total"`
	Timeline       []TimelineEntry `json:"timeline"`
	// TimelineOmitted counts the oldest entries dropped to keep it bounded.
	TimelineOmitted int `json:"timeline_omitted,omitempty"`
	Runs            int `json:"runs"`
	// HotWash is a major incident's hot wash (major.go).
	HotWash *hotWash `json:"hot_wash,omitempty"`
}

// PostmortemResult is what every post-mortem Update answers: small, as
// Temporal keeps each answer in the history. The `state` query has the rest.
type PostmortemResult struct {
	ID             string           `json:"id"`
	Status         PostmortemStatus `json:"status"`
	ItemsDone      int              `json:"items_done"`
	ItemsTotal     int              `json:"items_total"`
	CompletionRate float64          `json:"completion_rate"`
	Message        string           `json:"message,omitempty"`
}

// TrackedActionItem is an action item and its GitHub issue.
type TrackedActionItem struct {
	Number int `json:"number"`
	ActionItem
	Repo     string                `json:"repo,omitempty"`
	Issue    *incident.GitHubIssue `json:"issue,omitempty"`
	State    string                `json:"state"`
	ClosedAt *time.Time            `json:"closed_at,omitempty"`
	// ClosedBy is a person, or "github" when the issue was closed there.
	ClosedBy string `json:"closed_by,omitempty"`
	Note     string `json:"note,omitempty"`
	// Error is the last failure to open its issue; cleared at the next check,
	// which tries again.
	Error string `json:"error,omitempty"`
	// RemindedOn is the day (YYYY-MM-DD) its owner was last told it is overdue.
	RemindedOn string `json:"reminded_on,omitempty"`
}

// CompleteRequest marks the post-mortem done.
type CompleteRequest struct {
	By   string `json:"by"`
	Note string `json:"note,omitempty"`
	// RootCause is the post-mortem's finding in a sentence or two: reports
	// and similar incidents show it.
	RootCause string `json:"root_cause,omitempty"`
}

// ActionItemChange closes or drops action item Item (1-based).
type ActionItemChange struct {
	By   string `json:"by"`
	Item int    `json:"item"`
	Note string `json:"note,omitempty"`
}
