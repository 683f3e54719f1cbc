package config

import (
	"fmt"
	"net/mail"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/incidentflow/incidentflow/incident"
)

// roleNames are the roles a severity (or an access grant) may name.
var roleNames = incident.Roles

// Target kinds an escalation step may page.
const (
	TargetUser         = "user"
	TargetSchedule     = "schedule"
	TargetSlackChannel = "slack_channel"
	TargetWebhook      = "webhook"
	TargetEmail        = "email"
	TargetTeams        = "teams"
	TargetMattermost   = "mattermost"
)

// Target is one parsed `kind:name` entry of a step.
type Target struct {
	Kind string
	Name string
}

func (t Target) String() string { return t.Kind + ":" + t.Name }

// ParseTarget parses `user:NAME`, `schedule:NAME`, `slack_channel:#X`,
// `webhook:NAME`, `email:ADDR`, `teams:NAME` or `mattermost:NAME`.
func ParseTarget(s string) (Target, error) {
	kind, name, ok := strings.Cut(strings.TrimSpace(s), ":")
	if !ok || name == "" {
		return Target{}, fmt.Errorf("%q is not kind:name (user:, schedule:, slack_channel:, webhook:, email:, teams:, mattermost:)", s)
	}
	switch kind {
	case TargetUser, TargetSchedule, TargetSlackChannel, TargetWebhook, TargetEmail, TargetTeams, TargetMattermost:
		return Target{Kind: kind, Name: name}, nil
	}
	return Target{}, fmt.Errorf("unknown target kind %q in %q (use user, schedule, slack_channel, webhook, email, teams or mattermost)", kind, s)
}

var weekdays = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
}

// Weekday parses a three-letter (or longer) English day name.
func Weekday(s string) (time.Weekday, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	if len(s) < 3 {
		return 0, false
	}
	d, ok := weekdays[s[:3]]
	return d, ok
}

// ParseClock parses "HH:MM" into minutes after midnight.
func ParseClock(s string) (int, error) {
	t, err := time.Parse("15:04", s)
	if err != nil {
		return 0, fmt.Errorf("%q is not HH:MM", s)
	}
	return t.Hour()*60 + t.Minute(), nil
}

// ParseTime parses RFC 3339, or a local time ("2006-01-02T15:04:05" or
// "2006-01-02 15:04") in loc.
func ParseTime(s string, loc *time.Location) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	for _, layout := range []string{"2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02 15:04"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a time (RFC 3339, e.g. 2026-01-05T09:00:00+01:00)", s)
}

// Validate lists every problem, each prefixed by the key it concerns.
func (c *Config) Validate() Problems {
	var p Problems
	add := func(key, format string, args ...any) {
		p = append(p, key+": "+fmt.Sprintf(format, args...))
	}

	if n := c.History.ContinueAsNewEvents; n < 0 || (n > 0 && n < 100) || n > 40000 {
		add("history.continue_as_new_events", "%d must be 0 (Temporal's suggestion) or from 100 to 40000", n)
	}
	if c.HTTP.MaxBodyBytes < 0 {
		add("http.max_body_bytes", "must be positive")
	}
	c.validateAPITokens(add)
	c.validateHeartbeats(add)
	c.validateAccessGrants(add)
	c.validateRunbooks(add)
	c.validateMaintenance(add)
	c.ValidateStatusPage(add)
	c.validatePrivacy(add)
	c.validateMajorIncident(add)
	if (c.Temporal.TLS.CertFile == "") != (c.Temporal.TLS.KeyFile == "") {
		add("temporal.tls", "cert_file and key_file go together")
	}

	seenIntegration := map[string]bool{}
	for i, in := range c.Integrations {
		key := fmt.Sprintf("integrations[%d]", i)
		if in.Name == "" {
			add(key+".name", "required")
		} else {
			key = fmt.Sprintf("integrations.%s", in.Name)
			if seenIntegration[in.Name] {
				add(key, "duplicate integration name")
			}
			seenIntegration[in.Name] = true
		}
		switch in.Kind {
		case KindAlertmanager, KindEventsV2, KindGeneric, KindOpsgenie, KindGrafana:
		case "":
			add(key+".kind", "required (alertmanager, events_v2, generic or opsgenie)")
		default:
			add(key+".kind", "unknown kind %q (alertmanager, events_v2, generic or opsgenie)", in.Kind)
		}
		c.validateIntegrationKind(key, in, add)
		if in.Service == "" {
			add(key+".service", "required")
		} else if _, ok := c.Services[in.Service]; !ok {
			add(key+".service", "unknown service %q", in.Service)
		}
		if _, ok := c.Severities[in.DefaultSeverity]; !ok {
			add(key+".default_severity", "unknown severity %q", in.DefaultSeverity)
		}
	}

	if c.Slack.APIURL != "" {
		if u, err := url.Parse(c.Slack.APIURL); err != nil || u.Scheme == "" || u.Host == "" || !strings.HasSuffix(u.Path, "/") {
			add("slack.api_url", "%q must be an absolute URL ending in /api/ (slack-go's OptionAPIURL)", c.Slack.APIURL)
		}
	}
	if ch := c.Slack.AnnounceChannel; ch != "" && !strings.HasPrefix(ch, "#") && !IsSlackID(ch) {
		add("slack.announce_channel", "%q must be #name or a channel ID", ch)
	}
	if c.GitHub.APIURL != "" {
		if u, err := url.Parse(c.GitHub.APIURL); err != nil || u.Scheme == "" || u.Host == "" || !strings.HasSuffix(u.Path, "/") {
			add("github.api_url", "%q must be an absolute URL ending in /", c.GitHub.APIURL)
		}
	}
	if r := c.GitHub.DefaultRepo; r != "" && !validRepo(r) {
		add("github.default_repo", "%q is not owner/name", r)
	}
	if t := c.Twilio; t != (Twilio{}) {
		if t.AccountSIDEnv == "" || t.AuthTokenEnv == "" {
			add("twilio", "account_sid_env and auth_token_env are required")
		}
		if !e164.MatchString(t.From) {
			add("twilio.from", "%q is not an E.164 number", t.From)
		}
		for _, f := range []struct{ key, v string }{{"twilio.api_url", t.APIURL}, {"twilio.callback_url", t.CallbackURL}} {
			if u, err := url.Parse(f.v); f.v != "" && (err != nil || u.Scheme == "" || u.Host == "") {
				add(f.key, "%q is not an absolute URL", f.v)
			}
		}
	}
	if c.SMTP.Host != "" {
		if _, err := mail.ParseAddress(c.SMTP.From); err != nil {
			add("smtp.from", "%q is not an email address (pages are sent from it)", c.SMTP.From)
		}
		if c.SMTP.Port < 1 || c.SMTP.Port > 65535 {
			add("smtp.port", "%d is not a port", c.SMTP.Port)
		}
		if (c.SMTP.UsernameEnv == "") != (c.SMTP.PasswordEnv == "") {
			add("smtp.username_env", "username_env and password_env go together")
		}
	}

	if len(c.Severities) > 4 {
		add("severities", "at most four levels (got %d)", len(c.Severities))
	}
	for _, name := range c.SeverityNames() {
		sev := c.Severities[name]
		key := "severities." + name
		if sev.UpdateEvery < 0 {
			add(key+".update_every", "must not be negative")
		}
		if sev.ResolveTimeout < 0 {
			add(key+".resolve_timeout", "must not be negative")
		}
		for _, r := range sev.Roles {
			if !slices.Contains(roleNames, r) {
				add(key+".roles", "unknown role %q (%s)", r, strings.Join(roleNames, ", "))
			}
		}
	}

	for _, alias := range sortedKeys(c.Triage.Aliases) {
		if _, ok := c.Severities[c.Triage.Aliases[alias]]; !ok {
			add("triage.aliases."+alias, "unknown severity %q", c.Triage.Aliases[alias])
		}
	}
	for i, r := range c.Triage.Rules {
		key := fmt.Sprintf("triage.rules[%d]", i)
		if _, ok := c.Severities[r.Severity]; !ok {
			add(key+".severity", "unknown severity %q", r.Severity)
		}
		for name, conds := range map[string][]Condition{"all": r.All, "any": r.Any} {
			for j, cond := range conds {
				ckey := fmt.Sprintf("%s.%s[%d]", key, name, j)
				if strings.TrimSpace(cond.Key) == "" {
					add(ckey+".key", "required")
				}
				set := 0
				for _, isSet := range []bool{cond.Equals != nil, cond.Above != nil, cond.Below != nil} {
					if isSet {
						set++
					}
				}
				if set != 1 {
					add(ckey, "exactly one of equals, above, below")
				}
			}
		}
	}

	t := c.Timings
	for key, d := range map[string]Duration{
		"timings.ack_timeout": t.AckTimeout, "timings.resolve_stable_for": t.ResolveStableFor,
		"timings.postmortem_due": t.PostmortemDue, "timings.no_progress_nudge": t.NoProgressNudge,
		"timings.commander_handover": t.CommanderHandover, "timings.postmortem_check_every": t.PostmortemCheckEvery,
		"timings.postmortem_overdue_every": t.PostmortemOverdueEvery,
	} {
		if d <= 0 {
			add(key, "must be positive")
		}
	}
	for i, r := range t.PostmortemReminders {
		if r <= 0 || r >= t.PostmortemDue {
			add(fmt.Sprintf("timings.postmortem_reminders[%d]", i), "%s must be between 0 and postmortem_due (%s)", r.D(), t.PostmortemDue.D())
		}
	}

	for _, name := range sortedKeys(c.Services) {
		svc := c.Services[name]
		key := "services." + name
		if svc.EscalationPolicy == "" {
			add(key+".escalation_policy", "required")
		} else if _, ok := c.EscalationPolicies[svc.EscalationPolicy]; !ok {
			add(key+".escalation_policy", "unknown policy %q", svc.EscalationPolicy)
		}
		if ch := svc.SlackChannel; ch != "" && !strings.HasPrefix(ch, "#") && !IsSlackID(ch) {
			add(key+".slack_channel", "%q must be #name or a channel ID", ch)
		}
		if r := svc.GitHubRepo; r != "" && !validRepo(r) {
			add(key+".github_repo", "%q is not owner/name", r)
		}
		validateSubscribers(key+".subscribers", svc.Subscribers, add)
	}

	for _, name := range sortedKeys(c.EscalationPolicies) {
		pol := c.EscalationPolicies[name]
		key := "escalation_policies." + name
		if pol.Repeat < 0 {
			add(key+".repeat", "must not be negative")
		}
		if len(pol.Steps) == 0 {
			add(key+".steps", "at least one step is required")
		}
		for i, st := range pol.Steps {
			skey := fmt.Sprintf("%s.steps[%d]", key, i)
			if st.Delay != nil && *st.Delay < 0 {
				add(skey+".delay", "must not be negative")
			}
			if len(st.Targets) == 0 {
				add(skey+".targets", "at least one target is required")
			}
			for j, raw := range st.Targets {
				if err := c.checkTarget(raw); err != nil {
					add(fmt.Sprintf("%s.targets[%d]", skey, j), "%v", err)
				}
			}
		}
		if pol.Fallback != "" {
			if err := c.checkTarget(pol.Fallback); err != nil {
				add(key+".fallback", "%v", err)
			}
		}
	}

	for _, name := range sortedKeys(c.Schedules) {
		c.validateSchedule("schedules."+name, c.Schedules[name], add)
	}

	for _, name := range sortedKeys(c.Users) {
		u := c.Users[name]
		if u.Email != "" {
			if _, err := mail.ParseAddress(u.Email); err != nil {
				add("users."+name+".email", "%q is not an email address", u.Email)
			}
		}
		if u.SlackID != "" && !IsSlackID(u.SlackID) {
			add("users."+name+".slack_id", "%q is not a Slack user ID (like U024BE7LH)", u.SlackID)
		}
		if u.Phone != "" && !e164.MatchString(u.Phone) {
			add("users."+name+".phone", "%q is not an E.164 number (like +4915112345678)", u.Phone)
		}
		for i, m := range u.ContactMethods {
			if err := c.checkMethod(name, m); err != nil {
				add(fmt.Sprintf("users.%s.contact_methods[%d]", name, i), "%v", err)
			}
		}
		c.validateRules("users."+name+".notification_rules", name, u.NotificationRules, add)
	}
	c.validateRules("notification_rules", "", c.NotificationRules, add)
	for _, name := range sortedKeys(c.Webhooks) {
		if u, err := url.Parse(c.Webhooks[name].URL); err != nil || u.Scheme == "" || u.Host == "" {
			add("webhooks."+name+".url", "%q is not an absolute URL", c.Webhooks[name].URL)
		}
	}
	slices.Sort(p)
	return p
}

func (c *Config) checkTarget(raw string) error {
	t, err := ParseTarget(raw)
	if err != nil {
		return err
	}
	switch t.Kind {
	case TargetUser:
		if _, ok := c.Users[t.Name]; !ok {
			return fmt.Errorf("unknown user %q", t.Name)
		}
	case TargetSchedule:
		if _, ok := c.Schedules[t.Name]; !ok {
			return fmt.Errorf("unknown schedule %q", t.Name)
		}
	case TargetSlackChannel:
		if !strings.HasPrefix(t.Name, "#") && !IsSlackID(t.Name) {
			return fmt.Errorf("slack channel %q must be #name or a channel ID", t.Name)
		}
	case TargetWebhook:
		if _, ok := c.Webhooks[t.Name]; !ok {
			return fmt.Errorf("unknown webhook %q (define it under webhooks)", t.Name)
		}
	case TargetTeams:
		if _, ok := c.Teams[t.Name]; !ok {
			return fmt.Errorf("unknown Teams channel %q (define it under teams)", t.Name)
		}
	case TargetMattermost:
		if _, ok := c.Mattermost[t.Name]; !ok {
			return fmt.Errorf("unknown Mattermost channel %q (define it under mattermost)", t.Name)
		}
	case TargetEmail:
		if _, err := mail.ParseAddress(t.Name); err != nil {
			return fmt.Errorf("%q is not an email address", t.Name)
		}
		if c.SMTP.Host == "" {
			return fmt.Errorf("email target %q needs smtp.host to send through", t.Name)
		}
	}
	return nil
}

func (c *Config) validateSchedule(key string, s Schedule, add func(string, string, ...any)) {
	loc := time.UTC
	if s.TimeZone == "" {
		add(key+".time_zone", "required (an IANA zone such as Europe/Berlin)")
	} else if l, err := time.LoadLocation(s.TimeZone); err != nil {
		add(key+".time_zone", "unknown time zone %q", s.TimeZone)
	} else {
		loc = l
	}
	if len(s.Layers) == 0 {
		add(key+".layers", "at least one layer is required")
	}
	for i, l := range s.Layers {
		lkey := fmt.Sprintf("%s.layers[%d]", key, i)
		if _, err := ParseTime(l.Start, loc); err != nil {
			add(lkey+".start", "%v", err)
		}
		if l.Shift <= 0 {
			add(lkey+".shift", "must be positive")
		}
		if len(l.Users) == 0 {
			add(lkey+".users", "at least one user is required")
		}
		for _, u := range l.Users {
			if _, ok := c.Users[u]; !ok {
				add(lkey+".users", "unknown user %q", u)
			}
		}
		for j, r := range l.Restrictions {
			rkey := fmt.Sprintf("%s.restrictions[%d]", lkey, j)
			for _, d := range r.Days {
				if _, ok := Weekday(d); !ok {
					add(rkey+".days", "unknown day %q", d)
				}
			}
			if _, err := ParseClock(r.Start); err != nil {
				add(rkey+".start", "%v", err)
			}
			if _, err := ParseClock(r.End); err != nil {
				add(rkey+".end", "%v", err)
			}
		}
	}
	for i, o := range s.Overrides {
		okey := fmt.Sprintf("%s.overrides[%d]", key, i)
		start, err1 := ParseTime(o.Start, loc)
		if err1 != nil {
			add(okey+".start", "%v", err1)
		}
		end, err2 := ParseTime(o.End, loc)
		if err2 != nil {
			add(okey+".end", "%v", err2)
		}
		if err1 == nil && err2 == nil && !end.After(start) {
			add(okey+".end", "must be after start")
		}
		if _, ok := c.Users[o.User]; !ok {
			add(okey+".user", "unknown user %q", o.User)
		}
	}
}

// IsSlackChannelID says whether s is the ID of a channel, private channel
// or DM (C..., G..., D...), as opposed to a "#name".
func IsSlackChannelID(s string) bool {
	return IsSlackID(s) && strings.ContainsRune("CGD", rune(s[0]))
}

// IsSlackID says whether s looks like a Slack ID (U0ALICE, C0INCIDENTS):
// upper-case letters and digits.
func IsSlackID(s string) bool {
	if len(s) < 2 {
		return false
	}
	for _, r := range s {
		if !(r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

func validRepo(s string) bool {
	owner, name, ok := strings.Cut(s, "/")
	return ok && owner != "" && name != "" && !strings.Contains(name, "/")
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

var e164 = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

// checkMethod says whether user (or, with user "", anyone) can be paged by m.
func (c *Config) checkMethod(user, m string) error {
	u := c.Users[user]
	switch {
	case m == ViaSlack:
		if user != "" && u.SlackID == "" && u.Email == "" {
			return fmt.Errorf("slack needs a slack_id or an email to look them up by")
		}
	case m == ViaEmail:
		if user != "" && u.Email == "" {
			return fmt.Errorf("email needs users.%s.email", user)
		}
		if c.SMTP.Host == "" {
			return fmt.Errorf("email needs smtp.host to send through")
		}
	case m == ViaSMS, m == ViaVoice:
		if user != "" && u.Phone == "" {
			return fmt.Errorf("%s needs users.%s.phone", m, user)
		}
		if !c.Twilio.Configured() {
			return fmt.Errorf("%s needs twilio (account_sid_env, auth_token_env, from)", m)
		}
	case strings.HasPrefix(m, TargetWebhook+":"):
		if _, ok := c.Webhooks[strings.TrimPrefix(m, TargetWebhook+":")]; !ok {
			return fmt.Errorf("unknown webhook %q (define it under webhooks)", strings.TrimPrefix(m, TargetWebhook+":"))
		}
	default:
		return fmt.Errorf("%q is not a contact method (slack, email, sms, voice, webhook:NAME)", m)
	}
	return nil
}

// validateRules checks notification rules: known methods the person can be
// reached by, in the order they fire.
func (c *Config) validateRules(key, user string, rules []NotificationRule, add func(string, string, ...any)) {
	allowed := c.Users[user].ContactMethods
	for i, r := range rules {
		k := fmt.Sprintf("%s[%d]", key, i)
		if r.After < 0 {
			add(k+".after", "must not be negative")
		}
		if i > 0 && r.After < rules[i-1].After {
			add(k+".after", "%s is before the rule above it (%s): list rules in the order they fire", r.After.D(), rules[i-1].After.D())
		}
		if err := c.checkMethod(user, r.Via); err != nil {
			add(k+".via", "%v", err)
		} else if len(allowed) > 0 && !slices.Contains(allowed, r.Via) {
			add(k+".via", "%q is not among users.%s.contact_methods", r.Via, user)
		}
	}
}
