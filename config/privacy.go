package config

import (
	"fmt"
	"slices"

	"github.com/incidentflow/incidentflow/incident"
)

// Privacy is who handles personal-data breaches and how long they have to
// tell the regulator (GDPR Art. 33: 72 hours from becoming aware).
type Privacy struct {
	// Contact is the privacy contact (the DPO): user:, slack_channel:,
	// teams: or mattermost: (user:dana);
	// they get every reminder and the overdue escalation.
	Contact  string   `yaml:"contact"`
	Deadline Duration `yaml:"deadline"`
	// Reminders are times after awareness, each before the deadline.
	Reminders []Duration `yaml:"reminders"`
}

func (c *Config) validatePrivacy(add func(key, format string, args ...any)) {
	p := &c.Privacy
	if p.Contact != "" {
		// The kinds the announce activity can reach with a reminder.
		kinds := []string{TargetUser, TargetSlackChannel, TargetTeams, TargetMattermost}
		if err := c.checkTarget(p.Contact); err != nil {
			add("privacy.contact", "%v", err)
		} else if t, _ := ParseTarget(p.Contact); !slices.Contains(kinds, t.Kind) {
			add("privacy.contact", "%q must be one of user:, slack_channel:, teams:, mattermost:", p.Contact)
		}
	}
	deadline := p.Deadline.D()
	switch {
	case deadline == 0:
		deadline = incident.DefaultBreachDeadline
	case deadline < incident.MinBreachDeadline || deadline > incident.MaxBreachDeadline:
		add("privacy.deadline", "%s must be from %s to %s (GDPR Art. 33 says 72h)", deadline, incident.MinBreachDeadline, incident.MaxBreachDeadline)
	}
	if len(p.Reminders) > incident.MaxBreachReminders {
		add("privacy.reminders", "%d reminders, at most %d", len(p.Reminders), incident.MaxBreachReminders)
	}
	for i, r := range p.Reminders {
		if r.D() <= 0 || r.D() >= deadline {
			add(fmt.Sprintf("privacy.reminders[%d]", i), "%s must be after awareness and before the deadline (%s)", r.D(), deadline)
		}
	}
}

// BreachPlan is the privacy settings as one breach runs with them; the
// reminders default to 24h, 48h and 66h only when the deadline is the
// default too (they would not fit a shorter one).
func (c *Config) BreachPlan() incident.BreachPlan {
	p := c.Privacy
	plan := incident.BreachPlan{Contact: p.Contact, Announce: c.Slack.AnnounceChannelTarget(), Deadline: p.Deadline.D()}
	if plan.Deadline == 0 {
		plan.Deadline = incident.DefaultBreachDeadline
	}
	for _, r := range p.Reminders {
		plan.Reminders = append(plan.Reminders, r.D())
	}
	if p.Reminders == nil && plan.Deadline == incident.DefaultBreachDeadline {
		plan.Reminders = incident.DefaultBreachReminders()
	}
	slices.Sort(plan.Reminders)
	plan.Reminders = slices.Compact(plan.Reminders)
	return plan
}
