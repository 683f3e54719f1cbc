package twilio

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/incidentflow/incidentflow/internal/faketwilio"
	"github.com/incidentflow/incidentflow/notify"
)

const (
	sid   = "AC00000000000000000000000000000001"
	token = "0123456789abcdef0123456789abcdef"
)

func TestSMSAndCallReachTheAPIAtItsBaseURL(t *testing.T) {
	fake := faketwilio.New(sid, token)
	defer fake.Close()
	s := &Sender{API: NewAPI(sid, token, fake.URL()), From: "+15555550100", CallbackURL: "https://if.example.com/"}
	page := notify.Page{IncidentID: "incident-db", Title: "db <down>", Severity: "P1", Service: "db", Text: "[P1] db down"}
	require.NoError(t, s.SMS(context.Background(), "+15555550142", page))
	require.NoError(t, s.Call(context.Background(), "+15555550142", "erin", page))
	sent := fake.Sent()
	require.Len(t, sent, 2)
	require.Equal(t, "[P1] db down\nReply 1 to acknowledge, 2 to escalate.", sent[0].Body)
	require.Contains(t, sent[1].Body, `action="https://if.example.com/v1/twilio/voice?incident=incident-db&amp;user=erin"`)
	require.Contains(t, sent[1].Body, "db &lt;down&gt;", "spoken text is escaped TwiML")
}

func TestRefusalsArePermanentAndCredentialsChecked(t *testing.T) {
	fake := faketwilio.New(sid, token)
	defer fake.Close()
	s := &Sender{API: NewAPI(sid, token, fake.URL()), From: "+15555550100"}
	err := s.SMS(context.Background(), "not-a-number", notify.Page{})
	require.Error(t, err)
	require.True(t, notify.IsPermanent(err), err)
	require.Contains(t, err.Error(), "21211")

	wrong := &Sender{API: NewAPI(sid, strings.Repeat("f", 32), fake.URL()), From: "+15555550100"}
	err = wrong.SMS(context.Background(), "+15555550142", notify.Page{})
	require.Error(t, err)
	require.True(t, notify.IsPermanent(err), "bad credentials do not get better by retrying: %v", err)
}

func TestValidChecksTwiliosSignature(t *testing.T) {
	u := "https://if.example.com/v1/twilio/sms"
	form := url.Values{"From": {"+15555550142"}, "Body": {"1"}, "To": {"+15555550100"}}
	require.True(t, Valid(token, u, form, faketwilio.Signature(token, u, form)))
	require.False(t, Valid(token, u, form, faketwilio.Signature("another-token", u, form)))
	require.False(t, Valid(token, u+"?x=1", form, faketwilio.Signature(token, u, form)), "the URL is signed too")
	require.False(t, Valid(token, u, form, ""))
}

// Without a callback URL no key press could reach the intake: the call
// says the page and where to acknowledge, and asks for no key.
func TestCallWithoutCallbackURLSpeaksOnly(t *testing.T) {
	twiml := SpeakTwiML("P1 incident on checkout")
	if strings.Contains(twiml, "<Gather") || !strings.Contains(twiml, "Acknowledge in Slack") {
		t.Fatalf("unexpected TwiML: %s", twiml)
	}
}
