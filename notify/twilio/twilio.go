// Package twilio pages by SMS and by voice call through the Twilio REST
// API, with the official twilio-go client aimed at a configurable base URL
// (any Twilio-compatible provider, or a local server in tests), and checks
// the signature of Twilio's callbacks.
package twilio

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	twiliogo "github.com/twilio/twilio-go"
	"github.com/twilio/twilio-go/client"
	api "github.com/twilio/twilio-go/rest/api/v2010"

	"github.com/incidentflow/incidentflow/notify"
)

// Sender texts and calls from one number.
type Sender struct {
	API  *api.ApiService
	From string
	// CallbackURL is where Twilio reaches incidentflow's intake (its public
	// base URL): the call's keypress goes to CallbackURL/v1/twilio/voice.
	CallbackURL string
}

// NewAPI is the Twilio REST API at baseURL ("" for Twilio itself).
func NewAPI(accountSID, authToken, baseURL string) *api.ApiService {
	c := &client.Client{Credentials: client.NewCredentials(accountSID, authToken), HTTPClient: &http.Client{Timeout: 10 * time.Second}}
	c.SetAccountSid(accountSID)
	var base client.BaseClient = c
	if baseURL != "" {
		base = &rebased{BaseClient: c, base: strings.TrimRight(baseURL, "/")}
	}
	return twiliogo.NewRestClientWithParams(twiliogo.ClientParams{Client: base}).Api
}

// rebased sends every request to another host, keeping its path.
type rebased struct {
	client.BaseClient
	base string
}

func (r *rebased) SendRequest(method, rawURL string, data url.Values, headers map[string]interface{}, body ...byte) (*http.Response, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	return r.BaseClient.SendRequest(method, r.base+u.RequestURI(), data, headers, body...)
}

// SMS texts the page, with how to answer it.
func (s *Sender) SMS(_ context.Context, to string, p notify.Page) error {
	body := fmt.Sprintf("%s\nReply 1 to acknowledge, 2 to escalate.", p.Text)
	_, err := s.API.CreateMessage(&api.CreateMessageParams{To: &to, From: &s.From, Body: &body})
	return classify("sms to "+to, err)
}

// Call rings the person and speaks the page; pressing 1 acknowledges, 2
// escalates (Twilio posts the key to the intake, signed).
func (s *Sender) Call(_ context.Context, to, user string, p notify.Page) error {
	speech := fmt.Sprintf("This is incident flow. %s incident on %s: %s.", p.Severity, p.Service, p.Title)
	twiml := SpeakTwiML(speech)
	if s.CallbackURL != "" {
		action := fmt.Sprintf("%s/v1/twilio/voice?incident=%s&user=%s", strings.TrimRight(s.CallbackURL, "/"), url.QueryEscape(p.IncidentID), url.QueryEscape(user))
		twiml = CallTwiML(action, speech)
	}
	_, err := s.API.CreateCall(&api.CreateCallParams{To: &to, From: &s.From, Twiml: &twiml})
	return classify("call to "+to, err)
}

// SpeakTwiML says the page twice: without twilio.callback_url no key
// press can reach the intake, so the call wakes the person and says where
// to acknowledge.
func SpeakTwiML(speech string) string {
	say := `<Say>` + xmlText(speech) + ` Acknowledge in Slack or with incident flow.</Say>`
	return `<?xml version="1.0" encoding="UTF-8"?><Response>` + say + `<Pause length="1"/>` + say + `</Response>`
}

// CallTwiML says the page and asks for one key, twice, then hangs up.
func CallTwiML(action, speech string) string {
	say := xmlText(speech)
	return `<?xml version="1.0" encoding="UTF-8"?><Response>` +
		`<Gather numDigits="1" timeout="10" method="POST" action="` + xmlText(action) + `">` +
		`<Say>` + say + ` Press 1 to acknowledge. Press 2 to escalate.</Say></Gather>` +
		`<Gather numDigits="1" timeout="10" method="POST" action="` + xmlText(action) + `">` +
		`<Say>` + say + ` Press 1 to acknowledge. Press 2 to escalate.</Say></Gather>` +
		`<Say>No key was pressed. Goodbye.</Say></Response>`
}

// Reply is TwiML that answers a callback: said on a call, texted for SMS.
func Reply(voice bool, text string) string {
	if voice {
		return `<?xml version="1.0" encoding="UTF-8"?><Response><Say>` + xmlText(text) + `</Say></Response>`
	}
	return `<?xml version="1.0" encoding="UTF-8"?><Response><Message>` + xmlText(text) + `</Message></Response>`
}

func xmlText(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// Valid says whether a callback carries Twilio's signature for the URL it
// was sent to and its form.
func Valid(authToken, fullURL string, form url.Values, signature string) bool {
	params := map[string]string{}
	for k, v := range form {
		if len(v) > 0 {
			params[k] = v[0]
		}
	}
	v := client.NewRequestValidator(authToken)
	return signature != "" && v.Validate(fullURL, params, signature)
}

// classify: Twilio's 4xx refusals (a bad number, a blocked destination)
// are permanent, except 429; the rest is worth another try.
func classify(op string, err error) error {
	if err == nil {
		return nil
	}
	var te *client.TwilioRestError
	if errors.As(err, &te) {
		switch {
		case te.Status == http.StatusTooManyRequests:
			return notify.RetryAfter(fmt.Errorf("%s: twilio rate limit: %s", op, te.Message), time.Second)
		case te.Status >= 400 && te.Status < 500:
			return notify.Permanent(fmt.Errorf("%s: twilio %d (code %d): %s", op, te.Status, te.Code, te.Message))
		}
	}
	return fmt.Errorf("%s: %w", op, err)
}
