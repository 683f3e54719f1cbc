package starter

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidentflow/incidentflow/config"
)

const slackSecret = "8f742231b10e8888abcd99yyyzzz85a5"

// SignSlack signs body as Slack does (v0, HMAC-SHA256 over "v0:ts:body").
func signSlack(req *http.Request, body string, at time.Time, secret string) {
	ts := strconv.FormatInt(at.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte("v0:" + ts + ":" + body))
	req.Header.Set("X-Slack-Request-Timestamp", ts)
	req.Header.Set("X-Slack-Signature", "v0="+hex.EncodeToString(mac.Sum(nil)))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
}

func slackServer(t *testing.T, secret string) http.Handler {
	cfg, err := config.Parse([]byte(`
slack: {signing_secret_env: SLACK_SIGNING_SECRET}
services: {checkout: {escalation_policy: p}}
escalation_policies: {p: {steps: [{targets: [user:alice]}]}}
users: {alice: {slack_id: U0ALICE}}
`))
	require.NoError(t, err)
	env := map[string]string{"SLACK_SIGNING_SECRET": secret}
	return NewServer(&Incidents{Config: cfg}, slog.New(slog.NewTextHandler(io.Discard, nil)), func(k string) string { return env[k] }).Handler()
}

func TestSlackRequestsAreVerified(t *testing.T) {
	body := url.Values{"command": {"/incident"}, "text": {"help"}, "user_id": {"U0ALICE"}}.Encode()
	for _, tc := range []struct {
		name       string
		secret     string
		signWith   string
		at         time.Time
		tamper     bool
		wantStatus int
	}{
		{"valid", slackSecret, slackSecret, time.Now(), false, http.StatusOK},
		{"wrong secret", slackSecret, "not-the-secret", time.Now(), false, http.StatusUnauthorized},
		{"body changed after signing", slackSecret, slackSecret, time.Now(), true, http.StatusUnauthorized},
		{"timestamp 6 minutes old", slackSecret, slackSecret, time.Now().Add(-6 * time.Minute), false, http.StatusUnauthorized},
		{"timestamp 6 minutes ahead", slackSecret, slackSecret, time.Now().Add(6 * time.Minute), false, http.StatusUnauthorized},
		{"no signing secret configured", "", "", time.Now(), false, http.StatusUnauthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, path := range []string{"/slack/commands", "/slack/interactions"} {
				sent := body
				if tc.tamper {
					sent = strings.Replace(body, "help", "ack+x", 1)
				}
				req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(sent))
				signSlack(req, body, tc.at, tc.signWith)
				rec := httptest.NewRecorder()
				slackServer(t, tc.secret).ServeHTTP(rec, req)
				if path == "/slack/interactions" && tc.wantStatus == http.StatusOK {
					continue // a help text is no interaction payload
				}
				require.Equal(t, tc.wantStatus, rec.Code, path)
				if tc.wantStatus == http.StatusUnauthorized {
					require.JSONEq(t, `{"error":"unauthorized"}`, rec.Body.String(), "401 without detail")
				}
			}
		})
	}
}

func TestSlashCommandsThatNeedNoIncident(t *testing.T) {
	for _, tc := range []struct {
		user, text, want string
	}{
		{"U0ALICE", "", "Usage: `/incident declare"},
		{"U0ALICE", "help", "Usage: `/incident declare"},
		{"U0NOBODY", "ack incident-x", "not one of incidentflow's users: add `slack_id: U0NOBODY`"},
		{"U0ALICE", "frobnicate incident-x", `Unknown command "frobnicate"`},
		{"U0ALICE", "ack", "needs an incident id"},
		{"U0ALICE", "severity incident-x SEV9", `Unknown severity "SEV9"`},
		{"U0ALICE", "role incident-x comms <@U0ZED|zed>", "is not one of incidentflow's users"},
		{"U0ALICE", "status incident-x identified", "Usage: `/incident status"},
		{"U0ALICE", "declare P1", "Usage: `/incident declare"},
	} {
		t.Run(tc.text, func(t *testing.T) {
			body := url.Values{"command": {"/incident"}, "text": {tc.text}, "user_id": {tc.user}}.Encode()
			req := httptest.NewRequest(http.MethodPost, "/slack/commands", strings.NewReader(body))
			signSlack(req, body, time.Now(), slackSecret)
			rec := httptest.NewRecorder()
			slackServer(t, slackSecret).ServeHTTP(rec, req)
			require.Equal(t, http.StatusOK, rec.Code)
			var reply slackReply
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &reply))
			require.Equal(t, "ephemeral", reply.ResponseType)
			require.Contains(t, reply.Text, tc.want)
		})
	}
}
