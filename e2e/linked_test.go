package e2e

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"

	"github.com/incidentflow/incidentflow/config"
	"github.com/incidentflow/incidentflow/incident"
	"github.com/incidentflow/incidentflow/workflows"
)

// Two incidents for one outage are merged over HTTP: the duplicate's alert
// and timeline go to the incident kept, the duplicate closes naming it, and
// a later alert on the duplicate's key lands on the incident kept instead
// of opening the duplicate again. A third incident is linked under the
// kept one, which lists it with the status it reports; Slack unlinks it.
func TestMergeAndLinkOverHTTP(t *testing.T) {
	h := newHarness(t)
	open := func(key, title string) string {
		t.Helper()
		code, body := h.post("/v1/alerts", []byte(`{"key":"`+key+`","title":"`+title+`","severity":"warning"}`), genericToken)
		require.Equal(t, http.StatusAccepted, code, body)
		return body["incident_id"].(string)
	}
	kept := open("linked-kept", "checkout 5xx")
	dupKey := "linked-dup"
	dup := open(dupKey, "payments failing")
	child := open("linked-child", "db-2 disk full")
	dupRun := func() string {
		d, err := temporalClient.DescribeWorkflowExecution(context.Background(), dup, "")
		require.NoError(t, err)
		return d.GetWorkflowExecutionInfo().GetExecution().GetRunId()
	}()
	waitFor(t, "the three incidents to have their alert", 10*time.Second, func() bool {
		return h.incident(kept).AlertCount == 1 && h.incident(dup).AlertCount == 1 && h.incident(child).AlertCount == 1
	})

	merge := "/v1/incidents/" + dup + "/merge"
	for _, tc := range []struct {
		name, body, token string
		code              int
		says              string
	}{
		{"no token", `{"into":"` + kept + `"}`, "", http.StatusUnauthorized, "authorization"},
		{"no into", `{}`, aliceToken, http.StatusBadRequest, "into: required"},
		{"itself", `{"into":"` + dup + `"}`, aliceToken, http.StatusBadRequest, "into: cannot merge incident " + dup + " into itself"},
		{"unknown", `{"into":"incident-nothing-here"}`, aliceToken, http.StatusBadRequest, "into: no incident incident-nothing-here"},
		{"long", `{"into":"` + strings.Repeat("x", 700) + `"}`, aliceToken, http.StatusBadRequest, "into: 700 bytes is too long"},
		{"unknown field", `{"onto":"` + kept + `"}`, aliceToken, http.StatusBadRequest, "onto: unknown field"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out := h.post(merge, []byte(tc.body), tc.token)
			require.Equal(t, tc.code, code, out)
			require.Contains(t, out["error"], tc.says)
		})
	}

	code, out := h.post(merge, []byte(`{"into":"`+kept+`","note":"same outage"}`), aliceToken)
	require.Equal(t, http.StatusOK, code, out)
	require.Equal(t, kept, out["merged_into"])
	require.Equal(t, string(incident.StatusClosed), out["status"])
	waitFor(t, "the duplicate's run to end", 10*time.Second, func() bool { return !h.running(dup) })

	k := h.incident(kept)
	require.Equal(t, 2, k.AlertCount, "its own alert and the duplicate's")
	require.Len(t, k.MergedFrom, 1)
	require.Equal(t, dup, k.MergedFrom[0].ID)
	require.Equal(t, "alice", k.MergedFrom[0].By)
	require.Contains(t, timelineText(k), "merged "+dup+" into this incident: payments failing, 1 alert")
	require.Contains(t, timelineText(k), "from "+dup+" at ")

	code, out = h.post("/v1/incidents/"+child+"/merge", []byte(`{"into":"`+dup+`"}`), aliceToken)
	require.Equal(t, http.StatusConflict, code, out)
	require.Contains(t, out["error"], "into: incident "+dup+" is closed")

	// The duplicate's key again: the incident kept takes it.
	code, body := h.post("/v1/alerts", []byte(`{"key":"`+dupKey+`","title":"payments failing again","severity":"warning"}`), genericToken)
	require.Equal(t, http.StatusAccepted, code, body)
	require.Equal(t, kept, body["incident_id"], "the answer names the incident kept")
	waitFor(t, "the alert on the merged key to join the incident kept", 10*time.Second, func() bool { return h.incident(kept).AlertCount == 3 })
	require.False(t, h.running(dup), "the duplicate was not opened again")
	require.Equal(t, dupRun, func() string {
		d, err := temporalClient.DescribeWorkflowExecution(context.Background(), dup, "")
		require.NoError(t, err)
		return d.GetWorkflowExecutionInfo().GetExecution().GetRunId()
	}(), "no new run of the duplicate")
	recordHistory(t, dup, "v11_linked")

	// A child under the incident kept.
	link := "/v1/incidents/" + child + "/link"
	for _, tc := range []struct {
		name, body string
		code       int
		says       string
	}{
		{"no parent", `{}`, http.StatusBadRequest, "parent: required"},
		{"itself", `{"parent":"` + child + `"}`, http.StatusBadRequest, "parent: incident " + child + " cannot be its own parent"},
		{"closed parent", `{"parent":"` + dup + `"}`, http.StatusConflict, "parent: incident " + dup + " is closed"},
	} {
		t.Run("link "+tc.name, func(t *testing.T) {
			code, out := h.post(link, []byte(tc.body), bobToken)
			require.Equal(t, tc.code, code, out)
			require.Contains(t, out["error"], tc.says)
		})
	}
	code, out = h.post(link, []byte(`{"parent":"`+kept+`"}`), bobToken)
	require.Equal(t, http.StatusOK, code, out)
	require.Equal(t, kept, out["id"], "the answer is the parent")
	require.Equal(t, kept, h.incident(child).Parent, "the child names its parent")
	code, out = h.post("/v1/incidents/"+kept+"/link", []byte(`{"parent":"`+child+`"}`), bobToken)
	require.Equal(t, http.StatusBadRequest, code, out)
	require.Contains(t, out["error"], "parent: "+child+" is under "+kept+" already")

	code, out = h.post("/v1/incidents/"+child+"/ack", []byte(`{}`), bobToken)
	require.Equal(t, http.StatusOK, code, out)
	waitFor(t, "the parent to list its child acknowledged", 10*time.Second, func() bool {
		c := h.incident(kept).Children
		return len(c) == 1 && c[0].ID == child && c[0].Status == incident.StatusAcknowledged
	})
	require.Equal(t, "db-2 disk full", h.incident(kept).Children[0].Title)

	reply := h.slash("U0BOB", "unlink "+child)
	require.Equal(t, "in_channel", reply["response_type"], reply)
	require.Empty(t, h.incident(kept).Children)
	waitFor(t, "the child to forget its parent", 10*time.Second, func() bool { return h.incident(child).Parent == "" })
	reply = h.slash("U0BOB", "link "+child+" "+kept)
	require.Equal(t, "in_channel", reply["response_type"], reply)
	require.Contains(t, reply["text"], fmt.Sprintf("bob linked %s as a child of %s (1 child)", child, kept))
	reply = h.slash("U0BOB", "merge "+child+" "+child)
	require.Equal(t, "ephemeral", reply["response_type"], reply)
	require.Contains(t, reply["text"], "into: cannot merge incident "+child+" into itself")

	// Both end, the child first: its parent lists it closed. Their
	// histories guard the commands each took.
	code, out = h.post("/v1/incidents/"+child+"/resolve", []byte(`{}`), bobToken)
	require.Equal(t, http.StatusOK, code, out)
	waitFor(t, "the parent to list its child closed", 15*time.Second, func() bool {
		c := h.incident(kept).Children
		return len(c) == 1 && c[0].Status == incident.StatusClosed
	})
	// It reports its close to its parent just before its run ends.
	waitFor(t, "the child's run to end", 10*time.Second, func() bool { return !h.running(child) })
	code, out = h.post("/v1/incidents/"+kept+"/resolve", []byte(`{}`), aliceToken)
	require.Equal(t, http.StatusOK, code, out)
	waitFor(t, "the parent to close", 15*time.Second, func() bool { return !h.running(kept) })
	recordHistory(t, kept, "v11_linked_parent")
	recordHistory(t, child, "v11_linked_child")
}

func (h *harness) running(id string) bool {
	h.t.Helper()
	d, err := temporalClient.DescribeWorkflowExecution(context.Background(), id, "")
	require.NoError(h.t, err)
	return d.GetWorkflowExecutionInfo().GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING
}

func timelineText(st workflows.Incident) string {
	var b strings.Builder
	for _, e := range st.Timeline {
		b.WriteString(e.Message + "\n")
	}
	return b.String()
}

// One outage on two services is a major incident: linking an incident of
// another service under a parent reaches the protocol's services threshold,
// and the parent declares itself major.
func TestLinkedIncidentsOnTwoServicesMakeTheParentMajor(t *testing.T) {
	h := newHarnessWith(t, func(c *config.Config) {
		c.Services["search"] = config.Service{EscalationPolicy: "primary"}
		c.MajorIncident.ServicesThreshold = 2
	})
	open := func(key, service string) string {
		t.Helper()
		code, body := h.post("/v1/alerts", []byte(`{"key":"`+key+`-`+t.Name()+`","title":"`+service+` failing","severity":"warning","service":"`+service+`"}`), genericToken)
		require.Equal(t, http.StatusAccepted, code, body)
		return body["incident_id"].(string)
	}
	parent, child := open("major-parent", "checkout"), open("major-child", "search")
	waitFor(t, "both open", 10*time.Second, func() bool { return h.running(parent) && h.running(child) })
	require.Nil(t, h.incident(parent).Major, "one service: not major")
	code, out := h.post("/v1/incidents/"+child+"/link", []byte(`{"parent":"`+parent+`"}`), bobToken)
	require.Equal(t, http.StatusOK, code, out)
	waitFor(t, "the parent to become major", 10*time.Second, func() bool { return h.incident(parent).Major != nil })
	m := h.incident(parent).Major
	require.True(t, m.Automatic)
	require.Contains(t, m.Reason, "linked incidents on 2 services (checkout, search)")
	for _, id := range []string{child, parent} {
		code, out = h.post("/v1/incidents/"+id+"/resolve", []byte(`{}`), bobToken)
		require.Equal(t, http.StatusOK, code, out)
	}
}
