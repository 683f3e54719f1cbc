// Package config loads, defaults and validates incidentflow's YAML config.
// Secrets are never in the file: keys ending in _env name environment
// variables, which the binary reads at start-up and injects where needed.
package config

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/incidentflow/incidentflow/incident"
)

// Config is the whole file. Field names follow CONTRACT.md; do not rename.
type Config struct {
	Temporal           Temporal                    `yaml:"temporal"`
	HTTP               HTTP                        `yaml:"http"`
	Integrations       []Integration               `yaml:"integrations"`
	Slack              Slack                       `yaml:"slack"`
	GitHub             GitHub                      `yaml:"github"`
	SMTP               SMTP                        `yaml:"smtp"`
	Severities         map[string]Severity         `yaml:"severities"`
	Timings            Timings                     `yaml:"timings"`
	Services           map[string]Service          `yaml:"services"`
	EscalationPolicies map[string]EscalationPolicy `yaml:"escalation_policies"`
	Schedules          map[string]Schedule         `yaml:"schedules"`
	Users              map[string]User             `yaml:"users"`
	Webhooks           map[string]Webhook          `yaml:"webhooks"`
	Twilio             Twilio                      `yaml:"twilio"`
	// Teams and Mattermost channels are paged through incoming webhooks
	// whose URLs (secrets: anyone with one can post) come from the environment.
	Teams      map[string]IncomingWebhook `yaml:"teams"`
	Mattermost map[string]IncomingWebhook `yaml:"mattermost"`
	// NotificationRules are everyone's rules unless they have their own.
	NotificationRules []NotificationRule `yaml:"notification_rules"`
	History           History            `yaml:"history"`
	Triage            Triage             `yaml:"triage"`
	// APITokens authenticate HTTP writes (and reads unless
	// http.public_reads); each names the user who acts.
	APITokens  []APIToken           `yaml:"api_tokens"`
	Heartbeats map[string]Heartbeat `yaml:"heartbeats"`
	// AccessGrants are given to responders while they respond (access.go).
	AccessGrants map[string]AccessGrant `yaml:"access_grants"`
	// Runbooks are automated runbook steps, offered on incidents (runbooks.go).
	Runbooks map[string]RunbookStep `yaml:"runbooks"`
	// Shadow makes every incident a shadow one (see Integration.Shadow).
	Shadow bool `yaml:"shadow"`
	// Maintenance windows planned in the file; more are made at run time.
	Maintenance []MaintenanceWindow `yaml:"maintenance"`
	StatusPage  StatusPage          `yaml:"status_page"`
	// Privacy: the data-breach (GDPR Art. 33) deadline and contact (privacy.go).
	Privacy Privacy `yaml:"privacy"`
	// MajorIncident is the major-incident protocol (major.go).
	MajorIncident MajorIncident `yaml:"major_incident"`
}

// Triage decides severity when an alert carries none it recognises.
type Triage struct {
	// Aliases map other names (SEV1, critical, an Alertmanager severity
	// label value) to configured severities; they win over the built-in ones.
	Aliases map[string]string `yaml:"aliases"`
	// Rules are tried in order; the first whose conditions hold sets the
	// severity. A rule with no conditions matches every alert.
	Rules []TriageRule `yaml:"rules"`
}

// TriageRule sets Severity when all of All hold and at least one of Any
// holds (an empty list is no constraint).
type TriageRule struct {
	Severity string      `yaml:"severity"`
	All      []Condition `yaml:"all"`
	Any      []Condition `yaml:"any"`
}

// Condition tests one value of the alert: a label, an annotation, a detail
// field, or "service". Exactly one of Equals, Above, Below is set.
type Condition struct {
	Key    string   `yaml:"key"`
	Equals *string  `yaml:"equals"`
	Above  *float64 `yaml:"above"`
	Below  *float64 `yaml:"below"`
}

// History bounds an incident workflow's event history.
type History struct {
	// ContinueAsNewEvents hands a long incident to a fresh run past this many
	// events; 0 waits for Temporal's own suggestion (about 4,096 events).
	ContinueAsNewEvents int `yaml:"continue_as_new_events"`
}

type Temporal struct {
	// Address is host:port of the frontend; TEMPORAL_ADDRESS overrides it.
	Address   string `yaml:"address"`
	Namespace string `yaml:"namespace"`
	TaskQueue string `yaml:"task_queue"`
	TLS       TLS    `yaml:"tls"`
	// APIKeyEnv names the variable holding a Temporal Cloud API key.
	APIKeyEnv string `yaml:"api_key_env"`
}

type TLS struct {
	Enabled    bool   `yaml:"enabled"`
	CertFile   string `yaml:"cert_file"`
	KeyFile    string `yaml:"key_file"`
	CAFile     string `yaml:"ca_file"`
	ServerName string `yaml:"server_name"`
}

type HTTP struct {
	Listen       string `yaml:"listen"`
	MaxBodyBytes int64  `yaml:"max_body_bytes"`
	// PublicReads opens GET of incidents, post-mortems and schedules to
	// anyone who can reach the port; otherwise they need an API token.
	PublicReads bool `yaml:"public_reads"`
}

// Integration kinds.
const (
	KindAlertmanager = "alertmanager"
	KindEventsV2     = "events_v2"
	KindGeneric      = "generic"
	// KindGrafana takes Grafana's unified-alerting webhook contact point.
	KindGrafana = "grafana"
	// KindOpsgenie takes Opsgenie's Alert API v2 (POST /v2/alerts and its
	// acknowledge, close and notes), so moving off Opsgenie is a URL change.
	KindOpsgenie = "opsgenie"
)

// OpsgeniePriorities are Opsgenie's alert priorities, highest first.
var OpsgeniePriorities = []string{"P1", "P2", "P3", "P4", "P5"}

type Integration struct {
	Name string `yaml:"name"`
	Kind string `yaml:"kind"`
	// TokenEnv names the variable holding the bearer token (Events v2: the
	// routing key). Without it the integration accepts unauthenticated alerts.
	TokenEnv string `yaml:"token_env"`
	Service  string `yaml:"service"`
	// DefaultSeverity applies when an alert carries no recognisable severity.
	DefaultSeverity string `yaml:"default_severity"`
	// Priorities maps Opsgenie priorities (P1..P5) to severities, kind
	// opsgenie only; a priority left out keeps its default (see
	// OpsgenieSeverity).
	Priorities map[string]string `yaml:"priorities"`
	// Shadow: the incidents this integration opens run as usual but send
	// nothing ("would have paged carol by sms"), to run beside the system
	// being replaced before switching.
	Shadow bool `yaml:"shadow"`
}

// OpsgenieSeverity is the severity an Opsgenie priority (P1..P5) maps to for
// this integration: its priorities entry, else the priority's rank in the
// configured order (P1 the highest severity, P2 the next, ...), clamped to
// the lowest, so P5 lands with P4 on four levels and P3..P5 share the
// lowest of three. On the default P1..P4 that is P1->P1 .. P4->P4, P5->P4.
func (c *Config) OpsgenieSeverity(in Integration, priority string) (string, bool) {
	rank := slices.Index(OpsgeniePriorities, strings.ToUpper(strings.TrimSpace(priority)))
	if rank < 0 {
		return "", false
	}
	if sev, ok := in.Priorities[OpsgeniePriorities[rank]]; ok {
		return sev, true
	}
	names := c.SeverityNames()
	if len(names) == 0 {
		return "", false
	}
	return names[min(rank, len(names)-1)], true
}

type Slack struct {
	BotTokenEnv      string `yaml:"bot_token_env"`
	SigningSecretEnv string `yaml:"signing_secret_env"`
	APIURL           string `yaml:"api_url"`
	AnnounceChannel  string `yaml:"announce_channel"`
}

// AnnounceChannelTarget is the announce channel as an escalation target,
// or "" (the console) when none is configured.
func (s Slack) AnnounceChannelTarget() string {
	if s.AnnounceChannel == "" {
		return ""
	}
	return TargetSlackChannel + ":" + s.AnnounceChannel
}

type GitHub struct {
	TokenEnv    string `yaml:"token_env"`
	APIURL      string `yaml:"api_url"`
	DefaultRepo string `yaml:"default_repo"`
}

// SMTP is the mail server pages go out through. Credentials are named by
// environment variables, never written here.
type SMTP struct {
	Host        string `yaml:"host"`
	Port        int    `yaml:"port"`
	From        string `yaml:"from"`
	UsernameEnv string `yaml:"username_env"`
	PasswordEnv string `yaml:"password_env"`
	// StartTLS requires STARTTLS (default true); false sends in the clear,
	// for a relay on the same host.
	StartTLS *bool `yaml:"starttls"`
}

// UseStartTLS is starttls with its default.
func (s SMTP) UseStartTLS() bool { return s.StartTLS == nil || *s.StartTLS }

type Severity struct {
	UpdateEvery    Duration `yaml:"update_every"`
	ResolveTimeout Duration `yaml:"resolve_timeout"`
	Roles          []string `yaml:"roles"`
	Postmortem     bool     `yaml:"postmortem"`
	Page           bool     `yaml:"page"`
	Channel        bool     `yaml:"channel"`
}

type Timings struct {
	// AckTimeout is the default step delay, and how long the last step of a
	// round is given before the next round (or the fallback) is paged.
	AckTimeout          Duration   `yaml:"ack_timeout"`
	ResolveStableFor    Duration   `yaml:"resolve_stable_for"`
	PostmortemDue       Duration   `yaml:"postmortem_due"`
	PostmortemReminders []Duration `yaml:"postmortem_reminders"`
	// PostmortemCheckEvery is how often a post-mortem reads its GitHub
	// issues (closed ones complete it or its action items).
	PostmortemCheckEvery Duration `yaml:"postmortem_check_every"`
	// PostmortemOverdueEvery repeats the overdue notice until it is done.
	PostmortemOverdueEvery Duration `yaml:"postmortem_overdue_every"`
	NoProgressNudge        Duration `yaml:"no_progress_nudge"`
	CommanderHandover      Duration `yaml:"commander_handover"`
}

type Service struct {
	EscalationPolicy string `yaml:"escalation_policy"`
	SlackChannel     string `yaml:"slack_channel"`
	GitHubRepo       string `yaml:"github_repo"`
	// RunbookURL is shown on pages and cards when an alert brings none.
	RunbookURL string `yaml:"runbook_url"`
	// Subscribers get every public status update of the service's
	// incidents, as an incident's own subscribers do.
	Subscribers []incident.Subscriber `yaml:"subscribers"`
}

type EscalationPolicy struct {
	// Repeat is the number of extra rounds after the first.
	Repeat int    `yaml:"repeat"`
	Steps  []Step `yaml:"steps"`
	// Fallback is told when every round went unanswered; defaults to
	// slack.announce_channel (or the console when Slack is not configured).
	Fallback string `yaml:"fallback"`
}

type Step struct {
	// Delay is the time after the previous step; nil means timings.ack_timeout.
	Delay   *Duration `yaml:"delay"`
	Targets []string  `yaml:"targets"`
}

type Schedule struct {
	TimeZone  string     `yaml:"time_zone"`
	Layers    []Layer    `yaml:"layers"`
	Overrides []Override `yaml:"overrides"`
}

// Layer hands over every Shift starting at Start, cycling through Users.
// A later layer wins over an earlier one wherever it has someone on call.
type Layer struct {
	Start        string        `yaml:"start"`
	Shift        Duration      `yaml:"shift"`
	Users        []string      `yaml:"users"`
	Restrictions []Restriction `yaml:"restrictions"`
}

// Restriction limits a layer to a daily window (in the schedule's time zone),
// optionally on some weekdays only; End before Start wraps past midnight.
type Restriction struct {
	Days  []string `yaml:"days"`
	Start string   `yaml:"start"`
	End   string   `yaml:"end"`
}

type Override struct {
	Start string `yaml:"start"`
	End   string `yaml:"end"`
	User  string `yaml:"user"`
}

type User struct {
	SlackID string `yaml:"slack_id"`
	Email   string `yaml:"email"`
	// Phone is E.164 (+4915112345678), for sms and voice.
	Phone string `yaml:"phone"`
	// GitHub is their GitHub login, for access grants of kind github_team.
	GitHub string `yaml:"github"`
	// ContactMethods, when set, are the only ways this person may be paged.
	ContactMethods []string `yaml:"contact_methods"`
	// NotificationRules say how a page reaches this person, step by step;
	// without them the top-level notification_rules apply.
	NotificationRules []NotificationRule `yaml:"notification_rules"`
}

// NotificationRule pages by Via (slack, email, sms, voice, webhook:NAME)
// After the page began, unless the incident is acknowledged first.
type NotificationRule struct {
	After Duration `yaml:"after"`
	Via   string   `yaml:"via"`
}

// Contact methods a notification rule may use.
const (
	ViaSlack = "slack"
	ViaEmail = "email"
	ViaSMS   = "sms"
	ViaVoice = "voice"
)

// RulesFor is how a page reaches user: their rules, else the default
// rules, else nil (the first channel that can reach them, at once).
func (c *Config) RulesFor(user string) []NotificationRule {
	if u, ok := c.Users[user]; ok && len(u.NotificationRules) > 0 {
		return u.NotificationRules
	}
	return c.NotificationRules
}

// Twilio texts and calls people (sms and voice rules) through the Twilio
// REST API, or any service that speaks it at APIURL.
type Twilio struct {
	AccountSIDEnv string `yaml:"account_sid_env"`
	AuthTokenEnv  string `yaml:"auth_token_env"`
	// APIURL is the REST base, https://api.twilio.com by default.
	APIURL string `yaml:"api_url"`
	// From is the number texts and calls come from (E.164).
	From string `yaml:"from"`
	// CallbackURL is incidentflow's public base URL, where Twilio posts the
	// key pressed on a call and SMS replies (/v1/twilio/voice, /v1/twilio/sms).
	CallbackURL string `yaml:"callback_url"`
}

// Configured says whether pages can go by SMS and voice.
func (t Twilio) Configured() bool { return t.AccountSIDEnv != "" && t.From != "" }

// IncomingWebhook is a chat channel's incoming-webhook URL, read from URLEnv.
type IncomingWebhook struct {
	URLEnv string `yaml:"url_env"`
}

// Webhook is an outgoing webhook, signed per Standard Webhooks with the
// secret in SecretEnv.
type Webhook struct {
	URL       string `yaml:"url"`
	SecretEnv string `yaml:"secret_env"`
}

// Duration is a Go duration string in YAML ("5m", "2s").
type Duration time.Duration

func (d Duration) D() time.Duration { return time.Duration(d) }

func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	var s string
	if err := n.Decode(&s); err != nil {
		return fmt.Errorf("line %d: want a duration like \"5m\"", n.Line)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("line %d: %q is not a duration (use Go syntax: 30s, 5m, 2h)", n.Line, s)
	}
	*d = Duration(v)
	return nil
}

func (d Duration) MarshalYAML() (interface{}, error) { return time.Duration(d).String(), nil }

// EnvConfigFile is the variable that may name the config file.
const EnvConfigFile = "INCIDENTFLOW_CONFIG"

//go:embed demo.yaml
var demoYAML []byte

// Demo is the built-in config `incidentflow dev` runs without --config.
func Demo() (*Config, error) { return Parse(demoYAML) }

// Load reads, defaults and validates a file.
func Load(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	cfg, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return cfg, nil
}

// Parse decodes YAML, applies defaults and validates. Unknown keys are
// errors: a misspelt key in an incident tool is a page that never goes out.
func Parse(b []byte) (*Config, error) {
	var cfg Config
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
		return nil, decodeProblems(b, err)
	}
	cfg.applyDefaults()
	if problems := cfg.Validate(); len(problems) > 0 {
		return nil, inFileOrder(b, problems)
	}
	return &cfg, nil
}

// Problems lists every validation failure, each naming its key.
type Problems []string

func (p Problems) Error() string { return strings.Join(p, "\n") }

// Default severities, highest first, as CONTRACT.md describes them.
func defaultSeverities() map[string]Severity {
	return map[string]Severity{
		"P1": {UpdateEvery: Duration(15 * time.Minute), ResolveTimeout: Duration(time.Hour), Roles: []string{"commander", "comms", "ops", "scribe"}, Postmortem: true, Page: true, Channel: true},
		"P2": {UpdateEvery: Duration(30 * time.Minute), ResolveTimeout: Duration(2 * time.Hour), Roles: []string{"commander", "ops"}, Postmortem: true, Page: true, Channel: true},
		"P3": {UpdateEvery: Duration(2 * time.Hour), Roles: []string{"commander"}, Page: true},
		"P4": {Roles: []string{"commander"}},
	}
}

func (c *Config) applyDefaults() {
	if c.Temporal.Namespace == "" {
		c.Temporal.Namespace = "default"
	}
	if c.Temporal.TaskQueue == "" {
		c.Temporal.TaskQueue = "incidents"
	}
	if c.HTTP.Listen == "" {
		c.HTTP.Listen = "127.0.0.1:8080"
	}
	if c.SMTP.Host != "" && c.SMTP.Port == 0 {
		c.SMTP.Port = 587
		if !c.SMTP.UseStartTLS() {
			c.SMTP.Port = 25
		}
	}
	if c.HTTP.MaxBodyBytes == 0 {
		c.HTTP.MaxBodyBytes = 1 << 20
	}
	if len(c.Severities) == 0 {
		c.Severities = defaultSeverities()
	}
	t := &c.Timings
	setDefault(&t.AckTimeout, 5*time.Minute)
	setDefault(&t.ResolveStableFor, 30*time.Minute)
	setDefault(&t.PostmortemDue, 48*time.Hour)
	setDefault(&t.PostmortemCheckEvery, 24*time.Hour)
	setDefault(&t.PostmortemOverdueEvery, 24*time.Hour)
	setDefault(&t.NoProgressNudge, 30*time.Minute)
	setDefault(&t.CommanderHandover, 2*time.Hour)
	if t.PostmortemReminders == nil {
		t.PostmortemReminders = []Duration{Duration(24 * time.Hour), Duration(44 * time.Hour)}
	}
	for i := range c.Integrations {
		in := &c.Integrations[i]
		if in.DefaultSeverity == "" {
			in.DefaultSeverity = c.LowestPagingSeverity()
		} else if n, ok := c.NormalizeSeverity(in.DefaultSeverity); ok {
			in.DefaultSeverity = n
		}
		c.normalizePriorities(in)
	}
}

func setDefault(d *Duration, v time.Duration) {
	if *d == 0 {
		*d = Duration(v)
	}
}

// SeverityNames returns the configured severities, highest first
// (sorted by name: P1 < P2, SEV1 < SEV2).
func (c *Config) SeverityNames() []string {
	names := make([]string, 0, len(c.Severities))
	for n := range c.Severities {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// LowestPagingSeverity is the least severe level that still pages; alerts
// with no severity land there so they are never silently unpaged.
func (c *Config) LowestPagingSeverity() string {
	names := c.SeverityNames()
	for i := len(names) - 1; i >= 0; i-- {
		if c.Severities[names[i]].Page {
			return names[i]
		}
	}
	if len(names) > 0 {
		return names[0]
	}
	return ""
}

// NormalizeSeverity maps a configured name or a common alias (critical,
// high, warning, sev1, ...) to a configured severity name.
func (c *Config) NormalizeSeverity(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", false
	}
	for alias, target := range c.Triage.Aliases {
		if strings.EqualFold(alias, s) {
			if _, ok := c.Severities[target]; ok {
				return target, true
			}
		}
	}
	for _, n := range c.SeverityNames() {
		if strings.EqualFold(n, s) {
			return n, true
		}
	}
	rank := map[string]int{
		"critical": 0, "sev1": 0, "sev-1": 0, "page": 0,
		"high": 1, "error": 1, "major": 1, "sev2": 1, "sev-2": 1,
		"medium": 2, "warning": 2, "warn": 2, "minor": 2, "sev3": 2, "sev-3": 2,
		"low": 3, "info": 3, "informational": 3, "none": 3, "sev4": 3, "sev-4": 3,
	}
	i, ok := rank[strings.ToLower(s)]
	names := c.SeverityNames()
	if !ok || len(names) == 0 {
		return "", false
	}
	if i >= len(names) {
		i = len(names) - 1
	}
	return names[i], true
}

// normalizePriorities spells an integration's severities as configured
// (critical -> P1), leaving anything unknown for validateIntegrationKind
// to name. Priorities are taken as Opsgenie spells them, P1..P5.
func (c *Config) normalizePriorities(in *Integration) {
	for p, sev := range in.Priorities {
		if n, ok := c.NormalizeSeverity(sev); ok {
			in.Priorities[p] = n
		}
	}
}

// validateIntegrationKind checks what only some kinds take: an opsgenie
// integration needs its key (Opsgenie clients always send one, so an open
// integration would only ever be reached by mistake), and its priorities
// must name Opsgenie priorities and configured severities.
func (c *Config) validateIntegrationKind(key string, in Integration, add func(string, string, ...any)) {
	if in.Kind != KindOpsgenie {
		if len(in.Priorities) > 0 {
			add(key+".priorities", "only an integration of kind opsgenie maps priorities")
		}
		return
	}
	if in.TokenEnv == "" {
		add(key+".token_env", "required for kind opsgenie: the variable holding the key clients send as `Authorization: GenieKey <key>`")
	}
	for _, p := range sortedKeys(in.Priorities) {
		if !slices.Contains(OpsgeniePriorities, p) {
			add(key+".priorities."+p, "%q is not an Opsgenie priority (%s)", p, strings.Join(OpsgeniePriorities, ", "))
			continue
		}
		if _, ok := c.Severities[in.Priorities[p]]; !ok {
			add(key+".priorities."+p, "unknown severity %q (one of %s)", in.Priorities[p], strings.Join(c.SeverityNames(), ", "))
		}
	}
}
