package workflows_test

import (
	"context"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-github/v60/github"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/suite"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"

	"github.com/incidentflow/incidentflow/activities"
	"github.com/incidentflow/incidentflow/config"
	"github.com/incidentflow/incidentflow/incident"
	"github.com/incidentflow/incidentflow/internal/fakegithub"
	"github.com/incidentflow/incidentflow/worker"
	"github.com/incidentflow/incidentflow/workflows"
)

// Post-mortems are due 48h after resolution, with reminders at 24h and 44h,
// overdue notices every 24h after, and GitHub read every 24h.
const postmortemConfig = `
slack: {announce_channel: "#incidents"}
github: {token_env: GH_TOKEN_UNUSED, default_repo: acme/postmortems}
timings: {postmortem_due: 48h, postmortem_reminders: [24h, 44h], postmortem_check_every: 24h, postmortem_overdue_every: 24h}
services:
  checkout: {escalation_policy: primary, github_repo: acme/checkout}
  search: {escalation_policy: primary, github_repo: acme/missing}
escalation_policies:
  primary: {steps: [{targets: [user:alice]}]}
users:
  alice: {}
  bob: {}
  carol: {}
`

type postmortemSuite struct {
	suite.Suite
	testsuite.WorkflowTestSuite
	env    *testsuite.TestWorkflowEnvironment
	acts   *activities.Activities
	github *fakegithub.Server
	start  time.Time
	mu     sync.Mutex
	told   []told
}

// told is one message to a person or channel, with when it went out.
type told struct {
	at     time.Duration
	target string
	key    string
	text   string
}

func TestPostmortemWorkflow(t *testing.T) { suite.Run(t, new(postmortemSuite)) }

func (s *postmortemSuite) SetupTest() {
	cfg, err := config.Parse([]byte(postmortemConfig))
	s.Require().NoError(err)
	s.SetLogger(log.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))))
	s.env = s.NewTestWorkflowEnvironment()
	s.github = fakegithub.New("ghp_test", "acme/checkout", "acme/postmortems")
	s.T().Cleanup(s.github.Close)
	c := github.NewClient(nil).WithAuthToken("ghp_test")
	c.BaseURL, err = url.Parse(s.github.APIURL())
	s.Require().NoError(err)
	s.acts = &activities.Activities{
		Config:    cfg,
		Notifiers: []activities.Notifier{&activities.Console{Out: discard{}}},
		GitHub:    &activities.GitHub{Client: c, WriteGap: time.Millisecond},
	}
	worker.Register(s.env, s.acts)
	s.env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: "postmortem-db-down"})
	s.start = s.env.Now()
	s.told = nil
	s.env.OnActivity(s.acts.Announce, mock.Anything, mock.Anything).Maybe().Return(
		func(_ context.Context, req incident.AnnounceRequest) error {
			at := s.env.Now().Sub(s.start)
			s.mu.Lock()
			defer s.mu.Unlock()
			s.told = append(s.told, told{at: at, target: req.Target, key: strings.TrimPrefix(req.IdempotencyKey, "postmortem-db-down/"), text: req.Text})
			return nil
		})
}

func (s *postmortemSuite) AfterTest(_, _ string) { s.env.AssertExpectations(s.T()) }

// incident is a P1 resolved at the suite's start, after two hours.
func (s *postmortemSuite) incident(service string) workflows.PostmortemInput {
	created := s.start.Add(-2 * time.Hour)
	acked := created.Add(4 * time.Minute)
	mitigated := created.Add(90 * time.Minute)
	resolved := s.start
	return workflows.PostmortemInput{Incident: workflows.Incident{
		ID: "incident-db-down", Key: "db-down", Title: "Database down | checkout", Service: service, Severity: "P1",
		Status: incident.StatusResolved, Commander: "alice", AcknowledgedBy: "alice", Roles: map[string]string{"comms": "bob"},
		CreatedAt: created, AcknowledgedAt: &acked, MitigatedAt: &mitigated, ResolvedAt: &resolved, AlertCount: 3,
		LastUpdate: &workflows.StatusUpdate{Impact: "checkout failed for 40% of users"},
		Timeline: []workflows.TimelineEntry{
			{At: created, Kind: "triggered", Actor: "alertmanager", Message: "P1 incident opened on checkout: Database down"},
			{At: acked, Kind: "ack", Actor: "alice", Message: "acknowledged; escalation stopped; alice is commander"},
			{At: created.Add(30 * time.Minute), Kind: "status_update", Actor: "bob", Message: "[identified] primary out of disk | replica lagging"},
			{At: mitigated, Kind: "resolve", Actor: "alice", Message: "resolved; monitoring"},
			{At: resolved, Kind: "resolve", Message: "stable for 30m0s: resolved"},
		},
		ActionItems: []workflows.ActionItem{
			{Title: "Alert on disk above 80%", Type: "detect", Owner: "bob", Due: "2026-12-01", AddedBy: "alice", AddedAt: created.Add(time.Hour)},
		},
	}}
}

func (s *postmortemSuite) at(d time.Duration, fn func()) { s.env.RegisterDelayedCallback(fn, d) }

func (s *postmortemSuite) state() workflows.PostmortemState {
	v, err := s.env.QueryWorkflow(workflows.QueryState)
	s.Require().NoError(err)
	var st workflows.PostmortemState
	s.Require().NoError(v.Get(&st))
	return st
}

func (s *postmortemSuite) run(in workflows.PostmortemInput) workflows.PostmortemState {
	s.env.ExecuteWorkflow(workflows.PostmortemWorkflow, in)
	s.Require().True(s.env.IsWorkflowCompleted())
	s.Require().NoError(s.env.GetWorkflowError())
	var st workflows.PostmortemState
	s.Require().NoError(s.env.GetWorkflowResult(&st))
	return st
}

func (s *postmortemSuite) toldAt(prefix string) []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []time.Duration
	for _, t := range s.told {
		if strings.HasPrefix(t.key, prefix) {
			// The test clock moves on by the real time an activity takes
			// (a millisecond on a busy machine): whole seconds are what count.
			out = append(out, t.at.Round(time.Second))
		}
	}
	return out
}

func (s *postmortemSuite) TestRemindersThenDailyOverdueUntilCompletedBySignal() {
	h := time.Hour
	s.at(71*h, func() {
		st := s.state()
		s.Equal(workflows.PostmortemOverdue, st.Status)
		s.True(st.OverdueLabelled)
		s.Contains(s.github.Issues("acme/checkout")[0].Labels, "overdue", "the post-mortem issue is labelled overdue")
	})
	s.at(80*h, func() {
		s.env.SignalWorkflow(workflows.SignalPostmortemComplete, workflows.CompleteRequest{By: "alice", Note: "reviewed on Tuesday"})
	})
	// The action item's issue is closed on GitHub; the check at 96h sees it.
	s.at(90*h, func() { s.github.CloseIssue("acme/checkout", 2) })
	st := s.run(s.incident("checkout"))

	s.Equal([]time.Duration{24 * h, 44 * h}, s.toldAt("reminder/"), "reminders at 24h and 44h after resolution")
	s.Equal([]time.Duration{48 * h}, s.toldAt("overdue/1/commander"))
	s.Equal([]time.Duration{48 * h}, s.toldAt("overdue/1/announce"))
	s.Equal([]time.Duration{72 * h, 72 * h}, s.toldAt("overdue/2/"), "repeated daily")
	s.Empty(s.toldAt("overdue/3/"), "completed at 80h: no notice at 96h")
	for _, t := range s.told {
		switch {
		case strings.HasSuffix(t.key, "/announce"):
			s.Equal("slack_channel:#incidents", t.target)
		case strings.HasPrefix(t.key, "reminder/"), strings.HasSuffix(t.key, "/commander"):
			s.Equal("user:alice", t.target, "reminders go to the commander")
		}
	}

	s.Equal(workflows.PostmortemFinished, st.Status)
	s.Equal(80*h, st.CompletedAt.Sub(s.start))
	s.Equal("alice", st.CompletedBy)
	s.Equal(96*h, s.env.Now().Sub(s.start), "finished at the check that saw the last item closed")
	s.Equal(1.0, st.CompletionRate)
	s.Equal(workflows.ItemClosed, st.ActionItems[0].State)
	s.Equal("github", st.ActionItems[0].ClosedBy)
	s.Equal(96*h, st.ActionItems[0].ClosedAt.Sub(s.start))
	issues := s.github.Issues("acme/checkout")
	s.Require().Len(issues, 2)
	s.Equal("closed", issues[0].State, "completing the post-mortem closes its issue")
}

func (s *postmortemSuite) TestCompletedWhenItsIssueIsClosedOnGitHub() {
	s.acts.Config.Timings.PostmortemCheckEvery = config.Duration(6 * time.Hour)
	in := s.incident("checkout")
	in.Incident.ActionItems = nil
	s.at(10*time.Hour, func() { s.github.CloseIssue("acme/checkout", 1) })
	st := s.run(in)
	s.Equal(workflows.PostmortemFinished, st.Status)
	s.Equal(12*time.Hour, st.CompletedAt.Sub(s.start), "seen at the 12h check")
	s.Equal("github", st.CompletedBy)
	s.Empty(s.told, "no reminder: it was done before the first")
	s.Equal(1.0, st.CompletionRate, "no items: nothing left to do")
}

func (s *postmortemSuite) TestDraftAndActionItemsAsLinkedIssues() {
	s.at(time.Hour, func() {
		s.env.UpdateWorkflow(workflows.UpdateActionItem, "", &testsuite.TestUpdateCallback{
			OnAccept: func() {}, OnReject: func(err error) { s.Fail("rejected", err.Error()) },
			OnComplete: func(v interface{}, err error) { s.NoError(err) },
		}, workflows.ActionItemRequest{By: "carol", Title: "Runbook for a full disk", Type: "respond", Owner: "carol", Due: "2026-12-10"})
	})
	s.at(2*time.Hour, func() {
		st := s.state()
		s.Equal(2, st.ItemsTotal)
		s.InDelta(0.0, st.CompletionRate, 0.001)
		s.Contains(st.Draft, "checkout failed for 40% of users")
		s.env.SignalWorkflow(workflows.SignalPostmortemComplete, workflows.CompleteRequest{By: "alice"})
		s.env.SignalWorkflow(workflows.SignalDropActionItem, workflows.ActionItemChange{By: "alice", Item: 2, Note: "covered by the disk alert"})
		s.github.CloseIssue("acme/checkout", 2)
	})
	st := s.run(s.incident("checkout"))

	issues := s.github.Issues("acme/checkout")
	s.Require().Len(issues, 3, "one post-mortem and one issue per action item")
	pm, item1, item2 := issues[0], issues[1], issues[2]
	s.Equal([]string{"incident-db-down", "postmortem", "incident"}, pm.Labels)
	s.Equal("Post-mortem: Database down | checkout (P1, incident-db-down)", pm.Title)
	for _, section := range []string{"## Summary", "## Timeline", "## Root cause", "## Contributing factors", "## Five whys", "## What went well", "## What went poorly", "## Action items", "## Lessons learned"} {
		s.Contains(pm.Body, section)
	}
	s.Contains(pm.Body, "| Severity | P1 |")
	s.Contains(pm.Body, "| Duration | 2h0m0s |")
	s.Contains(pm.Body, "primary out of disk \\| replica lagging", "a | in a message does not break the table")
	s.Contains(pm.Body, "checkout failed for 40% of users")
	for _, e := range s.incident("checkout").Incident.Timeline {
		s.Contains(pm.Body, "| "+e.At.UTC().Format("2006-01-02 15:04:05")+" | ", "timeline row for %q", e.Message)
		s.Contains(pm.Body, strings.ReplaceAll(e.Message, "|", "\\|"))
	}
	s.Contains(pm.Body, "[acme/checkout#2](https://github.example/acme/checkout/issues/2)", "the post-mortem links item 1")
	s.Contains(pm.Body, "[acme/checkout#3](https://github.example/acme/checkout/issues/3)", "and item 2, added later")

	s.Equal([]string{"incident-db-down", "action-item", "detect"}, item1.Labels)
	s.Equal("[detect] Alert on disk above 80%", item1.Title)
	s.Contains(item1.Body, "**Post-mortem:** acme/checkout#1")
	s.Contains(item1.Body, "**Owner:** bob")
	s.Contains(item1.Body, "**Due:** 2026-12-01")
	s.Equal([]string{"incident-db-down", "action-item", "respond"}, item2.Labels)

	s.Equal(workflows.PostmortemFinished, st.Status)
	s.Equal(workflows.ItemClosed, st.ActionItems[0].State)
	s.Equal(workflows.ItemDropped, st.ActionItems[1].State)
	s.Equal("covered by the disk alert", st.ActionItems[1].Note)
	s.Equal(24*time.Hour, s.env.Now().Sub(s.start), "item 1's closing was seen at the first daily check")
}

func (s *postmortemSuite) TestOneIssuePerItemWhenGitHubFailsAfterCreating() {
	// Both the post-mortem issue and item 1's are created at GitHub, then
	// answered with a 502. (A 403 secondary rate limit is tested in e2e: the
	// go-github client waits it out in real time, which this suite's
	// skipped time would outrun.)
	s.github.FailAfterCreateNext()
	s.github.FailAfterCreateNext()
	s.at(time.Hour, func() {
		s.env.SignalWorkflow(workflows.SignalPostmortemComplete, workflows.CompleteRequest{By: "alice"})
		s.env.SignalWorkflow(workflows.SignalDropActionItem, workflows.ActionItemChange{By: "alice", Item: 1, Note: "done in the incident"})
	})
	st := s.run(s.incident("checkout"))
	issues := s.github.Issues("acme/checkout")
	s.Require().Len(issues, 2, "the retries found the issues GitHub had made: %+v", st.Timeline)
	s.Equal(1, st.Issue.Number)
	s.Equal(2, st.ActionItems[0].Issue.Number)
	for _, e := range st.Timeline {
		s.NotEqual("github_failed", e.Kind, e.Message)
	}
}

func (s *postmortemSuite) TestMissingRepoIsShownAndTheDraftStillServed() {
	in := s.incident("search")
	s.at(time.Hour, func() {
		st := s.state()
		s.Nil(st.Issue)
		s.Contains(st.IssueError, "404")
		s.Contains(st.Draft, "# Post-mortem: Database down")
		s.env.SignalWorkflow(workflows.SignalPostmortemComplete, workflows.CompleteRequest{By: "alice"})
		s.env.SignalWorkflow(workflows.SignalCloseActionItem, workflows.ActionItemChange{By: "bob", Item: 1, Note: "alert added by hand"})
	})
	st := s.run(in)
	var failed []string
	for _, e := range st.Timeline {
		if e.Kind == "github_failed" {
			failed = append(failed, e.Message)
		}
	}
	s.Require().Len(failed, 2, "the post-mortem issue and the item's, each once: a 404 is not retried")
	s.Contains(failed[0], "acme/missing")
	s.Equal(workflows.ItemClosed, st.ActionItems[0].State)
	s.Equal(time.Hour, s.env.Now().Sub(s.start))
}

func (s *postmortemSuite) TestCommandsAreValidated() {
	reject := func(name string, arg any, want string) {
		s.env.UpdateWorkflow(name, "", &testsuite.TestUpdateCallback{
			OnAccept: func() { s.Fail("accepted", "%s %v", name, arg) },
			OnReject: func(err error) { s.ErrorContains(err, want) }, OnComplete: func(interface{}, error) {},
		}, arg)
	}
	s.at(time.Hour, func() {
		reject(workflows.UpdatePostmortemComplete, workflows.CompleteRequest{}, "by: required")
		reject(workflows.UpdateCloseActionItem, workflows.ActionItemChange{By: "bob", Item: 1}, "close the issue on GitHub")
		reject(workflows.UpdateDropActionItem, workflows.ActionItemChange{By: "bob", Item: 1}, "note: required")
		reject(workflows.UpdateDropActionItem, workflows.ActionItemChange{By: "bob", Item: 7, Note: "x"}, "no action item 7")
		reject(workflows.UpdateActionItem, workflows.ActionItemRequest{By: "bob", Title: "x", Type: "fix", Owner: "bob"}, `type: "fix"`)
		reject(workflows.UpdateActionItem, workflows.ActionItemRequest{By: "bob", Title: "x", Type: "detect", Owner: "zed"}, `owner: unknown user "zed"`)
		s.env.SignalWorkflow(workflows.SignalPostmortemComplete, workflows.CompleteRequest{By: "alice"})
		s.env.SignalWorkflow(workflows.SignalDropActionItem, workflows.ActionItemChange{By: "alice", Item: 1, Note: "not needed"})
	})
	s.at(time.Hour+time.Second, func() {
		reject(workflows.UpdatePostmortemComplete, workflows.CompleteRequest{By: "bob"}, "already completed by alice")
	})
	st := s.run(s.incident("checkout"))
	s.Equal(workflows.PostmortemFinished, st.Status)
}

func (s *postmortemSuite) TestAnItemWhoseIssueIsDeletedIsDroppedNotStuck() {
	s.at(time.Hour, func() {
		s.env.SignalWorkflow(workflows.SignalPostmortemComplete, workflows.CompleteRequest{By: "alice"})
		s.github.DeleteIssue("acme/checkout", 2)
	})
	st := s.run(s.incident("checkout"))
	s.Equal(workflows.PostmortemFinished, st.Status)
	s.Equal(24*time.Hour, s.env.Now().Sub(s.start), "seen at the first check")
	s.Equal(workflows.ItemDropped, st.ActionItems[0].State)
	s.Equal("its issue is gone from GitHub", st.ActionItems[0].Note)
}
