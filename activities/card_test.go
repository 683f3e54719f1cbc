package activities_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/incidentflow/incidentflow/incident"
)

func TestCardPostedOnceThenUpdatedInPlace(t *testing.T) {
	fake, s := newSlack(t)
	req := incident.CardRequest{IncidentID: "incident-x", Channel: "C0INC", Title: "Checkout 5xx", Severity: "P1",
		Status: incident.StatusTriggered, Stage: "investigating", Roles: map[string]string{}, AlertCount: 1}
	ref, err := s.UpsertCard(context.Background(), req)
	require.NoError(t, err)
	require.Equal(t, "C0INC", ref.Channel)

	// The workflow lost the answer and retries with no ref: no second card.
	again, err := s.UpsertCard(context.Background(), req)
	require.NoError(t, err)
	require.Equal(t, ref, again)
	require.Len(t, fake.Posted("C0INC"), 1)

	req.Ref = &ref
	req.Status, req.Roles = incident.StatusAcknowledged, map[string]string{"commander": "alice"}
	_, err = s.UpsertCard(context.Background(), req)
	require.NoError(t, err)
	posted := fake.Posted("C0INC")
	require.Len(t, posted, 1)
	require.Contains(t, posted[0].Text, "(acknowledged)")
	require.Contains(t, posted[0].Blocks, "commander: alice")
	require.Contains(t, posted[0].Blocks, `"action_id":"incident_ack"`)

	req.Status = incident.StatusClosed
	_, err = s.UpsertCard(context.Background(), req)
	require.NoError(t, err)
	require.NotContains(t, fake.Posted("C0INC")[0].Blocks, "incident_ack", "no buttons once closed")
}
