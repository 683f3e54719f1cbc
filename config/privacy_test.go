package config_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidentflow/incidentflow/config"
	"github.com/incidentflow/incidentflow/incident"
)

func TestPrivacy(t *testing.T) {
	const base = "slack: {announce_channel: \"#incidents\"}\nescalation_policies:\n  p: {steps: [{targets: [user:dana]}]}\nusers: {dana: {}}\nservices:\n  checkout: {escalation_policy: p}\n"
	h := time.Hour
	for _, tc := range []struct {
		name, privacy string
		want          string // a problem; none means it parses to plan
		plan          incident.BreachPlan
	}{
		{name: "absent: Art. 33's 72h, reminded at 24h, 48h, 66h", privacy: "",
			plan: incident.BreachPlan{Announce: "slack_channel:#incidents", Deadline: 72 * h, Reminders: []time.Duration{24 * h, 48 * h, 66 * h}}},
		{name: "contact only", privacy: "privacy: {contact: user:dana}",
			plan: incident.BreachPlan{Contact: "user:dana", Announce: "slack_channel:#incidents", Deadline: 72 * h, Reminders: []time.Duration{24 * h, 48 * h, 66 * h}}},
		{name: "shorter, reminders sorted", privacy: "privacy: {contact: \"slack_channel:#privacy\", deadline: 48h, reminders: [40h, 12h]}",
			plan: incident.BreachPlan{Contact: "slack_channel:#privacy", Announce: "slack_channel:#incidents", Deadline: 48 * h, Reminders: []time.Duration{12 * h, 40 * h}}},
		{name: "a shorter deadline does not take the default reminders", privacy: "privacy: {deadline: 24h}",
			plan: incident.BreachPlan{Announce: "slack_channel:#incidents", Deadline: 24 * h}},
		{name: "unknown contact", privacy: "privacy: {contact: user:nobody}", want: `privacy.contact: unknown user "nobody"`},
		{name: "contact not a target", privacy: "privacy: {contact: dana}", want: "privacy.contact:"},
		{name: "contact a schedule", privacy: "privacy: {contact: \"schedule:db\"}\nschedules:\n  db: {time_zone: UTC, layers: [{start: \"2026-01-01T00:00:00Z\", shift: 24h, users: [dana]}]}",
			want: `privacy.contact: "schedule:db" must be one of user:, slack_channel:, teams:, mattermost:`},
		{name: "deadline too long", privacy: "privacy: {deadline: 1000h}", want: "privacy.deadline: 1000h0m0s must be from 1s to 720h0m0s"},
		{name: "reminder after the deadline", privacy: "privacy: {reminders: [24h, 80h]}", want: "privacy.reminders[1]: 80h0m0s must be after awareness and before the deadline (72h0m0s)"},
		{name: "too many reminders", privacy: "privacy: {reminders: [1h, 2h, 3h, 4h, 5h, 6h, 7h, 8h, 9h, 10h, 11h]}", want: "privacy.reminders: 11 reminders, at most 10"},
		{name: "unknown key", privacy: "privacy: {dpo: user:dana}", want: "privacy.dpo: unknown key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := config.Parse([]byte(base + tc.privacy + "\n"))
			if tc.want != "" {
				require.Error(t, err)
				require.Contains(t, err.Error(), tc.want)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.plan, cfg.BreachPlan())
			_, _, ok := cfg.BreachPlan().Check()
			require.True(t, ok, "what the config gives, the workflow takes")
		})
	}
}
