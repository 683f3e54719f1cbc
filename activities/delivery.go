package activities

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"go.temporal.io/sdk/temporal"

	"github.com/incidentflow/incidentflow/config"
	"github.com/incidentflow/incidentflow/incident"
	"github.com/incidentflow/incidentflow/notify"
	"github.com/incidentflow/incidentflow/notify/chat"
	"github.com/incidentflow/incidentflow/notify/email"
	"github.com/incidentflow/incidentflow/notify/webhook"
	"github.com/incidentflow/incidentflow/oncall"
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
	// The channel's error already says what was sent to whom; the message
	// is kept to one line (no cause chain), as the timeline shows it.
	msg := err.Error()
	if !strings.Contains(msg, op) {
		msg = op + ": " + msg
	}
	switch {
	case notify.IsPermanent(err):
		return temporal.NewNonRetryableApplicationError(msg, "DeliveryRefused", nil)
	case notify.RetryDelay(err) > 0:
		return temporal.NewApplicationErrorWithOptions(msg, "DeliveryRateLimited",
			temporal.ApplicationErrorOptions{NextRetryDelay: notify.RetryDelay(err)})
	}
	return errors.New(msg)
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

// People resolves a step's targets to the people they page now (a
// schedule to whoever is on call), each once, with their notification
// rules. Targets that are not people, or name nobody now, are returned as
// others, for the Page activity to deliver or report.
func (a *Activities) People(ctx context.Context, req incident.PeopleRequest) (incident.People, error) {
	var out incident.People
	index := map[string]int{}
	for _, raw := range req.Targets {
		t, err := config.ParseTarget(raw)
		if err != nil {
			out.Others = append(out.Others, raw)
			continue
		}
		user := ""
		switch t.Kind {
		case config.TargetUser:
			user = t.Name
		case config.TargetSchedule:
			sched, ok := a.schedule(ctx, t.Name)
			if ok {
				user, _ = oncall.Who(sched, a.now())
			}
		}
		if _, known := a.Config.Users[user]; user == "" || !known {
			out.Others = append(out.Others, raw)
			continue
		}
		if i, ok := index[user]; ok {
			out.People[i].Targets = append(out.People[i].Targets, raw)
			continue
		}
		var rules []incident.Rule
		for _, r := range a.Config.RulesFor(user) {
			rules = append(rules, incident.Rule{After: r.After.D(), Via: r.Via})
		}
		if len(rules) == 0 {
			rules = []incident.Rule{{}}
		}
		index[user] = len(out.People)
		out.People = append(out.People, incident.Person{User: user, Rules: rules, Targets: []string{raw}})
	}
	return out, nil
}

// NotifyPerson reaches one person by one method of their rules.
func (a *Activities) NotifyPerson(ctx context.Context, req incident.NotifyRequest) (res incident.PageResult, err error) {
	defer keepAlive(ctx)()
	ctx, try := startPage(ctx, req.Page.Step, plannedChannel(req.Via), req.Page.Exercise)
	defer func() { try.count(res, err) }()
	note := ""
	if len(req.Page.Target) > 0 && req.Page.Target != "user:"+req.User {
		note = "you are on call for " + strings.TrimPrefix(req.Page.Target, "schedule:")
	}
	m := Message{
		IncidentID: req.Page.IncidentID, Title: incident.ExerciseText(req.Page.Exercise, req.Page.Title), Severity: req.Page.Severity, Service: req.Page.Service,
		IdempotencyKey: req.Page.IdempotencyKey, Buttons: true, Urgent: true, Text: pageText(req.Page, note),
	}
	u, ok := a.Config.Users[req.User]
	if !ok {
		return incident.PageResult{}, nonRetryable("UnknownUser", "unknown user %q", req.User)
	}
	switch via := req.Via; {
	case via == "":
		return a.pageUser(ctx, req.User, m)
	case via == config.ViaSlack && a.Slack != nil:
		return a.notifyBy(ctx, a.Slack, req.User, u, m)
	case via == config.ViaEmail && a.Email != nil:
		return a.notifyBy(ctx, a.Email, req.User, u, m)
	case (via == config.ViaSMS || via == config.ViaVoice) && a.Twilio != nil:
		if u.Phone == "" {
			return incident.PageResult{}, nonRetryable("NoPhone", "cannot %s %s: no phone number in the config", via, req.User)
		}
		var err error
		if via == config.ViaSMS {
			err = a.Twilio.SMS(ctx, u.Phone, m.page())
		} else {
			err = a.Twilio.Call(ctx, u.Phone, req.User, m.page())
		}
		if err != nil {
			return incident.PageResult{}, deliveryError(fmt.Sprintf("%s %s", via, req.User), err)
		}
		return a.paged(m, req.User, via, 1), nil
	case strings.HasPrefix(via, config.TargetWebhook+":"):
		return a.sendWebhook(ctx, strings.TrimPrefix(via, config.TargetWebhook+":"), m)
	default:
		return incident.PageResult{}, nonRetryable("NoDelivery", "cannot page %s by %s: it is not configured here", req.User, via)
	}
}

func (a *Activities) notifyBy(ctx context.Context, n Notifier, name string, u config.User, m Message) (incident.PageResult, error) {
	listed, err := notifyUser(ctx, n, name, u, m)
	if err != nil {
		return incident.PageResult{}, keepRetryPolicy(err, "page %s via %s", name, n.Name())
	}
	if listed == 0 {
		return incident.PageResult{}, nonRetryable("Unreachable", "%s cannot reach %s", n.Name(), name)
	}
	return a.paged(m, name, n.Name(), listed), nil
}

// sendChat posts to a teams:NAME or mattermost:NAME channel.
func (a *Activities) sendChat(ctx context.Context, t config.Target, m Message) (incident.PageResult, error) {
	c := a.Chats[t.String()]
	if c == nil || c.URL == "" {
		return incident.PageResult{}, nonRetryable("ChatNotConfigured", "no incoming webhook URL for %s (%s.%s.url_env)", t, t.Kind, t.Name)
	}
	if err := c.Send(ctx, m.page()); err != nil {
		return incident.PageResult{}, deliveryError(t.String(), err)
	}
	return incident.PageResult{Recipient: t.String(), Channel: t.Kind}, nil
}

// NewChats builds the Teams and Mattermost channels, their webhook URLs
// read from the environment.
func NewChats(cfg *config.Config, getenv func(string) string) map[string]*chat.Channel {
	out := map[string]*chat.Channel{}
	for kind, chans := range map[string]map[string]config.IncomingWebhook{config.TargetTeams: cfg.Teams, config.TargetMattermost: cfg.Mattermost} {
		for name, c := range chans {
			out[kind+":"+name] = &chat.Channel{Kind: kind, Name: name, URL: getenv(c.URLEnv)}
		}
	}
	return out
}
