package workflows_test

import (
	"context"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/testsuite"

	"github.com/incidentflow/incidentflow/activities"
	"github.com/incidentflow/incidentflow/incident"
	"github.com/incidentflow/incidentflow/workflows"
)

// exerciseCalls is what an exercise asked the activities to do.
type exerciseCalls struct {
	pages    []incident.PageRequest
	pagedAt  []time.Duration
	announce []incident.AnnounceRequest
	channels []incident.ChannelRequest
	cards    []incident.CardRequest
}

func (s *incidentSuite) exerciseInput(severity string, participants ...string) workflows.IncidentInput {
	in := s.input()
	in.Key, in.Title, in.Severity = "exercise-game-day", "game day: checkout down", severity
	in.Exercise, in.Participants = true, participants
	return in
}

// recordExercise answers every activity an exercise may call and keeps the
// requests. Whoever the service's policy names but the exercise does not
// (alice at step 1, #sre at step 3, #incidents as fallback and channel)
// must never be reached: those mocks come first, so they match first.
func (s *incidentSuite) recordExercise(slack bool) *exerciseCalls {
	calls := &exerciseCalls{}
	s.env.OnActivity(s.acts.NotifyPerson, mock.Anything, mock.MatchedBy(func(r incident.NotifyRequest) bool {
		return r.User == "alice" || r.User == "dave"
	})).Never()
	s.env.OnActivity(s.acts.Page, mock.Anything, mock.Anything).Never()
	s.env.OnActivity(s.acts.Announce, mock.Anything, mock.MatchedBy(func(r incident.AnnounceRequest) bool {
		return r.Target == "slack_channel:#incidents" || r.Target == "" || r.Target == "user:alice"
	})).Never()
	s.env.OnActivity(s.acts.NotifyPerson, mock.Anything, mock.Anything).Maybe().Return(
		func(_ context.Context, req incident.NotifyRequest) (incident.PageResult, error) {
			at := s.env.Now().Sub(s.start)
			s.mu.Lock()
			defer s.mu.Unlock()
			calls.pages = append(calls.pages, req.Page)
			calls.pagedAt = append(calls.pagedAt, at)
			return incident.PageResult{Recipient: req.User, Channel: "test"}, nil
		})
	s.env.OnActivity(s.acts.Announce, mock.Anything, mock.Anything).Maybe().Return(
		func(_ context.Context, req incident.AnnounceRequest) error {
			s.mu.Lock()
			defer s.mu.Unlock()
			calls.announce = append(calls.announce, req)
			return nil
		})
	if !slack {
		return calls
	}
	s.acts.Slack = &activities.Slack{} // configured; the activities are mocked
	s.env.OnActivity(s.acts.OpenChannel, mock.Anything, mock.Anything).Maybe().Return(
		func(_ context.Context, req incident.ChannelRequest) (incident.SlackChannel, error) {
			s.mu.Lock()
			defer s.mu.Unlock()
			calls.channels = append(calls.channels, req)
			return incident.SlackChannel{ID: "C0EX", Name: activities.ExerciseChannelName(req.IncidentID, req.Title, req.OpenedAt)}, nil
		})
	s.env.OnActivity(s.acts.InviteToChannel, mock.Anything, mock.Anything).Maybe().Return(nil)
	s.env.OnActivity(s.acts.UpsertCard, mock.Anything, mock.Anything).Maybe().Return(
		func(_ context.Context, req incident.CardRequest) (incident.CardRef, error) {
			s.mu.Lock()
			defer s.mu.Unlock()
			calls.cards = append(calls.cards, req)
			return incident.CardRef{Channel: req.Channel, TS: "1700000000.000100"}, nil
		})
	return calls
}

// Nobody answers: both rounds page only the participants (the policy's
// alice, bob and #sre are replaced), the fallback is the first
// participant, and every request says it is an exercise.
func (s *incidentSuite) TestExercisePagesOnlyItsParticipants() {
	calls := s.recordExercise(false)
	var refused error
	s.at(11*time.Minute, func() {
		s.env.UpdateWorkflow(workflows.UpdatePage, "", &testsuite.TestUpdateCallback{
			OnReject: func(err error) { refused = err }, OnAccept: func() {}, OnComplete: func(any, error) {},
		}, workflows.PageSomeoneRequest{By: "bob", Target: "schedule:db-oncall"})
	})
	s.resolveAt(12 * time.Minute)
	st := s.result2(s.exerciseInput("P3", "bob", "carol", "bob"))

	s.True(st.Exercise)
	s.Equal([]string{"bob", "carol"}, st.Participants, "named once each")
	var paged []page
	for i, p := range calls.pages {
		s.True(p.Exercise, "page %d is marked", i)
		paged = append(paged, page{at: calls.pagedAt[i], target: p.Target, round: p.Round, step: p.Step})
	}
	s.ElementsMatch([]page{
		{at: 0, target: "user:bob", round: 1, step: 1}, {at: 0, target: "user:carol", round: 1, step: 1},
		{at: 5 * time.Minute, target: "user:bob", round: 2, step: 1}, {at: 5 * time.Minute, target: "user:carol", round: 2, step: 1},
	}, paged, "round 1 and the repeat, all participants at step 1")
	s.Require().NotEmpty(calls.announce)
	fallback := false
	for _, a := range calls.announce {
		s.True(a.Exercise, "announcement %q is marked", a.Text)
		fallback = fallback || a.Target == "user:bob" && a.IdempotencyKey == st.ID+"/g0/fallback"
	}
	s.True(fallback, "the first participant is told nobody answered")
	s.ErrorContains(refused, "target: an exercise pages only its participants (bob, carol)")
	s.Empty(s.postmortems)
	s.Equal(incident.StatusClosed, st.Status)
}

// result2 runs in and returns the incident at its end.
func (s *incidentSuite) result2(in workflows.IncidentInput) workflows.Incident {
	s.env.ExecuteWorkflow(workflows.IncidentWorkflow, in)
	return s.result()
}

// The evaluation: time to ack, to the first status update and to
// mitigation, and each role with when it was filled, all measured on the
// workflow's clock; roles the severity needs that nobody took are named.
func (s *incidentSuite) TestExerciseEndsWithItsEvaluation() {
	for _, tc := range []struct {
		name      string
		severity  string
		update    bool
		roles     []workflows.RoleRequest
		wantRoles []string
		unfilled  []string
	}{
		{name: "P2 all roles", severity: "P2", update: true,
			roles:     []workflows.RoleRequest{{By: "bob", Role: "ops", User: "carol"}},
			wantRoles: []string{"commander bob", "ops carol"}, unfilled: []string{}},
		{name: "P1 no update, roles missing", severity: "P1",
			roles:     []workflows.RoleRequest{{By: "bob", Role: "scribe", User: "carol"}, {By: "bob", Role: "scribe", User: "bob"}},
			wantRoles: []string{"commander bob", "scribe carol"}, unfilled: []string{"comms", "ops"}},
	} {
		s.Run(tc.name, func() {
			s.SetupTest()
			calls := s.recordExercise(true)
			marks := map[string]time.Duration{}
			mark := func(what string) { marks[what] = s.env.Now().Sub(s.start) }
			s.at(3*time.Minute, func() {
				mark("ack")
				s.signal(workflows.SignalAck, workflows.ActionRequest{By: "bob"})
			})
			for i, r := range tc.roles {
				s.at(time.Duration(4+i)*time.Minute, func() {
					mark(r.Role + " " + r.User)
					s.signal(workflows.SignalAssignRole, r)
				})
			}
			if tc.update {
				s.at(7*time.Minute+30*time.Second, func() {
					mark("update")
					s.signal(workflows.SignalStatusUpdate, workflows.StatusUpdate{By: "bob", Stage: "identified", Message: "drill: found the bad deploy"})
				})
			}
			s.at(10*time.Minute, func() {
				mark("resolve")
				s.Nil(s.state().ExerciseEvaluation, "no evaluation before the end")
				s.signal(workflows.SignalResolve, workflows.ActionRequest{By: "bob"})
			})
			st := s.result2(s.exerciseInput(tc.severity, "bob", "carol"))

			ev := st.ExerciseEvaluation
			s.Require().NotNil(ev)
			s.Equal([]string{"bob", "carol"}, ev.Participants)
			s.Equal("bob", ev.AcknowledgedBy)
			s.Require().NotNil(ev.TimeToAckSeconds)
			s.Equal(marks["ack"].Seconds(), *ev.TimeToAckSeconds)
			s.Require().NotNil(ev.TimeToMitigateSeconds)
			s.Equal(marks["resolve"].Seconds(), *ev.TimeToMitigateSeconds)
			if tc.update {
				s.Require().NotNil(ev.TimeToFirstUpdateSeconds)
				s.Equal(marks["update"].Seconds(), *ev.TimeToFirstUpdateSeconds)
				s.Contains(ev.Summary, "time to first status update 7m30s")
			} else {
				s.Nil(ev.TimeToFirstUpdateSeconds)
				s.Contains(ev.Summary, "time to first status update never")
			}
			var got []string
			for _, r := range ev.Roles {
				got = append(got, r.Role+" "+r.User)
				want := marks["ack"]
				if r.Role != incident.RoleCommander {
					want = marks[r.Role+" "+r.User]
				}
				s.Equal(want.Seconds(), r.AfterSeconds, r.Role)
				s.True(s.start.Add(want).Equal(r.At), "%s filled at %s", r.Role, r.At)
			}
			s.Equal(tc.wantRoles, got, "the first holder of each role, in order")
			s.Equal(tc.unfilled, ev.Unfilled)
			s.Contains(ev.Summary, "time to ack 3m (bob)")

			var onTimeline bool
			for _, e := range st.Timeline {
				onTimeline = onTimeline || e.Kind == workflows.KindExercise && e.Message == ev.Summary
			}
			s.True(onTimeline, "the evaluation is on the timeline")
			var posted []string
			for _, a := range calls.announce {
				s.True(a.Exercise, a.Text)
				if a.Target == "slack_channel:C0EX" {
					posted = append(posted, a.Text)
				}
			}
			s.Contains(posted, tc.severity+" "+st.ID+" (game day: checkout down): "+ev.Summary, "posted to the exercise's channel")
			s.Require().Len(calls.channels, 1)
			ch := calls.channels[0]
			s.True(ch.Exercise)
			s.Empty(ch.Announce, "never linked in the real announce channel")
			s.Equal([]string{"user:bob", "user:carol"}, ch.Invite)
			s.Require().NotEmpty(calls.cards)
			for _, c := range calls.cards {
				s.True(c.Exercise)
			}
			s.Empty(s.postmortems, "an exercise evaluates itself instead")
		})
	}
}

// Raising an exercise's severity re-reads the policy, which must not bring
// the real on-call back.
func (s *incidentSuite) TestExerciseSeverityRaiseStillPagesOnlyParticipants() {
	calls := s.recordExercise(false)
	s.at(time.Minute, func() {
		s.signal(workflows.SignalSetSeverity, workflows.SeverityRequest{By: "carol", Severity: "P1"})
	})
	s.ackAt(2*time.Minute, "carol")
	s.resolveAt(3 * time.Minute)
	st := s.result2(s.exerciseInput("P4", "carol"))
	var paged []string
	for _, p := range calls.pages {
		paged = append(paged, p.Target)
	}
	s.Equal([]string{"user:carol", "user:carol"}, paged, "an exercise pages even at P4, and the raise pages again")
	s.Equal("P1", st.Severity)
}
