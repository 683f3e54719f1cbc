package incident

import (
	"fmt"
	"net/mail"
	"strings"
	"unicode/utf8"
)

// Bounds of stakeholder subscriptions: each subscriber is state an incident
// carries to its end and a message on every public update.
const (
	// MaxEmail is RFC 5321's limit on a forward path.
	MaxEmail = 254
	// MaxSlackUser bounds a Slack user ID (they are about 11 characters).
	MaxSlackUser = 32
	// MaxSubscribers bounds one incident's own subscribers, and one
	// service's in the config.
	MaxSubscribers = 200
	// SubscriberAttempts is how many times a public update's delivery is
	// tried; the last attempt reports what still fails instead of retrying.
	SubscriberAttempts = 5
)

// Subscriber is a stakeholder who gets an incident's public status
// updates: by email, or as a Slack DM. Exactly one of the two is set.
type Subscriber struct {
	Email     string `json:"email,omitempty" yaml:"email"`
	SlackUser string `json:"slack_user,omitempty" yaml:"slack_user"`
}

// SubscriberProblem is a subscriber refused for one of its fields.
type SubscriberProblem struct {
	Field string
	Msg   string
}

func (p *SubscriberProblem) Error() string { return p.Field + ": " + p.Msg }

// Check refuses a subscriber that is not exactly one well-formed address.
// It is deterministic (workflow validators call it).
func (s Subscriber) Check() *SubscriberProblem {
	switch {
	case s.Email == "" && s.SlackUser == "":
		return &SubscriberProblem{Field: "email", Msg: "required: an email address, or slack_user instead"}
	case s.Email != "" && s.SlackUser != "":
		return &SubscriberProblem{Field: "slack_user", Msg: "give email or slack_user, not both"}
	case s.Email != "":
		return checkEmail(s.Email)
	}
	return checkSlackUser(s.SlackUser)
}

func checkEmail(addr string) *SubscriberProblem {
	if len(addr) > MaxEmail {
		return &SubscriberProblem{Field: "email", Msg: fmt.Sprintf("%d bytes is too long (at most %d)", len(addr), MaxEmail)}
	}
	// A bare address only: a display name or comment would be mail that
	// says something other than what the subscription lists.
	parsed, err := mail.ParseAddress(addr)
	if err != nil || parsed.Name != "" || parsed.Address != addr {
		return &SubscriberProblem{Field: "email", Msg: fmt.Sprintf("%q is not an email address (name@example.com)", addr)}
	}
	return nil
}

func checkSlackUser(id string) *SubscriberProblem {
	if len(id) > MaxSlackUser {
		return &SubscriberProblem{Field: "slack_user", Msg: fmt.Sprintf("%d bytes is too long (at most %d)", len(id), MaxSlackUser)}
	}
	if !IsSlackUserID(id) {
		return &SubscriberProblem{Field: "slack_user", Msg: fmt.Sprintf("%q is not a Slack user ID (U or W, then capital letters and digits, e.g. U0123ABCD)", Cut(id, MaxSlackUser))}
	}
	return nil
}

// IsSlackUserID says whether id has the shape of a Slack user ID.
func IsSlackUserID(id string) bool {
	if len(id) < 3 || len(id) > MaxSlackUser || (id[0] != 'U' && id[0] != 'W') {
		return false
	}
	for _, r := range id[1:] {
		if !(r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// ID names the subscriber within an incident: "email:<address>" (in lower
// case, as mailboxes are matched in practice) or "slack:<user ID>".
func (s Subscriber) ID() string {
	if s.Email != "" {
		return "email:" + strings.ToLower(s.Email)
	}
	return "slack:" + s.SlackUser
}

// Display names the subscriber where others may read it (the timeline, a
// failure): a Slack ID as it is, an address with its mailbox hidden.
func (s Subscriber) Display() string {
	if s.Email == "" {
		return "slack " + s.SlackUser
	}
	local, domain, _ := strings.Cut(s.Email, "@")
	if local == "" {
		return "email ***@" + domain
	}
	first, _ := utf8.DecodeRuneInString(local)
	return "email " + string(first) + "***@" + domain
}

// SubscriberID turns what a person types to name a subscriber (its ID, an
// address or a Slack user ID) into its ID.
func SubscriberID(typed string) string {
	typed = strings.TrimSpace(typed)
	switch {
	case strings.HasPrefix(typed, "email:"):
		return strings.ToLower(typed)
	case strings.HasPrefix(typed, "slack:"):
		return typed
	case strings.Contains(typed, "@"):
		return Subscriber{Email: typed}.ID()
	}
	return Subscriber{SlackUser: typed}.ID()
}

// PublicUpdateRequest asks for one public status update to be delivered
// to every subscriber of an incident and of its service.
type PublicUpdateRequest struct {
	IncidentID string `json:"incident_id"`
	Service    string `json:"service"`
	Severity   string `json:"severity"`
	// Text is the update as customers may read it: never the internal
	// "known" and "doing" notes.
	Text string `json:"text"`
	// IdempotencyKey names this update; each subscriber's delivery is
	// keyed by it and the subscriber's ID.
	IdempotencyKey string       `json:"idempotency_key"`
	Subscribers    []Subscriber `json:"subscribers,omitempty"`
}

// MaxFailuresTold bounds the failures a delivery result spells out.
const MaxFailuresTold = 5

// PublicUpdateResult says how the delivery went.
type PublicUpdateResult struct {
	Sent   int `json:"sent"`
	Failed int `json:"failed"`
	// Failures spell out the first failures (at most MaxFailuresTold).
	Failures []string `json:"failures,omitempty"`
}
