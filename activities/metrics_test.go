package activities_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/incidentflow/incidentflow/activities"
	"github.com/incidentflow/incidentflow/config"
	"github.com/incidentflow/incidentflow/incident"
	"github.com/incidentflow/incidentflow/metrics"
)

// scriptedNotifier answers every delivery with err (nil: delivered).
type scriptedNotifier struct {
	name string
	err  error
}

func (n *scriptedNotifier) Name() string { return n.name }
func (n *scriptedNotifier) NotifyUser(context.Context, string, config.User, activities.Message) (bool, error) {
	return n.err == nil, n.err
}
func (n *scriptedNotifier) NotifyChannel(context.Context, string, activities.Message) (bool, error) {
	return n.err == nil, n.err
}

func TestPagesAreCountedByChannelAndResult(t *testing.T) {
	cfg, err := config.Parse([]byte("users: {alice: {slack_id: U0ALICE}}"))
	require.NoError(t, err)
	slack := &scriptedNotifier{name: "slack"}
	a := &activities.Activities{Config: cfg, Notifiers: []activities.Notifier{slack}}
	value := func(channel, result string) float64 {
		return metrics.Value("incidentflow_pages_total", map[string]string{"channel": channel, "result": result})
	}
	delivered, failed, refused := value("slack", metrics.Delivered), value("slack", metrics.Failed), value("other", metrics.Refused)
	step2 := metrics.Value("incidentflow_escalations_total", map[string]string{"step": "2"})

	_, err = a.Page(context.Background(), incident.PageRequest{Target: "user:alice", Step: 2})
	require.NoError(t, err)
	require.Equal(t, delivered+1, value("slack", metrics.Delivered))

	// A failure is counted against the notifier that failed, though the
	// target named no channel.
	slack.err = errors.New("slack is down")
	_, err = a.Page(context.Background(), incident.PageRequest{Target: "schedule:nobody-knows", Step: 2})
	require.Error(t, err, "an unknown schedule is refused before any channel")
	_, err = a.Page(context.Background(), incident.PageRequest{Target: "user:alice", Step: 2})
	require.Error(t, err)
	require.Equal(t, failed+1, value("slack", metrics.Failed))
	require.Equal(t, refused+1, value("other", metrics.Refused))

	// Through a notification rule: an sms with no Twilio is refused.
	smsRefused := value("sms", metrics.Refused)
	_, err = a.NotifyPerson(context.Background(), incident.NotifyRequest{Page: incident.PageRequest{Step: 2}, User: "alice", Via: "sms"})
	require.Error(t, err)
	require.Equal(t, smsRefused+1, value("sms", metrics.Refused))
	require.Equal(t, step2+4, metrics.Value("incidentflow_escalations_total", map[string]string{"step": "2"}))
}
