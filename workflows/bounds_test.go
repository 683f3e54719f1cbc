package workflows_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/incidentflow/incidentflow/incident"
	"github.com/incidentflow/incidentflow/workflows"
)

// farBelowLimit is what a query answer must stay under, whatever happened:
// Temporal refuses payloads over 2 MB, and an incident whose state crossed
// that line could no longer be read, acked or escalated.
const farBelowLimit = 600 << 10

// stillWorks reads, acks, escalates and resolves the incident at d, with
// Updates as the HTTP API does, and checks every answer is small.
func (s *incidentSuite) stillWorks(d time.Duration, errs *[]error, sizes *[]int) {
	s.at(d, func() {
		st := s.state()
		b, err := json.Marshal(st)
		s.Require().NoError(err)
		*sizes = append(*sizes, len(b))
	})
	for i, name := range []string{workflows.UpdateAck, workflows.UpdateEscalate, workflows.UpdateResolve} {
		name := name
		s.at(d+time.Duration(i+1)*time.Second, func() {
			s.env.UpdateWorkflow(name, "", &testsuite.TestUpdateCallback{
				OnReject: func(err error) { *errs = append(*errs, fmt.Errorf("%s rejected: %w", name, err)) },
				OnAccept: func() {},
				OnComplete: func(v interface{}, err error) {
					if err != nil {
						*errs = append(*errs, fmt.Errorf("%s: %w", name, err))
						return
					}
					b, _ := json.Marshal(v)
					*sizes = append(*sizes, len(b))
				},
			}, workflows.ActionRequest{By: "alice"})
		})
	}
}

func (s *incidentSuite) requireSmall(sizes []int, errs []error) {
	s.Require().Empty(errs)
	s.Require().Len(sizes, 4, "read, ack, escalate and resolve all answered")
	for _, n := range sizes {
		s.Less(n, farBelowLimit)
	}
	s.Less(sizes[1], 4096, "an Update answers a small result")
}

func (s *incidentSuite) TestFiveThousandDistinctAlertsInOneGroupKeepTheIncidentWorking() {
	s.recordPages()
	s.recordAnnouncements()
	summary := strings.Repeat("s", 1000)
	// As the intake sends them: batches of at most MaxBatchAlerts.
	for batch := 0; batch < 5000/workflows.MaxBatchAlerts; batch++ {
		s.at(time.Duration(batch+1)*time.Second, func() {
			var b workflows.AlertBatch
			for i := batch * workflows.MaxBatchAlerts; i < (batch+1)*workflows.MaxBatchAlerts; i++ {
				b.Alerts = append(b.Alerts, workflows.AlertSignal{Fingerprint: fmt.Sprintf("fp-%d", i), Status: incident.AlertFiring, Summary: summary, Source: "prom"})
			}
			s.signal(workflows.SignalAlerts, b)
		})
	}
	var errs []error
	var sizes []int
	s.stillWorks(time.Minute, &errs, &sizes)
	st := s.run("P3")
	s.requireSmall(sizes, errs)
	s.Equal(5000, st.AlertCount, "every alert counted")
	s.Len(st.Alerts, incident.MaxAlertsKept, "the most recent listed")
	s.Equal(5000-incident.MaxAlertsKept, st.AlertsForgotten)
	s.Equal("fp-4999", st.Alerts[len(st.Alerts)-1].Fingerprint)
	s.Equal(incident.StatusClosed, st.Status, "resolved, then closed after the window")
}

func (s *incidentSuite) TestHugeTitleAndSummaryAreCutAndMarked() {
	s.recordPages()
	s.recordAnnouncements()
	huge := strings.Repeat("t", 900<<10)
	s.at(time.Second, func() {
		s.signal(workflows.SignalAlert, workflows.AlertSignal{Fingerprint: huge, Status: incident.AlertFiring, Summary: huge, Source: "prom"})
	})
	var errs []error
	var sizes []int
	s.stillWorks(time.Minute, &errs, &sizes)
	in := s.input()
	in.Severity, in.Title = "P3", huge
	s.env.ExecuteWorkflow(workflows.IncidentWorkflow, in)
	st := s.result()
	s.requireSmall(sizes, errs)
	s.LessOrEqual(len(st.Title), incident.MaxTitle)
	s.Contains(st.Title, "[cut from 921600 bytes]")
	s.Require().Len(st.Alerts, 1)
	s.LessOrEqual(len(st.Alerts[0].Summary), incident.MaxTitle)
	s.Contains(st.Alerts[0].Summary, "[cut from 921600 bytes]")
	s.LessOrEqual(len(st.Alerts[0].Fingerprint), incident.MaxFingerprint)
}

func (s *incidentSuite) TestManyHugeNotesAreRefusedAndManyLongOnesBounded() {
	s.recordPages()
	s.recordAnnouncements()
	huge := strings.Repeat("n", 900<<10)
	long := strings.Repeat("l", incident.MaxText-10)
	s.at(time.Second, func() {
		for i := 0; i < 5; i++ {
			// Plain signals, as `temporal workflow signal` sends them.
			s.signal(workflows.SignalNote, workflows.NoteRequest{By: "mallory", Text: huge})
		}
		for i := 0; i < 300; i++ {
			s.signal(workflows.SignalNote, workflows.NoteRequest{By: "alice", Text: fmt.Sprintf("%d %s", i, long)})
		}
	})
	var rejected error
	s.at(2*time.Second, func() {
		s.env.UpdateWorkflow(workflows.UpdateNote, "", &testsuite.TestUpdateCallback{
			OnReject: func(err error) { rejected = err }, OnAccept: func() {}, OnComplete: func(interface{}, error) {},
		}, workflows.NoteRequest{By: "mallory", Text: huge})
	})
	var errs []error
	var sizes []int
	s.stillWorks(time.Minute, &errs, &sizes)
	st := s.run("P3")
	s.requireSmall(sizes, errs)
	s.ErrorContains(rejected, "text: 921600 bytes is too long (at most 4000)")
	size, lastNote := 0, ""
	for _, e := range st.Timeline {
		size += len(e.Message)
		s.LessOrEqual(len(e.Message), 2*incident.MaxText, "no huge note reached the timeline")
		if e.Kind == workflows.KindNote {
			lastNote = e.Message
		}
	}
	s.Equal(workflows.KindTriggered, st.Timeline[0].Kind, "the first entry stays")
	s.LessOrEqual(size, incident.MaxTimelineBytes)
	s.Positive(st.TimelineOmitted, "the oldest entries made room")
	s.True(strings.HasPrefix(lastNote, "299 "), "the newest notes are kept")
}

// One signal per alert, as `temporal workflow signal` or an old intake
// sends them: the incident hands over to a new run well before Temporal's
// 10,000 signals per run, and the new run has every alert.
func (s *incidentSuite) TestSignalStormContinuesAsNewBeforeTemporalsLimit() {
	s.recordPages()
	s.recordAnnouncements()
	// The test environment takes about a thousand signals per callback.
	for batch := 0; batch < 6; batch++ {
		s.at(time.Duration(batch+1)*time.Second, func() {
			for i := 0; i < 1000; i++ {
				s.signal(workflows.SignalAlert, workflows.AlertSignal{Fingerprint: "same", Status: incident.AlertFiring, Source: "prom"})
			}
		})
	}
	in := s.input()
	in.Severity = "P3"
	s.env.ExecuteWorkflow(workflows.IncidentWorkflow, in)
	s.Require().True(s.env.IsWorkflowCompleted())
	var next *workflow.ContinueAsNewError
	s.Require().ErrorAs(s.env.GetWorkflowError(), &next)
	var carried workflows.IncidentInput
	s.Require().NoError(converter.GetDefaultDataConverter().FromPayloads(next.Input, &carried))
	s.Require().NotNil(carried.Resume)
	s.Require().Len(carried.Resume.Alerts, 1)
	s.GreaterOrEqual(carried.Resume.Alerts[0].Count, 5000, "every signal taken before the hand-over is counted")
	s.Less(carried.Resume.Alerts[0].Count, 10000)
}
