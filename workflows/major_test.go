package workflows_test

import (
	"context"
	"strings"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/testsuite"

	"github.com/incidentflow/incidentflow/config"
	"github.com/incidentflow/incidentflow/incident"
	"github.com/incidentflow/incidentflow/workflows"
)

// The suite's config leaves major_incident out: the seed's protocol (a P1
// open an hour is major; brief at 30m then hourly; public statement at 1h
// then every 2h; roles reminded every 15m; hot wash 24h, post-mortem 72h).

// recordTargets keeps what the protocol tells the executives.
func (s *incidentSuite) recordTargets() *[]incident.AnnounceRequest {
	var out []incident.AnnounceRequest
	s.env.OnActivity(s.acts.Announce, mock.Anything, mock.MatchedBy(func(r incident.AnnounceRequest) bool {
		return strings.Contains(r.IdempotencyKey, "/major-declared/") || strings.Contains(r.IdempotencyKey, "/major-brief/")
	})).Maybe().Return(func(_ context.Context, req incident.AnnounceRequest) error {
		s.mu.Lock()
		defer s.mu.Unlock()
		out = append(out, req)
		return nil
	})
	return &out
}

func (s *incidentSuite) declareMajorAt(d time.Duration, by string) {
	s.at(d, func() {
		s.signal(workflows.SignalMajor, workflows.MajorRequest{By: by, Reason: "checkout down for everyone"})
	})
}

func (s *incidentSuite) TestMajorActivatesAtSixtyMinutesForAnOpenP1() {
	for _, tc := range []struct {
		name      string
		severity  string
		resolveAt time.Duration
		automatic bool
		want      bool
	}{
		{"P1 left open", "P1", 70 * time.Minute, true, true},
		{"P1 mitigated before the hour", "P1", 50 * time.Minute, true, false},
		{"P2 left open", "P2", 70 * time.Minute, true, false},
		{"automatic off", "P1", 70 * time.Minute, false, false},
	} {
		s.Run(tc.name, func() {
			s.SetupTest()
			if !tc.automatic {
				off := false
				s.acts.Config.MajorIncident.Automatic = &off
			}
			s.recordPages()
			ann := s.recordAnnouncements()
			s.ackAt(time.Minute, "alice")
			s.at(59*time.Minute+59*time.Second, func() { s.Nil(s.state().Major, "not major before the hour") })
			s.resolveAt(tc.resolveAt)
			st := s.run(tc.severity)
			if !tc.want {
				s.Nil(st.Major)
				s.Empty(kinds(*ann, "major-declared-team"))
				return
			}
			s.Require().NotNil(st.Major)
			s.Equal(time.Hour, st.Major.DeclaredAt.Sub(s.start), "activated at 60 minutes")
			s.True(st.Major.Automatic)
			s.Empty(st.Major.By)
			s.Equal("P1 still open after 1h", st.Major.Reason)
			s.Equal([]time.Duration{time.Hour}, kinds(*ann, "major-declared-team"))
			s.Equal([]time.Duration{time.Hour}, kinds(*ann, "major-declared"), "the executives hear of it at once")
			found := false
			for _, e := range st.Timeline {
				if e.Kind == workflows.KindMajor {
					found = true
					s.Equal(time.Hour, e.At.Sub(s.start))
					s.Contains(e.Message, "major incident declared automatically: P1 still open after 1h")
				}
			}
			s.True(found, "the declaration is on the timeline")
		})
	}
}

// The executive brief is due 30 minutes after the declaration, then every
// hour it stays missing; a brief moves the next one to an hour after it,
// and goes to the exec channel and emails, not the team's channel.
func (s *incidentSuite) TestMajorExecBriefDueAtThirtyMinutesThenHourly() {
	s.acts.Config.MajorIncident = config.MajorIncident{ExecChannel: "#exec", ExecEmails: []string{"ceo@example.com"}}
	s.recordPages()
	execs := s.recordTargets()
	ann := s.recordAnnouncements()
	s.ackAt(time.Minute, "alice")
	s.at(5*time.Minute, func() {
		s.signal(workflows.SignalAssignRole, workflows.RoleRequest{By: "alice", Role: "comms", User: "bob"})
	})
	s.declareMajorAt(10*time.Minute, "alice")
	s.at(11*time.Minute, func() {
		m := s.state().Major
		s.Require().NotNil(m)
		s.Equal("alice", m.By)
		s.Equal(40*time.Minute, m.NextExecBriefDue.Sub(s.start))
		s.Equal(70*time.Minute, m.NextPublicDue.Sub(s.start))
		s.Equal([]string{"deputy", "planning", "liaison"}, m.RolesMissing)
		s.Equal([]string{"slack_channel:#exec", "email:ceo@example.com"}, m.ExecTargets)
	})
	s.at(2*time.Hour+41*time.Minute, func() {
		m := s.state().Major
		s.Equal(2*time.Hour+40*time.Minute, m.NextExecBriefDue.Sub(s.start), "late since its last reminder")
	})
	s.at(2*time.Hour+50*time.Minute, func() {
		s.signal(workflows.SignalStatusUpdate, workflows.StatusUpdate{By: "bob", Audience: workflows.AudienceExec, Message: "payments down; failover under way", ETA: "30m"})
	})
	s.at(2*time.Hour+51*time.Minute, func() {
		st := s.state()
		s.Equal(3*time.Hour+50*time.Minute, st.Major.NextExecBriefDue.Sub(s.start))
		s.Equal(1, st.Major.ExecBriefs)
		s.Nil(st.LastUpdate, "an executive brief is not the team's update")
		s.Equal(incident.StageInvestigating, st.Stage)
	})
	s.resolveAt(4 * time.Hour)
	st := s.run("P3")

	m := 60 * time.Minute
	s.Equal([]time.Duration{40 * time.Minute, 40*time.Minute + m, 40*time.Minute + 2*m, 3*time.Hour + 50*time.Minute}, kinds(*ann, "major-exec-due"),
		"30m after the declaration, hourly while missing, an hour after the brief")
	for _, a := range *ann {
		if a.kind == "major-exec-due" {
			s.True(strings.HasPrefix(a.text, "bob: the executive brief on major incident"), "the comms lead is reminded: %s", a.text)
		}
	}
	var briefs, declared []string
	for _, r := range *execs {
		switch {
		case strings.Contains(r.IdempotencyKey, "/major-brief/1/"):
			briefs = append(briefs, r.Target)
			s.Contains(r.Text, "Executive brief 1 on major incident")
			s.Contains(r.Text, "payments down; failover under way; eta: 30m")
		case strings.Contains(r.IdempotencyKey, "/major-declared/"):
			declared = append(declared, r.Target)
		}
	}
	s.ElementsMatch([]string{"slack_channel:#exec", "email:ceo@example.com"}, briefs)
	s.ElementsMatch([]string{"slack_channel:#exec", "email:ceo@example.com"}, declared)
	s.Equal(1, st.Major.ExecBriefs)
	s.Nil(st.Major.NextExecBriefDue, "no cadence once mitigated")
}

// The public statement is due an hour after the declaration, then every two
// hours; a public status update resets it.
func (s *incidentSuite) TestMajorPublicStatementDueAtOneHourThenEveryTwo() {
	s.recordPages()
	ann := s.recordAnnouncements()
	s.ackAt(time.Minute, "alice")
	s.declareMajorAt(10*time.Minute, "alice")
	s.at(3*time.Hour+20*time.Minute, func() {
		s.signal(workflows.SignalStatusUpdate, workflows.StatusUpdate{By: "alice", Stage: "identified", Message: "card payments failing", Public: true})
	})
	s.resolveAt(5*time.Hour + 30*time.Minute)
	s.run("P3")
	s.Equal([]time.Duration{70 * time.Minute, 3*time.Hour + 10*time.Minute, 5*time.Hour + 20*time.Minute}, kinds(*ann, "major-public-due"),
		"1h after the declaration, 2h later while missing, 2h after the public update")
}

// The commander is reminded of the missing major roles every 15 minutes
// until the last is filled.
func (s *incidentSuite) TestMajorRolesRemindedEveryFifteenMinutesUntilFilled() {
	s.recordPages()
	ann := s.recordAnnouncements()
	s.ackAt(time.Minute, "alice")
	s.declareMajorAt(10*time.Minute, "alice")
	for _, r := range []struct {
		at         time.Duration
		role, user string
	}{{30 * time.Minute, "deputy", "bob"}, {42 * time.Minute, "planning", "carol"}, {50 * time.Minute, "liaison", "bob"}} {
		s.at(r.at, func() {
			s.signal(workflows.SignalAssignRole, workflows.RoleRequest{By: "alice", Role: r.role, User: r.user})
		})
	}
	s.at(45*time.Minute, func() {
		st := s.state()
		s.Equal([]string{"liaison"}, st.Major.RolesMissing)
		s.Contains(st.MissingRoles, "liaison", "the protocol's roles count among the incident's missing roles")
	})
	s.resolveAt(90 * time.Minute)
	st := s.run("P3")
	s.Equal([]time.Duration{25 * time.Minute, 40 * time.Minute}, kinds(*ann, "major-roles"))
	s.Empty(st.Major.RolesMissing)
	s.Equal("bob", st.Roles["deputy"])
	for _, a := range *ann {
		if a.kind == "major-roles" && a.at == 25*time.Minute {
			s.Contains(a.text, "alice: major incident")
			s.Contains(a.text, "needs a deputy, planning, liaison")
		}
	}
}

// The command's validator: who, how long a reason, and when it cannot be
// declared; an executive brief needs a major incident.
func (s *incidentSuite) TestMajorCommandsRefuseWhatCannotBe() {
	s.recordPages()
	s.recordAnnouncements()
	refusals := map[string]string{}
	update := func(at time.Duration, name, update string, arg any) {
		s.at(at, func() {
			s.env.UpdateWorkflow(update, "", &testsuite.TestUpdateCallback{
				OnReject:   func(err error) { refusals[name] = err.Error() },
				OnAccept:   func() {},
				OnComplete: func(any, error) {},
			}, arg)
		})
	}
	update(time.Minute, "brief before major", workflows.UpdateStatusUpdate, workflows.StatusUpdate{By: "alice", Audience: "exec", Message: "x"})
	update(2*time.Minute, "no by", workflows.UpdateMajor, workflows.MajorRequest{})
	update(3*time.Minute, "long reason", workflows.UpdateMajor, workflows.MajorRequest{By: "alice", Reason: strings.Repeat("x", incident.MaxText+1)})
	update(4*time.Minute, "declared", workflows.UpdateMajor, workflows.MajorRequest{By: "alice", Reason: "all regions"})
	update(5*time.Minute, "again", workflows.UpdateMajor, workflows.MajorRequest{By: "bob"})
	update(6*time.Minute, "bad audience", workflows.UpdateStatusUpdate, workflows.StatusUpdate{By: "alice", Audience: "board", Message: "x"})
	update(7*time.Minute, "public brief", workflows.UpdateStatusUpdate, workflows.StatusUpdate{By: "alice", Audience: "exec", Message: "x", Public: true})
	update(8*time.Minute, "resolved brief", workflows.UpdateStatusUpdate, workflows.StatusUpdate{By: "alice", Audience: "exec", Stage: "resolved", Message: "x"})
	s.resolveAt(10 * time.Minute)
	update(11*time.Minute, "monitoring", workflows.UpdateMajor, workflows.MajorRequest{By: "alice"})
	st := s.run("P2")

	for name, want := range map[string]string{
		"brief before major": "is not a major incident",
		"no by":              "by: required",
		"long reason":        "reason:",
		"again":              "is already a major incident (declared by alice at",
		"bad audience":       `audience: "board" is not an audience`,
		"public brief":       "public: an executive brief is not public",
		"resolved brief":     `stage: "resolved"`,
		"monitoring":         "reopen it first",
	} {
		s.Contains(refusals[name], want, name)
	}
	s.NotContains(refusals, "declared")
	s.Require().NotNil(st.Major)
	s.Equal("all regions", st.Major.Reason)
}

// A major incident's post-mortem is due 72 hours after resolution with a
// hot wash at 24, and it has one even when its severity needs none.
func (s *incidentSuite) TestMajorIncidentHandsItsDeadlinesToThePostmortem() {
	s.recordPages()
	s.recordAnnouncements()
	s.ackAt(time.Minute, "alice")
	s.declareMajorAt(10*time.Minute, "alice")
	s.resolveAt(20 * time.Minute)
	st := s.run("P3")
	s.Equal(incident.StatusClosed, st.Status)
	s.Require().Len(s.postmortems, 1, "a P3 needs no post-mortem, a major incident does")
	m := s.postmortems[0].in.Incident.Major
	s.Require().NotNil(m)
	s.Require().NotNil(st.ResolvedAt)
	s.Equal(50*time.Minute, st.ResolvedAt.Sub(s.start), "after the 30m monitoring window")
	s.Equal(24*time.Hour, m.HotWashDue.Sub(*st.ResolvedAt))
	s.Equal(72*time.Hour, m.PostmortemDue.Sub(*st.ResolvedAt))
}

// The post-mortem of a major incident reminds its commander of the hot
// wash 24 hours after resolution and is overdue at 72 hours, not 48.
func (s *postmortemSuite) TestMajorIncidentHotWashAt24hAndPostmortemDueAt72h() {
	h := time.Hour
	in := s.incident("checkout")
	resolved := *in.Incident.ResolvedAt
	hot, due := resolved.Add(24*h), resolved.Add(72*h)
	in.Incident.Major = &workflows.MajorView{DeclaredAt: resolved.Add(-time.Hour), By: "alice", Reason: "all regions", HotWashDue: &hot, PostmortemDue: &due}
	s.at(25*h, func() {
		st := s.state()
		s.Require().NotNil(st.HotWash)
		s.Equal(24*h, st.HotWash.RemindedAt.Sub(s.start).Round(time.Second))
		s.Equal(72*h, st.DueAt.Sub(s.start))
	})
	s.at(80*h, func() {
		s.env.SignalWorkflow(workflows.SignalPostmortemComplete, workflows.CompleteRequest{By: "alice"})
	})
	s.at(90*h, func() { s.github.CloseIssue("acme/checkout", 2) })
	s.run(in)
	s.Equal([]time.Duration{24 * h}, s.toldAt("hot-wash"), "the hot wash at 24h")
	s.Equal([]time.Duration{24 * h, 44 * h}, s.toldAt("reminder/"))
	s.Equal([]time.Duration{72 * h}, s.toldAt("overdue/1/commander"), "overdue at 72h, not 48h")
	for _, t := range s.told {
		if t.key == "hot-wash" {
			s.Equal("user:alice", t.target)
			s.Contains(t.text, "alice: the hot wash of major incident incident-db-down")
		}
	}
}
