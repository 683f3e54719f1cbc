// Package fakeslack is a local HTTP server that speaks the parts of Slack's
// Web API incidentflow uses, with Slack's JSON shapes, `ok:false` errors and
// 429 + Retry-After, so tests drive the real slack-go client against it.
package fakeslack

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Call is one Web API request as Slack would have received it.
type Call struct {
	Method string
	Form   url.Values
	At     time.Time
}

// Server records every call; tests read them with Calls.
type Server struct {
	Token string
	srv   *httptest.Server

	mu       sync.Mutex
	calls    []Call
	failures map[string][]failure
	seq      int
	channels []channel
	posted   []message
	emails   map[string]string // email -> Slack user ID
}

// AddUser registers a Slack user that users.lookupByEmail can find.
func (s *Server) AddUser(id, email string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.emails == nil {
		s.emails = map[string]string{}
	}
	s.emails[email] = id
}

// message is one posted message, kept for history and chat.update.
type message struct {
	Channel, TS, Text, Blocks string
	Metadata                  map[string]any
}

// channelIDs numbers channels across every fake in the process: Slack's
// channel IDs are unique, and tests sharing one Temporal namespace find
// incidents by them.
var channelIDs atomic.Int64

func newChannelID() string { return fmt.Sprintf("C%04d", channelIDs.Add(1)) }

// channel is a public channel of the fake workspace.
type channel struct {
	ID, Name, Topic, Purpose string
	Members                  []string
}

// AddChannel creates a channel as a person would, outside incidentflow.
func (s *Server) AddChannel(name, purpose string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.channels = append(s.channels, channel{ID: newChannelID(), Name: name, Purpose: purpose})
}

// Channel returns the channel named name, if it exists.
func (s *Server) Channel(name string) (ch channel, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.channels {
		if c.Name == name {
			return c, true
		}
	}
	return channel{}, false
}

type failure struct {
	status     int
	retryAfter int
	slackError string
	// lose: do the work, then answer 502 as if the connection dropped.
	lose bool
	// channel, when set, limits the failure to calls for that channel.
	channel string
	// stall holds the call this long before Slack acts on it, as a slow or
	// hung connection would.
	stall time.Duration
}

// StallNext holds the next call to method for d before acting on it.
func (s *Server) StallNext(method string, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures[method] = append(s.failures[method], failure{stall: d})
}

// RateLimitNextIn is RateLimitNext for calls to one channel only, so other
// traffic of the same method (cards, links) cannot take the 429 instead.
func (s *Server) RateLimitNextIn(method, channel string, retryAfterSeconds int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures[method] = append(s.failures[method], failure{status: http.StatusTooManyRequests, retryAfter: retryAfterSeconds, channel: channel})
}

// LoseNextResponse makes the next call to method succeed at Slack but
// answer 502, as when the connection drops after Slack acted.
func (s *Server) LoseNextResponse(method string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures[method] = append(s.failures[method], failure{lose: true})
}

// New starts a server that accepts only the bot token given.
func New(token string) *Server {
	s := &Server{Token: token, failures: map[string][]failure{}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.handle))
	return s
}

// APIURL is the base to give slack-go's OptionAPIURL (ends in /api/).
func (s *Server) APIURL() string { return s.srv.URL + "/api/" }

func (s *Server) Close() { s.srv.Close() }

// RateLimitNext makes the next call to method answer 429 with Retry-After.
func (s *Server) RateLimitNext(method string, retryAfterSeconds int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures[method] = append(s.failures[method], failure{status: http.StatusTooManyRequests, retryAfter: retryAfterSeconds})
}

// FailNext makes the next call to method answer ok:false with slackError.
func (s *Server) FailNext(method, slackError string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures[method] = append(s.failures[method], failure{status: http.StatusOK, slackError: slackError})
}

// Calls returns the recorded calls to method ("" for all).
func (s *Server) Calls(method string) []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Call
	for _, c := range s.calls {
		if method == "" || c.Method == method {
			out = append(out, c)
		}
	}
	return out
}

// Messages returns chat.postMessage calls whose channel is channel ("" for
// all); "#name" matches posts by name and by the channel's ID alike.
func (s *Server) Messages(channel string) []Call {
	also := channel
	if name, ok := strings.CutPrefix(channel, "#"); ok {
		if c, ok := s.Channel(name); ok {
			also = c.ID
		}
	}
	var out []Call
	for _, c := range s.Calls("chat.postMessage") {
		if got := c.Form.Get("channel"); channel == "" || got == channel || got == also {
			out = append(out, c)
		}
	}
	return out
}

// resolve is what Slack does with a channel given as "#name": the post
// goes to that channel's ID. Call with s.mu held.
func (s *Server) resolve(channel string) string {
	if name, ok := strings.CutPrefix(channel, "#"); ok {
		for _, c := range s.channels {
			if c.Name == name {
				return c.ID
			}
		}
	}
	return channel
}

func (s *Server) handle(w http.ResponseWriter, r *http.Request) {
	method := strings.TrimPrefix(r.URL.Path, "/api/")
	if err := r.ParseForm(); err != nil {
		writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": "invalid_form_data"})
		return
	}
	token := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	if token == "" {
		token = r.Form.Get("token")
	}

	s.mu.Lock()
	if fs := s.failures[method]; len(fs) > 0 && fs[0].stall > 0 {
		s.failures[method] = fs[1:]
		s.calls = append(s.calls, Call{Method: method + " (stalled)", Form: r.Form, At: time.Now()})
		s.mu.Unlock()
		select {
		case <-time.After(fs[0].stall):
		case <-r.Context().Done():
		}
		s.mu.Lock()
	}
	lose := false
	if fs := s.failures[method]; len(fs) > 0 && fs[0].lose {
		s.failures[method] = fs[1:]
		lose = true
	} else if len(fs) > 0 && (fs[0].channel == "" || fs[0].channel == r.Form.Get("channel")) {
		f := fs[0]
		s.failures[method] = fs[1:]
		s.calls = append(s.calls, Call{Method: method + " (failed)", Form: r.Form, At: time.Now()})
		s.mu.Unlock()
		if f.status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", fmt.Sprint(f.retryAfter))
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": f.slackError})
		return
	}
	if token != s.Token {
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": "invalid_auth"})
		return
	}
	s.calls = append(s.calls, Call{Method: method, Form: r.Form, At: time.Now()})
	s.seq++
	ts := fmt.Sprintf("%d.%06d", time.Now().Unix(), s.seq)
	s.mu.Unlock()
	if lose {
		w = &lostResponse{ResponseWriter: w}
	}

	switch method {
	case "auth.test":
		writeJSON(w, http.StatusOK, map[string]any{"ok": true, "user_id": "UBOT", "team_id": "T0TEST", "bot_id": "B0TEST"})
	case "conversations.open":
		users := r.Form.Get("users")
		if users == "" {
			writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": "users_not_found"})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"ok": true, "channel": map[string]any{"id": "D" + strings.TrimPrefix(users, "U")}})
	case "chat.postMessage":
		channel := r.Form.Get("channel")
		if channel == "" {
			writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": "channel_not_found"})
			return
		}
		if r.Form.Get("text") == "" && r.Form.Get("blocks") == "" {
			writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": "no_text"})
			return
		}
		var meta map[string]any
		_ = json.Unmarshal([]byte(r.Form.Get("metadata")), &meta)
		s.mu.Lock()
		channel = s.resolve(channel)
		s.posted = append(s.posted, message{Channel: channel, TS: ts, Text: r.Form.Get("text"), Blocks: r.Form.Get("blocks"), Metadata: meta})
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, map[string]any{"ok": true, "channel": channel, "ts": ts,
			"message": map[string]any{"type": "message", "text": r.Form.Get("text"), "ts": ts}})
	case "chat.update":
		s.mu.Lock()
		defer s.mu.Unlock()
		for i := range s.posted {
			if s.posted[i].Channel == r.Form.Get("channel") && s.posted[i].TS == r.Form.Get("ts") {
				s.posted[i].Text, s.posted[i].Blocks = r.Form.Get("text"), r.Form.Get("blocks")
				writeJSON(w, http.StatusOK, map[string]any{"ok": true, "channel": s.posted[i].Channel, "ts": s.posted[i].TS, "text": s.posted[i].Text})
				return
			}
		}
		writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": "message_not_found"})
	case "conversations.history":
		s.mu.Lock()
		defer s.mu.Unlock()
		msgs := []map[string]any{}
		for i := len(s.posted) - 1; i >= 0; i-- {
			if m := s.posted[i]; m.Channel == r.Form.Get("channel") {
				msgs = append(msgs, map[string]any{"type": "message", "ts": m.TS, "text": m.Text, "metadata": m.Metadata})
			}
		}
		writeJSON(w, http.StatusOK, map[string]any{"ok": true, "messages": msgs, "has_more": false})
	case "users.lookupByEmail":
		s.mu.Lock()
		id, ok := s.emails[r.Form.Get("email")]
		s.mu.Unlock()
		if !ok {
			writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": "users_not_found"})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"ok": true, "user": map[string]any{"id": id, "profile": map[string]any{"email": r.Form.Get("email")}}})
	case "conversations.create", "conversations.setTopic", "conversations.setPurpose", "conversations.invite", "conversations.list":
		s.channelMethod(w, method, r.Form)
	default:
		writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": "unknown_method"})
	}
}

var validChannelName = regexp.MustCompile(`^[a-z0-9_-]{1,80}$`)

func (s *Server) channelMethod(w http.ResponseWriter, method string, form url.Values) {
	s.mu.Lock()
	defer s.mu.Unlock()
	render := func(c channel) map[string]any {
		return map[string]any{"id": c.ID, "name": c.Name, "is_channel": true,
			"topic": map[string]any{"value": c.Topic}, "purpose": map[string]any{"value": c.Purpose}}
	}
	find := func(id string) *channel {
		for i := range s.channels {
			if s.channels[i].ID == id {
				return &s.channels[i]
			}
		}
		return nil
	}
	switch method {
	case "conversations.create":
		name := form.Get("name")
		if !validChannelName.MatchString(name) {
			writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": "invalid_name_specials"})
			return
		}
		for _, c := range s.channels {
			if c.Name == name {
				writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": "name_taken"})
				return
			}
		}
		c := channel{ID: newChannelID(), Name: name}
		s.channels = append(s.channels, c)
		writeJSON(w, http.StatusOK, map[string]any{"ok": true, "channel": render(c)})
	case "conversations.list":
		out := []map[string]any{}
		for _, c := range s.channels {
			out = append(out, render(c))
		}
		writeJSON(w, http.StatusOK, map[string]any{"ok": true, "channels": out, "response_metadata": map[string]any{"next_cursor": ""}})
	default:
		c := find(form.Get("channel"))
		if c == nil {
			writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": "channel_not_found"})
			return
		}
		switch method {
		case "conversations.setTopic":
			c.Topic = form.Get("topic")
		case "conversations.setPurpose":
			c.Purpose = form.Get("purpose")
		case "conversations.invite":
			added := 0
			for _, u := range strings.Split(form.Get("users"), ",") {
				if !slices.Contains(c.Members, u) {
					c.Members = append(c.Members, u)
					added++
				}
			}
			if added == 0 {
				writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": "already_in_channel"})
				return
			}
		}
		writeJSON(w, http.StatusOK, map[string]any{"ok": true, "channel": render(*c)})
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// Posted returns the messages in channel as they stand now (after updates).
func (s *Server) Posted(channel string) []message {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []message
	for _, m := range s.posted {
		if m.Channel == channel {
			out = append(out, m)
		}
	}
	return out
}

// lostResponse swallows what the handler writes and answers 502 instead.
type lostResponse struct {
	http.ResponseWriter
	wrote bool
}

func (l *lostResponse) WriteHeader(int) {
	if !l.wrote {
		l.wrote = true
		l.ResponseWriter.WriteHeader(http.StatusBadGateway)
	}
}

func (l *lostResponse) Write(b []byte) (int, error) {
	l.WriteHeader(0)
	return len(b), nil
}
