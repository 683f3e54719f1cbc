package config_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/incidentflow/incidentflow/config"
	"github.com/incidentflow/incidentflow/incident"
)

func TestServiceSubscribers(t *testing.T) {
	const base = "escalation_policies:\n  p: {steps: [{targets: [user:a]}]}\nusers: {a: {}}\nservices:\n  checkout:\n    escalation_policy: p\n    subscribers:\n"
	many := strings.Builder{}
	for i := range incident.MaxSubscribers + 1 {
		fmt.Fprintf(&many, "      - {email: s%d@example.com}\n", i)
	}
	for _, tc := range []struct {
		name, subs string
		want       []string // problems; none means it parses
	}{
		{name: "email and slack user", subs: "      - {email: cfo@example.com}\n      - {slack_user: U0CFO}\n"},
		{name: "bad email", subs: "      - {email: not-an-address}\n",
			want: []string{`services.checkout.subscribers[0].email: "not-an-address" is not an email address`}},
		{name: "display name is not an address", subs: "      - {email: \"CFO <cfo@example.com>\"}\n",
			want: []string{`services.checkout.subscribers[0].email:`}},
		{name: "email too long", subs: "      - {email: " + strings.Repeat("a", 250) + "@example.com}\n",
			want: []string{"services.checkout.subscribers[0].email: 262 bytes is too long (at most 254)"}},
		{name: "slack id shape", subs: "      - {slack_user: cfo}\n",
			want: []string{`services.checkout.subscribers[0].slack_user: "cfo" is not a Slack user ID`}},
		{name: "both", subs: "      - {email: cfo@example.com, slack_user: U0CFO}\n",
			want: []string{"services.checkout.subscribers[0].slack_user: give email or slack_user, not both"}},
		{name: "neither", subs: "      - {}\n",
			want: []string{"services.checkout.subscribers[0].email: required"}},
		{name: "twice, in any case", subs: "      - {email: cfo@example.com}\n      - {email: CFO@example.com}\n",
			want: []string{"services.checkout.subscribers[1]: email:cfo@example.com is already services.checkout.subscribers[0]"}},
		{name: "over the bound", subs: many.String(),
			want: []string{"services.checkout.subscribers: 201 subscribers is over 200"}},
		{name: "unknown key", subs: "      - {phone: \"+15555550100\"}\n",
			want: []string{"services.checkout.subscribers[0].email: required", "services.checkout.subscribers[0].phone: unknown key (valid keys: email, slack_user)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := config.Parse([]byte(base + tc.subs))
			if len(tc.want) == 0 {
				require.NoError(t, err)
				require.Equal(t, []incident.Subscriber{{Email: "cfo@example.com"}, {SlackUser: "U0CFO"}}, cfg.Services["checkout"].Subscribers)
				return
			}
			require.Error(t, err)
			var problems config.Problems
			if errors.As(err, &problems) {
				require.Len(t, problems, len(tc.want), "%v", problems)
			}
			for _, w := range tc.want {
				require.Contains(t, err.Error(), w)
			}
		})
	}
}
