package workflows_test

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/incidentflow/incidentflow/activities"
	"github.com/incidentflow/incidentflow/incident"
	"github.com/incidentflow/incidentflow/workflows"
)

// Defaults of the suite's config: P1 15m / P2 30m / P3 2h / P4 no cadence;
// resolve_timeout P1 1h, P2 2h; resolve_stable_for 30m; no_progress_nudge
// 30m; commander_handover 2h.

type announcement struct {
	at   time.Duration
	kind string
	text string
}

// recordAnnouncements keeps reminders, nudges and updates, named by the
// kind their idempotency key starts with.
func (s *incidentSuite) recordAnnouncements() *[]announcement {
	var out []announcement
	s.env.OnActivity(s.acts.Announce, mock.Anything, mock.Anything).Maybe().Return(
		func(_ context.Context, req incident.AnnounceRequest) error {
			kind := strings.TrimPrefix(req.IdempotencyKey, req.IncidentID+"/")
			kind, _, _ = strings.Cut(kind, "/")
			at := s.env.Now().Sub(s.start)
			// Mocked activities run on their own goroutines.
			s.mu.Lock()
			defer s.mu.Unlock()
			out = append(out, announcement{at: at, kind: kind, text: req.Text})
			return nil
		})
	return &out
}

func kinds(as []announcement, kind string) []time.Duration {
	var out []time.Duration
	for _, a := range as {
		if a.kind == kind {
			out = append(out, a.at)
		}
	}
	return out
}

func (s *incidentSuite) run(severity string) workflows.Incident {
	in := s.input()
	in.Severity = severity
	s.env.ExecuteWorkflow(workflows.IncidentWorkflow, in)
	return s.result()
}

func (s *incidentSuite) ackAt(d time.Duration, by string) {
	s.at(d, func() { s.signal(workflows.SignalAck, workflows.ActionRequest{By: by}) })
}

func (s *incidentSuite) TestCadenceRemindersPerSeverity() {
	for _, tc := range []struct {
		severity string
		due      []time.Duration
		overdue  []time.Duration
	}{
		{"P1", []time.Duration{15 * time.Minute, 30 * time.Minute, 45 * time.Minute}, []time.Duration{22*time.Minute + 30*time.Second, 37*time.Minute + 30*time.Second}},
		{"P2", []time.Duration{30 * time.Minute}, []time.Duration{45 * time.Minute}},
		{"P3", nil, nil},
		{"P4", nil, nil},
	} {
		s.Run(tc.severity, func() {
			s.SetupTest()
			s.recordPages()
			ann := s.recordAnnouncements()
			s.ackAt(time.Minute, "alice")
			s.resolveAt(50 * time.Minute)
			s.run(tc.severity)
			s.Equal(tc.due, kinds(*ann, "update-due"), "reminders to the comms lead (or commander)")
			s.Equal(tc.overdue, kinds(*ann, "update-overdue"), "nudges to the commander")
		})
	}
}

func (s *incidentSuite) TestP3CadenceIsTwoHours() {
	s.recordPages()
	ann := s.recordAnnouncements()
	s.ackAt(time.Minute, "alice")
	s.resolveAt(3*time.Hour + 10*time.Minute)
	s.run("P3")
	s.Equal([]time.Duration{2 * time.Hour}, kinds(*ann, "update-due"))
	s.Equal([]time.Duration{3 * time.Hour}, kinds(*ann, "update-overdue"))
}

func (s *incidentSuite) TestStatusUpdateResetsCadenceAndSaysWhenNextIsDue() {
	s.recordPages()
	ann := s.recordAnnouncements()
	s.ackAt(time.Minute, "alice")
	s.at(20*time.Minute, func() {
		s.signal(workflows.SignalStatusUpdate, workflows.StatusUpdate{By: "alice", Stage: "identified", Message: "bad deploy", Impact: "5% of checkouts fail", ETA: "15m"})
	})
	s.at(21*time.Minute, func() {
		st := s.state()
		s.Equal(incident.StageIdentified, st.Stage)
		s.Require().NotNil(st.NextUpdateDue)
		s.Equal(35*time.Minute, st.NextUpdateDue.Sub(s.start))
		s.Require().NotNil(st.LastUpdate)
		s.Equal("5% of checkouts fail", st.LastUpdate.Impact)
	})
	s.resolveAt(44 * time.Minute)
	s.run("P1")
	s.Equal([]time.Duration{15 * time.Minute, 35 * time.Minute}, kinds(*ann, "update-due"))
	s.Equal([]time.Duration{42*time.Minute + 30*time.Second}, kinds(*ann, "update-overdue"))
	updates := kinds(*ann, "update")
	s.Require().Len(updates, 1)
	s.Equal(20*time.Minute, updates[0])
}

func (s *incidentSuite) TestNoProgressNudgeAndCommanderHandover() {
	s.recordPages()
	ann := s.recordAnnouncements()
	s.ackAt(time.Minute, "alice")
	s.at(40*time.Minute, func() {
		s.signal(workflows.SignalStatusUpdate, workflows.StatusUpdate{By: "alice", Stage: "identified", Message: "found it"})
	})
	s.resolveAt(2*time.Hour + 10*time.Minute)
	s.run("P3")
	s.Equal([]time.Duration{30 * time.Minute, 70 * time.Minute}, kinds(*ann, "no-progress"), "30m without a stage change, again 30m after the next")
	s.Equal([]time.Duration{2*time.Hour + time.Minute}, kinds(*ann, "handover"), "2h after alice became commander")
}

func (s *incidentSuite) TestAckTimeoutRepagesFromTheNextStep() {
	s.recordPages()
	s.recordAnnouncements()
	s.ackAt(time.Minute, "alice")
	s.at(2*time.Hour+2*time.Minute, func() {
		st := s.state()
		s.Equal(incident.StatusTriggered, st.Status)
		s.Require().NotNil(st.MTTASeconds)
		s.InDelta(60, *st.MTTASeconds, 0.001, "MTTA stays the first ack")
		s.signal(workflows.SignalAck, workflows.ActionRequest{By: "bob"})
	})
	s.resolveAt(2*time.Hour + 3*time.Minute)
	s.run("P2")
	s.Equal([]page{
		{at: 0, target: "user:alice", round: 1, step: 1},
		{at: 2*time.Hour + time.Minute, target: "user:bob", round: 1, step: 2},
	}, s.pages)
}

func (s *incidentSuite) TestStatusUpdatePostponesAckTimeout() {
	s.recordPages()
	s.recordAnnouncements()
	s.ackAt(time.Minute, "alice")
	s.at(90*time.Minute, func() {
		s.signal(workflows.SignalStatusUpdate, workflows.StatusUpdate{By: "alice", Stage: "investigating", Message: "still digging"})
	})
	s.resolveAt(3*time.Hour + 33*time.Minute)
	s.run("P2")
	s.Equal([]page{
		{at: 0, target: "user:alice", round: 1, step: 1},
		{at: 3*time.Hour + 30*time.Minute, target: "user:bob", round: 1, step: 2},
	}, s.pages, "2h after the last update, not 2h after the ack")
}

func (s *incidentSuite) TestMonitoringWindowExpiresIntoResolved() {
	s.recordPages()
	s.recordAnnouncements()
	s.ackAt(time.Minute, "alice")
	s.resolveAt(10 * time.Minute)
	s.at(11*time.Minute, func() {
		st := s.state()
		s.Equal(incident.StatusMonitoring, st.Status)
		s.Equal(incident.StageMonitoring, st.Stage)
		s.Require().NotNil(st.MonitoringUntil)
		s.Equal(40*time.Minute, st.MonitoringUntil.Sub(s.start))
	})
	st := s.run("P3")
	s.Equal(incident.StatusClosed, st.Status, "P3 needs no post-mortem: closed at resolution")
	s.Equal(40*time.Minute, st.ResolvedAt.Sub(s.start))
	s.Equal(40*time.Minute, st.ClosedAt.Sub(s.start))
	s.Equal(10*time.Minute, st.MitigatedAt.Sub(s.start))
	s.InDelta(600, *st.MTTRSeconds, 0.001, "MTTR is trigger to mitigation")
	s.Equal(40*time.Minute, s.env.Now().Sub(s.start))
}

func (s *incidentSuite) TestAlertFiringInsideTheWindowReopensAndPages() {
	s.recordPages()
	s.recordAnnouncements()
	s.ackAt(time.Minute, "alice")
	s.resolveAt(10 * time.Minute)
	s.at(20*time.Minute, func() {
		s.signal(workflows.SignalAlert, workflows.AlertSignal{Fingerprint: "x", Status: incident.AlertFiring, Source: "am"})
	})
	s.ackAt(22*time.Minute, "alice")
	s.resolveAt(30 * time.Minute)
	st := s.run("P3")
	s.Equal([]page{
		{at: 0, target: "user:alice", round: 1, step: 1},
		{at: 20 * time.Minute, target: "user:alice", round: 1, step: 1},
	}, s.pages)
	s.Equal(1, st.Escalation.Generation)
	s.Equal(60*time.Minute, st.ResolvedAt.Sub(s.start), "a fresh window from the second resolve")
}

func (s *incidentSuite) TestReopenByHandPages() {
	s.recordPages()
	s.recordAnnouncements()
	s.ackAt(time.Minute, "alice")
	s.resolveAt(10 * time.Minute)
	s.at(15*time.Minute, func() {
		s.signal(workflows.SignalReopen, workflows.ActionRequest{By: "bob", Note: "customers still see errors"})
	})
	s.ackAt(16*time.Minute, "bob")
	s.resolveAt(20 * time.Minute)
	st := s.run("P3")
	s.Equal([]page{
		{at: 0, target: "user:alice", round: 1, step: 1},
		{at: 15 * time.Minute, target: "user:alice", round: 1, step: 1},
	}, s.pages)
	s.Equal("alice", st.Commander, "reopening keeps the commander")
}

func (s *incidentSuite) TestUpdateValidatorsRejectInvalidTransitions() {
	s.recordPages()
	s.recordAnnouncements()
	type call struct {
		at      time.Duration
		name    string
		arg     any
		wantErr string
	}
	calls := []call{
		{2 * time.Minute, workflows.UpdateReopen, workflows.ActionRequest{By: "bob"}, "only a resolved (or monitored) incident can be reopened"},
		{2 * time.Minute, workflows.UpdateAssignRole, workflows.RoleRequest{By: "bob", Role: "chef", User: "bob"}, `role: unknown role "chef"`},
		// Whether a user is configured is for the intake to say: the incident
		// keeps no user list. It bounds what it keeps.
		{2 * time.Minute, workflows.UpdateAssignRole, workflows.RoleRequest{By: "bob", Role: "comms", User: strings.Repeat("z", 200)}, `user: 200 bytes is too long (at most 128)`},
		{2 * time.Minute, workflows.UpdateNote, workflows.NoteRequest{By: "bob", Text: strings.Repeat("n", 900<<10)}, `text: 921600 bytes is too long (at most 4000)`},
		{2 * time.Minute, workflows.UpdateStatusUpdate, workflows.StatusUpdate{By: "bob", Stage: "identified", Message: "x", Impact: strings.Repeat("i", 5000)}, `impact: 5000 bytes is too long (at most 4000)`},
		{2 * time.Minute, workflows.UpdateSetSeverity, workflows.SeverityRequest{By: "bob", Severity: "P9"}, `severity: unknown severity "P9" (one of P1, P2, P3, P4)`},
		{2 * time.Minute, workflows.UpdateSetSeverity, workflows.SeverityRequest{By: "bob", Severity: "P3"}, "already P3"},
		{2 * time.Minute, workflows.UpdateStatusUpdate, workflows.StatusUpdate{By: "bob", Stage: "fixing", Message: "x"}, `stage: unknown stage "fixing"`},
		{2 * time.Minute, workflows.UpdateStatusUpdate, workflows.StatusUpdate{By: "bob", Stage: "identified"}, "message: required"},
		{2 * time.Minute, workflows.UpdateNote, workflows.NoteRequest{By: "bob"}, "text: required"},
		{2 * time.Minute, workflows.UpdateNote, workflows.NoteRequest{Text: "hi"}, "by: required"},
		{2 * time.Minute, workflows.UpdateAssignRole, workflows.RoleRequest{By: "bob", Role: "comms", User: "carol"}, ""},
		{3 * time.Minute, workflows.UpdateAssignRole, workflows.RoleRequest{By: "bob", Role: "comms", User: "carol"}, "carol is already comms"},
		{11 * time.Minute, workflows.UpdateAck, workflows.ActionRequest{By: "bob"}, "being monitored; reopen it first"},
		{11 * time.Minute, workflows.UpdateResolve, workflows.ActionRequest{By: "bob"}, "already resolved and being monitored"},
		{11 * time.Minute, workflows.UpdateEscalate, workflows.ActionRequest{By: "bob"}, "reopen it to page"},
	}
	got := make([]error, len(calls))
	done := make([]bool, len(calls))
	for i, c := range calls {
		i, c := i, c
		s.at(c.at, func() {
			s.env.UpdateWorkflow(c.name, "", &testsuite.TestUpdateCallback{
				OnReject:   func(err error) { got[i], done[i] = err, true },
				OnAccept:   func() {},
				OnComplete: func(_ interface{}, err error) { got[i], done[i] = err, true },
			}, c.arg)
		})
	}
	s.ackAt(time.Minute, "alice")
	s.resolveAt(10 * time.Minute)
	s.run("P3")
	for i, c := range calls {
		s.True(done[i], "%s at %s answered", c.name, c.at)
		if c.wantErr == "" {
			s.NoError(got[i], c.name)
		} else {
			s.ErrorContains(got[i], c.wantErr, "%s at %s", c.name, c.at)
		}
	}
}

func (s *incidentSuite) TestSeverityRaiseFromNonPagingStartsPaging() {
	s.recordPages()
	s.recordAnnouncements()
	s.at(5*time.Minute, func() { s.signal(workflows.SignalSetSeverity, workflows.SeverityRequest{By: "bob", Severity: "P2"}) })
	s.resolveAt(12 * time.Minute)
	st := s.run("P4")
	s.Equal([]page{
		{at: 5 * time.Minute, target: "user:alice", round: 1, step: 1},
		{at: 10 * time.Minute, target: "user:bob", round: 1, step: 2},
	}, s.pages)
	s.Equal("P2", st.Severity)
}

func (s *incidentSuite) TestSeverityRaiseWhileAcknowledgedTellsFirstStepAndAsksForRoles() {
	s.recordPages()
	ann := s.recordAnnouncements()
	s.ackAt(time.Minute, "alice")
	s.at(5*time.Minute, func() { s.signal(workflows.SignalSetSeverity, workflows.SeverityRequest{By: "alice", Severity: "P1"}) })
	s.at(6*time.Minute, func() {
		st := s.state()
		s.Equal([]string{"comms", "ops", "scribe"}, st.MissingRoles)
		s.signal(workflows.SignalAssignRole, workflows.RoleRequest{By: "alice", Role: "comms", User: "carol"})
	})
	s.at(7*time.Minute, func() { s.Equal([]string{"ops", "scribe"}, s.state().MissingRoles) })
	s.resolveAt(8 * time.Minute)
	st := s.run("P3")
	s.Equal([]page{
		{at: 0, target: "user:alice", round: 1, step: 1},
		{at: 5 * time.Minute, target: "user:alice", round: 1, step: 1},
	}, s.pages)
	s.Equal([]time.Duration{5 * time.Minute}, kinds(*ann, "roles"))
	s.Equal("carol", st.Roles["comms"])
}

func (s *incidentSuite) TestCommanderHandoverRecordsTheNoteAndRestartsTheClock() {
	s.recordPages()
	ann := s.recordAnnouncements()
	s.ackAt(time.Minute, "alice")
	s.at(time.Hour, func() {
		s.signal(workflows.SignalAssignRole, workflows.RoleRequest{By: "alice", Role: "commander", User: "bob", Note: "db failover in progress"})
	})
	s.resolveAt(3*time.Hour + 30*time.Minute)
	st := s.run("P4")
	s.Equal("bob", st.Commander)
	s.Equal([]time.Duration{3 * time.Hour}, kinds(*ann, "handover"), "2h after bob took over, not after alice's start")
	found := false
	for _, e := range st.Timeline {
		if e.Kind == "role" && e.Message == "alice handed commander over to bob: db failover in progress" {
			found = true
		}
	}
	s.True(found, "handover note on the timeline")
}

func (s *incidentSuite) TestContinueAsNewCarriesStateAndTimers() {
	s.recordPages()
	s.recordAnnouncements()
	s.ackAt(time.Minute, "alice")
	s.at(10*time.Minute, func() {
		s.env.SetContinueAsNewSuggested(true)
		s.signal(workflows.SignalNote, workflows.NoteRequest{By: "alice", Text: "checking the db"})
	})
	in := s.input()
	in.Severity = "P2"
	s.env.ExecuteWorkflow(workflows.IncidentWorkflow, in)
	s.Require().True(s.env.IsWorkflowCompleted())
	var can *workflow.ContinueAsNewError
	s.Require().True(errors.As(s.env.GetWorkflowError(), &can), "%v", s.env.GetWorkflowError())
	var next workflows.IncidentInput
	s.Require().NoError(converterFromPayloads(can, &next))
	s.Require().NotNil(next.Resume)
	s.Equal("alice", next.Resume.AcknowledgedBy)
	s.Equal(incident.StatusAcknowledged, next.Resume.Status)
	s.Equal("checking the db", next.Resume.Timeline[len(next.Resume.Timeline)-1].Message, "the pending note was applied first")
	canAt := s.env.Now()

	// The second run resumes at the hand-over time; the ack timeout (P2:
	// 2h after the 1m ack) must still fire at 2h01m from the first start.
	first := s.start
	s.SetupTest()
	s.env.SetStartTime(canAt)
	s.start = first
	s.recordPages()
	ann := s.recordAnnouncements()
	s.at(2*time.Hour+5*time.Minute-canAt.Sub(first), func() { s.signal(workflows.SignalResolve, workflows.ActionRequest{By: "alice"}) })
	s.closeAt(2*time.Hour + 36*time.Minute - canAt.Sub(first))
	s.env.ExecuteWorkflow(workflows.IncidentWorkflow, next)
	st := s.result()
	s.Equal(workflows.KindContinued, st.Timeline[len(next.Resume.Timeline)].Kind, "the second run says it continued")
	s.Equal([]page{{at: 2*time.Hour + time.Minute, target: "user:bob", round: 1, step: 2}}, s.pages)
	s.Equal([]time.Duration{30 * time.Minute, time.Hour, 90 * time.Minute, 2 * time.Hour}, kinds(*ann, "update-due"), "cadence carries on from the first start")
}

func (s *incidentSuite) TestResolvedP1StartsItsPostmortemChildAndCloses() {
	s.recordPages()
	s.recordAnnouncements()
	s.ackAt(time.Minute, "alice")
	s.at(3*time.Minute, func() {
		s.signal(workflows.SignalActionItem, workflows.ActionItemRequest{By: "alice", Title: "Alert on pool saturation", Type: "detect", Owner: "bob", Due: "2026-12-15"})
	})
	s.at(10*time.Minute, func() { s.signal(workflows.SignalResolve, workflows.ActionRequest{By: "alice"}) })
	st := s.run("P1")
	s.Equal(incident.StatusClosed, st.Status, "the incident closes; its post-mortem goes on")
	s.Equal(40*time.Minute, st.ClosedAt.Sub(s.start), "at the end of the 30m monitoring window")
	s.Equal("postmortem-checkout-5xx", st.Postmortem, "named after the key, as the incident is")
	s.Require().Len(s.postmortems, 1)
	pm := s.postmortems[0]
	s.Equal(40*time.Minute, pm.at)
	s.Equal(st.Postmortem, pm.id)
	s.Equal(incident.StatusResolved, pm.in.Incident.Status, "the child gets the incident as resolved")
	s.Equal(40*time.Minute, pm.in.Incident.ResolvedAt.Sub(s.start))
	s.Len(pm.in.Incident.ActionItems, 1)
	s.Equal(st.Timeline[:len(pm.in.Incident.Timeline)], pm.in.Incident.Timeline, "the child's timeline is the incident's up to resolution")
	s.Equal(workflows.KindPostmortem, st.Timeline[len(st.Timeline)-2].Kind)
}

func (s *incidentSuite) TestP3ClosesWithoutAPostmortem() {
	s.recordPages()
	s.recordAnnouncements()
	s.ackAt(time.Minute, "alice")
	s.at(10*time.Minute, func() { s.signal(workflows.SignalResolve, workflows.ActionRequest{By: "alice"}) })
	st := s.run("P3")
	s.Equal(incident.StatusClosed, st.Status)
	s.Empty(st.Postmortem)
	s.Empty(s.postmortems)
}

// Incidents started before the post-mortem child existed wait in
// "resolved" for a close, as they always did.
func (s *incidentSuite) TestIncidentNeedingAPostmortemStaysResolvedUntilClosedBeforePostmortemChild() {
	s.env.OnGetVersion("postmortem-child", workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
	s.recordPages()
	s.recordAnnouncements()
	var closeErr error
	s.at(5*time.Minute, func() {
		s.env.UpdateWorkflow(workflows.UpdateClose, "", &testsuite.TestUpdateCallback{
			OnReject: func(err error) { closeErr = err }, OnAccept: func() {}, OnComplete: func(interface{}, error) {},
		}, workflows.ActionRequest{By: "alice"})
	})
	s.ackAt(time.Minute, "alice")
	s.at(10*time.Minute, func() { s.signal(workflows.SignalResolve, workflows.ActionRequest{By: "alice"}) })
	s.at(5*time.Hour, func() {
		s.Equal(incident.StatusResolved, s.state().Status, "P1 waits for its post-mortem (or a close)")
		s.signal(workflows.SignalAlert, workflows.AlertSignal{Fingerprint: "x", Status: incident.AlertFiring, Source: "am"})
	})
	s.at(5*time.Hour+time.Minute, func() {
		s.Equal(incident.StatusTriggered, s.state().Status, "a resolved incident is still reopened by its alert")
		s.signal(workflows.SignalAck, workflows.ActionRequest{By: "alice"})
		s.signal(workflows.SignalResolve, workflows.ActionRequest{By: "alice"})
	})
	s.closeAt(6 * time.Hour)
	st := s.run("P1")
	s.ErrorContains(closeErr, "only a resolved incident can be closed")
	s.Equal(incident.StatusClosed, st.Status)
	s.Equal(6*time.Hour, st.ClosedAt.Sub(s.start))
	s.Equal(1, st.Escalation.Generation)
	s.Empty(s.postmortems, "no child before the version that starts one")
}

// recordChannels answers OpenChannel and says when it was asked.
func (s *incidentSuite) recordChannels() *[]time.Duration {
	var opened []time.Duration
	s.acts.Slack = &activities.Slack{} // Slack configured; the activity itself is mocked
	s.env.OnActivity(s.acts.OpenChannel, mock.Anything, mock.Anything).Maybe().Return(
		func(_ context.Context, req incident.ChannelRequest) (incident.SlackChannel, error) {
			at := s.env.Now().Sub(s.start)
			s.mu.Lock()
			defer s.mu.Unlock()
			opened = append(opened, at)
			s.Equal([]string{"user:alice"}, req.Invite, "step 1's people are invited")
			s.Equal("slack_channel:#incidents", req.Announce)
			return incident.SlackChannel{ID: "C0INC", Name: "inc-20260101-checkout-5xx-abcd"}, nil
		})
	s.env.OnActivity(s.acts.InviteToChannel, mock.Anything, mock.Anything).Maybe().Return(
		func(_ context.Context, req incident.InviteRequest) error {
			at := s.env.Now().Sub(s.start)
			s.mu.Lock()
			defer s.mu.Unlock()
			s.invites = append(s.invites, inviteCall{at: at, channel: req.Channel, users: req.Users})
			return nil
		})
	s.env.OnActivity(s.acts.UpsertCard, mock.Anything, mock.Anything).Maybe().Return(
		func(_ context.Context, req incident.CardRequest) (incident.CardRef, error) {
			at := s.env.Now().Sub(s.start)
			s.mu.Lock()
			defer s.mu.Unlock()
			s.cards = append(s.cards, cardCall{at: at, req: req})
			return incident.CardRef{Channel: req.Channel, TS: "1700000000.000100"}, nil
		})
	return &opened
}

type inviteCall struct {
	at      time.Duration
	channel string
	users   []string
}

func (s *incidentSuite) TestRespondersWhoAckOrTakeARoleJoinTheChannel() {
	s.recordPages()
	s.recordAnnouncements()
	s.recordChannels()
	s.ackAt(time.Minute, "bob")
	s.at(2*time.Minute, func() {
		s.signal(workflows.SignalAssignRole, workflows.RoleRequest{By: "bob", Role: "comms", User: "carol"})
	})
	s.resolveAt(3 * time.Minute)
	st := s.run("P1")
	s.Equal([]inviteCall{
		{at: time.Minute, channel: "C0INC", users: []string{"bob"}},
		{at: 2 * time.Minute, channel: "C0INC", users: []string{"carol"}},
	}, s.invites)
	for _, e := range st.Timeline {
		s.NotEqual("channel_failed", e.Kind, e.Message)
	}
}

type cardCall struct {
	at  time.Duration
	req incident.CardRequest
}

func (s *incidentSuite) TestCardPostedOnceInTheChannelThenUpdatedOnChanges() {
	s.recordPages()
	s.recordAnnouncements()
	s.recordChannels()
	for i := 1; i <= 50; i++ {
		s.at(time.Duration(i)*time.Second, func() {
			s.signal(workflows.SignalAlert, workflows.AlertSignal{Fingerprint: "fp", Status: incident.AlertFiring, Source: "am"})
		})
	}
	s.ackAt(2*time.Minute, "alice")
	s.at(150*time.Second, func() {
		s.signal(workflows.SignalSetSeverity, workflows.SeverityRequest{By: "alice", Severity: "P2"})
	})
	s.at(3*time.Minute, func() {
		s.signal(workflows.SignalStatusUpdate, workflows.StatusUpdate{By: "alice", Stage: "identified", Message: "bad deploy"})
	})
	s.resolveAt(4 * time.Minute)
	st := s.run("P1")
	var at []time.Duration
	for _, c := range s.cards {
		at = append(at, c.at)
		s.Equal("C0INC", c.req.Channel, "the card lives in the incident channel")
	}
	s.Equal([]time.Duration{0, 2 * time.Minute, 150 * time.Second, 3 * time.Minute, 4 * time.Minute, 34 * time.Minute}, at,
		"posted, then ack, severity, update, monitoring, closed (resolved and closed in one step: the post-mortem goes on apart); 50 duplicate alerts moved nothing")
	s.Equal("P2", s.cards[2].req.Severity)
	s.Nil(s.cards[0].req.Ref, "posted once")
	for _, c := range s.cards[1:] {
		s.Require().NotNil(c.req.Ref, "then updated in place")
	}
	s.Equal(incident.StatusClosed, s.cards[len(s.cards)-1].req.Status)
	s.Equal("[identified] bad deploy", s.cards[3].req.LastUpdate)
	for _, e := range st.Timeline {
		s.NotEqual("card_failed", e.Kind, e.Message)
	}
}

func (s *incidentSuite) TestP1OpensItsChannelAndRemindsThere() {
	s.recordPages()
	opened := s.recordChannels()
	var targets []string
	s.env.OnActivity(s.acts.Announce, mock.Anything, mock.Anything).Maybe().Return(
		func(_ context.Context, req incident.AnnounceRequest) error {
			s.mu.Lock()
			defer s.mu.Unlock()
			targets = append(targets, req.Target)
			return nil
		})
	s.ackAt(time.Minute, "alice")
	s.resolveAt(20 * time.Minute)
	st := s.run("P1")
	s.Equal([]time.Duration{0}, *opened, "opened at once, beside the first page")
	s.Equal([]page{{at: 0, target: "user:alice", round: 1, step: 1}}, s.pages)
	s.Require().NotNil(st.SlackChannel)
	s.Equal("C0INC", st.SlackChannel.ID)
	s.NotEmpty(targets)
	for _, t := range targets {
		s.Equal("slack_channel:C0INC", t, "reminders go to the incident channel")
	}
}

func (s *incidentSuite) TestP3HasNoChannelUntilRaisedToP1() {
	s.recordPages()
	s.recordAnnouncements()
	opened := s.recordChannels()
	s.ackAt(time.Minute, "alice")
	s.at(5*time.Minute, func() { s.signal(workflows.SignalSetSeverity, workflows.SeverityRequest{By: "alice", Severity: "P1"}) })
	s.resolveAt(10 * time.Minute)
	s.run("P3")
	s.Equal([]time.Duration{5 * time.Minute}, *opened)
}

func (s *incidentSuite) TestActionItemsAndPagingSomeone() {
	s.recordPages()
	s.recordAnnouncements()
	var errs []error
	update := func(name string, arg any) {
		s.env.UpdateWorkflow(name, "", &testsuite.TestUpdateCallback{
			OnReject: func(err error) { errs = append(errs, err) }, OnAccept: func() {},
			OnComplete: func(_ interface{}, err error) {
				if err != nil {
					errs = append(errs, err)
				}
			},
		}, arg)
	}
	s.ackAt(time.Minute, "alice")
	s.at(2*time.Minute, func() {
		s.signal(workflows.SignalPage, workflows.PageSomeoneRequest{By: "alice", Target: "carol", Note: "need the db expert"})
		update(workflows.UpdateActionItem, workflows.ActionItemRequest{By: "alice", Title: "Alert on pool saturation", Type: "detect", Owner: "bob", Due: "2026-12-15"})
		update(workflows.UpdateActionItem, workflows.ActionItemRequest{By: "alice", Title: "x", Type: "fix", Owner: "bob"})
		update(workflows.UpdateActionItem, workflows.ActionItemRequest{By: "alice", Title: strings.Repeat("t", 300), Type: "prevent", Owner: "bob"})
		update(workflows.UpdateActionItem, workflows.ActionItemRequest{By: "alice", Title: "x", Type: "prevent", Owner: "bob", Due: "15/12/2026"})
		update(workflows.UpdatePage, workflows.PageSomeoneRequest{By: "alice", Target: "team:db"})
	})
	s.resolveAt(3 * time.Minute)
	st := s.run("P3")
	s.Equal([]page{
		{at: 0, target: "user:alice", round: 1, step: 1},
		{at: 2 * time.Minute, target: "user:carol", round: 1, step: 2},
	}, s.pages)
	s.Require().Len(st.ActionItems, 1)
	item := st.ActionItems[0]
	s.Equal(2*time.Minute, item.AddedAt.Sub(s.start))
	item.AddedAt = time.Time{}
	s.Equal(workflows.ActionItem{Title: "Alert on pool saturation", Type: "detect", Owner: "bob", Due: "2026-12-15", AddedBy: "alice"}, item)
	s.Require().Len(errs, 4)
	s.ErrorContains(errs[0], `type: "fix" must be one of prevent, detect, respond`)
	s.ErrorContains(errs[1], `title: 300 bytes is too long (at most 256)`)
	s.ErrorContains(errs[2], `due: "15/12/2026" is not YYYY-MM-DD`)
	s.ErrorContains(errs[3], `target: "team:db" must be a user or schedule:NAME`)
}

// A severity change re-reads the policy: a step edited in the config since
// the incident opened is the one paged when the raise pages afresh.
func (s *incidentSuite) TestSeverityChangeFollowsThePolicyAsConfiguredNow() {
	s.recordPages()
	s.recordAnnouncements()
	var reads int
	s.env.OnActivity(s.acts.ResolvePlan, mock.Anything, mock.Anything).Return(
		func(ctx context.Context, req incident.PlanRequest) (incident.Policy, error) {
			policy, err := s.acts.ResolvePlan(ctx, req)
			s.mu.Lock()
			defer s.mu.Unlock()
			if reads++; reads > 1 {
				policy.Steps[0].Targets = []string{"user:carol"}
			}
			return policy, err
		})
	s.at(2*time.Minute, func() { s.signal(workflows.SignalSetSeverity, workflows.SeverityRequest{By: "bob", Severity: "P2"}) })
	s.resolveAt(3 * time.Minute)
	st := s.run("P4")
	s.Equal(2, reads, "read when it opened, and again at the severity change")
	s.Equal([]page{{at: 2 * time.Minute, target: "user:carol", round: 1, step: 1}}, s.pages, "P4 paged nobody; the raise to P2 pages the first step as configured now")
	s.Equal([]string{"user:carol"}, st.Escalation.Steps[0].Targets)
}

type notified struct {
	at   time.Duration
	user string
	via  string
}

// dave's rules are Slack now, SMS after a minute, a call after three; the
// ack at two minutes stops them: no call. Named twice by the step (by name
// and as the one on call), he is paged once.
func (s *incidentSuite) TestNotificationRulesStopAtTheAck() {
	s.recordAnnouncements()
	var got []notified
	var keys, pagedAt30s []string
	s.env.OnActivity(s.acts.NotifyPerson, mock.Anything, mock.Anything).Return(
		func(_ context.Context, req incident.NotifyRequest) (incident.PageResult, error) {
			s.mu.Lock()
			defer s.mu.Unlock()
			got = append(got, notified{at: s.env.Now().Sub(s.start), user: req.User, via: req.Via})
			keys = append(keys, req.Page.IdempotencyKey[strings.LastIndex(req.Page.IdempotencyKey, "/dave/"):])
			return incident.PageResult{Recipient: req.User, Channel: req.Via}, nil
		})
	s.at(30*time.Second, func() {
		for _, e := range s.state().Timeline {
			if e.Kind == workflows.KindPaged {
				pagedAt30s = append(pagedAt30s, e.Message)
			}
		}
	})
	s.ackAt(2*time.Minute, "dave")
	s.resolveAt(20 * time.Minute)
	in := s.input()
	in.Service, in.Severity = "db", "P3"
	s.env.ExecuteWorkflow(workflows.IncidentWorkflow, in)
	st := s.result()
	s.Equal([]notified{{0, "dave", "slack"}, {time.Minute, "dave", "sms"}}, got, "no call after the ack, and no page to bob")
	s.Equal([]string{"/dave/0-slack", "/dave/1-sms"}, keys, "each rule keeps its number in its key, whoever sends it")
	s.Equal([]string{"paged dave via slack (user:dave, schedule:db-oncall)"}, pagedAt30s,
		"the first rule is on the timeline as soon as it is sent, not when the last rule is done")
	var lines []string
	for _, e := range st.Timeline {
		if e.Kind == workflows.KindPaged || strings.HasPrefix(e.Message, "stopped paging") {
			lines = append(lines, e.Message)
		}
	}
	s.Equal([]string{
		"paged dave via slack (user:dave, schedule:db-oncall)",
		"paged dave via sms (user:dave, schedule:db-oncall)",
		"stopped paging dave: the incident was acknowledged",
	}, lines)
}

// A failing method does not stop the rules: the next one still goes.
func (s *incidentSuite) TestNotificationRulesGoOnPastAFailure() {
	s.recordAnnouncements()
	var got []string
	s.env.OnActivity(s.acts.NotifyPerson, mock.Anything, mock.Anything).Return(
		func(_ context.Context, req incident.NotifyRequest) (incident.PageResult, error) {
			s.mu.Lock()
			got = append(got, req.Via)
			s.mu.Unlock()
			if req.Via == "sms" {
				return incident.PageResult{}, temporal.NewNonRetryableApplicationError("twilio is not configured", "NoDelivery", nil)
			}
			return incident.PageResult{Recipient: req.User, Channel: req.Via}, nil
		})
	s.ackAt(5*time.Minute, "dave")
	s.resolveAt(20 * time.Minute)
	in := s.input()
	in.Service, in.Severity = "db", "P3"
	s.env.ExecuteWorkflow(workflows.IncidentWorkflow, in)
	s.Require().True(s.env.IsWorkflowCompleted())
	s.Require().NoError(s.env.GetWorkflowError())
	var st workflows.Incident
	s.Require().NoError(s.env.GetWorkflowResult(&st))
	s.Equal([]string{"slack", "sms", "voice"}, got)
	failed := 0
	for _, e := range st.Timeline {
		if e.Kind == workflows.KindPageFailed {
			failed++
			s.Contains(e.Message, "page to dave by sms failed: twilio is not configured")
		}
	}
	s.Equal(1, failed)
}
