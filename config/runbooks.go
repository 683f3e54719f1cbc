package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"text/template"
	"time"

	"github.com/incidentflow/incidentflow/incident"
)

// RunbookStep is one automated runbook step: an HTTP call people run from
// an incident of one of its services, after approval when it needs it.
// Header values that are secrets come from the environment (value_env),
// read by the worker at the moment of the call.
type RunbookStep struct {
	Title string `yaml:"title"`
	// Service or Services limit the step to those services' incidents;
	// with neither it is offered on every service's.
	Service  string                   `yaml:"service"`
	Services []string                 `yaml:"services"`
	Method   string                   `yaml:"method"`
	URL      string                   `yaml:"url"`
	Headers  map[string]RunbookHeader `yaml:"headers"`
	// Body is a text/template over RunbookData.
	Body string `yaml:"body"`
	// NeedsApproval: a second person, also allowed, must ask for it too.
	NeedsApproval bool `yaml:"needs_approval"`
	// Allowed are user names, or "role:commander" (any role) for whoever
	// holds that role on the incident when they ask.
	Allowed []string `yaml:"allowed"`
	// Timeout bounds the call (default 30s, at most 5m).
	Timeout Duration `yaml:"timeout"`
	// ExerciseOK lets a game day run it; otherwise exercises refuse it.
	ExerciseOK bool `yaml:"exercise_ok"`
}

// RunbookHeader is one request header: a Value written here, or, for a
// secret, ValueEnv naming the variable that holds it.
type RunbookHeader struct {
	Value    string `yaml:"value"`
	ValueEnv string `yaml:"value_env"`
}

// RunbookData is what a step's body template reads: {{.ID}}, {{.Key}},
// {{.Service}}, {{.Severity}}, {{.Title}}; {{json .Title}} quotes a value
// for a JSON body.
type RunbookData struct {
	ID       string
	Key      string
	Service  string
	Severity string
	Title    string
}

// MaxRunbookBody bounds a step's body template.
const MaxRunbookBody = 16 << 10

// RunbookRolePrefix marks an allowed entry naming a role, not a user.
const RunbookRolePrefix = "role:"

var (
	headerName = regexp.MustCompile(`^[A-Za-z0-9!#$%&'*+.^_|~-]{1,64}$`)
	envName    = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,127}$`)
	// Headers incidentflow sets itself, or the transport does.
	reservedHeaders = []string{"Idempotency-Key", "Incidentflow-Exercise", "Content-Length", "Host", "Transfer-Encoding", "Connection"}
	runbookMethods  = []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}
)

// CallMethod is the step's method, POST by default.
func (s RunbookStep) CallMethod() string {
	if s.Method == "" {
		return http.MethodPost
	}
	return strings.ToUpper(s.Method)
}

// CallTimeout is the step's timeout with its default.
func (s RunbookStep) CallTimeout() time.Duration {
	if s.Timeout <= 0 {
		return incident.DefaultRunbookTimeout
	}
	return s.Timeout.D()
}

// AppliesTo says whether the step is offered on service's incidents.
func (s RunbookStep) AppliesTo(service string) bool {
	if s.Service == "" && len(s.Services) == 0 {
		return true
	}
	return s.Service == service || slices.Contains(s.Services, service)
}

// RunbookTarget is a URL as the timeline shows it: without its query,
// fragment or credentials, where secrets might hide.
func RunbookTarget(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	u.User, u.RawQuery, u.ForceQuery, u.Fragment, u.RawFragment = nil, "", false, "", ""
	return u.String()
}

// RenderBody fills the body template for one incident.
func (s RunbookStep) RenderBody(d RunbookData) (string, error) {
	if s.Body == "" {
		return "", nil
	}
	t, err := template.New("body").Option("missingkey=error").Funcs(runbookFuncs).Parse(s.Body)
	if err != nil {
		return "", fmt.Errorf("parse body template: %w", err)
	}
	var b bytes.Buffer
	if err := t.Execute(&b, d); err != nil {
		return "", fmt.Errorf("fill body template: %w", err)
	}
	return b.String(), nil
}

var runbookFuncs = template.FuncMap{"json": func(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}}

// RunbookStepsFor names the steps service's incidents offer, sorted.
func (c *Config) RunbookStepsFor(service string) []string {
	var names []string
	for _, name := range sortedKeys(c.Runbooks) {
		if c.Runbooks[name].AppliesTo(service) {
			names = append(names, name)
		}
	}
	return names
}

func (c *Config) validateRunbooks(add func(key, format string, args ...any)) {
	for _, name := range sortedKeys(c.Runbooks) {
		s := c.Runbooks[name]
		key := "runbooks." + name
		if !incident.ValidStepName(name) {
			add(key, "%q is not a step name: 1 to %d lowercase letters, digits, '-' or '_', starting with a letter or digit", cut(name, 100), incident.MaxStepName)
		}
		switch t := strings.TrimSpace(s.Title); {
		case t == "":
			add(key+".title", "required: the button's text")
		case len(t) > incident.MaxRunbookTitle:
			add(key+".title", "%d bytes is too long for a button (at most %d)", len(t), incident.MaxRunbookTitle)
		}
		if s.Service != "" && len(s.Services) > 0 {
			add(key+".service", "give service or services, not both")
		}
		for i, svc := range append([]string{s.Service}, s.Services...) {
			k := key + ".service"
			if i > 0 {
				k = fmt.Sprintf("%s.services[%d]", key, i-1)
			}
			if _, ok := c.Services[svc]; svc != "" && !ok {
				add(k, "unknown service %q", cut(svc, 100))
			}
		}
		if s.Method != "" && !slices.Contains(runbookMethods, strings.ToUpper(s.Method)) {
			add(key+".method", "%q is not one of %s", cut(s.Method, 20), strings.Join(runbookMethods, ", "))
		}
		c.validateRunbookURL(key+".url", s.URL, add)
		for _, h := range sortedKeys(s.Headers) {
			validateRunbookHeader(key+".headers."+h, h, s.Headers[h], add)
		}
		if len(s.Body) > MaxRunbookBody {
			add(key+".body", "%d bytes is too long (at most %d)", len(s.Body), MaxRunbookBody)
		} else if _, err := s.RenderBody(RunbookData{ID: "incident-x", Key: "x", Service: "svc", Severity: "P1", Title: "t"}); err != nil {
			add(key+".body", "%v (the template reads .ID, .Key, .Service, .Severity and .Title; json quotes one)", err)
		}
		c.validateRunbookAllowed(key+".allowed", s.Allowed, add)
		if s.Timeout != 0 && (s.Timeout.D() < time.Second || s.Timeout.D() > incident.MaxRunbookTimeout) {
			add(key+".timeout", "%s must be from 1s to %s", s.Timeout.D(), incident.MaxRunbookTimeout)
		}
	}
	for _, svc := range sortedKeys(c.Services) {
		if n := len(c.RunbookStepsFor(svc)); n > incident.MaxRunbookSteps {
			add("runbooks", "service %s is offered %d steps; a card takes at most %d (limit them with service or services)", svc, n, incident.MaxRunbookSteps)
		}
	}
}

func (c *Config) validateRunbookURL(key, raw string, add func(key, format string, args ...any)) {
	if raw == "" {
		add(key, "required: the endpoint the step calls")
		return
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		add(key, "must be an absolute http(s) URL")
	case u.User != nil:
		add(key, "must not hold credentials: send them in a header from value_env")
	}
}

func validateRunbookHeader(key, name string, h RunbookHeader, add func(key, format string, args ...any)) {
	if !headerName.MatchString(name) {
		add(key, "%q is not a header name", cut(name, 100))
	}
	for _, r := range reservedHeaders {
		if strings.EqualFold(name, r) {
			add(key, "%s is set by incidentflow; leave it out", r)
		}
	}
	switch {
	case (h.Value == "") == (h.ValueEnv == ""):
		add(key, "give value or value_env (for a secret), exactly one")
	case h.ValueEnv != "" && !envName.MatchString(h.ValueEnv):
		add(key+".value_env", "%q is not an environment variable name", cut(h.ValueEnv, 100))
	case strings.ContainsAny(h.Value, "\r\n"):
		add(key+".value", "must be one line")
	}
}

func (c *Config) validateRunbookAllowed(key string, allowed []string, add func(key, format string, args ...any)) {
	if len(allowed) == 0 {
		add(key, "required: who may run it (user names, or role:commander)")
	}
	if len(allowed) > incident.MaxRunbookAllowed {
		add(key, "%d entries is over %d (use a role)", len(allowed), incident.MaxRunbookAllowed)
	}
	for i, a := range allowed {
		k := fmt.Sprintf("%s[%d]", key, i)
		if role, ok := strings.CutPrefix(a, RunbookRolePrefix); ok {
			if !slices.Contains(roleNames, role) {
				add(k, "unknown role %q (%s)", cut(role, 100), strings.Join(roleNames, ", "))
			}
			continue
		}
		if _, ok := c.Users[a]; !ok {
			add(k, "unknown user %q (or role:%s)", cut(a, 100), strings.Join(roleNames, ", role:"))
		}
	}
}
