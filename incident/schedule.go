package incident

import "time"

// Override puts a user on call for a schedule from Start to End, over
// every layer: "I'm covering Bob tonight". Overrides made at run time are
// held by their schedule's workflow; the config's own stay in the config.
type Override struct {
	ID        string    `json:"id"`
	User      string    `json:"user"`
	Start     time.Time `json:"start"`
	End       time.Time `json:"end"`
	By        string    `json:"by,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// Bounds on a schedule's run-time overrides: enough for a year of nightly
// swaps, small enough that a schedule's state never nears a payload limit.
const (
	MaxOverrides     = 500
	MaxOverrideSpan  = 366 * 24 * time.Hour
	QueryOverrides   = "overrides"
	scheduleIDPrefix = "schedule-"
)

// ScheduleWorkflowID names the workflow that holds a schedule's run-time
// overrides: one per schedule, found by name.
func ScheduleWorkflowID(schedule string) string { return scheduleIDPrefix + schedule }
