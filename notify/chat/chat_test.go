package chat

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/incidentflow/incidentflow/notify"
)

func receive(t *testing.T, status int) (*httptest.Server, *map[string]any) {
	t.Helper()
	var got map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		require.Equal(t, "application/json", r.Header.Get("Content-Type"))
		require.NoError(t, json.NewDecoder(r.Body).Decode(&got))
		w.WriteHeader(status)
	}))
	t.Cleanup(srv.Close)
	return srv, &got
}

var page = notify.Page{IncidentID: "incident-db", Title: "db down", Severity: "P1", Service: "db", Text: "[P1] db down (round 1 step 1)", IdempotencyKey: "k"}

func TestTeamsGetsAnAdaptiveCard(t *testing.T) {
	srv, got := receive(t, http.StatusAccepted)
	require.NoError(t, (&Channel{Kind: Teams, Name: "sre", URL: srv.URL}).Send(context.Background(), page))
	require.Equal(t, "message", (*got)["type"])
	att := (*got)["attachments"].([]any)[0].(map[string]any)
	require.Equal(t, "application/vnd.microsoft.card.adaptive", att["contentType"])
	card := att["content"].(map[string]any)
	require.Equal(t, "AdaptiveCard", card["type"])
	body := card["body"].([]any)
	require.Equal(t, "[P1] db down", body[0].(map[string]any)["text"])
	require.Equal(t, page.Text, body[1].(map[string]any)["text"])
}

func TestMattermostGetsSlackCompatibleAttachments(t *testing.T) {
	srv, got := receive(t, http.StatusOK)
	require.NoError(t, (&Channel{Kind: Mattermost, Name: "ops", URL: srv.URL}).Send(context.Background(), page))
	require.Equal(t, "[P1] db down", (*got)["text"])
	att := (*got)["attachments"].([]any)[0].(map[string]any)
	require.Equal(t, page.Text, att["text"])
	require.Equal(t, "[P1] db down: "+page.Text, att["fallback"])
}

func TestAWrongURLIsPermanentAndAnOutageIsNot(t *testing.T) {
	gone, _ := receive(t, http.StatusNotFound)
	err := (&Channel{Kind: Teams, Name: "sre", URL: gone.URL}).Send(context.Background(), page)
	require.True(t, notify.IsPermanent(err), err)
	down, _ := receive(t, http.StatusServiceUnavailable)
	err = (&Channel{Kind: Mattermost, Name: "ops", URL: down.URL}).Send(context.Background(), page)
	require.Error(t, err)
	require.False(t, notify.IsPermanent(err))
}
