package workflows

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/incidentflow/incidentflow/incident"
)

// NotifyPersonWorkflowName pages one person through their notification
// rules: a child of the incident, cancelled the moment it is acknowledged.
const NotifyPersonWorkflowName = "NotifyPersonWorkflow"

// NotifyPersonInput is one person to page and how.
type NotifyPersonInput struct {
	Page  incident.PageRequest `json:"page"`
	User  string               `json:"user"`
	Rules []incident.Rule      `json:"rules"`
	// Shadow: fire the rules on time but send nothing, recording what
	// would have gone out.
	Shadow bool `json:"shadow,omitempty"`
	// From is when the rules' delays count from (zero: the child's start);
	// Skipped is how many rules the incident sent before Rules, so each
	// rule keeps its idempotency key (first-rule-direct).
	From    time.Time `json:"from,omitempty"`
	Skipped int       `json:"skipped,omitempty"`
}

// Notified is the outcome of one rule.
type Notified struct {
	At        time.Time `json:"at"`
	Via       string    `json:"via,omitempty"`
	Recipient string    `json:"recipient,omitempty"`
	Channel   string    `json:"channel,omitempty"`
	// Digest: the message listed this many incidents' pages.
	Digest int    `json:"digest,omitempty"`
	Error  string `json:"error,omitempty"`
}

// NotifyPersonResult is what each rule did, and whether an ack stopped the
// rest.
type NotifyPersonResult struct {
	User     string     `json:"user"`
	Notified []Notified `json:"notified"`
	// Stopped: the incident was acknowledged (or resolved) before every
	// rule had fired; the rules left were not used.
	Stopped bool `json:"stopped,omitempty"`
}

// NotifyPersonWorkflow fires each rule at its time after the start. A
// cancellation (the ack) ends it at once, and it reports what it did.
func NotifyPersonWorkflow(ctx workflow.Context, in NotifyPersonInput) (*NotifyPersonResult, error) {
	res := &NotifyPersonResult{User: in.User, Notified: []Notified{}}
	start := workflow.Now(ctx)
	if !in.From.IsZero() {
		start = in.From
	}
	for i, rule := range in.Rules {
		if wait := start.Add(rule.After).Sub(workflow.Now(ctx)); wait > 0 {
			summary := fmt.Sprintf("paging %s: %s in %s", in.User, viaName(rule.Via), incident.Duration(rule.After))
			if err := workflow.NewTimerWithOptions(ctx, wait, workflow.TimerOptions{Summary: summary}).Get(ctx, nil); err != nil {
				res.Stopped = true
				return res, nil
			}
		}
		if in.Shadow {
			res.Notified = append(res.Notified, Notified{At: workflow.Now(ctx), Via: rule.Via, Recipient: in.User, Channel: shadowChannel})
			continue
		}
		req := incident.NotifyRequest{Page: in.Page, User: in.User, Via: rule.Via}
		req.Page.IdempotencyKey = ruleKey(in.Page.IdempotencyKey, in.User, in.Skipped+i, rule.Via)
		actx := workflow.WithActivityOptions(ctx, notifyOptions(fmt.Sprintf("page %s by %s", in.User, viaName(rule.Via))))
		var got incident.PageResult
		err := workflow.ExecuteActivity(actx, a.NotifyPerson, req).Get(ctx, &got)
		n := Notified{At: workflow.Now(ctx), Via: rule.Via, Recipient: got.Recipient, Channel: got.Channel, Digest: got.Digest}
		var canceled *temporal.CanceledError
		switch {
		case errors.As(err, &canceled):
			res.Stopped = true
			return res, nil
		case err != nil:
			n.Error = errorMessage(err)
		}
		res.Notified = append(res.Notified, n)
	}
	return res, nil
}

// shadowChannel marks a page that shadow mode did not send.
const shadowChannel = "shadow"

// pagedText is the timeline's line for a delivered page.
func pagedText(recipient, channel string, digest int, targets string) string {
	via := channel
	if digest > 1 {
		via = fmt.Sprintf("%s, in one message with %d other incidents", channel, digest-1)
	}
	return fmt.Sprintf("paged %s via %s (%s)", recipient, via, targets)
}

// ruleKey is the idempotency key of rule i of a person's page.
func ruleKey(pageKey, user string, i int, via string) string {
	return fmt.Sprintf("%s/%s/%d-%s", pageKey, user, i, viaKey(via))
}

func viaKey(via string) string {
	if via == "" {
		return "auto"
	}
	return via
}

func viaName(via string) string {
	if via == "" {
		return "first channel that reaches them"
	}
	return via
}

// rulesSummary reads "slack now, sms in 1m, voice in 3m".
func rulesSummary(rules []incident.Rule) string {
	var parts []string
	for _, r := range rules {
		when := "now"
		if r.After > 0 {
			when = "in " + incident.Duration(r.After).String()
		}
		parts = append(parts, viaName(r.Via)+" "+when)
	}
	return strings.Join(parts, ", ")
}
