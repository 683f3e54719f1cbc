package e2e

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidentflow/incidentflow/config"
	"github.com/incidentflow/incidentflow/internal/fakesmtp"
	"github.com/incidentflow/incidentflow/internal/faketwilio"
	"github.com/incidentflow/incidentflow/workflows"
)

// testSecrets are the environment of the e2e worker: secrets come from
// there, never from the config file.
var testSecrets = map[string]string{
	"SMTP_USER": "pager", "SMTP_PASSWORD": "smtp-s3cret",
	"TWILIO_SID": "AC00000000000000000000000000000001", "TWILIO_TOKEN": "0123456789abcdef0123456789abcdef",
	"OPS_HOOK_SECRET": "whsec_" + base64.StdEncoding.EncodeToString([]byte("ops-hook-signing-key-0123456789")),
}

// A step that pages a Teams and a Mattermost channel: each gets its own
// payload at its incoming webhook, and the timeline names the channel.
func TestPagesGoToTeamsAndMattermost(t *testing.T) {
	var mu sync.Mutex
	got := map[string]map[string]any{}
	receiver := func(name string) *httptest.Server {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var body map[string]any
			_ = json.NewDecoder(r.Body).Decode(&body)
			mu.Lock()
			got[name] = body
			mu.Unlock()
			w.WriteHeader(http.StatusOK)
		}))
		t.Cleanup(srv.Close)
		return srv
	}
	teams, mm := receiver("teams"), receiver("mattermost")
	testSecrets["TEAMS_SRE_URL"], testSecrets["MM_OPS_URL"] = teams.URL, mm.URL
	h := newHarnessWith(t, func(c *config.Config) {
		c.Teams = map[string]config.IncomingWebhook{"sre": {URLEnv: "TEAMS_SRE_URL"}}
		c.Mattermost = map[string]config.IncomingWebhook{"ops": {URLEnv: "MM_OPS_URL"}}
		c.EscalationPolicies["primary"].Steps[0].Targets = []string{"teams:sre", "mattermost:ops"}
	})
	code, body := h.post("/v1/alerts", []byte(`{"key":"chat-`+t.Name()+`","title":"queue backed up","severity":"warning"}`), genericToken)
	require.Equal(t, http.StatusAccepted, code, body)
	id := body["incident_id"].(string)
	waitFor(t, "both channels", 10*time.Second, func() bool { mu.Lock(); defer mu.Unlock(); return len(got) == 2 })
	mu.Lock()
	require.Equal(t, "message", got["teams"]["type"])
	require.Equal(t, "[P3] queue backed up", got["mattermost"]["text"])
	mu.Unlock()
	waitFor(t, "the timeline", 10*time.Second, func() bool {
		n := 0
		for _, e := range h.incident(id).Timeline {
			if e.Kind == workflows.KindPaged && (strings.Contains(e.Message, "via teams") || strings.Contains(e.Message, "via mattermost")) {
				n++
			}
		}
		return n == 2
	})
	_, _ = h.post("/v1/incidents/"+id+"/resolve", []byte(`{"by":"alice"}`), aliceToken)
}

// A step that pages dave, who has only an email address, and the ops
// webhook: the mail arrives at the SMTP server, the webhook at a receiver
// that checks its Standard Webhooks signature, and the timeline says so.
func TestPagesGoOutByEmailAndSignedWebhook(t *testing.T) {
	smtpSrv, err := fakesmtp.Start("pager", "smtp-s3cret")
	require.NoError(t, err)
	t.Cleanup(smtpSrv.Close)
	var mu sync.Mutex
	var hooks []map[string]any
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		key, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(testSecrets["OPS_HOOK_SECRET"], "whsec_"))
		mac := hmac.New(sha256.New, key)
		mac.Write([]byte(r.Header.Get("webhook-id") + "." + r.Header.Get("webhook-timestamp") + "." + string(body)))
		if r.Header.Get("webhook-signature") != "v1,"+base64.StdEncoding.EncodeToString(mac.Sum(nil)) {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		var ev map[string]any
		_ = json.Unmarshal(body, &ev)
		mu.Lock()
		hooks = append(hooks, ev)
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(receiver.Close)

	h := newHarnessWith(t, func(c *config.Config) {
		host, port := smtpSrv.Addr()
		off := false
		c.SMTP = config.SMTP{Host: host, Port: port, From: "incidentflow@example.com", UsernameEnv: "SMTP_USER", PasswordEnv: "SMTP_PASSWORD", StartTLS: &off}
		c.Webhooks = map[string]config.Webhook{"ops": {URL: receiver.URL, SecretEnv: "OPS_HOOK_SECRET"}}
		c.EscalationPolicies["primary"].Steps[0].Targets = []string{"user:dave", "webhook:ops"}
	})
	key := "reach-" + t.Name()
	code, body := h.post("/v1/alerts", []byte(`{"key":"`+key+`","title":"replication broken","severity":"warning"}`), genericToken)
	require.Equal(t, http.StatusAccepted, code, body)
	id := body["incident_id"].(string)

	waitFor(t, "the email", 10*time.Second, func() bool { return len(smtpSrv.Messages()) == 1 })
	m := smtpSrv.Messages()[0]
	require.Equal(t, []string{"dave@example.com"}, m.To)
	require.Equal(t, "[P3] "+id+": replication broken", m.Header.Get("Subject"))
	require.Contains(t, m.Body, "escalation round 1 step 1")

	waitFor(t, "the webhook", 10*time.Second, func() bool { mu.Lock(); defer mu.Unlock(); return len(hooks) == 1 })
	mu.Lock()
	require.Equal(t, "incident.page", hooks[0]["type"])
	require.Equal(t, id, hooks[0]["incident_id"])
	mu.Unlock()

	waitFor(t, "both on the timeline", 10*time.Second, func() bool {
		var paged []string
		for _, e := range h.incident(id).Timeline {
			if e.Kind == workflows.KindPaged {
				paged = append(paged, e.Message)
			}
		}
		return len(paged) == 2 && strings.Contains(strings.Join(paged, "|"), "paged dave via email") &&
			strings.Contains(strings.Join(paged, "|"), "paged webhook:ops via webhook")
	})
	for _, e := range h.incident(id).Timeline {
		require.NotContains(t, e.Message, "console", "no page claims to have gone to the console")
	}
	_, _ = h.post("/v1/incidents/"+id+"/resolve", []byte(`{"by":"alice"}`), aliceToken)
}

// erin has no Slack and no email: her rules text her, then call her. She
// presses 1 on the call and the incident is acknowledged as her; nothing
// pages anyone after that. A forged callback is refused; an SMS reply of 1
// acknowledges the incident that last paged her.
func TestTextedThenCalledAndAcknowledgedByPressingOne(t *testing.T) {
	tw := faketwilio.New(testSecrets["TWILIO_SID"], testSecrets["TWILIO_TOKEN"])
	t.Cleanup(tw.Close)
	const erinPhone = "+15555550142"
	h := newHarnessWith(t, func(c *config.Config) {
		c.Twilio = config.Twilio{AccountSIDEnv: "TWILIO_SID", AuthTokenEnv: "TWILIO_TOKEN", APIURL: tw.URL(), From: "+15555550100"}
		c.Users["erin"] = config.User{Phone: erinPhone, ContactMethods: []string{"sms", "voice"},
			NotificationRules: []config.NotificationRule{{After: 0, Via: "sms"}, {After: config.Duration(2 * time.Second), Via: "voice"}}}
		c.EscalationPolicies["primary"].Steps[0].Targets = []string{"user:erin"}
	})
	tw.SMSWebhook = h.api.URL + "/v1/twilio/sms"
	code, body := h.post("/v1/alerts", []byte(`{"key":"wake-`+t.Name()+`","title":"payments down","severity":"critical"}`), genericToken)
	require.Equal(t, http.StatusAccepted, code, body)
	id := body["incident_id"].(string)
	defer func() {
		if t.Failed() {
			for _, e := range h.incident(id).Timeline {
				t.Logf("%s %s", e.Kind, e.Message)
			}
		}
	}()

	waitFor(t, "the text", 10*time.Second, func() bool { return len(tw.Sent()) >= 1 })
	sms := tw.Sent()[0]
	require.Equal(t, "sms", sms.Kind)
	require.Equal(t, erinPhone, sms.To)
	require.Equal(t, "+15555550100", sms.From)
	require.Contains(t, sms.Body, "payments down")
	require.Contains(t, sms.Body, "Reply 1 to acknowledge")
	waitFor(t, "the call", 10*time.Second, func() bool { return len(tw.Sent()) >= 2 })
	call := tw.Sent()[1]
	require.Equal(t, "call", call.Kind)
	require.GreaterOrEqual(t, call.At.Sub(sms.At), 1900*time.Millisecond, "the call comes 2s after the text, as her rules say")
	require.Contains(t, call.Body, "Press 1 to acknowledge")

	status, reply, err := tw.Forge(h.api.URL+"/v1/twilio/voice?incident="+id+"&user=erin", url.Values{"To": {erinPhone}, "Digits": {"1"}})
	require.NoError(t, err)
	require.Equal(t, http.StatusUnauthorized, status, reply)
	require.Equal(t, "triggered", string(h.incident(id).Status), "a forged keypress acknowledges nothing")

	status, reply, err = tw.PressKey(erinPhone, "1")
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, status, reply)
	require.Contains(t, reply, "<Say>Acknowledged "+id)
	st := h.incident(id)
	require.Equal(t, "acknowledged", string(st.Status))
	require.Equal(t, "erin", st.AcknowledgedBy)

	sent := len(tw.Sent())
	time.Sleep(4 * time.Second) // past step 2 (3s), which would page bob
	require.Len(t, tw.Sent(), sent, "nothing texted or called after the ack")
	require.Empty(t, h.slack.Messages(bobDM), "step 2 never paged")

	// A second incident pages her by text; she replies 1.
	code, body = h.post("/v1/alerts", []byte(`{"key":"wake-2-`+t.Name()+`","title":"ledger lag","severity":"critical"}`), genericToken)
	require.Equal(t, http.StatusAccepted, code, body)
	second := body["incident_id"].(string)
	waitFor(t, "the second text", 10*time.Second, func() bool { return len(tw.Sent()) > sent })
	status, reply, err = tw.Reply(erinPhone, "+15555550100", "1")
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, status, reply)
	require.Contains(t, reply, "<Message>Acknowledged "+second)
	require.Equal(t, "erin", h.incident(second).AcknowledgedBy)
}
