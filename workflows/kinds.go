package workflows

// Kind says what a timeline entry records. Incident and post-mortem share
// one vocabulary, so the same event reads the same in both.
type Kind string

const (
	// The incident's course.
	KindTriggered    Kind = "triggered"
	KindContinued    Kind = "continued"
	KindAlert        Kind = "alert"
	KindAck          Kind = "ack"
	KindAckTimeout   Kind = "ack_timeout"
	KindResolve      Kind = "resolve"
	KindReopen       Kind = "reopen"
	KindClose        Kind = "close"
	KindSeverity     Kind = "severity"
	KindRole         Kind = "role"
	KindStatusUpdate Kind = "status_update"
	KindNote         Kind = "note"
	KindActionItem   Kind = "action_item"
	KindPostmortem   Kind = "postmortem"

	// Paging and escalation.
	KindEscalation Kind = "escalation"
	KindEscalate   Kind = "escalate"
	KindPaged      Kind = "paged"
	KindPageFailed Kind = "page_failed"
	// KindMaintenance: a maintenance window holds (or stopped holding) paging.
	KindMaintenance Kind = "maintenance"
	// KindExercise: the incident is a game day, and its evaluation.
	KindExercise Kind = "exercise"

	// Telling people: reminders, nudges, and a message that did not go out.
	KindReminder     Kind = "reminder"
	KindNudge        Kind = "nudge"
	KindOverdue      Kind = "overdue"
	KindNotifyFailed Kind = "notify_failed"

	// Slack and GitHub.
	KindChannel       Kind = "channel"
	KindChannelFailed Kind = "channel_failed"
	KindCardFailed    Kind = "card_failed"
	KindIssue         Kind = "issue"
	KindGitHub        Kind = "github"
	KindGitHubFailed  Kind = "github_failed"

	// The post-mortem's course.
	KindStarted     Kind = "started"
	KindCompleted   Kind = "completed"
	KindFinished    Kind = "finished"
	KindItemClosed  Kind = "item_closed"
	KindItemDropped Kind = "item_dropped"
	KindItemOverdue Kind = "item_overdue"

	// Something to know: a command refused, a setting missing.
	KindIgnored Kind = "ignored"
	KindWarning Kind = "warning"
)

// Kinds lists every kind.
var Kinds = []Kind{
	KindTriggered, KindContinued, KindAlert, KindAck, KindAckTimeout, KindResolve, KindReopen, KindClose,
	KindSeverity, KindRole, KindStatusUpdate, KindNote, KindActionItem, KindPostmortem,
	KindEscalation, KindEscalate, KindPaged, KindPageFailed, KindExercise, KindAccess, KindMajor, KindExecBrief, KindRunbook, KindRunbookFailed, KindMerge, KindLink,
	KindReminder, KindNudge, KindOverdue, KindNotifyFailed, KindSubscriber, KindSubscribersNotified,
	KindChannel, KindChannelFailed, KindCardFailed, KindIssue, KindGitHub, KindGitHubFailed,
	KindStarted, KindCompleted, KindFinished, KindItemClosed, KindItemDropped, KindItemOverdue,
	KindIgnored, KindWarning,
}
