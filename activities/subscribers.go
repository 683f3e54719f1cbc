package activities

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/incidentflow/incidentflow/config"
	"github.com/incidentflow/incidentflow/incident"
)

// subscriberTimeout bounds one subscriber's delivery, so one dead mailbox
// server cannot spend the whole attempt.
const subscriberTimeout = 30 * time.Second

// NotifySubscribers delivers one public status update to the incident's
// subscribers and its service's (the config's, as it is now), by email or
// Slack DM. Each subscriber reached, or refused for good, is heartbeated,
// so a retry sends nothing twice to anyone already served; Slack's own
// lookup by key also finds a DM whose answer was lost. A subscriber whose
// delivery may still succeed keeps the activity retrying, until the last
// attempt, which reports it as failed instead.
func (a *Activities) NotifySubscribers(ctx context.Context, req incident.PublicUpdateRequest) (incident.PublicUpdateResult, error) {
	subs := a.subscribersOf(req)
	p := &deliveryProgress{Done: map[string]string{}}
	inActivity := activity.IsActivity(ctx)
	if inActivity && activity.HasHeartbeatDetails(ctx) {
		// Unreadable progress starts afresh: Slack's lookup still stops a
		// second DM, and a second mail beats none.
		if err := activity.GetHeartbeatDetails(ctx, p); err != nil || p.Done == nil {
			p.Done = map[string]string{}
		}
	}
	stop := p.keepReporting(ctx)
	defer stop()
	last := !inActivity || activity.GetInfo(ctx).Attempt >= incident.SubscriberAttempts

	var pending []string
	for _, s := range subs {
		id := s.ID()
		if p.done(id) {
			continue
		}
		if err := ctx.Err(); err != nil {
			return incident.PublicUpdateResult{}, fmt.Errorf("public update %s: %w", req.IdempotencyKey, err)
		}
		err := a.deliverPublic(ctx, s, Message{IncidentID: req.IncidentID, Severity: req.Severity, Service: req.Service,
			Text: req.Text, IdempotencyKey: req.IdempotencyKey + "/" + id})
		switch {
		case err == nil:
			p.finish(ctx, id, "")
		case permanent(err) || last:
			p.finish(ctx, id, failure(s, err))
		default:
			pending = append(pending, failure(s, err))
		}
	}
	if len(pending) > 0 {
		return incident.PublicUpdateResult{}, temporal.NewApplicationError(
			fmt.Sprintf("public update: %d of %d subscribers not reached yet: %s", len(pending), len(subs), strings.Join(pending[:min(len(pending), incident.MaxFailuresTold)], "; ")),
			"SubscribersPending")
	}
	return p.result(subs), nil
}

// subscribersOf is the incident's subscribers, then its service's, each once.
func (a *Activities) subscribersOf(req incident.PublicUpdateRequest) []incident.Subscriber {
	var out []incident.Subscriber
	seen := map[string]bool{}
	all := req.Subscribers
	if svc, ok := a.Config.Services[req.Service]; ok {
		all = append(all[:len(all):len(all)], svc.Subscribers...)
	}
	for _, s := range all {
		if id := s.ID(); !seen[id] && s.Check() == nil {
			seen[id] = true
			out = append(out, s)
		}
	}
	return out
}

// deliverPublic sends the update to one subscriber through the channel
// that reaches them: the SMTP sender, or a Slack DM.
func (a *Activities) deliverPublic(ctx context.Context, s incident.Subscriber, m Message) error {
	ctx, cancel := context.WithTimeout(ctx, subscriberTimeout)
	defer cancel()
	if s.Email != "" {
		if a.Email == nil {
			return nonRetryable("EmailNotConfigured", "smtp.host is not configured")
		}
		if err := a.Email.Sender.Send(ctx, s.Email, m.page()); err != nil {
			return deliveryError("email", err)
		}
		return nil
	}
	if a.Slack == nil {
		return nonRetryable("SlackNotConfigured", "slack is not configured")
	}
	// Not urgent: a stakeholder's update waits behind pages for the same DM.
	_, err := a.Slack.PageUser(ctx, s.SlackUser, config.User{SlackID: s.SlackUser}, m)
	return err
}

func permanent(err error) bool {
	var appErr *temporal.ApplicationError
	return errors.As(err, &appErr) && appErr.NonRetryable()
}

// failure says why a subscriber was not reached, without their address:
// the timeline is readable by whoever reads incidents.
func failure(s incident.Subscriber, err error) string {
	msg := err.Error()
	if s.Email != "" {
		msg = strings.ReplaceAll(msg, s.Email, "<address>")
	}
	return incident.Cut(s.Display()+": "+msg, 300)
}

// deliveryProgress is what a public update's delivery heartbeats: every
// subscriber it is done with, and why not reached ("" when reached).
type deliveryProgress struct {
	mu   sync.Mutex
	Done map[string]string `json:"done"`
}

func (p *deliveryProgress) done(id string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	_, ok := p.Done[id]
	return ok
}

// finish records the subscriber's outcome and heartbeats it at once: the
// SDK sends the last heartbeat with a failed attempt, so the next sees it.
func (p *deliveryProgress) finish(ctx context.Context, id, why string) {
	p.mu.Lock()
	p.Done[id] = why
	p.mu.Unlock()
	p.report(ctx)
}

func (p *deliveryProgress) report(ctx context.Context) {
	if !activity.IsActivity(ctx) {
		return
	}
	p.mu.Lock()
	snapshot := deliveryProgress{Done: make(map[string]string, len(p.Done))}
	for k, v := range p.Done {
		snapshot.Done[k] = v
	}
	p.mu.Unlock()
	activity.RecordHeartbeat(ctx, &snapshot)
}

// keepReporting heartbeats the progress while a delivery waits (for SMTP,
// for a DM's slot), as keepAlive does for pages, but never with empty
// details, which would lose it.
func (p *deliveryProgress) keepReporting(ctx context.Context) (stop func()) {
	if !activity.IsActivity(ctx) {
		return func() {}
	}
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(HeartbeatTimeout / 5)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				p.report(ctx)
			case <-done:
				return
			case <-ctx.Done():
				return
			}
		}
	}()
	return func() { close(done) }
}

// result counts the subscribers reached and spells out the first failures,
// in the subscribers' order.
func (p *deliveryProgress) result(subs []incident.Subscriber) incident.PublicUpdateResult {
	p.mu.Lock()
	defer p.mu.Unlock()
	var res incident.PublicUpdateResult
	for _, s := range subs {
		why, ok := p.Done[s.ID()]
		switch {
		case !ok:
		case why == "":
			res.Sent++
		default:
			res.Failed++
			if len(res.Failures) < incident.MaxFailuresTold {
				res.Failures = append(res.Failures, why)
			}
		}
	}
	return res
}
