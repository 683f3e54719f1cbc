package e2e

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidentflow/incidentflow/config"
	"github.com/incidentflow/incidentflow/incident"
	"github.com/incidentflow/incidentflow/workflows"
)

// Just-in-time access against a GitHub-speaking server: alice takes
// command of a checkout incident and joins the team that can deploy; the
// grant is taken back when its maximum passes (and not given again), and
// bob, commander of the next one, loses his when it closes.
func TestAccessGrantedWithARoleAndTakenBack(t *testing.T) {
	h := newHarnessWith(t, func(c *config.Config) {
		c.AccessGrants = map[string]config.AccessGrant{
			"prod-deploy": {Kind: config.AccessGitHubTeam, Org: "acme", Team: "prod-deploy", Services: []string{"checkout"},
				Roles: []string{"commander"}, Max: config.Duration(4 * time.Second)},
			"prod-logs": {Kind: config.AccessGitHubTeam, Org: "acme", Team: "prod-logs", Services: []string{"checkout"},
				Roles: []string{"ops"}, Max: config.Duration(time.Hour)},
		}
		alice, bob := c.Users["alice"], c.Users["bob"]
		alice.GitHub, bob.GitHub = "alice-gh", "bob-gh"
		c.Users["alice"], c.Users["bob"] = alice, bob
	})
	h.github.AddTeam("acme/prod-deploy")
	h.github.AddTeam("acme/prod-logs")
	timeline := func(id, text string) bool {
		for _, e := range h.incident(id).Timeline {
			if e.Kind == workflows.KindAccess && strings.Contains(e.Message, text) {
				return true
			}
		}
		return false
	}

	// 1. alice acks, becomes commander, joins the team; 4 s later she is out.
	code, body := h.post("/v1/alerts/alertmanager", alertmanagerPayload("access-"+t.Name(), "firing"), promToken)
	require.Equal(t, http.StatusAccepted, code, body)
	id := body["incident_id"].(string)
	code, out := h.post("/v1/incidents/"+id+"/ack", []byte(`{}`), aliceToken)
	require.Equal(t, http.StatusOK, code, out)
	waitFor(t, "alice in the team", 10*time.Second, func() bool { return strings.Join(h.github.Members("acme/prod-deploy"), ",") == "alice-gh" })
	waitFor(t, "the grant on the timeline", 10*time.Second, func() bool { return timeline(id, "granted prod-deploy to alice") })
	grantedAt := time.Now()
	waitFor(t, "alice out after the grant's maximum", 15*time.Second, func() bool { return len(h.github.Members("acme/prod-deploy")) == 0 })
	t.Logf("revoked %s after the grant was seen (maximum 4s)", time.Since(grantedAt).Round(100*time.Millisecond))
	waitFor(t, "the revoke on the timeline", 10*time.Second, func() bool { return timeline(id, "revoked prod-deploy from alice: its maximum of 4s passed") })
	time.Sleep(2 * time.Second)
	require.Empty(t, h.github.Members("acme/prod-deploy"), "not given again on the same incident while she holds the role")
	st := h.incident(id)
	require.Len(t, st.Access, 1)
	require.NotNil(t, st.Access[0].Granted)
	require.NotNil(t, st.Access[0].Revoked)

	// 2. bob takes the ops role on another, which reads the logs for an
	// hour at most; its close takes the grant back first.
	code, body = h.post("/v1/alerts/alertmanager", alertmanagerPayload("access2-"+t.Name(), "firing"), promToken)
	require.Equal(t, http.StatusAccepted, code, body)
	id2 := body["incident_id"].(string)
	code, out = h.post("/v1/incidents/"+id2+"/roles", []byte(`{"role":"ops","user":"bob"}`), bobToken)
	require.Equal(t, http.StatusOK, code, out)
	waitFor(t, "bob in the logs team", 10*time.Second, func() bool { return strings.Join(h.github.Members("acme/prod-logs"), ",") == "bob-gh" })
	code, out = h.post("/v1/incidents/"+id2+"/resolve", []byte(`{}`), bobToken)
	require.Equal(t, http.StatusOK, code, out)
	code, out = h.post("/v1/incidents/"+id2+"/close", []byte(`{"note":"done"}`), bobToken)
	require.Contains(t, []int{http.StatusOK, http.StatusConflict}, code, out)
	waitFor(t, "the incident closed", 15*time.Second, func() bool { return h.incident(id2).Status == incident.StatusClosed })
	require.True(t, timeline(id2, "taking prod-logs back from bob: the incident closed"))
	waitFor(t, "bob out when it closed", 10*time.Second, func() bool { return len(h.github.Members("acme/prod-logs")) == 0 })

	// The grant's own workflow says what it did.
	var child string
	for _, r := range h.incident(id2).Access {
		if r.Grant == "prod-logs" {
			child = r.Workflow
		}
	}
	v, err := temporalClient.QueryWorkflow(context.Background(), child, "", workflows.QueryAccess)
	require.NoError(t, err)
	var grant workflows.AccessGrantState
	require.NoError(t, v.Get(&grant))
	require.Equal(t, "bob-gh", grant.Request.Login)
	require.Equal(t, "the incident closed", grant.Reason)
	require.NotNil(t, grant.RevokedAt)
	recordHistory(t, child, "v15_access_grant")
	recordHistory(t, id2, "v15_access_incident")
}
