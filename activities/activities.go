// Package activities holds every side effect of an incident: reading the
// worker's config, paging people, posting to channels. Activities are methods
// on one struct whose clients are injected once at worker start-up.
package activities

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/incidentflow/incidentflow/config"
	"github.com/incidentflow/incidentflow/incident"
	"github.com/incidentflow/incidentflow/notify/chat"
	"github.com/incidentflow/incidentflow/notify/twilio"
	"github.com/incidentflow/incidentflow/notify/webhook"
	"github.com/incidentflow/incidentflow/oncall"
)

// Activities is registered once per worker. Notifiers are tried in order;
// the first that can reach a recipient delivers (Slack before the console).
type Activities struct {
	Config    *config.Config
	Notifiers []Notifier
	// Slack, when configured, also opens incident channels.
	Slack *Slack
	// GitHub, when configured, holds post-mortems and action items.
	GitHub *GitHub
	// Email, when smtp is configured, delivers email: targets (it is also
	// among the Notifiers, for people with an email address).
	Email *Email
	// Webhooks deliver webhook:NAME targets.
	Webhooks map[string]*webhook.Sender
	// Twilio, when configured, texts and calls (sms and voice rules).
	Twilio *twilio.Sender
	// Chats deliver teams:NAME and mattermost:NAME targets, by "kind:NAME".
	Chats  map[string]*chat.Channel
	Logger *slog.Logger
	// Overrides, when set, answers each schedule's run-time overrides
	// (starter.OverrideReader: the schedule's workflow); nil means the config's alone.
	Overrides OverrideSource
	// Maintenance, when set, answers the maintenance windows made at run
	// time (the maintenance workflow); nil means the config's alone.
	Maintenance MaintenanceSource
	// Similar, when set, finds past incidents like a new one for its card.
	Similar SimilarSource
	// Alerts raises the alerts workflows decide on (a heartbeat's miss)
	// through the intake's path; worker.New wires it from its client.
	Alerts AlertRaiser
	// Now is the clock for on-call resolution; tests pin it.
	Now func() time.Time
}

// OverrideSource answers the overrides made at run time for a schedule.
type OverrideSource interface {
	Overrides(ctx context.Context, schedule string) ([]incident.Override, error)
}

// overridesTimeout bounds the read of a schedule's run-time overrides: a
// page must not wait long on it.
const overridesTimeout = 3 * time.Second

// schedule is a configured schedule with the overrides made at run time.
// When those cannot be read, the config's schedule is used, with a
// warning: paging who the config says beats paging nobody.
func (a *Activities) schedule(ctx context.Context, name string) (config.Schedule, bool) {
	s, ok := a.Config.Schedules[name]
	if !ok || a.Overrides == nil {
		return s, ok
	}
	ctx, cancel := context.WithTimeout(ctx, overridesTimeout)
	defer cancel()
	extra, err := a.Overrides.Overrides(ctx, name)
	if err != nil {
		a.logger().Warn("using the config's schedule without run-time overrides", "schedule", name, "error", err)
		return s, true
	}
	return oncall.WithOverrides(s, extra), true
}

// Message is what a notifier delivers.
type Message struct {
	IncidentID string
	Title      string
	Severity   string
	Service    string
	Text       string
	// IdempotencyKey names this delivery (workflow ID + step).
	IdempotencyKey string
	// Buttons adds Acknowledge / Resolve / Escalate / commander buttons.
	Buttons bool
	// Urgent: a page, which goes before chatter waiting for the same channel.
	Urgent bool
}

// Notifier delivers messages to people and channels. ok=false means this
// notifier cannot reach that recipient and the next one should be tried.
type Notifier interface {
	Name() string
	NotifyUser(ctx context.Context, name string, u config.User, m Message) (ok bool, err error)
	NotifyChannel(ctx context.Context, channel string, m Message) (ok bool, err error)
}

func (a *Activities) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

func (a *Activities) logger() *slog.Logger {
	if a.Logger != nil {
		return a.Logger
	}
	return slog.Default()
}

// ResolvePlan turns the service's escalation policy into the plan the
// workflow follows. It never fails for a config problem: an incident whose
// service or policy is unknown still pages the fallback, with a warning.
func (a *Activities) ResolvePlan(ctx context.Context, req incident.PlanRequest) (incident.Policy, error) {
	cfg := a.Config
	plan := incident.Policy{
		RoundGap:            cfg.Timings.AckTimeout.D(),
		Page:                true,
		Fallback:            cfg.Slack.AnnounceChannelTarget(),
		Channel:             cfg.Slack.AnnounceChannelTarget(),
		SeverityOrder:       cfg.SeverityNames(),
		Severities:          map[string]incident.SeverityPlan{},
		ResolveStableFor:    cfg.Timings.ResolveStableFor.D(),
		NoProgressNudge:     cfg.Timings.NoProgressNudge.D(),
		CommanderHandover:   cfg.Timings.CommanderHandover.D(),
		ContinueAsNewEvents: cfg.History.ContinueAsNewEvents,
		SlackChannels:       a.Slack != nil,
		Announce:            cfg.Slack.AnnounceChannelTarget(),
	}
	major := cfg.MajorPlan()
	plan.Major = &major
	for name, sev := range cfg.Severities {
		plan.Severities[name] = incident.SeverityPlan{
			UpdateEvery: sev.UpdateEvery.D(), ResolveTimeout: sev.ResolveTimeout.D(),
			Roles: append([]string(nil), sev.Roles...), Page: sev.Page, Postmortem: sev.Postmortem, Channel: sev.Channel,
		}
	}
	if sev, ok := cfg.Severities[req.Severity]; ok {
		plan.Page = sev.Page
	} else {
		plan.Warning = fmt.Sprintf("unknown severity %q; paging as if it were %s", req.Severity, cfg.LowestPagingSeverity())
	}
	for _, name := range cfg.AccessGrantsFor(req.Service) {
		g := cfg.AccessGrants[name]
		plan.Access = append(plan.Access, incident.AccessGrant{Name: name, Kind: g.Kind, Org: g.Org, Team: g.Team,
			Roles: append([]string(nil), g.Roles...), Max: g.Max.D()})
	}
	svc, ok := cfg.Services[req.Service]
	if !ok {
		plan.Warning = fmt.Sprintf("unknown service %q: no escalation policy; telling the fallback", req.Service)
		return plan, nil
	}
	if svc.SlackChannel != "" {
		plan.Channel = config.TargetSlackChannel + ":" + svc.SlackChannel
	}
	plan.Runbook = incident.RunbookURL(svc.RunbookURL)
	pol := cfg.EscalationPolicies[svc.EscalationPolicy]
	if pol.Fallback != "" {
		plan.Fallback = pol.Fallback
	}
	plan.Repeat = pol.Repeat
	for i, st := range pol.Steps {
		delay := cfg.Timings.AckTimeout.D()
		if st.Delay != nil {
			delay = st.Delay.D()
		}
		if i == 0 && delay > 0 {
			// The first step pages at once; its delay is the gap before the
			// next round instead.
			plan.RoundGap = delay
			delay = 0
		}
		plan.Steps = append(plan.Steps, incident.PlanStep{Delay: delay, Targets: append([]string(nil), st.Targets...)})
	}
	return plan, nil
}

// Page reaches one target of an escalation step. Schedules are resolved to
// the person on call now, at page time.
func (a *Activities) Page(ctx context.Context, req incident.PageRequest) (res incident.PageResult, err error) {
	defer keepAlive(ctx)()
	ctx, try := startPage(ctx, req.Step, plannedChannel(req.Target), req.Exercise)
	defer func() { try.count(res, err) }()
	t, err := config.ParseTarget(req.Target)
	if err != nil {
		return incident.PageResult{}, temporal.NewNonRetryableApplicationError(err.Error(), "BadTarget", err)
	}
	m := Message{
		IncidentID: req.IncidentID, Title: incident.ExerciseText(req.Exercise, req.Title), Severity: req.Severity, Service: req.Service,
		IdempotencyKey: req.IdempotencyKey, Buttons: true, Urgent: true,
	}
	switch t.Kind {
	case config.TargetSchedule:
		sched, ok := a.schedule(ctx, t.Name)
		if !ok {
			return incident.PageResult{}, nonRetryable("UnknownSchedule", "unknown schedule %q", t.Name)
		}
		user, err := oncall.Who(sched, a.now())
		if err != nil {
			return incident.PageResult{}, nonRetryable("NobodyOnCall", "schedule %q: %v", t.Name, err)
		}
		m.Text = pageText(req, fmt.Sprintf("you are on call for %s", t.Name))
		return a.pageUser(ctx, user, m)
	case config.TargetUser:
		m.Text = pageText(req, "")
		return a.pageUser(ctx, t.Name, m)
	case config.TargetSlackChannel:
		m.Text = pageText(req, "")
		return a.postChannel(ctx, t.Name, m)
	case config.TargetEmail:
		m.Text = pageText(req, "")
		return a.sendEmail(ctx, t.Name, m)
	case config.TargetWebhook:
		m.Text = pageText(req, "")
		return a.sendWebhook(ctx, t.Name, m)
	case config.TargetTeams, config.TargetMattermost:
		m.Text = pageText(req, "")
		return a.sendChat(ctx, t, m)
	default:
		// Never "paged via console" for a page that went nowhere.
		return incident.PageResult{}, nonRetryable("NoDelivery", "no delivery for %s targets", t.Kind)
	}
}

// OpenChannel opens the incident's Slack channel, inviting the people its
// targets name (schedules resolved to who is on call now).
func (a *Activities) OpenChannel(ctx context.Context, req incident.ChannelRequest) (incident.SlackChannel, error) {
	defer keepAlive(ctx)()
	if a.Slack == nil {
		return incident.SlackChannel{}, nonRetryable("SlackNotConfigured", "slack is not configured")
	}
	var invite []string
	for _, raw := range req.Invite {
		t, err := config.ParseTarget(raw)
		if err != nil {
			continue
		}
		user := t.Name
		switch t.Kind {
		case config.TargetSchedule:
			sched, ok := a.schedule(ctx, t.Name)
			if !ok {
				continue
			}
			if user, err = oncall.Who(sched, a.now()); err != nil {
				continue
			}
		case config.TargetUser:
		default:
			continue
		}
		if id := a.Config.Users[user].SlackID; id != "" && !slices.Contains(invite, id) {
			invite = append(invite, id)
		}
	}
	announce := ""
	if t, err := config.ParseTarget(req.Announce); err == nil && t.Kind == config.TargetSlackChannel {
		announce = t.Name
	}
	return a.Slack.OpenChannel(ctx, req, invite, announce)
}

// InviteToChannel invites configured users (by their slack_id) into a channel.
func (a *Activities) InviteToChannel(ctx context.Context, req incident.InviteRequest) error {
	defer keepAlive(ctx)()
	if a.Slack == nil {
		return nonRetryable("SlackNotConfigured", "slack is not configured")
	}
	var ids []string
	for _, u := range req.Users {
		if id := a.Config.Users[u].SlackID; id != "" && !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	return a.Slack.Invite(ctx, req.Channel, ids)
}

// Announce posts a message to a target: a channel, a user, or the console
// when the target is empty.
func (a *Activities) Announce(ctx context.Context, req incident.AnnounceRequest) error {
	defer keepAlive(ctx)()
	m := Message{IncidentID: req.IncidentID, Text: incident.ExerciseText(req.Exercise, req.Text), IdempotencyKey: req.IdempotencyKey}
	if req.Target == "" {
		_, err := a.postChannel(ctx, "", m)
		return err
	}
	t, err := config.ParseTarget(req.Target)
	if err != nil {
		return temporal.NewNonRetryableApplicationError(err.Error(), "BadTarget", err)
	}
	switch t.Kind {
	case config.TargetUser:
		_, err = a.pageUser(ctx, t.Name, m)
	case config.TargetTeams, config.TargetMattermost:
		_, err = a.sendChat(ctx, t, m)
	case config.TargetEmail:
		// A major incident's executive briefs go to its exec email list.
		_, err = a.sendEmail(ctx, t.Name, m)
	default:
		// The mark goes before the mention, which needs the bare text.
		m.Text = incident.ExerciseText(req.Exercise, a.mentioning(req.Addressee, req.Text))
		_, err = a.postChannel(ctx, t.Name, m)
	}
	return err
}

// mentioning turns the addressee's name at the start of text into a Slack
// mention, which notifies them where a plain name does not; without Slack,
// or a slack_id, the text stays as it is.
func (a *Activities) mentioning(user, text string) string {
	id := a.Config.Users[user].SlackID
	if a.Slack == nil || user == "" || id == "" {
		return text
	}
	if rest, ok := strings.CutPrefix(text, user+":"); ok {
		return "<@" + id + ">:" + rest
	}
	return "<@" + id + "> " + text
}

func (a *Activities) pageUser(ctx context.Context, name string, m Message) (incident.PageResult, error) {
	u, ok := a.Config.Users[name]
	if !ok {
		return incident.PageResult{}, nonRetryable("UnknownUser", "unknown user %q", name)
	}
	for _, n := range a.Notifiers {
		listed, err := notifyUser(ctx, n, name, u, m)
		if err != nil {
			return incident.PageResult{}, keepRetryPolicy(err, "page %s via %s", name, n.Name())
		}
		if listed > 0 {
			return a.paged(m, name, n.Name(), listed), nil
		}
	}
	return incident.PageResult{}, nonRetryable("Unreachable", "no notifier can reach user %q (no slack_id, and no console)", name)
}

// digestPager is a notifier that may fold a page into one message with
// other incidents' pages for the same person.
type digestPager interface {
	PageUser(ctx context.Context, name string, u config.User, m Message) (listed int, err error)
}

// notifyUser answers how many incidents the message that reached the
// person listed: 0 when n cannot reach them, more than 1 for a digest.
func notifyUser(ctx context.Context, n Notifier, name string, u config.User, m Message) (int, error) {
	tried(ctx, n.Name())
	if dp, ok := n.(digestPager); ok {
		return dp.PageUser(ctx, name, u, m)
	}
	delivered, err := n.NotifyUser(ctx, name, u, m)
	if !delivered || err != nil {
		return 0, err
	}
	return 1, nil
}

func (a *Activities) paged(m Message, user, via string, listed int) incident.PageResult {
	a.logger().Info("paged", "incident", m.IncidentID, "user", user, "via", via, "key", m.IdempotencyKey, "listed", listed)
	res := incident.PageResult{Recipient: user, Channel: via}
	if listed > 1 {
		res.Digest = listed
	}
	return res
}

func (a *Activities) postChannel(ctx context.Context, channel string, m Message) (incident.PageResult, error) {
	for _, n := range a.Notifiers {
		tried(ctx, n.Name())
		delivered, err := n.NotifyChannel(ctx, channel, m)
		if err != nil {
			return incident.PageResult{}, keepRetryPolicy(err, "post to %s via %s", displayChannel(channel), n.Name())
		}
		if delivered {
			return incident.PageResult{Recipient: displayChannel(channel), Channel: n.Name()}, nil
		}
	}
	return incident.PageResult{}, nonRetryable("Unreachable", "no notifier can post to %s", displayChannel(channel))
}

func displayChannel(c string) string {
	if c == "" {
		return "console"
	}
	return c
}

func pageText(req incident.PageRequest, extra string) string {
	s := fmt.Sprintf("[%s] %s: %s (service %s; escalation round %d step %d)",
		req.Severity, req.IncidentID, req.Title, req.Service, req.Round, req.Step)
	if extra != "" {
		s += " " + extra
	}
	if req.Runbook != "" {
		s += " Runbook: " + req.Runbook
	}
	return incident.ExerciseText(req.Exercise, s)
}

// keepRetryPolicy adds context to err without hiding an ApplicationError:
// Temporal reads retryability and NextRetryDelay only from the error
// returned, so wrapping one with fmt.Errorf would turn "never retry" and
// "retry after Slack's Retry-After" into plain retries.
func keepRetryPolicy(err error, format string, args ...any) error {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return temporal.NewApplicationErrorWithOptions(fmt.Sprintf(format, args...)+": "+appErr.Message(), appErr.Type(),
			temporal.ApplicationErrorOptions{NonRetryable: appErr.NonRetryable(), NextRetryDelay: appErr.NextRetryDelay(), Cause: appErr})
	}
	return fmt.Errorf(format+": %w", append(args, err)...)
}

func nonRetryable(kind, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	return temporal.NewNonRetryableApplicationError(msg, kind, errors.New(msg))
}
