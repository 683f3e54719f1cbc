// Package faketwilio is a local server that speaks the part of Twilio's
// REST API incidentflow uses (Messages and Calls, basic auth, Twilio's JSON
// and error shapes) and plays Twilio's part in callbacks: it answers a
// call's Gather by posting the key pressed, and sends SMS replies, both
// signed with X-Twilio-Signature as Twilio signs them.
package faketwilio

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"
)

// Sent is one message or call as it arrived.
type Sent struct {
	Kind     string // "sms" or "call"
	To, From string
	Body     string // the SMS text, or the call's TwiML
	At       time.Time
}

// Server is a running fake Twilio.
type Server struct {
	AccountSID, AuthToken string
	// SMSWebhook is where replies to our number are posted (the intake).
	SMSWebhook string

	srv *httptest.Server
	mu  sync.Mutex
	out []Sent
}

// New starts the fake for one account.
func New(accountSID, authToken string) *Server {
	s := &Server{AccountSID: accountSID, AuthToken: authToken}
	s.srv = httptest.NewServer(http.HandlerFunc(s.handle))
	return s
}

func (s *Server) URL() string { return s.srv.URL }
func (s *Server) Close()      { s.srv.Close() }

// Sent is everything sent so far.
func (s *Server) Sent() []Sent {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Sent(nil), s.out...)
}

var route = regexp.MustCompile(`^/2010-04-01/Accounts/([^/]+)/(Messages|Calls)\.json$`)

func (s *Server) handle(w http.ResponseWriter, r *http.Request) {
	m := route.FindStringSubmatch(r.URL.Path)
	user, pass, ok := r.BasicAuth()
	switch {
	case m == nil || r.Method != http.MethodPost:
		fail(w, http.StatusNotFound, 20404, "The requested resource was not found")
		return
	case !ok || user != s.AccountSID || pass != s.AuthToken || m[1] != s.AccountSID:
		fail(w, http.StatusUnauthorized, 20003, "Authenticate")
		return
	}
	if err := r.ParseForm(); err != nil {
		fail(w, http.StatusBadRequest, 20001, "bad form")
		return
	}
	to, from := r.PostForm.Get("To"), r.PostForm.Get("From")
	if !strings.HasPrefix(to, "+") {
		fail(w, http.StatusBadRequest, 21211, fmt.Sprintf("The 'To' number %s is not a valid phone number.", to))
		return
	}
	sent := Sent{To: to, From: from, At: time.Now()}
	if m[2] == "Messages" {
		sent.Kind, sent.Body = "sms", r.PostForm.Get("Body")
	} else {
		sent.Kind, sent.Body = "call", r.PostForm.Get("Twiml")
	}
	s.mu.Lock()
	s.out = append(s.out, sent)
	n := len(s.out)
	s.mu.Unlock()
	prefix := "SM"
	if sent.Kind == "call" {
		prefix = "CA"
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(map[string]any{"sid": fmt.Sprintf("%s%032d", prefix, n), "account_sid": s.AccountSID,
		"to": to, "from": from, "status": "queued"})
}

func fail(w http.ResponseWriter, status, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"code": code, "message": msg, "status": status,
		"more_info": fmt.Sprintf("https://www.twilio.com/docs/errors/%d", code)})
}

var gatherAction = regexp.MustCompile(`<Gather[^>]* action="([^"]+)"`)

// PressKey answers the last call to `to` by pressing digit: Twilio posts
// it to the call's Gather action. It returns the response's status and body.
func (s *Server) PressKey(to, digit string) (int, string, error) {
	var call *Sent
	for _, c := range s.Sent() {
		if c.Kind == "call" && c.To == to {
			c := c
			call = &c
		}
	}
	if call == nil {
		return 0, "", fmt.Errorf("no call to %s", to)
	}
	m := gatherAction.FindStringSubmatch(call.Body)
	if m == nil {
		return 0, "", fmt.Errorf("the call to %s gathers no key", to)
	}
	action := strings.ReplaceAll(m[1], "&amp;", "&")
	form := url.Values{"AccountSid": {s.AccountSID}, "CallSid": {"CA1"}, "From": {call.From}, "To": {to}, "Digits": {digit}}
	return s.post(action, form, s.AuthToken)
}

// Reply texts body from `from` to our number, as a person answering an SMS.
func (s *Server) Reply(from, to, body string) (int, string, error) {
	form := url.Values{"AccountSid": {s.AccountSID}, "MessageSid": {"SM1"}, "From": {from}, "To": {to}, "Body": {body}}
	return s.post(s.SMSWebhook, form, s.AuthToken)
}

// Forge posts to a callback with a signature made with the wrong token.
func (s *Server) Forge(target string, form url.Values) (int, string, error) {
	return s.post(target, form, "not-the-auth-token")
}

func (s *Server) post(target string, form url.Values, token string) (int, string, error) {
	req, err := http.NewRequest(http.MethodPost, target, strings.NewReader(form.Encode()))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", Signature(token, target, form))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}

// Signature is Twilio's: base64(HMAC-SHA1(token, URL + each POST parameter
// name and value, sorted by name)).
func Signature(token, fullURL string, form url.Values) string {
	keys := make([]string, 0, len(form))
	for k := range form {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString(fullURL)
	for _, k := range keys {
		b.WriteString(k + form.Get(k))
	}
	mac := hmac.New(sha1.New, []byte(token))
	mac.Write([]byte(b.String()))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}
