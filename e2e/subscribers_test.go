package e2e

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidentflow/incidentflow/config"
	"github.com/incidentflow/incidentflow/incident"
	"github.com/incidentflow/incidentflow/internal/fakesmtp"
	"github.com/incidentflow/incidentflow/workflows"
)

// Stakeholders subscribed over HTTP (an email address, a Slack user) and
// in the config (the service's list) get the public status update, and
// only it: by mail at the SMTP server, by DM at the Slack server.
func TestSubscribersGetPublicUpdatesOnly(t *testing.T) {
	smtpSrv, err := fakesmtp.Start("pager", "smtp-s3cret")
	require.NoError(t, err)
	t.Cleanup(smtpSrv.Close)
	h := newHarnessWith(t, func(c *config.Config) {
		host, port := smtpSrv.Addr()
		off := false
		c.SMTP = config.SMTP{Host: host, Port: port, From: "status@example.com", UsernameEnv: "SMTP_USER", PasswordEnv: "SMTP_PASSWORD", StartTLS: &off}
		svc := c.Services["checkout"]
		svc.Subscribers = []incident.Subscriber{{Email: "support-leads@example.com"}}
		c.Services["checkout"] = svc
	})
	code, body := h.post("/v1/alerts", []byte(`{"key":"subs-`+t.Name()+`","title":"payments slow on db-2","severity":"warning"}`), genericToken)
	require.Equal(t, http.StatusAccepted, code, body)
	id := body["incident_id"].(string)
	path := "/v1/incidents/" + id + "/subscribers"

	for _, tc := range []struct {
		name, body, token string
		code              int
		says              string
	}{
		{"no token", `{"email":"cfo@example.com"}`, "", http.StatusUnauthorized, "authorization: an API token is required"},
		{"bad email", `{"email":"cfo at example.com"}`, aliceToken, http.StatusBadRequest, `email: "cfo at example.com" is not an email address`},
		{"long email", `{"email":"` + strings.Repeat("a", 250) + `@example.com"}`, aliceToken, http.StatusBadRequest, "email: 262 bytes is too long (at most 254)"},
		{"both", `{"email":"cfo@example.com","slack_user":"U0CFO"}`, aliceToken, http.StatusBadRequest, "slack_user: give email or slack_user, not both"},
		{"slack shape", `{"slack_user":"@cfo"}`, aliceToken, http.StatusBadRequest, "slack_user: "},
		{"unknown field", `{"phone":"+15555550100"}`, aliceToken, http.StatusBadRequest, "phone: unknown field"},
		{"empty", ``, aliceToken, http.StatusBadRequest, "email: required"},
		{"email", `{"email":"cfo@example.com"}`, aliceToken, http.StatusCreated, ""},
		{"again", `{"email":"CFO@example.com"}`, aliceToken, http.StatusConflict, "already gets the public updates"},
		{"slack user", `{"slack_user":"U0CFO"}`, bobToken, http.StatusCreated, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out := h.post(path, []byte(tc.body), tc.token)
			require.Equal(t, tc.code, code, out)
			if tc.says != "" {
				require.Contains(t, out["error"], tc.says)
			}
		})
	}
	code, out := h.do(http.MethodGet, path, nil, "")
	require.Equal(t, http.StatusUnauthorized, code, "addresses are not for public reads: %v", out)
	list := h.subscribers(id)
	require.Len(t, list.Subscribers, 2)
	require.Equal(t, "email:cfo@example.com", list.Subscribers[0].ID)
	require.Equal(t, "alice", list.Subscribers[0].AddedBy)
	require.Equal(t, "slack:U0CFO", list.Subscribers[1].ID)
	require.Equal(t, []incident.Subscriber{{Email: "support-leads@example.com"}}, list.ServiceSubscribers)
	require.Equal(t, 2, h.incident(id).Subscribers)

	private := "root cause: connection pool exhausted on db-2"
	code, out = h.post("/v1/incidents/"+id+"/status-updates", []byte(`{"stage":"identified","message":"`+private+`"}`), aliceToken)
	require.Equal(t, http.StatusOK, code, out)
	public := "Payments are slower than usual; we know why"
	code, out = h.post("/v1/incidents/"+id+"/status-updates",
		[]byte(`{"stage":"identified","public":true,"message":"`+public+`","impact":"some payments take 30 seconds","known":"pool size 10","doing":"raising the pool"}`), aliceToken)
	require.Equal(t, http.StatusOK, code, out)

	waitFor(t, "the delivery on the timeline", 15*time.Second, func() bool {
		for _, e := range h.incident(id).Timeline {
			if e.Kind == workflows.KindSubscribersNotified {
				return true
			}
		}
		return false
	})
	mailTo := map[string][]fakesmtp.Message{}
	for _, m := range smtpSrv.Messages() {
		for _, to := range m.To {
			mailTo[to] = append(mailTo[to], m)
		}
	}
	for _, addr := range []string{"cfo@example.com", "support-leads@example.com"} {
		require.Len(t, mailTo[addr], 1, "%s gets the public update once", addr)
		m := mailTo[addr][0]
		require.Equal(t, "Update on checkout (Identified): "+public, m.Header.Get("Subject"))
		require.Contains(t, m.Body, "Impact: some payments take 30 seconds")
		require.NotContains(t, m.Body, private)
		require.NotContains(t, m.Body, "pool size 10", "the internal notes stay inside")
	}
	dms := h.slack.Messages("D0CFO")
	require.Len(t, dms, 1, "one DM: the public update")
	require.Contains(t, dms[0].Form.Get("text"), public)
	require.NotContains(t, dms[0].Form.Get("text"), private)
	require.True(t, h.timelineSays(id, "public update sent to 3 subscribers"))

	// `/incident subscribe` from Slack: a stakeholder who is no user of
	// incidentflow subscribes themself.
	reply := h.slash("U0STAKE", "subscribe "+id)
	require.Equal(t, "ephemeral", reply["response_type"])
	require.Contains(t, reply["text"], "You will get the public updates of "+id)
	require.Contains(t, h.slash("U0STAKE", "subscribe "+id)["text"], "already gets the public updates")

	// Removal, by the Slack user ID; a second time there is nothing to remove.
	code, out = h.do(http.MethodDelete, path+"/U0CFO", nil, aliceToken)
	require.Equal(t, http.StatusOK, code, out)
	require.Equal(t, "slack:U0CFO", out["removed"])
	code, out = h.do(http.MethodDelete, path+"/"+url.PathEscape("slack:U0CFO"), nil, aliceToken)
	require.Equal(t, http.StatusNotFound, code, out)
	require.Contains(t, out["error"], "no subscriber")
	ids := []string{}
	for _, s := range h.subscribers(id).Subscribers {
		ids = append(ids, s.ID)
	}
	require.Equal(t, []string{"email:cfo@example.com", "slack:U0STAKE"}, ids)
	require.Contains(t, h.slash("U0STAKE", "unsubscribe "+id)["text"], "You will no longer get the public updates")
	require.Len(t, h.subscribers(id).Subscribers, 1)

	code, out = h.post("/v1/incidents/"+id+"/resolve", []byte(`{"note":"pool raised"}`), aliceToken)
	require.Equal(t, http.StatusOK, code, out)
	waitFor(t, "closed", 15*time.Second, func() bool { return h.incident(id).Status == incident.StatusClosed })
	recordHistory(t, id, "v9_subscribers")
}

func (h *harness) subscribers(id string) struct {
	Subscribers        []workflows.Subscription `json:"subscribers"`
	ServiceSubscribers []incident.Subscriber    `json:"service_subscribers"`
} {
	h.t.Helper()
	req, err := http.NewRequest(http.MethodGet, h.api.URL+"/v1/incidents/"+id+"/subscribers", nil)
	require.NoError(h.t, err)
	req.Header.Set("Authorization", "Bearer "+aliceToken)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(h.t, err)
	defer resp.Body.Close()
	require.Equal(h.t, http.StatusOK, resp.StatusCode)
	var out struct {
		Subscribers        []workflows.Subscription `json:"subscribers"`
		ServiceSubscribers []incident.Subscriber    `json:"service_subscribers"`
	}
	require.NoError(h.t, json.NewDecoder(resp.Body).Decode(&out))
	return out
}

func (h *harness) timelineSays(id, text string) bool {
	for _, e := range h.incident(id).Timeline {
		if strings.Contains(e.Message, text) {
			return true
		}
	}
	return false
}
