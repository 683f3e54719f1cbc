package activities_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/incidentflow/incidentflow/activities"
	"github.com/incidentflow/incidentflow/config"
	"github.com/incidentflow/incidentflow/incident"
	"github.com/incidentflow/incidentflow/metrics"
)

// keptNotifier delivers everything and keeps the texts.
type keptNotifier struct{ texts []string }

func (n *keptNotifier) Name() string { return "slack" }
func (n *keptNotifier) NotifyUser(_ context.Context, _ string, _ config.User, m activities.Message) (bool, error) {
	n.texts = append(n.texts, m.Text)
	return true, nil
}
func (n *keptNotifier) NotifyChannel(_ context.Context, _ string, m activities.Message) (bool, error) {
	n.texts = append(n.texts, m.Text)
	return true, nil
}

// An exercise's page and announcement begin with [EXERCISE], once, and
// its pages leave the paging metrics as they were; a real page still
// counts.
func TestExerciseMessagesAreMarkedAndNotCounted(t *testing.T) {
	cfg, err := config.Parse([]byte("users: {alice: {slack_id: U0ALICE}}"))
	require.NoError(t, err)
	kept := &keptNotifier{}
	a := &activities.Activities{Config: cfg, Notifiers: []activities.Notifier{kept}}
	delivered := func() float64 {
		return metrics.Value("incidentflow_pages_total", map[string]string{"channel": "slack", "result": metrics.Delivered})
	}
	step3 := func() float64 { return metrics.Value("incidentflow_escalations_total", map[string]string{"step": "3"}) }
	page := incident.PageRequest{IncidentID: "incident-x", Title: "db failover", Severity: "P2", Service: "db", Target: "user:alice", Step: 3}

	for _, tc := range []struct {
		name     string
		exercise bool
		count    float64
	}{
		{"exercise", true, 0},
		{"real", false, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			kept.texts = nil
			before, steps := delivered(), step3()
			p := page
			p.Exercise = tc.exercise
			_, err := a.Page(context.Background(), p)
			require.NoError(t, err)
			_, err = a.NotifyPerson(context.Background(), incident.NotifyRequest{Page: p, User: "alice"})
			require.NoError(t, err)
			require.NoError(t, a.Announce(context.Background(), incident.AnnounceRequest{IncidentID: "incident-x", Target: "slack_channel:#db",
				Text: "alice: a status update is due", Addressee: "alice", Exercise: tc.exercise}))
			require.Len(t, kept.texts, 3)
			for _, text := range kept.texts {
				require.Equal(t, tc.exercise, strings.HasPrefix(text, incident.ExerciseMark+" "), text)
				require.LessOrEqual(t, strings.Count(text, incident.ExerciseMark), 1, text)
			}
			require.Equal(t, before+2*tc.count, delivered())
			require.Equal(t, steps+2*tc.count, step3())
		})
	}
}

func TestExerciseChannelName(t *testing.T) {
	for _, title := range []string{"db failover", strings.Repeat("very long game day title ", 10), "🔥"} {
		name := activities.ExerciseChannelName("incident-exercise-x", title, opened)
		require.True(t, strings.HasPrefix(name, "exercise-20261123-"), name)
		require.LessOrEqual(t, len(name), 80)
		require.Regexp(t, `^[a-z0-9_-]+$`, name)
	}
}
