package workflows_test

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/temporal"

	"github.com/incidentflow/incidentflow/config"
	"github.com/incidentflow/incidentflow/incident"
	"github.com/incidentflow/incidentflow/workflows"
)

// runbookSteps configures three steps on checkout: restart needs a second
// person; flush runs at once for the commander; drain is allowed in a
// game day.
func (s *incidentSuite) runbookSteps() {
	s.acts.Config.Runbooks = map[string]config.RunbookStep{
		"restart": {Title: "Restart checkout", Service: "checkout", URL: "https://auto.example.com/restart?sig=secret",
			NeedsApproval: true, Allowed: []string{"alice", "bob", "role:commander"}},
		"flush": {Title: "Flush the cache", URL: "https://auto.example.com/flush", Allowed: []string{"role:commander"}},
		"drain": {Title: "Drain a node", Services: []string{"checkout"}, URL: "https://auto.example.com/drain", Allowed: []string{"alice"}, ExerciseOK: true},
		"db":    {Title: "Not checkout's", Service: "db", URL: "https://auto.example.com/db", Allowed: []string{"alice"}},
	}
}

// callsOf answers the runbook activity with answer and keeps its requests.
func (s *incidentSuite) callsOf(answer func(incident.RunbookCallRequest) (incident.RunbookCallResult, error)) *[]incident.RunbookCallRequest {
	calls := &[]incident.RunbookCallRequest{}
	s.env.OnActivity(s.acts.RunRunbookStep, mock.Anything, mock.Anything).Maybe().Return(
		func(_ context.Context, req incident.RunbookCallRequest) (incident.RunbookCallResult, error) {
			s.mu.Lock()
			*calls = append(*calls, req)
			s.mu.Unlock()
			return answer(req)
		})
	return calls
}

func (s *incidentSuite) runbookState() workflows.Runbook {
	v, err := s.env.QueryWorkflow(workflows.QueryRunbook)
	s.Require().NoError(err)
	var rb workflows.Runbook
	s.Require().NoError(v.Get(&rb))
	return rb
}

// requireRefused checks an Update was refused for field ("" for a
// conflict), saying says.
func (s *incidentSuite) requireRefused(err error, field, says string) {
	s.Require().Error(err)
	s.Contains(err.Error(), says)
	var appErr *temporal.ApplicationError
	isField := errors.As(err, &appErr) && appErr.Type() == workflows.FieldError
	s.Equal(field != "", isField, "%v", err)
	if field != "" {
		s.True(strings.HasPrefix(appErr.Message(), field+": "), appErr.Message())
	}
}

func (s *incidentSuite) TestRunbookStepNeedsApprovalAndRunsOnce() {
	s.recordPages()
	s.runbookSteps()
	calls := s.callsOf(func(r incident.RunbookCallRequest) (incident.RunbookCallResult, error) {
		return incident.RunbookCallResult{Request: "POST https://auto.example.com/restart", Status: 200, StatusText: "200 OK",
			Output: "restarted 3 pods", Duration: incident.Duration(120 * time.Millisecond)}, nil
	})
	type try struct {
		at    time.Duration
		req   workflows.RunbookRequest
		field string // refused for it; "" and says "" means accepted
		says  string
	}
	tries := []try{
		{at: time.Minute, req: workflows.RunbookRequest{By: "alice", Step: "restart"}},
		{at: 2 * time.Minute, req: workflows.RunbookRequest{By: "alice", Step: "restart", Run: 1}, field: "by", says: "its approval must come from someone else allowed"},
		{at: 2 * time.Minute, req: workflows.RunbookRequest{By: "carol", Step: "restart"}, field: "by", says: "carol may not run restart (allowed: alice, bob, role:commander)"},
		{at: 2 * time.Minute, req: workflows.RunbookRequest{By: "alice", Step: "reboot"}, field: "step", says: `unknown step "reboot"`},
		{at: 2 * time.Minute, req: workflows.RunbookRequest{By: "alice", Step: "db"}, field: "step", says: `unknown step "db"`},
		{at: 2 * time.Minute, req: workflows.RunbookRequest{By: "bob", Step: "restart", Run: 3}, field: "run", says: "the next is run 2"},
		{at: 2 * time.Minute, req: workflows.RunbookRequest{Step: "restart"}, field: "by", says: "required"},
		// Not the commander yet: nobody has acknowledged.
		{at: 2 * time.Minute, req: workflows.RunbookRequest{By: "bob", Step: "flush"}, field: "by", says: "bob may not run flush"},
		{at: 3 * time.Minute, req: workflows.RunbookRequest{By: "bob", Step: "restart", Run: 1}},
		// The same click again, once its run is done.
		{at: 4 * time.Minute, req: workflows.RunbookRequest{By: "bob", Step: "restart", Run: 1}, field: "run", says: "run 1 of restart already ran (succeeded, HTTP 200"},
	}
	got := make([]error, len(tries))
	answers := make([]workflows.RunbookAnswer, len(tries))
	for i, tr := range tries {
		s.at(tr.at, func() { s.runbookUpdate(tr.req, &answers[i], &got[i]) })
	}
	s.at(150*time.Second, func() {
		rb := s.runbookState()
		s.Equal([]string{"drain", "flush", "restart"}, stepNames(rb))
		s.Equal(workflows.RunAwaitingApproval, rb.Steps[2].State)
		s.Equal("alice", rb.Steps[2].RequestedBy)
		s.Empty(*calls, "nothing runs before its approval")
	})
	s.resolveAt(5 * time.Minute)
	st := s.run("P3")

	for i, tr := range tries {
		if tr.says == "" {
			s.NoError(got[i], "try %d", i)
			continue
		}
		s.requireRefused(got[i], tr.field, tr.says)
	}
	s.Equal(workflows.RunAwaitingApproval, answers[0].Run.Status)
	s.Equal(1, answers[0].Run.Run)
	s.Equal(workflows.RunRunning, answers[8].Run.Status)
	s.Equal("bob", answers[8].Run.ApprovedBy)
	s.Require().Len(*calls, 1, "one approval, one call")
	call := (*calls)[0]
	s.Equal("restart", call.Step)
	s.Equal(1, call.Run)
	s.True(strings.HasPrefix(call.IdempotencyKey, st.ID+"/"), call.IdempotencyKey)
	s.True(strings.HasSuffix(call.IdempotencyKey, "/runbook/restart/1"), call.IdempotencyKey)
	s.True(timelineHas(st, workflows.KindRunbook, "asked for run 1 of restart (Restart checkout): awaiting approval by someone else allowed"), "%v", st.Timeline)
	s.True(timelineHas(st, workflows.KindRunbook, "approved run 1 of restart (Restart checkout), asked for by alice: calling POST https://auto.example.com/restart"))
	s.True(timelineHas(st, workflows.KindRunbook, "run 1 of restart succeeded: POST https://auto.example.com/restart answered 200 OK in 120ms:\nrestarted 3 pods"))
	for _, e := range st.Timeline {
		s.NotContains(e.Message, "sig=secret", "the URL's query never reaches the timeline")
	}
}

func (s *incidentSuite) runbookUpdate(req workflows.RunbookRequest, answer *workflows.RunbookAnswer, rejected *error) {
	s.env.UpdateWorkflow(workflows.UpdateRunbookStep, "", &updateInto{answer: answer, rejected: rejected}, req)
}

// updateInto keeps an Update's answer or its refusal.
type updateInto struct {
	answer   *workflows.RunbookAnswer
	rejected *error
}

func (u *updateInto) Accept() {}
func (u *updateInto) Reject(err error) {
	*u.rejected = err
}
func (u *updateInto) Complete(v any, err error) {
	if err != nil {
		*u.rejected = err
		return
	}
	if a, ok := v.(workflows.RunbookAnswer); ok {
		*u.answer = a
	}
}

func stepNames(rb workflows.Runbook) []string {
	var names []string
	for _, s := range rb.Steps {
		names = append(names, s.Name)
	}
	return names
}

// A step without approval runs at once for whom it allows (the commander
// here); a non-2xx answer and a call that got none are shown as failed.
func (s *incidentSuite) TestFailedRunbookStepsAreShownFailed() {
	s.recordPages()
	s.runbookSteps()
	calls := s.callsOf(func(r incident.RunbookCallRequest) (incident.RunbookCallResult, error) {
		if r.Step == "flush" {
			return incident.RunbookCallResult{Request: "POST https://auto.example.com/flush", Status: 503, StatusText: "503 Service Unavailable",
				Output: "deploy freeze in effect", Duration: incident.Duration(time.Second)}, nil
		}
		return incident.RunbookCallResult{}, temporal.NewNonRetryableApplicationError("POST https://auto.example.com/drain: connection refused", "RunbookCallFailed", nil)
	})
	s.ackAt(30*time.Second, "alice")
	var flushErr, drainErr, again error
	var flushed, drained, second workflows.RunbookAnswer
	s.at(time.Minute, func() { s.runbookUpdate(workflows.RunbookRequest{By: "alice", Step: "flush"}, &flushed, &flushErr) })
	s.at(time.Minute, func() { s.runbookUpdate(workflows.RunbookRequest{By: "alice", Step: "drain"}, &drained, &drainErr) })
	// A failed run may be asked for again: it is the step's next run.
	s.at(2*time.Minute, func() { s.runbookUpdate(workflows.RunbookRequest{By: "alice", Step: "flush", Run: 2}, &second, &again) })
	s.at(3*time.Minute, func() {
		rb := s.runbookState()
		s.Require().Len(rb.Runs, 3)
		s.Equal(workflows.RunFailed, rb.Runs[0].Status)
		s.Equal(503, rb.Runs[0].HTTPStatus)
		s.Equal("answered 503 Service Unavailable", rb.Runs[0].Error)
		s.Equal(workflows.RunFailed, rb.Runs[1].Status)
		s.Equal("POST https://auto.example.com/drain: connection refused", rb.Runs[1].Error)
	})
	s.resolveAt(4 * time.Minute)
	st := s.run("P3")

	s.NoError(flushErr)
	s.NoError(drainErr)
	s.NoError(again)
	s.Equal(2, second.Run.Run)
	s.Len(*calls, 3)
	s.True(timelineHas(st, workflows.KindRunbook, "ran flush (Flush the cache), run 1: calling POST https://auto.example.com/flush"), "%v", st.Timeline)
	s.True(timelineHas(st, workflows.KindRunbookFailed, "run 1 of flush failed: POST https://auto.example.com/flush answered 503 Service Unavailable in 1s:\ndeploy freeze in effect"))
	s.True(timelineHas(st, workflows.KindRunbookFailed, "run 1 of drain failed: POST https://auto.example.com/drain: connection refused"))
}

// A shadow incident records what it would have called and calls nothing;
// an exercise refuses a step not marked exercise_ok and runs one that is.
func (s *incidentSuite) TestRunbookStepsInShadowAndExercises() {
	for _, tc := range []struct {
		name     string
		input    func() workflows.IncidentInput
		step     string
		refused  string
		calls    int
		timeline string
	}{
		{name: "shadow", input: func() workflows.IncidentInput { in := s.input(); in.Shadow = true; return in }, step: "drain",
			timeline: "ran drain (Drain a node), run 1: would have called POST https://auto.example.com/drain (shadow mode: nothing sent)"},
		{name: "exercise refuses", input: func() workflows.IncidentInput { return s.exerciseInput("P3", "alice") }, step: "restart",
			refused: "restart: an exercise runs only steps marked exercise_ok"},
		{name: "exercise runs exercise_ok", input: func() workflows.IncidentInput { return s.exerciseInput("P3", "alice") }, step: "drain",
			calls: 1, timeline: "run 1 of drain succeeded"},
	} {
		s.Run(tc.name, func() {
			s.SetupTest()
			s.recordPages()
			s.env.OnActivity(s.acts.Announce, mock.Anything, mock.Anything).Maybe().Return(nil)
			s.runbookSteps()
			calls := s.callsOf(func(incident.RunbookCallRequest) (incident.RunbookCallResult, error) {
				return incident.RunbookCallResult{Request: "POST https://auto.example.com/drain", Status: 204, StatusText: "204 No Content"}, nil
			})
			var err error
			var answer workflows.RunbookAnswer
			s.at(time.Minute, func() { s.runbookUpdate(workflows.RunbookRequest{By: "alice", Step: tc.step}, &answer, &err) })
			s.resolveAt(2 * time.Minute)
			s.env.ExecuteWorkflow(workflows.IncidentWorkflow, tc.input())
			st := s.result()
			s.Len(*calls, tc.calls)
			if tc.refused != "" {
				s.requireRefused(err, "step", tc.refused)
				return
			}
			s.Require().NoError(err)
			s.True(timelineHas(st, workflows.KindRunbook, tc.timeline), "%v", st.Timeline)
			for _, c := range *calls {
				s.True(c.Exercise, "the call says it is a game day's")
			}
		})
	}
}
