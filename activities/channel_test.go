package activities_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidentflow/incidentflow/activities"
	"github.com/incidentflow/incidentflow/incident"
)

var opened = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

func TestChannelNames(t *testing.T) {
	for _, tc := range []struct{ title, wantPrefix string }{
		{"Checkout 5xx > 5%!", "inc-20261123-checkout-5xx-5-"},
		{"   ", "inc-20261123-incident-"},
		{"Ünïcode and émoji 🔥 only", "inc-20261123-n-code-and-moji-only-"},
		{strings.Repeat("very long title ", 20), "inc-20261123-very-long-title-"},
	} {
		name := activities.ChannelName("incident-x", tc.title, opened)
		require.True(t, strings.HasPrefix(name, tc.wantPrefix), "%q -> %q", tc.title, name)
		require.LessOrEqual(t, len(name), 80)
		require.Regexp(t, `^[a-z0-9_-]+$`, name)
		require.NotContains(t, name, "--")
	}
	require.NotEqual(t, activities.ChannelName("incident-a", "same", opened), activities.ChannelName("incident-b", "same", opened))
}

func TestOpenChannel(t *testing.T) {
	fake, s := newSlack(t)
	req := incident.ChannelRequest{IncidentID: "incident-x", Title: "Checkout 5xx", Severity: "P1", Commander: "alice", OpenedAt: opened}
	invite := []string{"U0ALICE", "U0BOB"}
	ch, err := s.OpenChannel(context.Background(), req, invite, "#incidents")
	require.NoError(t, err)
	got, ok := fake.Channel(ch.Name)
	require.True(t, ok)
	require.Equal(t, "P1 · Checkout 5xx · commander: alice", got.Topic)
	require.Equal(t, []string{"U0ALICE", "U0BOB"}, got.Members)
	require.Len(t, fake.Messages("#incidents"), 1)
	require.Contains(t, fake.Messages("#incidents")[0].Form.Get("text"), "<#"+ch.ID+">")

	// A retry after Slack made the channel finds it instead of making another.
	again, err := s.OpenChannel(context.Background(), req, invite, "#incidents")
	require.NoError(t, err)
	require.Equal(t, ch, again)
	_, duplicate := fake.Channel(ch.Name + "-2")
	require.False(t, duplicate, "no second channel for the same incident")

	// A channel of the same name that is not ours gets a suffix.
	other := req
	other.IncidentID = "incident-y"
	taken := activities.ChannelName(other.IncidentID, other.Title, opened)
	fake.AddChannel(taken, "someone's own channel")
	ch2, err := s.OpenChannel(context.Background(), other, nil, "")
	require.NoError(t, err)
	require.Equal(t, taken+"-2", ch2.Name)
}
