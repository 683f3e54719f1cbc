package workflows_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/suite"
	"go.temporal.io/sdk/client"
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

// The privacy contact is dana; the deadline and reminders are the
// defaults: 72h, reminded at 24h, 48h and 66h.
const breachConfig = `
slack: {announce_channel: "#incidents"}
privacy: {contact: "user:dana"}
services:
  checkout: {escalation_policy: primary}
escalation_policies:
  primary: {steps: [{targets: [user:alice]}]}
users:
  alice: {}
  dana: {}
`

type breachSuite struct {
	suite.Suite
	testsuite.WorkflowTestSuite
	env     *testsuite.TestWorkflowEnvironment
	acts    *activities.Activities
	cfg     *config.Config
	start   time.Time
	mu      sync.Mutex
	told    []breachTold
	mirrors []workflows.BreachMirror
}

type breachTold struct {
	at       time.Duration
	target   string
	key      string
	text     string
	exercise bool
}

func TestBreachWorkflow(t *testing.T) { suite.Run(t, new(breachSuite)) }

const breachID = "breach-db-leak"

func (s *breachSuite) SetupTest() {
	var err error
	s.cfg, err = config.Parse([]byte(breachConfig))
	s.Require().NoError(err)
	s.SetLogger(log.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))))
	s.env = s.NewTestWorkflowEnvironment()
	s.acts = &activities.Activities{Config: s.cfg, Notifiers: []activities.Notifier{&activities.Console{Out: discard{}}}}
	worker.Register(s.env, s.acts)
	s.env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: breachID})
	s.start = s.env.Now()
	s.told, s.mirrors = nil, nil
	// The incident it mirrors to: it may have closed, which the breach
	// must not mind.
	s.env.OnSignalExternalWorkflow(mock.Anything, "incident-db-leak", "", workflows.SignalBreachMirror, mock.Anything).Maybe().Return(
		func(_, _, _, _ string, arg any) error {
			s.mu.Lock()
			defer s.mu.Unlock()
			s.mirrors = append(s.mirrors, arg.(workflows.BreachMirror))
			return errors.New("unknown external workflow execution: the incident closed")
		})
}

// recordTold answers every announcement not matched by a mock set up
// before it, and records it.
func (s *breachSuite) recordTold() {
	s.env.OnActivity(s.acts.Announce, mock.Anything, mock.Anything).Maybe().Return(
		func(_ context.Context, req incident.AnnounceRequest) error {
			s.mu.Lock()
			defer s.mu.Unlock()
			key := strings.TrimPrefix(req.IdempotencyKey, breachID+"/")
			_, key, _ = strings.Cut(key, "/") // the awareness time
			key = strings.TrimSuffix(key, "/"+req.Target)
			s.told = append(s.told, breachTold{at: s.env.Now().Sub(s.start), target: req.Target, key: key, text: req.Text, exercise: req.Exercise})
			return nil
		})
}

func (s *breachSuite) AfterTest(_, _ string) { s.env.AssertExpectations(s.T()) }

func (s *breachSuite) input() workflows.BreachInput {
	return workflows.BreachInput{IncidentID: "incident-db-leak", Title: "Customer export bucket public", Service: "checkout", Severity: "P1",
		Commander: "alice", DeclaredBy: "alice", AwareAt: s.start, Plan: s.cfg.BreachPlan()}
}

func (s *breachSuite) at(d time.Duration, fn func()) { s.env.RegisterDelayedCallback(fn, d) }

func (s *breachSuite) tick(d time.Duration, item, by string) {
	s.at(d, func() {
		s.env.SignalWorkflow(workflows.SignalBreachCheck, workflows.BreachCheckRequest{By: by, Item: item, Note: "ref " + item})
	})
}

func (s *breachSuite) state() workflows.BreachState {
	v, err := s.env.QueryWorkflow(workflows.QueryState)
	s.Require().NoError(err)
	var st workflows.BreachState
	s.Require().NoError(v.Get(&st))
	return st
}

func (s *breachSuite) run(in workflows.BreachInput) workflows.BreachState {
	s.env.ExecuteWorkflow(workflows.BreachWorkflow, in)
	s.Require().True(s.env.IsWorkflowCompleted())
	s.Require().NoError(s.env.GetWorkflowError())
	var st workflows.BreachState
	s.Require().NoError(s.env.GetWorkflowResult(&st))
	return st
}

// toldAt is when each message of key went out, and to whom.
func (s *breachSuite) toldAt(key string) map[string]time.Duration {
	out := map[string]time.Duration{}
	for _, t := range s.told {
		if t.key == key {
			out[t.target] = t.at
		}
	}
	return out
}

func (s *breachSuite) TestRemindersAt24_48_66hThenTheDeadlineEscalates() {
	s.recordTold()
	s.at(time.Hour, func() {
		st := s.state()
		s.Equal(workflows.BreachOpen, st.Status)
		s.Require().NotNil(st.NextReminderAt)
		s.True(s.start.Add(24*time.Hour).Equal(*st.NextReminderAt), "%s", st.NextReminderAt)
		s.True(s.start.Add(72*time.Hour).Equal(st.Deadline), "%s", st.Deadline)
	})
	s.at(67*time.Hour, func() {
		st := s.state()
		s.Nil(st.NextReminderAt, "66h was the last reminder")
		s.Equal(3, st.RemindersSent)
	})
	s.at(73*time.Hour, func() {
		st := s.state()
		s.Equal(workflows.BreachOverdue, st.Status)
		s.True(st.Overdue)
		s.Require().NotNil(st.OverdueAt)
		s.True(s.start.Add(72*time.Hour).Equal(*st.OverdueAt), "%s", st.OverdueAt)
	})
	s.tick(80*time.Hour, incident.BreachRegulatorNotified, "dana")
	s.tick(81*time.Hour, incident.BreachUsersNotified, "dana")
	s.tick(82*time.Hour, incident.BreachRecordsKept, "alice")
	st := s.run(s.input())

	both := func(d time.Duration) map[string]time.Duration {
		return map[string]time.Duration{"user:alice": d, "user:dana": d}
	}
	s.Equal(both(24*time.Hour), s.toldAt("reminder/0"))
	s.Equal(both(48*time.Hour), s.toldAt("reminder/1"))
	s.Equal(both(66*time.Hour), s.toldAt("reminder/2"))
	s.Equal(map[string]time.Duration{"user:alice": 72 * time.Hour, "user:dana": 72 * time.Hour, "slack_channel:#incidents": 72 * time.Hour},
		s.toldAt("overdue"), "commander, privacy contact and the announce channel")
	s.Len(s.told, 9)
	s.Contains(s.toldAt2("reminder/2"), "in 6h0m0s (GDPR Art. 33)")
	s.Contains(s.toldAt2("overdue"), "OVERDUE")

	s.Equal(workflows.BreachDone, st.Status)
	s.Equal(82*time.Hour, s.env.Now().Sub(s.start), "ends when the last item is ticked")
	s.Equal("dana", st.Checklist[0].By)
	s.Equal("ref regulator_notified", st.Checklist[0].Note)
	s.True(breachTimelineHas(st, workflows.KindBreachCheck, "regulator_notified ticked, 80h0m0s after awareness: 8h0m0s after the deadline"), "%v", st.Timeline)
	s.True(breachTimelineHas(st, workflows.KindOverdue, "OVERDUE"))
	s.True(breachTimelineHas(st, workflows.KindFinished, "data breach checklist complete"))
	// The incident was told of the deadline and of each tick; that it had
	// closed (the signal failing) changed nothing.
	s.Require().Len(s.mirrors, 4)
	s.Equal("", s.mirrors[0].Item)
	s.Equal(breachID, s.mirrors[0].Workflow)
	s.Equal(incident.BreachRegulatorNotified, s.mirrors[1].Item)
}

func (s *breachSuite) toldAt2(key string) string {
	for _, t := range s.told {
		if t.key == key {
			return t.text
		}
	}
	return ""
}

func (s *breachSuite) TestRegulatorNotifiedAt30hStopsTheReminders() {
	// Set up first: testify takes the first mock that matches.
	for _, key := range []string{"/reminder/1/", "/reminder/2/", "/overdue/"} {
		s.env.OnActivity(s.acts.Announce, mock.Anything, mock.MatchedBy(func(req incident.AnnounceRequest) bool {
			return strings.Contains(req.IdempotencyKey, key)
		})).Never()
	}
	s.recordTold()
	s.tick(30*time.Hour, incident.BreachRegulatorNotified, "dana")
	s.at(31*time.Hour, func() {
		st := s.state()
		s.Equal(workflows.BreachNotified, st.Status)
		s.Nil(st.NextReminderAt)
	})
	s.tick(100*time.Hour, incident.BreachUsersNotified, "dana")
	s.tick(100*time.Hour, incident.BreachRecordsKept, "dana")
	st := s.run(s.input())

	s.Equal(map[string]time.Duration{"user:alice": 24 * time.Hour, "user:dana": 24 * time.Hour}, s.toldAt("reminder/0"))
	s.Len(s.told, 2, "nothing after the regulator was notified")
	s.False(st.Overdue)
	s.Equal(1, st.RemindersSent)
	s.True(breachTimelineHas(st, workflows.KindBreachCheck, "regulator_notified ticked, 30h0m0s after awareness, within the deadline; reminders stop: ref regulator_notified"))
}

// Awareness before the declaration: reminders already past are skipped,
// and a deadline already past escalates at once.
func (s *breachSuite) TestDeclaredLate() {
	for _, tc := range []struct {
		name      string
		ago       time.Duration
		firstKey  string
		firstAt   time.Duration
		remainder int
	}{
		{"30h after awareness", 30 * time.Hour, "reminder/1", 18 * time.Hour, 1},
		{"80h after awareness", 80 * time.Hour, "overdue", 0, 3},
	} {
		s.Run(tc.name, func() {
			s.SetupTest()
			s.recordTold()
			s.tick(100*time.Hour, incident.BreachRegulatorNotified, "dana")
			s.tick(100*time.Hour, incident.BreachUsersNotified, "dana")
			s.tick(100*time.Hour, incident.BreachRecordsKept, "dana")
			in := s.input()
			in.AwareAt = s.start.Add(-tc.ago)
			st := s.run(in)
			s.Require().NotEmpty(s.told)
			s.Equal(tc.firstKey, s.told[0].key)
			s.Equal(tc.firstAt, s.told[0].at.Truncate(time.Second), "a deadline already past fires at once")
			s.True(breachTimelineHas(st, workflows.KindStarted, "reminder(s) already past were skipped"))
			s.Equal(3, st.RemindersSent)
		})
	}
}

// Shadow records every reminder and sends none; an exercise sends them
// all, each marked.
func (s *breachSuite) TestShadowAndExercise() {
	for _, tc := range []struct {
		name     string
		shadow   bool
		exercise bool
		sent     int
	}{
		{"shadow", true, false, 0},
		{"exercise", false, true, 9},
	} {
		s.Run(tc.name, func() {
			s.SetupTest()
			if tc.shadow {
				s.env.OnActivity(s.acts.Announce, mock.Anything, mock.Anything).Never()
			}
			s.recordTold()
			s.tick(80*time.Hour, incident.BreachRegulatorNotified, "dana")
			s.tick(80*time.Hour, incident.BreachUsersNotified, "dana")
			s.tick(80*time.Hour, incident.BreachRecordsKept, "dana")
			in := s.input()
			in.Shadow, in.Exercise = tc.shadow, tc.exercise
			st := s.run(in)
			s.Len(s.told, tc.sent)
			for _, t := range s.told {
				s.True(t.exercise, "%s to %s is marked", t.key, t.target)
			}
			reminders := 0
			for _, e := range st.Timeline {
				if e.Kind == workflows.KindReminder {
					reminders++
					if tc.shadow {
						s.Contains(e.Message, "(shadow mode: nothing sent)")
					}
				}
			}
			s.Equal(3, reminders, "the timeline has every reminder")
		})
	}
}

func (s *breachSuite) TestCheckValidation() {
	s.recordTold()
	cases := []struct {
		name  string
		req   workflows.BreachCheckRequest
		field string // a FieldError (400) naming it, else a conflict (409)
		says  string
	}{
		{"unknown item", workflows.BreachCheckRequest{By: "dana", Item: "regulator-notified"}, "item", "is not on the checklist (one of regulator_notified, users_notified, records_kept)"},
		{"nobody", workflows.BreachCheckRequest{Item: incident.BreachRecordsKept}, "by", "required"},
		{"long note", workflows.BreachCheckRequest{By: "dana", Item: incident.BreachRecordsKept, Note: strings.Repeat("x", incident.MaxText+1)}, "note", "too long"},
		{"twice", workflows.BreachCheckRequest{By: "dana", Item: incident.BreachRegulatorNotified}, "", "regulator_notified was already ticked by dana"},
	}
	s.tick(time.Hour, incident.BreachRegulatorNotified, "dana")
	got := make([]error, len(cases))
	for i, c := range cases {
		s.at(2*time.Hour, func() {
			s.env.UpdateWorkflow(workflows.UpdateBreachCheck, "", &testsuite.TestUpdateCallback{
				OnReject: func(err error) { got[i] = err }, OnAccept: func() {}, OnComplete: func(any, error) {},
			}, c.req)
		})
	}
	// A refused signal is recorded, not applied.
	s.at(2*time.Hour, func() {
		s.env.SignalWorkflow(workflows.SignalBreachCheck, workflows.BreachCheckRequest{By: "dana", Item: "nope"})
	})
	s.tick(3*time.Hour, incident.BreachUsersNotified, "dana")
	s.tick(3*time.Hour, incident.BreachRecordsKept, "dana")
	st := s.run(s.input())
	for i, c := range cases {
		s.Run(c.name, func() { requireRefusal(s.T(), got[i], c.field, c.says) })
	}
	s.True(breachTimelineHas(st, workflows.KindIgnored, `breach-check ignored: item: "nope" is not on the checklist`))
}

func requireRefusal(t *testing.T, err error, field, says string) {
	t.Helper()
	if err == nil {
		t.Fatalf("accepted; want a refusal saying %q", says)
	}
	if !strings.Contains(err.Error(), says) {
		t.Errorf("%v does not say %q", err, says)
	}
	var appErr *temporal.ApplicationError
	isField := errors.As(err, &appErr) && appErr.Type() == workflows.FieldError
	if isField != (field != "") {
		t.Errorf("%v: field error %v, want field %q", err, isField, field)
	}
	if field != "" && !strings.HasPrefix(appErr.Message(), field+": ") {
		t.Errorf("%q does not name %s", appErr.Message(), field)
	}
}

func breachTimelineHas(st workflows.BreachState, kind workflows.Kind, text string) bool {
	for _, e := range st.Timeline {
		if e.Kind == kind && strings.Contains(e.Message, text) {
			return true
		}
	}
	return false
}

// On the incident: the Update starts the child (breach-<key>) with the
// privacy settings it came with, once; the child's mirror shows on the
// incident, and one from another breach workflow does not.
func (s *incidentSuite) TestDataBreachStartsItsDeadlineChild() {
	s.recordPages()
	type started struct {
		id string
		in workflows.BreachInput
	}
	var children []started
	s.env.OnWorkflow(workflows.BreachWorkflowName, mock.Anything, mock.Anything).Return(
		func(ctx workflow.Context, in workflows.BreachInput) (*workflows.BreachState, error) {
			s.mu.Lock()
			defer s.mu.Unlock()
			children = append(children, started{workflow.GetInfo(ctx).WorkflowExecution.ID, in})
			return &workflows.BreachState{}, nil
		}).Once()
	plan := incident.BreachPlan{Contact: "user:dana", Announce: "slack_channel:#incidents", Deadline: 72 * time.Hour,
		Reminders: []time.Duration{24 * time.Hour, 48 * time.Hour, 66 * time.Hour}}
	aware := s.start.Add(-2 * time.Hour)
	var declared error
	s.at(time.Minute, func() {
		s.update(workflows.UpdateDataBreach, workflows.BreachRequest{By: "alice", AwareAt: &aware, Note: "export bucket was public", Plan: &plan}, &declared)
	})
	future, old := s.start.Add(time.Hour), s.start.Add(-31*24*time.Hour)
	cases := []struct {
		name  string
		req   workflows.BreachRequest
		field string
		says  string
	}{
		{"aware in the future", workflows.BreachRequest{By: "alice", AwareAt: &future}, "aware_at", "is in the future"},
		{"aware too long ago", workflows.BreachRequest{By: "alice", AwareAt: &old}, "aware_at", "more than 720h0m0s ago"},
		{"no deadline", workflows.BreachRequest{By: "alice", Plan: &incident.BreachPlan{}}, "plan.deadline", "must be from 1s to 720h0m0s"},
		{"reminder after the deadline", workflows.BreachRequest{By: "alice", Plan: &incident.BreachPlan{Deadline: time.Hour, Reminders: []time.Duration{2 * time.Hour}}}, "plan.reminders[0]", "before the deadline"},
		{"nobody", workflows.BreachRequest{}, "by", "required"},
	}
	got := make([]error, len(cases))
	for i, c := range cases {
		s.at(30*time.Second, func() { s.update(workflows.UpdateDataBreach, c.req, &got[i]) })
	}
	var twice error
	s.at(2*time.Minute, func() { s.update(workflows.UpdateDataBreach, workflows.BreachRequest{By: "bob"}, &twice) })
	s.at(3*time.Minute, func() {
		now := s.env.Now()
		s.signal(workflows.SignalBreachMirror, workflows.BreachMirror{Workflow: "breach-other", Item: incident.BreachRegulatorNotified, By: "mallory", At: now, Message: "data breach: from elsewhere"})
		s.signal(workflows.SignalBreachMirror, workflows.BreachMirror{Workflow: "breach-checkout-5xx", Item: incident.BreachRegulatorNotified, By: "dana", At: now, Message: "data breach: regulator_notified ticked"})
	})
	s.at(4*time.Minute, func() {
		b := s.state().DataBreach
		s.Require().NotNil(b)
		s.Equal("breach-checkout-5xx", b.Workflow)
		s.True(aware.Equal(b.AwareAt), "%s", b.AwareAt)
		s.True(aware.Add(72*time.Hour).Equal(b.Deadline), "%s", b.Deadline)
		s.Equal("dana", b.Checklist[0].By)
		s.True(b.Checklist[0].Done)
		s.False(b.Checklist[1].Done)
	})
	s.resolveAt(5 * time.Minute)
	st := s.run("P3")

	s.NoError(declared)
	for i, c := range cases {
		s.Run(c.name, func() { requireRefusal(s.T(), got[i], c.field, c.says) })
	}
	requireRefusal(s.T(), twice, "", "is already a data breach (declared by alice")
	s.Require().Len(children, 1)
	s.Equal("breach-checkout-5xx", children[0].id)
	in := children[0].in
	s.Equal(st.ID, in.IncidentID)
	s.Equal(plan, in.Plan)
	s.True(aware.Equal(in.AwareAt), "%s", in.AwareAt)
	s.Equal("export bucket was public", in.Note)
	s.True(timelineHas(st, workflows.KindBreach, "personal-data breach: aware since "+aware.UTC().Format(time.RFC3339)))
	s.True(timelineHas(st, workflows.KindBreachCheck, "regulator_notified ticked"))
	s.False(timelineHas(st, workflows.KindBreachCheck, "from elsewhere"), "another breach's mirror is ignored")
	s.Require().NotNil(st.DataBreach, "the incident's JSON keeps it after it closes")
}
