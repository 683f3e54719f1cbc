package activities

import (
	"context"
	"fmt"

	"go.temporal.io/sdk/temporal"

	"github.com/incidentflow/incidentflow/config"
	"github.com/incidentflow/incidentflow/incident"
	"github.com/incidentflow/incidentflow/notify"
	"github.com/incidentflow/incidentflow/notify/email"
	"github.com/incidentflow/incidentflow/notify/webhook"
)

// Email pages people by the email address in their config entry.
type Email struct {
	Sender *email.Sender
}

func (e *Email) Name() string { return "email" }

func (e *Email) NotifyUser(ctx context.Context, name string, u config.User, m Message) (bool, error) {
	if u.Email == "" {
		return false, nil
	}
	if err := e.Sender.Send(ctx, u.Email, m.page()); err != nil {
		return false, deliveryError(fmt.Sprintf("email %s", name), err)
	}
	return true, nil
}

// NotifyChannel: email reaches people, not channels.
func (e *Email) NotifyChannel(context.Context, string, Message) (bool, error) { return false, nil }

func (m Message) page() notify.Page {
	return notify.Page{IncidentID: m.IncidentID, Title: m.Title, Severity: m.Severity, Service: m.Service, Text: m.Text, IdempotencyKey: m.IdempotencyKey}
}

// deliveryError hands a channel's verdict to Temporal: permanent failures
// are not retried, a provider's "wait N seconds" is waited out.
func deliveryError(op string, err error) error {
	switch {
	case notify.IsPermanent(err):
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf("%s: %v", op, err), "DeliveryRefused", err)
	case notify.RetryDelay(err) > 0:
		return temporal.NewApplicationErrorWithOptions(fmt.Sprintf("%s: %v", op, err), "DeliveryRateLimited",
			temporal.ApplicationErrorOptions{NextRetryDelay: notify.RetryDelay(err), Cause: err})
	}
	return fmt.Errorf("%s: %w", op, err)
}

// sendEmail pages an address named by an email: target.
func (a *Activities) sendEmail(ctx context.Context, addr string, m Message) (incident.PageResult, error) {
	if a.Email == nil {
		return incident.PageResult{}, nonRetryable("EmailNotConfigured", "cannot email %s: smtp.host is not configured", addr)
	}
	if err := a.Email.Sender.Send(ctx, addr, m.page()); err != nil {
		return incident.PageResult{}, deliveryError("email "+addr, err)
	}
	return incident.PageResult{Recipient: addr, Channel: "email"}, nil
}

// sendWebhook delivers to a webhook: target.
func (a *Activities) sendWebhook(ctx context.Context, name string, m Message) (incident.PageResult, error) {
	s := a.Webhooks[name]
	if s == nil {
		return incident.PageResult{}, nonRetryable("WebhookNotConfigured", "no webhook %q is configured", name)
	}
	if err := s.Send(ctx, m.page()); err != nil {
		return incident.PageResult{}, deliveryError("webhook "+name, err)
	}
	return incident.PageResult{Recipient: "webhook:" + name, Channel: "webhook"}, nil
}

// NewWebhooks builds a sender per configured webhook, its secret read from
// the environment.
func NewWebhooks(cfg *config.Config, getenv func(string) string) map[string]*webhook.Sender {
	out := map[string]*webhook.Sender{}
	for name, wh := range cfg.Webhooks {
		s := &webhook.Sender{Name: name, URL: wh.URL}
		if wh.SecretEnv != "" {
			s.Secret = getenv(wh.SecretEnv)
		}
		out[name] = s
	}
	return out
}
