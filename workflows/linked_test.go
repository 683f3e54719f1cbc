package workflows_test

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/testsuite"

	"github.com/incidentflow/incidentflow/incident"
	"github.com/incidentflow/incidentflow/workflows"
)

// sent is a signal the workflow sent to another incident.
type sent struct {
	to, name string
	arg      any
}

// recordSignals answers every signal to another incident with fail (nil:
// delivered) and keeps them.
func (s *incidentSuite) recordSignals(fail error) *[]sent {
	var out []sent
	s.env.OnSignalExternalWorkflow(mock.Anything, mock.Anything, mock.Anything, mock.Anything, mock.Anything).Maybe().Return(
		func(_, id, _, name string, arg any) error {
			s.mu.Lock()
			defer s.mu.Unlock()
			out = append(out, sent{to: id, name: name, arg: arg})
			return fail
		})
	return &out
}

// updateOutcome is what an Update got: refused (by its validator),
// failed, or done.
type updateOutcome struct{ rejected, failed error }

func (s *incidentSuite) linkUpdate(name string, req any, out *updateOutcome) {
	s.env.UpdateWorkflow(name, "", &testsuite.TestUpdateCallback{
		OnReject: func(err error) { out.rejected = err }, OnAccept: func() {},
		OnComplete: func(_ any, err error) { out.failed = err },
	}, req)
}

// A merge sends the duplicate's alerts and last timeline entries (each
// bounded) to the incident kept, and only then resolves and closes the
// duplicate naming it; an alert that still reaches it goes on there.
func (s *incidentSuite) TestMergeForwardsAndCloses() {
	s.recordPages()
	signals := s.recordSignals(nil)
	s.at(time.Second, func() {
		s.signal(workflows.SignalAlert, workflows.AlertSignal{Fingerprint: "fp1", Status: incident.AlertFiring, Summary: "5xx up"})
	})
	s.at(2*time.Second, func() {
		s.signal(workflows.SignalAlert, workflows.AlertSignal{Fingerprint: "fp1", Status: incident.AlertFiring, Count: 2})
	})
	for i := range 30 {
		s.at(time.Duration(3+i)*time.Second, func() {
			s.signal(workflows.SignalNote, workflows.NoteRequest{By: "bob", Text: fmt.Sprintf("note %d %s", i, strings.Repeat("x", 900))})
		})
	}
	var merged updateOutcome
	s.at(time.Minute, func() {
		s.linkUpdate(workflows.UpdateMerge, workflows.MergeRequest{By: "bob", Into: "incident-kept", IntoKey: "kept", Note: "same outage"}, &merged)
	})
	s.env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: workflows.IncidentID(s.input().Key)})
	s.env.ExecuteWorkflow(workflows.IncidentWorkflow, s.input())
	st := s.result()

	s.Require().NoError(merged.rejected)
	s.Require().NoError(merged.failed)
	s.Equal(incident.StatusClosed, st.Status)
	s.Equal("incident-kept", st.MergedInto)
	s.Require().NotEmpty(*signals)
	first := (*signals)[0]
	s.Equal("incident-kept", first.to)
	s.Equal(workflows.SignalMergeIn, first.name)
	in, ok := first.arg.(workflows.MergeIn)
	s.Require().True(ok, "%T", first.arg)
	s.Equal(st.ID, in.From)
	s.Equal("checkout 5xx", in.Title)
	s.Equal(3, in.AlertCount)
	s.Require().Len(in.Alerts, 1)
	s.Len(in.Timeline, workflows.MergeTimelineEntries, "the last entries only")
	for _, e := range in.Timeline {
		s.LessOrEqual(len(e.Message), 500, "each entry is bounded")
	}
	s.Contains(in.Timeline[len(in.Timeline)-1].Message, "note 29")
	var said []string
	for _, e := range st.Timeline {
		said = append(said, e.Message)
	}
	all := strings.Join(said, "\n")
	s.Contains(all, "merged into incident-kept as a duplicate (3 alerts and the last 20 timeline entries went there)")
	s.Contains(all, "resolved: merged into incident-kept")
	s.Contains(all, "closed: merged into incident-kept")
	s.Empty(s.postmortems, "a duplicate has no post-mortem")
}

// A duplicate's summary joins the incident kept: alerts of the same
// fingerprint are counted together, the others listed, and the timeline
// says where they came from.
func (s *incidentSuite) TestMergeInTakesTheDuplicatesAlertsAndTimeline() {
	s.recordPages()
	now := s.env.Now()
	var st workflows.Incident
	s.at(time.Second, func() {
		s.signal(workflows.SignalAlert, workflows.AlertSignal{Fingerprint: "shared", Status: incident.AlertFiring, Summary: "5xx up"})
	})
	s.at(time.Minute, func() {
		s.signal(workflows.SignalMergeIn, workflows.MergeIn{By: "bob", From: "incident-dup", Title: "checkout errors", AlertCount: 7,
			Alerts: []workflows.Alert{
				{Fingerprint: "shared", Status: incident.AlertFiring, Count: 4, FirstSeen: now, LastSeen: now},
				{Fingerprint: "other", Status: incident.AlertFiring, Count: 3, FirstSeen: now, LastSeen: now},
			},
			Timeline: []workflows.TimelineEntry{{At: now, Kind: workflows.KindAck, Actor: "carol", Message: "acknowledged"}}})
	})
	s.at(2*time.Minute, func() { st = s.state() })
	s.resolveAt(3 * time.Minute)
	s.closeAt(40 * time.Minute)
	s.env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: workflows.IncidentID(s.input().Key)})
	s.env.ExecuteWorkflow(workflows.IncidentWorkflow, s.input())
	s.result()

	s.Equal(8, st.AlertCount, "1 of its own and the duplicate's 7")
	s.Len(st.Alerts, 2)
	s.Require().Len(st.MergedFrom, 1)
	s.Equal(workflows.MergedIncident{ID: "incident-dup", Title: "checkout errors", Alerts: 7, By: "bob", At: st.MergedFrom[0].At}, st.MergedFrom[0])
	var merges []string
	for _, e := range st.Timeline {
		if e.Kind == workflows.KindMerge {
			merges = append(merges, e.Message)
		}
	}
	s.Require().Len(merges, 2)
	s.Equal("merged incident-dup into this incident: checkout errors, 7 alerts", merges[0])
	s.Contains(merges[1], "from incident-dup at ")
	s.Contains(merges[1], ": ack: acknowledged")
	s.Empty(st.AcknowledgedBy, "a forwarded ack acknowledges nothing here")
}

// Refused merges name the field at fault, or say why not; a merge the
// incident kept does not take leaves the duplicate as it was.
func (s *incidentSuite) TestMergeValidatorsRefuseByField() {
	s.recordPages()
	s.recordSignals(errors.New("workflow not found"))
	cases := []struct {
		name string
		req  workflows.MergeRequest
		says string
		// failed: accepted, then failed (the other incident did not answer).
		failed bool
	}{
		{"no by", workflows.MergeRequest{Into: "incident-a"}, "by: required", false},
		{"no into", workflows.MergeRequest{By: "bob"}, "into: required", false},
		{"itself", workflows.MergeRequest{By: "bob", Into: "checkout-5xx"}, "into: cannot merge incident incident-checkout-5xx into itself", false},
		{"long into", workflows.MergeRequest{By: "bob", Into: strings.Repeat("a", 600)}, "into: 600 bytes is too long", false},
		{"loop", workflows.MergeRequest{By: "bob", Into: "incident-dup"}, "into: incident-dup was merged into this incident; merging back would make a loop", false},
		{"gone", workflows.MergeRequest{By: "bob", Into: "incident-gone"}, "into: incident incident-gone did not take the merge", true},
	}
	outs := make([]updateOutcome, len(cases))
	s.at(time.Second, func() {
		s.signal(workflows.SignalMergeIn, workflows.MergeIn{By: "bob", From: "incident-dup", Title: "dup", AlertCount: 1})
	})
	for i, tc := range cases {
		s.at(time.Duration(i+1)*time.Minute, func() { s.linkUpdate(workflows.UpdateMerge, tc.req, &outs[i]) })
	}
	var st workflows.Incident
	s.at(20*time.Minute, func() { st = s.state() })
	s.resolveAt(21 * time.Minute)
	s.closeAt(60 * time.Minute)
	s.env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: workflows.IncidentID(s.input().Key)})
	s.env.ExecuteWorkflow(workflows.IncidentWorkflow, s.input())
	s.result()

	for i, tc := range cases {
		got := outs[i].rejected
		if tc.failed {
			s.NoError(got, tc.name)
			got = outs[i].failed
		}
		s.ErrorContains(got, tc.says, tc.name)
	}
	s.Empty(st.MergedInto, "a refused merge changes nothing")
	s.NotEqual(incident.StatusClosed, st.Status)
}

// A parent lists its children, refuses itself, a loop and more than its
// limit, and follows each child's status as the child reports it.
func (s *incidentSuite) TestLinkChildrenListedWithTheirStatus() {
	s.recordPages()
	signals := s.recordSignals(nil)
	type linkCase struct {
		name  string
		child string
		says  string
	}
	cases := []linkCase{
		{"no child", "", "child: required"},
		{"itself", "incident-checkout-5xx", "child: incident incident-checkout-5xx cannot be its own child"},
		{"first", "incident-c1", ""},
		{"again", "incident-c1", "incident-c1 is already a child of incident-checkout-5xx"},
	}
	for i := 2; len(cases) < 3+workflows.MaxChildren; i++ {
		cases = append(cases, linkCase{fmt.Sprintf("child %d", i), fmt.Sprintf("incident-c%d", i), ""})
	}
	cases = append(cases, linkCase{"one too many", "incident-over", fmt.Sprintf("child: incident incident-checkout-5xx already has %d children (limit %d)", workflows.MaxChildren, workflows.MaxChildren)})
	outs := make([]updateOutcome, len(cases))
	for i, tc := range cases {
		s.at(time.Duration(i+1)*time.Second, func() {
			s.linkUpdate(workflows.UpdateLinkChild, workflows.LinkRequest{By: "bob", Child: tc.child, ChildTitle: "db down", ChildStatus: incident.StatusTriggered}, &outs[i])
		})
	}
	s.at(2*time.Minute, func() {
		s.signal(workflows.SignalChildStatus, workflows.ChildStatus{Child: "incident-c1", Title: "db down", Severity: "P2", Status: incident.StatusAcknowledged, Stage: incident.StageIdentified})
	})
	var st workflows.Incident
	s.at(3*time.Minute, func() { st = s.state() })
	s.resolveAt(4 * time.Minute)
	s.closeAt(40 * time.Minute)
	s.env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: workflows.IncidentID(s.input().Key)})
	s.env.ExecuteWorkflow(workflows.IncidentWorkflow, s.input())
	s.result()

	for i, tc := range cases {
		if tc.says == "" {
			s.NoError(outs[i].rejected, tc.name)
			s.NoError(outs[i].failed, tc.name)
			continue
		}
		s.ErrorContains(outs[i].rejected, tc.says, tc.name)
	}
	s.Require().Len(st.Children, workflows.MaxChildren)
	c := st.Children[0]
	s.Equal("incident-c1", c.ID)
	s.Equal(incident.StatusAcknowledged, c.Status)
	s.Equal(incident.StageIdentified, c.Stage)
	s.Equal("bob", c.LinkedBy)
	told := 0
	for _, sg := range *signals {
		if sg.name == workflows.SignalSetParent {
			s.Equal(workflows.ParentRequest{By: "bob", Parent: "incident-checkout-5xx"}, sg.arg)
			told++
		}
	}
	s.Equal(workflows.MaxChildren, told, "each child is told its parent")
}

// A child tells its parent each status it takes, the last (closed)
// included before its run ends.
func (s *incidentSuite) TestChildReportsItsStatusToItsParent() {
	s.recordPages()
	signals := s.recordSignals(nil)
	var st workflows.Incident
	s.at(time.Second, func() {
		s.signal(workflows.SignalSetParent, workflows.ParentRequest{By: "bob", Parent: "incident-parent"})
	})
	s.at(time.Minute, func() { s.signal(workflows.SignalAck, workflows.ActionRequest{By: "bob"}) })
	s.at(2*time.Minute, func() { st = s.state() })
	s.resolveAt(3 * time.Minute)
	s.closeAt(40 * time.Minute)
	s.env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: workflows.IncidentID(s.input().Key)})
	s.env.ExecuteWorkflow(workflows.IncidentWorkflow, s.input())
	s.result()

	s.Equal("incident-parent", st.Parent)
	var statuses []incident.Status
	for _, sg := range *signals {
		s.Equal("incident-parent", sg.to)
		s.Equal(workflows.SignalChildStatus, sg.name)
		statuses = append(statuses, sg.arg.(workflows.ChildStatus).Status)
	}
	s.Equal([]incident.Status{incident.StatusTriggered, incident.StatusAcknowledged, incident.StatusMonitoring, incident.StatusClosed}, statuses,
		"resolved and closed in one step (the post-mortem goes on apart), so reported once")
}
