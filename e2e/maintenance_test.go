package e2e

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidentflow/incidentflow/config"
	"github.com/incidentflow/incidentflow/incident"
)

// A maintenance window made over HTTP: an alert inside it opens an
// incident that records the alert and pages nobody; when the window ends
// and the alert still fires, it pages as usual. Bad windows are refused
// naming the field, and a window that has ended cannot be removed.
func TestMaintenanceWindowHoldsPagingUntilItEnds(t *testing.T) {
	// A service of its own: the windows are install-wide, and other tests
	// page "checkout".
	svc := fmt.Sprintf("maint%d", time.Now().UnixNano()%1_000_000)
	h := newHarnessWith(t, func(c *config.Config) { c.Services[svc] = c.Services["checkout"] })
	t.Cleanup(func() {
		// The maintenance workflow would outlive this test's worker.
		_ = temporalClient.TerminateWorkflow(context.Background(), incident.MaintenanceWorkflowID, "", "test over")
	})

	for _, bad := range []struct {
		body  map[string]any
		token string
		code  int
		field string
	}{
		{map[string]any{"service": svc, "for": "1h"}, aliceToken, 400, "reason"},
		{map[string]any{"service": "nosuch", "for": "1h", "reason": "r"}, aliceToken, 400, "service"},
		{map[string]any{"service": svc, "start": "soon", "end": "later", "reason": "r"}, aliceToken, 400, "start"},
		{map[string]any{"service": svc, "for": "-1h", "reason": "r"}, aliceToken, 400, "for"},
		{map[string]any{"service": svc, "for": "1h", "reason": "r", "colour": "red"}, aliceToken, 400, "colour"},
		{map[string]any{"service": svc, "for": "1h", "reason": "r"}, "", 401, "authorization"},
	} {
		code, out := h.doJSON(http.MethodPost, "/v1/maintenance", bad.body, bad.token)
		require.Equal(t, bad.code, code, out)
		require.True(t, strings.HasPrefix(fmt.Sprint(out["error"]), bad.field), "%v names %s", out, bad.field)
	}

	code, out := h.doJSON(http.MethodPost, "/v1/maintenance", map[string]any{"service": svc, "for": "5s", "reason": "db upgrade"}, aliceToken)
	require.Equal(t, http.StatusCreated, code, out)
	window := out["id"].(string)
	require.Equal(t, "alice", out["by"])
	code, out = h.doJSON(http.MethodGet, "/v1/maintenance", nil, "")
	require.Equal(t, http.StatusOK, code)
	require.NotEmpty(t, out["windows"])

	opened := time.Now()
	code, body := h.post("/v1/alerts", []byte(fmt.Sprintf(`{"key":"maint-%s","title":"db down during upgrade","service":%q,"severity":"P2"}`, svc, svc)), genericToken)
	require.Equal(t, http.StatusAccepted, code, body)
	id := body["incident_id"].(string)
	waitFor(t, "the incident held", 5*time.Second, func() bool {
		st := h.incident(id)
		return st.Maintenance != nil && st.Maintenance.Reason == "db upgrade"
	})
	require.Empty(t, h.slack.Messages(aliceDM), "nobody is paged inside the window")

	waitFor(t, "the page when the window ends", 15*time.Second, func() bool { return len(h.slack.Messages(aliceDM)) == 1 })
	require.GreaterOrEqual(t, time.Since(opened), 3*time.Second, "not before the window ends")
	st := h.incident(id)
	require.Nil(t, st.Maintenance)
	var said []string
	for _, e := range st.Timeline {
		if e.Kind == "maintenance" {
			said = append(said, e.Message)
		}
	}
	require.Len(t, said, 2, "held, then released: %v", said)
	require.Contains(t, said[0], "in maintenance until")
	require.Contains(t, said[1], "paging as usual")

	code, out = h.doJSON(http.MethodDelete, "/v1/maintenance/"+window, nil, aliceToken)
	require.Equal(t, http.StatusNotFound, code, out)

	code, out = h.post("/v1/incidents/"+id+"/resolve", []byte(`{}`), aliceToken)
	require.Equal(t, http.StatusOK, code, out)
	recordRun(t, id, "", "v7_maintenance_hold")

	// From Slack: plan one, see it, end it early.
	reply := h.slash("U0ALICE", "maintenance "+svc+" 1h kernel patching")
	require.Equal(t, "in_channel", reply["response_type"], reply)
	require.Contains(t, reply["text"], "Maintenance `m2` on "+svc)
	reply = h.slash("U0BOB", "maintenance list")
	require.Contains(t, reply["text"], "kernel patching")
	reply = h.slash("U0BOB", "maintenance end m2")
	require.Contains(t, reply["text"], "ended early by <@U0BOB>")
	reply = h.slash("U0BOB", "maintenance "+svc+" soon x")
	require.Contains(t, reply["text"], "is not a duration")
}
