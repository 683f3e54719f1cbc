package workflows_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/incidentflow/incidentflow/activities"
	"github.com/incidentflow/incidentflow/incident"
	"github.com/incidentflow/incidentflow/internal/fakesmtp"
	"github.com/incidentflow/incidentflow/notify/email"
	"github.com/incidentflow/incidentflow/workflows"
)

// subscribe sends the add-subscriber Update at d; rejected gets the
// validator's refusal, if any.
func (s *incidentSuite) subscribeAt(d time.Duration, req workflows.SubscribeRequest, rejected *error) {
	s.at(d, func() { s.update(workflows.UpdateAddSubscriber, req, rejected) })
}

func (s *incidentSuite) update(name string, req any, rejected *error) {
	s.env.UpdateWorkflow(name, "", &testsuite.TestUpdateCallback{
		OnReject: func(err error) {
			if rejected != nil {
				*rejected = err
			}
		},
		OnAccept: func() {},
		OnComplete: func(_ any, err error) {
			if err != nil && rejected != nil {
				*rejected = err
			}
		},
	}, req)
}

func timelineHas(st workflows.Incident, kind workflows.Kind, text string) bool {
	for _, e := range st.Timeline {
		if e.Kind == kind && strings.Contains(e.Message, text) {
			return true
		}
	}
	return false
}

func (s *incidentSuite) TestSubscribersGetPublicUpdatesOnly() {
	s.recordPages()
	var sent []incident.PublicUpdateRequest
	s.env.OnActivity(s.acts.NotifySubscribers, mock.Anything, mock.Anything).Return(
		func(_ context.Context, req incident.PublicUpdateRequest) (incident.PublicUpdateResult, error) {
			s.mu.Lock()
			defer s.mu.Unlock()
			sent = append(sent, req)
			return incident.PublicUpdateResult{Sent: len(req.Subscribers)}, nil
		})
	var rejected error
	s.subscribeAt(time.Minute, workflows.SubscribeRequest{By: "alice", Email: "cfo@example.com"}, &rejected)
	// The signal twin works as the Update does.
	s.at(time.Minute, func() {
		s.signal(workflows.SignalAddSubscriber, workflows.SubscribeRequest{By: "alice", SlackUser: "U0CFO"})
	})
	s.at(2*time.Minute, func() {
		s.signal(workflows.SignalStatusUpdate, workflows.StatusUpdate{By: "alice", Stage: incident.StageIdentified,
			Message: "replica lag on db-2 after the 14:02 deploy"})
	})
	s.at(3*time.Minute, func() {
		s.signal(workflows.SignalStatusUpdate, workflows.StatusUpdate{By: "alice", Stage: incident.StageIdentified, Public: true,
			Message: "Checkout is slow for some customers", Impact: "1 in 20 payments retried", Known: "db-2 replica lag", Doing: "failing over db-2", ETA: "30 minutes"})
	})
	s.at(4*time.Minute, func() { s.Equal(2, s.state().Subscribers) })
	s.resolveAt(5 * time.Minute)
	st := s.run("P3")

	s.Require().NoError(rejected)
	s.Require().Len(sent, 1, "the private update reached nobody")
	req := sent[0]
	s.Equal([]incident.Subscriber{{Email: "cfo@example.com"}, {SlackUser: "U0CFO"}}, req.Subscribers)
	s.Equal("checkout", req.Service)
	s.Equal("Update on checkout (Identified): Checkout is slow for some customers\nImpact: 1 in 20 payments retried\nETA: 30 minutes", req.Text)
	s.NotContains(req.Text, "db-2", "the internal known/doing notes stay inside")
	s.True(strings.HasPrefix(req.IdempotencyKey, st.ID+"/"), req.IdempotencyKey)
	s.True(timelineHas(st, workflows.KindSubscribersNotified, "public update sent to 2 subscribers"), "%v", st.Timeline)
	s.True(timelineHas(st, workflows.KindSubscriber, "email c***@example.com subscribed"))
	s.False(timelineHas(st, workflows.KindSubscriber, "cfo@example.com"), "the timeline hides the address")
}

func (s *incidentSuite) TestSubscriberBoundAndValidation() {
	s.recordPages()
	s.env.OnActivity(s.acts.NotifySubscribers, mock.Anything, mock.Anything).Never()
	s.at(time.Minute, func() {
		for i := range incident.MaxSubscribers {
			s.signal(workflows.SignalAddSubscriber, workflows.SubscribeRequest{By: "alice", Email: fmt.Sprintf("s%d@example.com", i)})
		}
	})
	type refusal struct {
		name  string
		req   any
		field string // a FieldError (400) naming it, else a conflict (409)
		says  string
	}
	cases := []refusal{
		{"bad email", workflows.SubscribeRequest{By: "alice", Email: "not-an-address"}, "email", "is not an email address"},
		{"long email", workflows.SubscribeRequest{By: "alice", Email: strings.Repeat("a", 250) + "@example.com"}, "email", "at most 254"},
		{"both", workflows.SubscribeRequest{By: "alice", Email: "a@example.com", SlackUser: "U0A"}, "slack_user", "not both"},
		{"neither", workflows.SubscribeRequest{By: "alice"}, "email", "required"},
		{"slack shape", workflows.SubscribeRequest{By: "alice", SlackUser: "cfo"}, "slack_user", "is not a Slack user ID"},
		{"nobody acts", workflows.SubscribeRequest{Email: "a@example.com"}, "by", "required"},
		{"twice", workflows.SubscribeRequest{By: "alice", Email: "S0@example.com"}, "", "already gets the public updates"},
		{"over the bound", workflows.SubscribeRequest{By: "alice", Email: "one-more@example.com"}, "", "limit 200"},
		{"remove nobody", workflows.UnsubscribeRequest{By: "alice", Subscriber: "nobody@example.com"}, "subscriber", "is not subscribed"},
	}
	got := make([]error, len(cases))
	for i, c := range cases {
		name := workflows.UpdateAddSubscriber
		if _, ok := c.req.(workflows.UnsubscribeRequest); ok {
			name = workflows.UpdateRemoveSubscriber
		}
		s.at(2*time.Minute, func() { s.update(name, c.req, &got[i]) })
	}
	// A signal over the bound is refused on the timeline.
	s.at(2*time.Minute, func() {
		s.signal(workflows.SignalAddSubscriber, workflows.SubscribeRequest{By: "alice", Email: "by-signal@example.com"})
	})
	var removed error
	s.at(3*time.Minute, func() {
		s.update(workflows.UpdateRemoveSubscriber, workflows.UnsubscribeRequest{By: "alice", Subscriber: "s7@example.com"}, &removed)
	})
	s.at(4*time.Minute, func() { s.Equal(incident.MaxSubscribers-1, s.state().Subscribers) })
	s.resolveAt(5 * time.Minute)
	st := s.run("P3")

	for i, c := range cases {
		s.Run(c.name, func() {
			err := got[i]
			s.Require().Error(err)
			s.Contains(err.Error(), c.says)
			var appErr *temporal.ApplicationError
			isField := errors.As(err, &appErr) && appErr.Type() == workflows.FieldError
			s.Equal(c.field != "", isField, "%v", err)
			if c.field != "" {
				s.True(strings.HasPrefix(appErr.Message(), c.field+": "), appErr.Message())
			}
		})
	}
	s.NoError(removed)
	s.True(timelineHas(st, workflows.KindIgnored, "add-subscriber ignored: incident "+st.ID+" already has 200 subscribers"), "%v", st.Timeline[len(st.Timeline)-5:])
	s.True(timelineHas(st, workflows.KindSubscriber, "email s***@example.com unsubscribed (199 subscribers left)"))
}

// The real activity against an SMTP server: one mailbox refuses for good,
// one keeps saying "try later". Every attempt skips whoever an earlier one
// reached, and the last reports what still fails.
func (s *incidentSuite) TestPublicUpdateRetriesNeverMailTwice() {
	s.recordPages()
	smtpSrv, err := fakesmtp.Start("", "")
	s.Require().NoError(err)
	defer smtpSrv.Close()
	smtpSrv.Refuse("gone@example.com", 550, "no such user")
	smtpSrv.Refuse("later@example.com", 451, "greylisted, try later")
	host, port := smtpSrv.Addr()
	s.acts.Email = &activities.Email{Sender: &email.Sender{Host: host, Port: port, From: "status@example.com", Timeout: 5 * time.Second}}
	svc := s.acts.Config.Services["checkout"]
	// The service's own list, and one address both have: mailed once.
	svc.Subscribers = []incident.Subscriber{{Email: "ops-list@example.com"}, {Email: "cfo@example.com"}}
	s.acts.Config.Services["checkout"] = svc

	for i, addr := range []string{"cfo@example.com", "later@example.com", "gone@example.com"} {
		s.subscribeAt(time.Minute+time.Duration(i)*time.Second, workflows.SubscribeRequest{By: "alice", Email: addr}, nil)
	}
	s.at(2*time.Minute, func() {
		s.signal(workflows.SignalStatusUpdate, workflows.StatusUpdate{By: "alice", Stage: incident.StageMonitoring, Public: true, Message: "A fix is rolling out"})
	})
	s.resolveAt(10 * time.Minute)
	st := s.run("P3")

	perAddress := map[string]int{}
	for _, m := range smtpSrv.Messages() {
		for _, to := range m.To {
			perAddress[to]++
		}
		s.Equal("Update on checkout (Monitoring): A fix is rolling out", m.Header.Get("Subject"))
	}
	s.Equal(map[string]int{"cfo@example.com": 1, "ops-list@example.com": 1}, perAddress,
		"%d attempts, each served subscriber mailed once", incident.SubscriberAttempts)
	s.True(timelineHas(st, workflows.KindNotifyFailed, "public update sent to 2 subscribers; 2 failed: email l***@example.com:"), "%v", st.Timeline)
	s.True(timelineHas(st, workflows.KindNotifyFailed, "451"))
	s.True(timelineHas(st, workflows.KindNotifyFailed, "; email g***@example.com:"))
	for _, e := range st.Timeline {
		s.NotContains(e.Message, "later@example.com", "no address on the timeline")
	}
}
