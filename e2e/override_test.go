package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidentflow/incidentflow/config"
	"github.com/incidentflow/incidentflow/incident"
)

// doJSON sends v as the JSON body of any request.
func (h *harness) doJSON(method, path string, v any, token string) (int, map[string]any) {
	h.t.Helper()
	var body []byte
	if v != nil {
		var err error
		body, err = json.Marshal(v)
		require.NoError(h.t, err)
	}
	return h.do(method, path, body, token)
}

// "I'm covering alice tonight", said over HTTP: the next page goes to bob,
// who on call says so, the override survives in its schedule's workflow,
// and once removed alice is paged again. Bad overrides are refused naming
// the field. Then the same from Slack.
func TestOverrideAtRunTimeTakesTheNextPage(t *testing.T) {
	// A schedule of its own: schedules are namespace-wide, and other tests
	// page "primary".
	sched := fmt.Sprintf("cover%d", time.Now().UnixNano()%1_000_000_000)
	h := newHarnessWith(t, func(c *config.Config) {
		c.Schedules[sched] = c.Schedules["primary"]
		c.EscalationPolicies["primary"].Steps[0].Targets = []string{"schedule:" + sched}
		c.EscalationPolicies["primary"].Steps[1].Delay = ptr(config.Duration(time.Hour))
	})
	base := "/v1/schedules/" + sched + "/overrides"
	now := time.Now().UTC()

	for _, bad := range []struct {
		body  map[string]any
		token string
		code  int
		field string
	}{
		{map[string]any{"user": "mallory", "start": now, "end": now.Add(time.Hour)}, bobToken, 400, "user"},
		{map[string]any{"user": "bob", "start": now.Add(time.Hour), "end": now}, bobToken, 400, "end"},
		{map[string]any{"user": "bob", "start": "tonight", "end": now.Add(time.Hour)}, bobToken, 400, "start"},
		{map[string]any{"user": "bob", "start": now, "end": now.Add(time.Hour)}, "", 401, "authorization"},
		{map[string]any{"user": "bob", "start": now, "end": now.Add(time.Hour), "by": "alice"}, bobToken, 403, "by"},
	} {
		code, out := h.doJSON(http.MethodPost, base, bad.body, bad.token)
		require.Equal(t, bad.code, code, out)
		require.True(t, strings.HasPrefix(fmt.Sprint(out["error"]), bad.field), "%v names %s", out, bad.field)
	}
	code, out := h.doJSON(http.MethodPost, "/v1/schedules/nosuch/overrides", map[string]any{"user": "bob", "start": now, "end": now.Add(time.Hour)}, bobToken)
	require.Equal(t, http.StatusNotFound, code, out)

	// bob's own token: he acts as himself without saying so.
	code, out = h.doJSON(http.MethodPost, base, map[string]any{"user": "bob", "start": now.Add(-time.Minute), "end": now.Add(time.Hour)}, bobToken)
	require.Equal(t, http.StatusCreated, code, out)
	id := out["id"].(string)
	require.Equal(t, "bob", out["by"])

	code, out = h.doJSON(http.MethodGet, "/v1/oncall?schedule="+sched, nil, "")
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "bob", out["oncall"].([]any)[0].(map[string]any)["user"], out)
	code, out = h.doJSON(http.MethodGet, base, nil, "")
	require.Equal(t, http.StatusOK, code)
	require.Len(t, out["overrides"], 1)

	code, _ = h.post("/v1/alerts", []byte(`{"key":"override-1-`+sched+`","title":"covered","severity":"warning"}`), genericToken)
	require.Equal(t, http.StatusAccepted, code)
	waitFor(t, "bob paged in alice's place", 10*time.Second, func() bool { return len(h.slack.Messages(bobDM)) == 1 })
	require.Empty(t, h.slack.Messages(aliceDM), "the override takes the page")

	code, out = h.doJSON(http.MethodDelete, base+"/"+id, nil, aliceToken)
	require.Equal(t, http.StatusOK, code, out)
	code, out = h.doJSON(http.MethodDelete, base+"/"+id, nil, aliceToken)
	require.Equal(t, http.StatusNotFound, code, out)

	code, _ = h.post("/v1/alerts", []byte(`{"key":"override-2-`+sched+`","title":"back to alice","severity":"warning"}`), genericToken)
	require.Equal(t, http.StatusAccepted, code)
	waitFor(t, "alice paged again", 10*time.Second, func() bool { return len(h.slack.Messages(aliceDM)) == 1 })

	// From Slack: bob covers for twelve hours, everyone sees it, on call says so.
	reply := h.slash("U0BOB", "oncall override "+sched+" 12h")
	require.Equal(t, "in_channel", reply["response_type"], reply)
	require.Contains(t, reply["text"], "<@U0BOB> is on call for "+sched)
	reply = h.slash("U0ALICE", "oncall "+sched)
	require.Contains(t, reply["text"], "*"+sched+"*: <@U0BOB> until")
	reply = h.slash("U0ALICE", "oncall overrides "+sched)
	require.Contains(t, reply["text"], "`o2` <@U0BOB>")
	reply = h.slash("U0ALICE", "oncall override remove "+sched+" o2")
	require.Contains(t, reply["text"], "Removed override `o2`")
	reply = h.slash("U0ALICE", "oncall override "+sched+" 2026-11-24T20:00 2026-11-24T08:00 @bob")
	require.Contains(t, reply["text"], "end: must be after start")

	// The schedule's workflow would outlive this test's worker: end it, and
	// keep its history for the replay tests.
	wf := incident.ScheduleWorkflowID(sched)
	require.NoError(t, temporalClient.TerminateWorkflow(context.Background(), wf, "", "test over"))
	recordRun(t, wf, "", "v5_schedule_overrides")
}
