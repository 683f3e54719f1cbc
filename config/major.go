package config

import (
	"fmt"
	"net/mail"
	"slices"
	"strings"
	"time"

	"github.com/incidentflow/incidentflow/incident"
)

// MajorIncident is the major-incident protocol (major_incident). Every
// key is optional: left out, the seed's protocol applies (a P1 open more
// than an hour becomes major; see incident.DefaultMajorPlan).
type MajorIncident struct {
	// Automatic: false makes incidents major only by command.
	Automatic *bool `yaml:"automatic"`
	// After: an incident of one of Severities open longer becomes major.
	After      Duration `yaml:"after"`
	Severities []string `yaml:"severities"`
	// ServicesThreshold: linked incidents on this many services make the
	// parent major (0: off).
	ServicesThreshold int `yaml:"services_threshold"`
	// ExecChannel and ExecEmails receive the executive briefs.
	ExecChannel       string   `yaml:"exec_channel"`
	ExecEmails        []string `yaml:"exec_emails"`
	ExecBriefFirst    Duration `yaml:"exec_brief_first"`
	ExecBriefEvery    Duration `yaml:"exec_brief_every"`
	PublicFirst       Duration `yaml:"public_first"`
	PublicEvery       Duration `yaml:"public_every"`
	RoleReminderEvery Duration `yaml:"role_reminder_every"`
	HotWashAfter      Duration `yaml:"hot_wash_after"`
	PostmortemDue     Duration `yaml:"postmortem_due"`
}

// Bounds of major_incident: the exec targets travel in every incident's
// policy, and a cadence under a second would be a timer loop.
const (
	maxExecEmails    = 20
	minMajorCadence  = time.Second
	majorIncidentKey = "major_incident"
)

// MajorPlan is the protocol an incident follows, with the seed's defaults
// for whatever the file leaves out; severities are spelt as configured.
func (c *Config) MajorPlan() incident.MajorPlan {
	m := c.MajorIncident
	p := incident.MajorPlan{
		After: m.After.D(), ServicesThreshold: m.ServicesThreshold,
		ExecBriefFirst: m.ExecBriefFirst.D(), ExecBriefEvery: m.ExecBriefEvery.D(),
		PublicFirst: m.PublicFirst.D(), PublicEvery: m.PublicEvery.D(), RolesEvery: m.RoleReminderEvery.D(),
		HotWashAfter: m.HotWashAfter.D(), PostmortemDue: m.PostmortemDue.D(),
	}.WithDefaults()
	if p.After <= 0 {
		p.After = incident.DefaultMajorPlan().After
	}
	if m.Automatic != nil && !*m.Automatic {
		p.After = 0
	}
	for _, s := range m.Severities {
		if n, ok := c.NormalizeSeverity(s); ok && !slices.Contains(p.Severities, n) {
			p.Severities = append(p.Severities, n)
		}
	}
	if m.Severities == nil {
		// The seed's P1 is the highest configured severity, whatever its name.
		if names := c.SeverityNames(); len(names) > 0 {
			p.Severities = []string{names[0]}
		}
	}
	if m.ExecChannel != "" {
		p.ExecTargets = append(p.ExecTargets, TargetSlackChannel+":"+m.ExecChannel)
	}
	for _, e := range m.ExecEmails {
		p.ExecTargets = append(p.ExecTargets, TargetEmail+":"+e)
	}
	return p
}

// validateMajorIncident names each problem of major_incident by its key.
func (c *Config) validateMajorIncident(add func(key, format string, args ...any)) {
	m := c.MajorIncident
	key := func(k string) string { return majorIncidentKey + "." + k }
	if m.After < 0 {
		add(key("after"), "must not be negative")
	}
	for _, f := range []struct {
		name string
		d    Duration
	}{
		{"exec_brief_first", m.ExecBriefFirst}, {"exec_brief_every", m.ExecBriefEvery},
		{"public_first", m.PublicFirst}, {"public_every", m.PublicEvery}, {"role_reminder_every", m.RoleReminderEvery},
		{"hot_wash_after", m.HotWashAfter}, {"postmortem_due", m.PostmortemDue},
	} {
		if f.d != 0 && f.d.D() < minMajorCadence {
			add(key(f.name), "%s is under %s (leave it out for the default)", f.d.D(), minMajorCadence)
		}
	}
	for i, s := range m.Severities {
		if _, ok := c.NormalizeSeverity(s); !ok || strings.TrimSpace(s) == "" {
			add(fmt.Sprintf("%s[%d]", key("severities"), i), "unknown severity %q (one of %s)", s, strings.Join(c.SeverityNames(), ", "))
		}
	}
	if t := m.ServicesThreshold; t < 0 || t == 1 || t > 100 {
		add(key("services_threshold"), "%d must be 0 (off) or from 2 to 100", t)
	}
	if ch := m.ExecChannel; ch != "" && !strings.HasPrefix(ch, "#") && !IsSlackID(ch) {
		add(key("exec_channel"), "%q must be #name or a channel ID", ch)
	}
	if len(m.ExecEmails) > maxExecEmails {
		add(key("exec_emails"), "%d addresses is over %d", len(m.ExecEmails), maxExecEmails)
	}
	if len(m.ExecEmails) > 0 && c.SMTP.Host == "" {
		add(key("exec_emails"), "smtp.host is not configured: nothing could send them")
	}
	seen := map[string]bool{}
	for i, e := range m.ExecEmails {
		k := fmt.Sprintf("%s[%d]", key("exec_emails"), i)
		switch a, err := mail.ParseAddress(e); {
		case err != nil || a.Address != e || len(e) > incident.MaxName:
			add(k, "%q is not a plain email address of at most %d bytes", e, incident.MaxName)
		case seen[e]:
			add(k, "%q is listed twice", e)
		}
		seen[e] = true
	}
}
