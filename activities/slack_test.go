package activities_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/incidentflow/incidentflow/activities"
	"github.com/incidentflow/incidentflow/config"
	"github.com/incidentflow/incidentflow/incident"
	"github.com/incidentflow/incidentflow/internal/fakeslack"
)

func newSlack(t *testing.T) (*fakeslack.Server, *activities.Slack) {
	fake := fakeslack.New("xoxb-t")
	t.Cleanup(fake.Close)
	return fake, &activities.Slack{Client: slack.New("xoxb-t", slack.OptionAPIURL(fake.APIURL()))}
}

func TestSlackErrorsMapToRetrySemantics(t *testing.T) {
	for _, tc := range []struct {
		name          string
		arrange       func(*fakeslack.Server)
		wantRetryable bool
		wantDelay     bool
	}{
		{"permanent user_not_found", func(f *fakeslack.Server) { f.FailNext("conversations.open", "user_not_found") }, false, false},
		{"permanent channel_not_found", func(f *fakeslack.Server) { f.FailNext("chat.postMessage", "channel_not_found") }, false, false},
		{"transient internal_error", func(f *fakeslack.Server) { f.FailNext("chat.postMessage", "internal_error") }, true, false},
		{"rate limited", func(f *fakeslack.Server) { f.RateLimitNext("chat.postMessage", 7) }, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake, s := newSlack(t)
			tc.arrange(fake)
			ok, err := s.NotifyUser(context.Background(), "alice", config.User{SlackID: "U0ALICE"}, activities.Message{Text: "page"})
			require.False(t, ok)
			require.Error(t, err)
			var appErr *temporal.ApplicationError
			if !tc.wantRetryable {
				require.True(t, errors.As(err, &appErr), "%T %v", err, err)
				require.True(t, appErr.NonRetryable())
				return
			}
			if tc.wantDelay {
				require.True(t, errors.As(err, &appErr))
				require.Equal(t, "7s", appErr.NextRetryDelay().String())
				return
			}
			require.False(t, errors.As(err, &appErr) && appErr.NonRetryable())
		})
	}
}

func TestSlackDMGoesToTheOpenedConversation(t *testing.T) {
	fake, s := newSlack(t)
	ok, err := s.NotifyUser(context.Background(), "alice", config.User{SlackID: "U0ALICE"}, activities.Message{Text: "page", IdempotencyKey: "incident-x/g0/r1/s1/user:alice"})
	require.NoError(t, err)
	require.True(t, ok)
	msgs := fake.Messages("D0ALICE")
	require.Len(t, msgs, 1)
	require.Equal(t, "page", msgs[0].Form.Get("text"))
	require.Contains(t, msgs[0].Form.Get("metadata"), "incident-x/g0/r1/s1/user:alice")

	ok, err = s.NotifyUser(context.Background(), "bob", config.User{}, activities.Message{Text: "page"})
	require.NoError(t, err)
	require.False(t, ok, "no slack_id: another notifier must take it")
}

// Through the activity, the retry policy must survive the added context.
func TestPageKeepsNonRetryableAndRetryAfterThroughTheActivity(t *testing.T) {
	fake, s := newSlack(t)
	cfg, err := config.Parse([]byte("users: {alice: {slack_id: U0ALICE}}"))
	require.NoError(t, err)
	a := &activities.Activities{Config: cfg, Notifiers: []activities.Notifier{s}}

	fake.FailNext("conversations.open", "user_not_found")
	_, err = a.Page(context.Background(), incident.PageRequest{Target: "user:alice"})
	// Temporal's failure converter type-switches on the returned error itself.
	appErr, ok := err.(*temporal.ApplicationError)
	require.True(t, ok, "%T", err)
	require.True(t, appErr.NonRetryable())
	require.Contains(t, appErr.Error(), "user_not_found")

	fake.RateLimitNext("chat.postMessage", 3)
	_, err = a.Page(context.Background(), incident.PageRequest{Target: "user:alice"})
	appErr, ok = err.(*temporal.ApplicationError)
	require.True(t, ok, "%T", err)
	require.False(t, appErr.NonRetryable())
	require.Equal(t, "3s", appErr.NextRetryDelay().String())
}

func TestPageRetriedAfterSlackAcceptedItIsNotPostedTwice(t *testing.T) {
	fake, s := newSlack(t)
	cfg, err := config.Parse([]byte("users: {alice: {slack_id: U0ALICE}}"))
	require.NoError(t, err)
	a := &activities.Activities{Config: cfg, Notifiers: []activities.Notifier{s}}
	req := incident.PageRequest{IncidentID: "incident-x", Target: "user:alice", IdempotencyKey: "incident-x/g0/r1/s1/user:alice"}

	fake.LoseNextResponse("chat.postMessage")
	_, err = a.Page(context.Background(), req)
	require.Error(t, err, "the answer was lost")
	appErr, isApp := err.(*temporal.ApplicationError)
	require.False(t, isApp && appErr.NonRetryable(), "so Temporal retries")
	require.Len(t, fake.Messages("D0ALICE"), 1, "but Slack had posted it")

	_, err = a.Page(context.Background(), req)
	require.NoError(t, err)
	require.Len(t, fake.Messages("D0ALICE"), 1, "the retry found it and did not page twice")

	next := req
	next.IdempotencyKey = "incident-x/g0/r2/s1/user:alice"
	_, err = a.Page(context.Background(), next)
	require.NoError(t, err)
	require.Len(t, fake.Messages("D0ALICE"), 2, "a new step pages again")
}

func TestPostsToOneChannelAreSpaced(t *testing.T) {
	fake, s := newSlack(t)
	s.MinInterval = 200 * time.Millisecond
	for i := 0; i < 3; i++ {
		_, err := s.NotifyChannel(context.Background(), "#sre", activities.Message{Text: "x"})
		require.NoError(t, err)
	}
	_, err := s.NotifyChannel(context.Background(), "#other", activities.Message{Text: "y"})
	require.NoError(t, err)
	sre := fake.Messages("#sre")
	require.Len(t, sre, 3)
	require.GreaterOrEqual(t, sre[2].At.Sub(sre[0].At), 350*time.Millisecond, "three posts need two gaps")
	require.Less(t, fake.Messages("#other")[0].At.Sub(sre[2].At), 150*time.Millisecond, "another channel does not wait")
}

// Forty incidents paging alice at once reach her in a handful of messages:
// the first page alone and at once, then digests of whatever queued behind
// each slot, every page listed exactly once, each with its buttons. A
// retried page finds itself inside a digest and is not sent again.
func TestPagesQueuedForOnePersonGoOutAsDigests(t *testing.T) {
	fake, s := newSlack(t)
	s.MinInterval = 300 * time.Millisecond
	alice := config.User{SlackID: "U0ALICE"}
	const pages = 40
	listed := make([]int, pages)
	var wg sync.WaitGroup
	for i := range pages {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m := activities.Message{IncidentID: fmt.Sprintf("incident-%d", i), Text: fmt.Sprintf("page %d.", i),
				IdempotencyKey: fmt.Sprintf("key-%d", i), Buttons: true, Urgent: true}
			n, err := s.PageUser(context.Background(), "alice", alice, m)
			assert.NoError(t, err)
			listed[i] = n
		}()
		if i == 0 {
			// The first page finds nobody waiting and goes alone.
			time.Sleep(50 * time.Millisecond)
		}
	}
	wg.Wait()

	msgs := fake.Messages("D0ALICE")
	require.Equal(t, "page 0.", msgs[0].Form.Get("text"), "the first page is not held back for a digest")
	require.LessOrEqual(t, len(msgs), 4, "40 pages in at most 1 + ceil(39/20) + slack messages")
	seen := map[int]int{}
	for _, m := range msgs {
		text := m.Form.Get("text")
		for i := range pages {
			if strings.Contains(text, fmt.Sprintf("page %d.", i)) {
				seen[i]++
				require.Contains(t, m.Form.Get("blocks"), fmt.Sprintf(`"value":"incident-%d"`, i), "its buttons act on its own incident")
			}
		}
	}
	require.Len(t, seen, pages)
	for i, n := range seen {
		require.Equal(t, 1, n, "page %d listed once", i)
		require.GreaterOrEqual(t, listed[i], 1)
	}
	require.Equal(t, 1, listed[0])

	again := activities.Message{IncidentID: "incident-39", Text: "page 39.", IdempotencyKey: "key-39", Buttons: true, Urgent: true}
	_, err := s.PageUser(context.Background(), "alice", alice, again)
	require.NoError(t, err)
	require.Len(t, fake.Messages("D0ALICE"), len(msgs), "the retry found its key in the digest's metadata")
}

// A reminder that names its addressee mentions them in Slack, which
// notifies them; a plain name notifies nobody.
func TestAnnounceMentionsTheAddressee(t *testing.T) {
	fake, s := newSlack(t)
	s.MinInterval = 10 * time.Millisecond
	fake.AddChannel("inc-1", "")
	cfg, err := config.Parse([]byte("users: {carol: {slack_id: U0CAROL}, dave: {email: dave@example.com}}"))
	require.NoError(t, err)
	a := &activities.Activities{Config: cfg, Notifiers: []activities.Notifier{s}, Slack: s}
	for _, tc := range []struct{ addressee, text, want string }{
		{"carol", "carol: a status update is due now.", "<@U0CAROL>: a status update is due now."},
		{"carol", "Responders: an update is due.", "<@U0CAROL> Responders: an update is due."},
		{"dave", "dave: no slack_id, so a plain name.", "dave: no slack_id, so a plain name."},
		{"", "nobody in particular.", "nobody in particular."},
	} {
		require.NoError(t, a.Announce(context.Background(), incident.AnnounceRequest{
			IncidentID: "incident-1", Target: "slack_channel:#inc-1", Text: tc.text, Addressee: tc.addressee, IdempotencyKey: tc.text,
		}))
		msgs := fake.Messages("#inc-1")
		require.Equal(t, tc.want, msgs[len(msgs)-1].Form.Get("text"))
	}
}
