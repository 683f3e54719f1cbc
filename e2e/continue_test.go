package e2e

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidentflow/incidentflow/config"
)

// A long P1: status updates, notes and a role change carry across
// continue-as-new, and the incident still resolves into its post-mortem.
// Its two runs are recorded: the second starts from the first's state, so
// replaying it proves that state still decodes.
func TestStatusUpdatesAcrossContinueAsNew(t *testing.T) {
	h := newHarnessPaced(t, 50*time.Millisecond, func(c *config.Config) { c.History.ContinueAsNewEvents = 100 })
	groupKey := "long-" + t.Name()
	code, body := h.post("/v1/alerts/alertmanager", alertmanagerPayload(groupKey, "firing"), promToken)
	require.Equal(t, http.StatusAccepted, code, body)
	id := body["incident_id"].(string)
	act := func(action, payload string) map[string]any {
		t.Helper()
		code, body := h.post("/v1/incidents/"+id+"/"+action, []byte(payload), opsToken)
		require.Equal(t, http.StatusOK, code, "%s %s: %v", action, payload, body)
		return body
	}
	act("ack", `{"by":"alice","note":"looking"}`)
	act("roles", `{"by":"alice","role":"comms","user":"bob"}`)
	firstRun := ""
	for i := 1; i <= 24; i++ {
		// Updates come minutes apart in life; here, once the last one's posts are out.
		time.Sleep(200 * time.Millisecond)
		act("status-updates", fmt.Sprintf(`{"by":"bob","stage":"identified","message":"update %d","impact":"checkout slow"}`, i))
		if i%6 == 0 {
			act("notes", fmt.Sprintf(`{"by":"alice","text":"note %d"}`, i))
		}
		if firstRun == "" {
			d, err := temporalClient.DescribeWorkflowExecution(context.Background(), id, "")
			require.NoError(t, err)
			firstRun = d.GetWorkflowExecutionInfo().GetExecution().GetRunId()
		}
	}
	d, err := temporalClient.DescribeWorkflowExecution(context.Background(), id, "")
	require.NoError(t, err)
	require.NotEqual(t, firstRun, d.GetWorkflowExecutionInfo().GetExecution().GetRunId(), "the incident continued as new")

	st := h.incident(id)
	require.Equal(t, "acknowledged", string(st.Status))
	require.Equal(t, "alice", st.Commander)
	require.Equal(t, "bob", st.Roles["comms"])
	updates := 0
	for _, e := range st.Timeline {
		if e.Kind == "status_update" {
			updates++
		}
	}
	require.Equal(t, 24, updates, "every update survives the hand-over")

	act("resolve", `{"by":"alice","note":"fixed"}`)
	waitFor(t, "closed after the window", 15*time.Second, func() bool { return string(h.incident(id).Status) == "closed" })
	recordRun(t, id, firstRun, "v2_updates_before_continue")
	recordHistory(t, id, "v2_updates_after_continue")
	recordRun(t, id, firstRun, "v3_updates_before_continue")
	recordHistory(t, id, "v3_updates_after_continue")
}
