package workflows_test

import (
	"context"
	"errors"
	"time"

	"github.com/stretchr/testify/mock"

	"github.com/incidentflow/incidentflow/activities"
	"github.com/incidentflow/incidentflow/incident"
	"github.com/incidentflow/incidentflow/workflows"
)

// Past incidents like this one are looked up once, as it opens, and its
// card shows them; a look-up that fails leaves the card as it was, and
// paging never waits on it.
func (s *incidentSuite) TestSimilarPastIncidentsReachTheCard() {
	for _, c := range []struct {
		name  string
		found []incident.SimilarIncident
		err   error
	}{
		{"found", []incident.SimilarIncident{
			{ID: "incident-checkout-5xx", Title: "checkout 5xx", Severity: "P1", Why: "the same alert key", RootCause: "pool too small"},
			{ID: "incident-checkout-502", Title: "checkout 502s", Severity: "P2", Why: "a near-identical title"},
		}, nil},
		{"look-up failed", nil, errors.New("visibility unavailable")},
	} {
		s.Run(c.name, func() {
			s.SetupTest()
			s.acts.Slack = &activities.Slack{} // configured; the activities are mocked
			var cards []incident.CardRequest
			looked := 0
			s.env.OnActivity(s.acts.FindSimilar, mock.Anything, mock.Anything).Return(
				func(_ context.Context, req incident.SimilarRequest) ([]incident.SimilarIncident, error) {
					looked++
					s.Equal("checkout", req.Service)
					s.Equal("checkout 5xx", req.Title)
					return c.found, c.err
				})
			s.env.OnActivity(s.acts.OpenChannel, mock.Anything, mock.Anything).Maybe().Return(incident.SlackChannel{ID: "C0INC", Name: "inc-checkout"}, nil)
			s.env.OnActivity(s.acts.InviteToChannel, mock.Anything, mock.Anything).Maybe().Return(nil)
			s.env.OnActivity(s.acts.UpsertCard, mock.Anything, mock.Anything).Maybe().Return(
				func(_ context.Context, req incident.CardRequest) (incident.CardRef, error) {
					s.mu.Lock()
					defer s.mu.Unlock()
					cards = append(cards, req)
					return incident.CardRef{Channel: req.Channel, TS: "1700000000.000100"}, nil
				})
			s.resolveAt(10 * time.Minute)
			in := s.input()
			in.Severity = "P1"
			s.env.ExecuteWorkflow(workflows.IncidentWorkflow, in)
			s.True(s.env.IsWorkflowCompleted())

			s.Require().NotEmpty(cards)
			last := cards[len(cards)-1]
			if c.err != nil {
				s.Equal(2, looked, "tried twice, no more")
				s.Empty(last.Similar)
				return
			}
			s.Equal(1, looked, "looked up once, as it opened")
			s.Equal(c.found, last.Similar, "the card shows them")
		})
	}
}
