package workflows_test

import (
	"context"
	sdkpb "go.temporal.io/api/sdk/v1"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"github.com/stretchr/testify/suite"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/incidentflow/incidentflow/activities"
	"github.com/incidentflow/incidentflow/config"
	"github.com/incidentflow/incidentflow/incident"
	"github.com/incidentflow/incidentflow/worker"
	"github.com/incidentflow/incidentflow/workflows"
)

// The policy of these tests: step 1 pages at once, step 2 after 5m, step 3
// 5m later; one repeat; 5m ack timeout before the next round and the fallback.
const testConfig = `
slack: {announce_channel: "#incidents"}
twilio: {account_sid_env: TWILIO_SID, auth_token_env: TWILIO_TOKEN, from: "+15555550000", callback_url: "https://incidentflow.example.com"}
timings: {ack_timeout: 5m}
services:
  checkout: {escalation_policy: primary}
  db: {escalation_policy: db}
escalation_policies:
  primary:
    repeat: 1
    steps:
      - {delay: 0s, targets: [user:alice]}
      - {delay: 5m, targets: [user:bob]}
      - {delay: 5m, targets: [user:carol, "slack_channel:#sre"]}
  db:
    steps:
      # dave twice: by name and as the one on call.
      - {delay: 0s, targets: [user:dave, schedule:db-oncall]}
      - {delay: 10m, targets: [user:bob]}
schedules:
  db-oncall:
    time_zone: UTC
    layers: [{start: "2026-01-01T00:00:00Z", shift: 8760h, users: [dave]}]
users:
  dave:
    slack_id: U0DAVE
    phone: "+15555550100"
    notification_rules: [{after: 0s, via: slack}, {after: 1m, via: sms}, {after: 3m, via: voice}]
  alice: {}
  bob: {}
  carol: {}
`

type incidentSuite struct {
	suite.Suite
	testsuite.WorkflowTestSuite
	env   *testsuite.TestWorkflowEnvironment
	acts  *activities.Activities
	start time.Time
	// mu guards what mocked activities record: they run on goroutines.
	mu      sync.Mutex
	pages   []page
	cards   []cardCall
	invites []inviteCall
	// postmortems are the post-mortem children started, with when.
	postmortems []postmortemStart
}

type postmortemStart struct {
	at time.Duration
	id string
	in workflows.PostmortemInput
}

type page struct {
	at     time.Duration
	target string
	round  int
	step   int
}

func TestIncidentWorkflow(t *testing.T) { suite.Run(t, new(incidentSuite)) }

func (s *incidentSuite) SetupTest() {
	cfg, err := config.Parse([]byte(testConfig))
	s.Require().NoError(err)
	s.SetLogger(log.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))))
	s.env = s.NewTestWorkflowEnvironment()
	s.acts = &activities.Activities{Config: cfg, Notifiers: []activities.Notifier{&activities.Console{Out: discard{}}}}
	worker.Register(s.env, s.acts)
	s.start = s.env.Now()
	s.pages = nil
	s.cards = nil
	s.invites = nil
	s.postmortems = nil
	// The post-mortem child has its own suite; here it is recorded and ends
	// at once, or its 48-hour deadline would keep the test running.
	s.env.OnWorkflow(workflows.PostmortemWorkflowName, mock.Anything, mock.Anything).Maybe().Return(
		func(ctx workflow.Context, in workflows.PostmortemInput) (*workflows.PostmortemState, error) {
			s.mu.Lock()
			defer s.mu.Unlock()
			s.postmortems = append(s.postmortems, postmortemStart{at: s.env.Now().Sub(s.start), id: workflow.GetInfo(ctx).WorkflowExecution.ID, in: in})
			return &workflows.PostmortemState{}, nil
		})
}

// recordPages answers every page not matched by a mock registered before it
// (testify tries mocks in the order they were set up) and records when it came.
func (s *incidentSuite) recordPages() {
	record := func(req incident.PageRequest) (incident.PageResult, error) {
		at := s.env.Now().Sub(s.start)
		s.mu.Lock()
		defer s.mu.Unlock()
		s.pages = append(s.pages, page{at: at, target: req.Target, round: req.Round, step: req.Step})
		return incident.PageResult{Recipient: req.Target, Channel: "test"}, nil
	}
	// Channels are paged directly; people through their notification rules.
	s.env.OnActivity(s.acts.Page, mock.Anything, mock.Anything).Maybe().Return(
		func(_ context.Context, req incident.PageRequest) (incident.PageResult, error) { return record(req) })
	s.env.OnActivity(s.acts.NotifyPerson, mock.Anything, mock.Anything).Maybe().Return(
		func(_ context.Context, req incident.NotifyRequest) (incident.PageResult, error) {
			return record(req.Page)
		})
}

// result checks the run ended well and that no page failed (a .Never() mock
// that was hit fails its activity, which the timeline records).
func (s *incidentSuite) result() workflows.Incident {
	s.Require().True(s.env.IsWorkflowCompleted())
	s.Require().NoError(s.env.GetWorkflowError())
	var st workflows.Incident
	s.Require().NoError(s.env.GetWorkflowResult(&st))
	for _, e := range st.Timeline {
		s.NotEqual("page_failed", e.Kind, e.Message)
	}
	return st
}

func (s *incidentSuite) AfterTest(_, _ string) { s.env.AssertExpectations(s.T()) }

func (s *incidentSuite) input() workflows.IncidentInput {
	return workflows.IncidentInput{Key: "checkout-5xx", Title: "checkout 5xx", Service: "checkout", Severity: "P2", Source: "test"}
}

func (s *incidentSuite) at(d time.Duration, fn func()) { s.env.RegisterDelayedCallback(fn, d) }

func (s *incidentSuite) signal(name string, arg any) { s.env.SignalWorkflow(name, arg) }

func (s *incidentSuite) state() workflows.Incident {
	v, err := s.env.QueryWorkflow(workflows.QueryState)
	s.Require().NoError(err)
	var st workflows.Incident
	s.Require().NoError(v.Get(&st))
	return st
}

// resolveAt resolves at d and closes just after the 30m stable-for window
// (P1 and P2 wait for a close; P3 and P4 close by themselves).
func (s *incidentSuite) resolveAt(d time.Duration) {
	s.at(d, func() { s.signal(workflows.SignalResolve, workflows.ActionRequest{By: "alice"}) })
}

func (s *incidentSuite) closeAt(d time.Duration) {
	s.at(d, func() { s.signal(workflows.SignalClose, workflows.ActionRequest{By: "alice"}) })
}

func (s *incidentSuite) TestStep2PagedExactlyAtFiveMinutesWithoutAck() {
	s.recordPages()
	s.resolveAt(7 * time.Minute)
	s.env.ExecuteWorkflow(workflows.IncidentWorkflow, s.input())
	s.result()
	s.Equal([]page{
		{at: 0, target: "user:alice", round: 1, step: 1},
		{at: 5 * time.Minute, target: "user:bob", round: 1, step: 2},
	}, s.pages)
}

func (s *incidentSuite) TestAckAtFourMinutesMeansStep2NeverPaged() {
	s.env.OnActivity(s.acts.NotifyPerson, mock.Anything, mock.MatchedBy(func(r incident.NotifyRequest) bool {
		return r.User == "bob"
	})).Never()
	s.recordPages()
	var ackedAt time.Duration
	s.at(4*time.Minute, func() {
		ackedAt = s.env.Now().Sub(s.start)
		s.signal(workflows.SignalAck, workflows.ActionRequest{By: "alice"})
	})
	s.at(30*time.Minute, func() {
		st := s.state()
		s.Equal(incident.StatusAcknowledged, st.Status)
		s.Equal("alice", st.AcknowledgedBy)
		s.Equal("alice", st.Commander)
		s.Require().NotNil(st.MTTASeconds)
		s.InDelta(240, *st.MTTASeconds, 0.001)
		s.signal(workflows.SignalResolve, workflows.ActionRequest{By: "alice"})
	})
	s.closeAt(61 * time.Minute)
	s.env.ExecuteWorkflow(workflows.IncidentWorkflow, s.input())
	s.result()
	s.Equal(4*time.Minute, ackedAt)
	s.Equal([]page{{at: 0, target: "user:alice", round: 1, step: 1}}, s.pages)
}

func (s *incidentSuite) TestFallbackToldOnceAfterRepeatRounds() {
	s.recordPages()
	var fallbacks []time.Duration
	var fallbackTarget string
	s.env.OnActivity(s.acts.Announce, mock.Anything, mock.Anything).Return(
		func(_ context.Context, req incident.AnnounceRequest) error {
			if strings.HasPrefix(req.Text, "Nobody acknowledged") {
				at := s.env.Now().Sub(s.start)
				s.mu.Lock()
				defer s.mu.Unlock()
				fallbacks = append(fallbacks, at)
				fallbackTarget = req.Target
			}
			return nil
		})
	s.resolveAt(3 * time.Hour)
	s.env.ExecuteWorkflow(workflows.IncidentWorkflow, s.input())
	s.result()

	want := []page{}
	for round := 0; round < 2; round++ {
		base := time.Duration(round) * 15 * time.Minute
		want = append(want,
			page{at: base, target: "user:alice", round: round + 1, step: 1},
			page{at: base + 5*time.Minute, target: "user:bob", round: round + 1, step: 2},
			page{at: base + 10*time.Minute, target: "user:carol", round: round + 1, step: 3},
			page{at: base + 10*time.Minute, target: "slack_channel:#sre", round: round + 1, step: 3},
		)
	}
	s.ElementsMatch(want, s.pages)
	s.Equal([]time.Duration{30 * time.Minute}, fallbacks, "fallback told once, ack_timeout after the last step of the last round")
	s.Equal("slack_channel:#incidents", fallbackTarget)
}

func (s *incidentSuite) TestDuplicateAlertsNeverPageTwice() {
	s.env.OnActivity(s.acts.NotifyPerson, mock.Anything, mock.MatchedBy(func(r incident.NotifyRequest) bool {
		return r.User == "alice"
	})).Once().Return(incident.PageResult{Recipient: "alice", Channel: "test"}, nil)
	alert := workflows.AlertSignal{Fingerprint: "fp1", Status: incident.AlertFiring, Summary: "5xx > 5%", Source: "test"}
	s.at(0, func() { s.signal(workflows.SignalAlert, alert) })
	for i := 1; i <= 50; i++ {
		s.at(time.Duration(i)*time.Second, func() { s.signal(workflows.SignalAlert, alert) })
	}
	s.at(2*time.Minute, func() {
		st := s.state()
		s.Equal(51, st.AlertCount)
		s.Len(st.Alerts, 1)
		s.Equal(51, st.Alerts[0].Count)
		s.signal(workflows.SignalAck, workflows.ActionRequest{By: "alice"})
		s.signal(workflows.SignalResolve, workflows.ActionRequest{By: "alice"})
	})
	s.closeAt(33 * time.Minute)
	s.env.ExecuteWorkflow(workflows.IncidentWorkflow, s.input())
	s.result()
}

func (s *incidentSuite) TestEscalateSignalPagesNextStepNowAndRestartsItsTimer() {
	s.recordPages()
	s.at(time.Minute, func() { s.signal(workflows.SignalEscalate, workflows.ActionRequest{By: "alice", Note: "need db help"}) })
	s.resolveAt(8 * time.Minute)
	s.env.ExecuteWorkflow(workflows.IncidentWorkflow, s.input())
	s.result()
	s.ElementsMatch([]page{
		{at: 0, target: "user:alice", round: 1, step: 1},
		{at: time.Minute, target: "user:bob", round: 1, step: 2},
		{at: 6 * time.Minute, target: "user:carol", round: 1, step: 3},
		{at: 6 * time.Minute, target: "slack_channel:#sre", round: 1, step: 3},
	}, s.pages)
}

// An aimed escalation pages the step asked for, now, even one paged
// before in this round (with a key of its own, so it is not taken for a
// retry), and the policy goes on from there; a step the policy does not
// have is refused naming to_step.
func (s *incidentSuite) TestEscalateToAStepPagesThatStepNow() {
	s.recordPages()
	var bad error
	s.at(time.Minute, func() { s.signal(workflows.SignalEscalate, workflows.ActionRequest{By: "alice", ToStep: 3}) })
	s.at(2*time.Minute, func() { s.signal(workflows.SignalEscalate, workflows.ActionRequest{By: "alice", ToStep: 1}) })
	s.at(3*time.Minute, func() {
		s.env.UpdateWorkflow(workflows.UpdateEscalate, "", &testsuite.TestUpdateCallback{
			OnReject: func(err error) { bad = err }, OnAccept: func() {}, OnComplete: func(any, error) {},
		}, workflows.ActionRequest{By: "alice", ToStep: 9})
	})
	s.resolveAt(4 * time.Minute)
	s.env.ExecuteWorkflow(workflows.IncidentWorkflow, s.input())
	s.result()
	s.ElementsMatch([]page{
		{at: 0, target: "user:alice", round: 1, step: 1},
		{at: time.Minute, target: "user:carol", round: 1, step: 3},
		{at: time.Minute, target: "slack_channel:#sre", round: 1, step: 3},
		{at: 2 * time.Minute, target: "user:alice", round: 1, step: 1},
	}, s.pages)
	s.ErrorContains(bad, "to_step: 9 is not a step of this policy (1 to 3)")
}

func (s *incidentSuite) TestAllAlertsResolvedResolvesTheIncident() {
	s.recordPages()
	s.at(0, func() {
		s.signal(workflows.SignalAlert, workflows.AlertSignal{Fingerprint: "a", Status: incident.AlertFiring, Source: "am"})
		s.signal(workflows.SignalAlert, workflows.AlertSignal{Fingerprint: "b", Status: incident.AlertFiring, Source: "am"})
	})
	s.at(2*time.Minute, func() {
		s.signal(workflows.SignalAlert, workflows.AlertSignal{Fingerprint: "a", Status: incident.AlertResolved, Source: "am"})
	})
	s.at(3*time.Minute, func() {
		s.Equal(incident.StatusTriggered, s.state().Status, "one alert still firing")
		s.signal(workflows.SignalAlert, workflows.AlertSignal{Fingerprint: "b", Status: incident.AlertResolved, Source: "am"})
	})
	s.closeAt(34 * time.Minute)
	s.env.ExecuteWorkflow(workflows.IncidentWorkflow, s.input())
	s.result()
	st := s.result()
	s.Equal(incident.StatusClosed, st.Status)
	s.Equal("alert:am", st.ResolvedBy)
	s.Require().NotNil(st.MTTRSeconds)
	s.InDelta(180, *st.MTTRSeconds, 0.001)
	s.Len(s.pages, 1, "resolved before step 2 was due")
}

func (s *incidentSuite) TestAckUpdateValidatorRejectsInvalidTransitions() {
	s.recordPages()
	type result struct {
		err error
		res *workflows.UpdateResult
	}
	var noBy, first, second result
	update := func(name string, req workflows.ActionRequest, out *result) {
		s.env.UpdateWorkflow(name, "", &testsuite.TestUpdateCallback{
			OnReject: func(err error) { out.err = err },
			OnAccept: func() {},
			OnComplete: func(v interface{}, err error) {
				out.err = err
				if r, ok := v.(workflows.UpdateResult); ok {
					out.res = &r
				}
			},
		}, req)
	}
	s.at(time.Minute, func() { update(workflows.UpdateAck, workflows.ActionRequest{}, &noBy) })
	s.at(2*time.Minute, func() { update(workflows.UpdateAck, workflows.ActionRequest{By: "bob"}, &first) })
	s.at(3*time.Minute, func() { update(workflows.UpdateAck, workflows.ActionRequest{By: "carol"}, &second) })
	s.resolveAt(4 * time.Minute)
	s.env.ExecuteWorkflow(workflows.IncidentWorkflow, s.input())
	s.result()

	s.ErrorContains(noBy.err, "by: required")
	s.Require().NoError(first.err)
	s.Require().NotNil(first.res, "an Update answers a small result")
	s.Equal(incident.StatusAcknowledged, first.res.Status)
	s.Contains(first.res.Message, "bob is commander", "it says what the command did")
	s.ErrorContains(second.err, "already acknowledged by bob")
}

func (s *incidentSuite) TestP4DoesNotPage() {
	s.env.OnActivity(s.acts.Page, mock.Anything, mock.Anything).Never()
	s.env.OnActivity(s.acts.NotifyPerson, mock.Anything, mock.Anything).Never()
	in := s.input()
	in.Severity = "P4"
	s.resolveAt(time.Hour)
	s.env.ExecuteWorkflow(workflows.IncidentWorkflow, in)
	s.result()
}

func (s *incidentSuite) TestSearchAttributesFollowTheIncident() {
	s.recordPages()
	type upsert struct {
		at                                   time.Duration
		severity, status, service, commander string
	}
	var upserts []upsert
	s.env.OnUpsertTypedSearchAttributes(mock.Anything).Return(nil).Run(func(args mock.Arguments) {
		sa := args.Get(0).(temporal.SearchAttributes)
		var u upsert
		u.at = s.env.Now().Sub(s.start)
		u.severity, _ = sa.GetKeyword(workflows.SearchSeverity)
		u.status, _ = sa.GetKeyword(workflows.SearchStatus)
		u.service, _ = sa.GetKeyword(workflows.SearchService)
		u.commander, _ = sa.GetKeyword(workflows.SearchCommander)
		upserts = append(upserts, u)
	})
	var memos []map[string]interface{}
	s.env.OnUpsertMemo(mock.Anything).Return(nil).Run(func(args mock.Arguments) {
		memos = append(memos, args.Get(0).(map[string]interface{}))
	})
	s.at(time.Minute, func() { s.signal(workflows.SignalAck, workflows.ActionRequest{By: "bob"}) })
	s.resolveAt(2 * time.Minute)
	s.env.ExecuteWorkflow(workflows.IncidentWorkflow, s.input())
	s.result()
	s.Equal([]upsert{
		{at: 0, severity: "P2", status: "triggered", service: "checkout"},
		{at: time.Minute, status: "acknowledged", commander: "bob"},
		{at: 2 * time.Minute, status: "monitoring"},
		{at: 32 * time.Minute, status: "closed"},
	}, upserts)
	s.Equal([]map[string]interface{}{{workflows.MemoTitle: "checkout 5xx"}}, memos)
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

func TestIncidentIDIsSafeAndCollisionFree(t *testing.T) {
	for _, tc := range []struct{ key, want string }{
		{"checkout-5xx", "incident-checkout-5xx"},
		{"Checkout-5xx", "incident-checkout-5xx-"},
		{`{}:{alertname="HighErrorRate"}`, "incident-alertname-higherrorrate-"},
		{"", "incident-"},
	} {
		got := workflows.IncidentID(tc.key)
		require.Contains(t, got, tc.want, tc.key)
	}
	require.NotEqual(t, workflows.IncidentID("a b"), workflows.IncidentID("a/b"))
	require.Equal(t, workflows.IncidentID("x"), workflows.NormalizeID("incident-x"))
	require.Equal(t, "incident-x", workflows.NormalizeID("x"))
}

func converterFromPayloads(can *workflow.ContinueAsNewError, out any) error {
	return converter.GetDefaultDataConverter().FromPayloads(can.Input, out)
}

// The Temporal UI shows each incident at a glance (its current details):
// severity, status, commander, and the next page or why there is none.
func (s *incidentSuite) TestCurrentDetailsShowTheIncidentAtAGlance() {
	s.recordPages()
	var before, after string
	details := func() string {
		v, err := s.env.QueryWorkflow("__temporal_workflow_metadata")
		s.Require().NoError(err)
		var md sdkpb.WorkflowMetadata
		s.Require().NoError(v.Get(&md))
		return md.GetCurrentDetails()
	}
	s.at(time.Minute, func() { before = details() })
	s.at(2*time.Minute, func() { s.signal(workflows.SignalAck, workflows.ActionRequest{By: "bob"}) })
	s.at(3*time.Minute, func() { after = details() })
	s.resolveAt(4 * time.Minute)
	s.env.ExecuteWorkflow(workflows.IncidentWorkflow, s.input())
	s.result()
	s.Contains(before, "**P2 triggered** on checkout: checkout 5xx")
	s.Contains(before, "- commander: none yet")
	s.Contains(before, "- next page: round 1 step 2 at ")
	s.Contains(after, "**P2 acknowledged**")
	s.Contains(after, "- commander: bob")
	s.NotContains(after, "next page")
}

// An integration's acknowledge (Opsgenie, Events v2) stops the paging but
// leads nothing: the first person to act becomes commander.
func (s *incidentSuite) TestIntegrationAckMakesNobodyCommander() {
	s.recordPages()
	var afterAck workflows.Incident
	s.at(time.Minute, func() { s.signal(workflows.SignalAck, workflows.ActionRequest{By: "integration:opsgenie"}) })
	s.at(2*time.Minute, func() { afterAck = s.state() })
	s.resolveAt(3 * time.Minute)
	s.env.ExecuteWorkflow(workflows.IncidentWorkflow, s.input())
	s.result()
	s.Equal(incident.StatusAcknowledged, afterAck.Status)
	s.Equal("integration:opsgenie", afterAck.AcknowledgedBy)
	s.Empty(afterAck.Commander)
}
