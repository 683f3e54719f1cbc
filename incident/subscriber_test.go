package incident_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/incidentflow/incidentflow/incident"
)

func TestSubscriberCheckIDAndDisplay(t *testing.T) {
	for _, tc := range []struct {
		name    string
		sub     incident.Subscriber
		field   string // the field refused; "" when accepted
		id      string
		display string
	}{
		{name: "email", sub: incident.Subscriber{Email: "Jane.Doe@Example.com"}, id: "email:jane.doe@example.com", display: "email J***@Example.com"},
		{name: "non-ASCII mailbox", sub: incident.Subscriber{Email: "élise@example.com"}, id: "email:élise@example.com", display: "email é***@example.com"},
		{name: "slack", sub: incident.Subscriber{SlackUser: "U0123ABCD"}, id: "slack:U0123ABCD", display: "slack U0123ABCD"},
		{name: "enterprise slack", sub: incident.Subscriber{SlackUser: "W0123ABCD"}, id: "slack:W0123ABCD", display: "slack W0123ABCD"},
		{name: "neither", sub: incident.Subscriber{}, field: "email"},
		{name: "both", sub: incident.Subscriber{Email: "a@example.com", SlackUser: "U0A1"}, field: "slack_user"},
		{name: "not an address", sub: incident.Subscriber{Email: "jane"}, field: "email"},
		{name: "display name", sub: incident.Subscriber{Email: "Jane <jane@example.com>"}, field: "email"},
		{name: "spaces", sub: incident.Subscriber{Email: " jane@example.com"}, field: "email"},
		{name: "too long", sub: incident.Subscriber{Email: strings.Repeat("a", 243) + "@example.com"}, field: "email"},
		{name: "channel, not user", sub: incident.Subscriber{SlackUser: "C0INCIDENTS"}, field: "slack_user"},
		{name: "lower case", sub: incident.Subscriber{SlackUser: "u0123abcd"}, field: "slack_user"},
		{name: "slack too long", sub: incident.Subscriber{SlackUser: "U" + strings.Repeat("A", 40)}, field: "slack_user"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.sub.Check()
			if tc.field != "" {
				require.NotNil(t, p)
				require.Equal(t, tc.field, p.Field, p.Error())
				return
			}
			require.Nil(t, p)
			require.Equal(t, tc.id, tc.sub.ID())
			require.Equal(t, tc.display, tc.sub.Display())
			require.Equal(t, tc.id, incident.SubscriberID(tc.id), "an ID names itself")
			typed := tc.sub.Email + tc.sub.SlackUser
			require.Equal(t, tc.id, incident.SubscriberID(typed), "so does the address typed")
		})
	}
}
