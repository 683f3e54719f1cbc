package incident

import (
	"fmt"
	"time"
)

// Data-breach (GDPR Art. 33) settings and limits, shared by the config,
// the starter that reads it and the workflows that keep the deadline.

// The checklist of a personal-data breach, in the order it is shown.
const (
	// BreachRegulatorNotified: the supervisory authority was told (Art. 33);
	// it stops the reminders.
	BreachRegulatorNotified = "regulator_notified"
	// BreachUsersNotified: the people whose data it was were told, or it
	// was decided they need not be (Art. 34; the note says which).
	BreachUsersNotified = "users_notified"
	// BreachRecordsKept: the breach is documented (Art. 33(5)).
	BreachRecordsKept = "records_kept"
)

// BreachItems lists the checklist.
var BreachItems = []string{BreachRegulatorNotified, BreachUsersNotified, BreachRecordsKept}

// Defaults: Art. 33's 72 hours, reminded a day in, two days in and six
// hours before the end.
const DefaultBreachDeadline = 72 * time.Hour

// DefaultBreachReminders are the reminders when the config names none.
func DefaultBreachReminders() []time.Duration {
	return []time.Duration{24 * time.Hour, 48 * time.Hour, 66 * time.Hour}
}

// Bounds on the settings: the deadline from a second (Temporal's timer
// floor; tests use seconds) to 30 days, at most MaxBreachReminders.
const (
	MinBreachDeadline  = time.Second
	MaxBreachDeadline  = 30 * 24 * time.Hour
	MaxBreachReminders = 10
	// MaxAwareAgo bounds how far back awareness may be put: further is a
	// typo (a wrong year), not a breach found late.
	MaxAwareAgo = 30 * 24 * time.Hour
	// AwareSkew is how far ahead of the workflow's clock aware_at may be,
	// for the clocks of whoever sends it.
	AwareSkew = 5 * time.Minute
)

// BreachPlan is the privacy settings one breach runs with, read from the
// config when the breach is declared (the workflow reads no config).
type BreachPlan struct {
	// Contact is the privacy contact's target (user:dana, slack_channel:C…).
	Contact string `json:"contact,omitempty"`
	// Announce is the announce channel, told when the deadline passes.
	Announce  string          `json:"announce,omitempty"`
	Deadline  time.Duration   `json:"deadline"`
	Reminders []time.Duration `json:"reminders,omitempty"`
}

// DefaultBreachPlan is the plan without privacy settings.
func DefaultBreachPlan() BreachPlan {
	return BreachPlan{Deadline: DefaultBreachDeadline, Reminders: DefaultBreachReminders()}
}

// Check names the field of a plan out of bounds, for a plan that did not
// come through the validated config (a raw Update).
func (p BreachPlan) Check() (field, msg string, ok bool) {
	if p.Deadline < MinBreachDeadline || p.Deadline > MaxBreachDeadline {
		return "plan.deadline", fmt.Sprintf("%s must be from %s to %s", p.Deadline, MinBreachDeadline, MaxBreachDeadline), false
	}
	if len(p.Reminders) > MaxBreachReminders {
		return "plan.reminders", fmt.Sprintf("%d reminders, at most %d", len(p.Reminders), MaxBreachReminders), false
	}
	for i, r := range p.Reminders {
		if r <= 0 || r >= p.Deadline {
			return fmt.Sprintf("plan.reminders[%d]", i), fmt.Sprintf("%s must be after awareness and before the deadline (%s)", r, p.Deadline), false
		}
	}
	if len(p.Contact) > MaxName {
		return "plan.contact", fmt.Sprintf("%d bytes, at most %d", len(p.Contact), MaxName), false
	}
	if len(p.Announce) > MaxName {
		return "plan.announce", fmt.Sprintf("%d bytes, at most %d", len(p.Announce), MaxName), false
	}
	return "", "", true
}

// CheckAwareAt refuses an awareness time in the future (beyond AwareSkew)
// or more than MaxAwareAgo before now. Any other past time is taken: a
// breach found late is late, and its deadline may already have passed.
func CheckAwareAt(aware, now time.Time) error {
	switch {
	case aware.After(now.Add(AwareSkew)):
		return fmt.Errorf("%s is in the future (now is %s): give when the team became aware", aware.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	case aware.Before(now.Add(-MaxAwareAgo)):
		return fmt.Errorf("%s is more than %s ago (the limit): check the date", aware.UTC().Format(time.RFC3339), MaxAwareAgo)
	}
	return nil
}
