package config

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidentflow/incidentflow/incident"
)

func TestMajorIncidentDefaultsAndKeys(t *testing.T) {
	cfg, err := Demo()
	require.NoError(t, err)
	require.Equal(t, incident.DefaultMajorPlan(), cfg.MajorPlan(), "left out: the seed's protocol")

	parsed, err := Parse(append(append([]byte{}, demoYAML...), `
smtp: {host: mail.example.com, from: incidents@example.com}
major_incident:
  after: 45m
  severities: [critical, P2]
  services_threshold: 3
  exec_channel: "#exec"
  exec_emails: [ceo@example.com]
  exec_brief_first: 20m
  exec_brief_every: 45m
  public_first: 30m
  public_every: 90m
  role_reminder_every: 10m
  hot_wash_after: 12h
  postmortem_due: 96h
`...))
	require.NoError(t, err, "the key is part of the file")
	require.Equal(t, incident.MajorPlan{After: 45 * time.Minute, Severities: []string{"P1", "P2"}, ServicesThreshold: 3,
		ExecTargets:    []string{"slack_channel:#exec", "email:ceo@example.com"},
		ExecBriefFirst: 20 * time.Minute, ExecBriefEvery: 45 * time.Minute, PublicFirst: 30 * time.Minute, PublicEvery: 90 * time.Minute,
		RolesEvery: 10 * time.Minute, HotWashAfter: 12 * time.Hour, PostmortemDue: 96 * time.Hour}, parsed.MajorPlan())

	off := false
	parsed.MajorIncident.Automatic = &off
	require.Zero(t, parsed.MajorPlan().After, "automatic: false leaves only the command")
}

func TestMajorIncidentProblemsNameTheirKey(t *testing.T) {
	for _, tc := range []struct {
		name string
		m    MajorIncident
		smtp bool
		want string
	}{
		{"negative after", MajorIncident{After: Duration(-time.Minute)}, false, "major_incident.after: must not be negative"},
		{"cadence under a second", MajorIncident{ExecBriefEvery: Duration(time.Millisecond)}, false, "major_incident.exec_brief_every: 1ms is under 1s"},
		{"unknown severity", MajorIncident{Severities: []string{"P1", "SEV9"}}, false, `major_incident.severities[1]: unknown severity "SEV9"`},
		{"threshold of one", MajorIncident{ServicesThreshold: 1}, false, "major_incident.services_threshold: 1 must be 0 (off) or from 2 to 100"},
		{"channel without #", MajorIncident{ExecChannel: "exec"}, false, `major_incident.exec_channel: "exec" must be #name or a channel ID`},
		{"emails without smtp", MajorIncident{ExecEmails: []string{"ceo@example.com"}}, false, "major_incident.exec_emails: smtp.host is not configured"},
		{"a bad address", MajorIncident{ExecEmails: []string{"CEO <ceo@example.com>"}}, true, `major_incident.exec_emails[0]: "CEO <ceo@example.com>" is not a plain email address`},
		{"an address twice", MajorIncident{ExecEmails: []string{"ceo@example.com", "ceo@example.com"}}, true, `major_incident.exec_emails[1]: "ceo@example.com" is listed twice`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := Demo()
			require.NoError(t, err)
			cfg.MajorIncident = tc.m
			if tc.smtp {
				cfg.SMTP = SMTP{Host: "mail.example.com", Port: 25, From: "incidents@example.com"}
			}
			var problems []string
			cfg.validateMajorIncident(func(key, format string, args ...any) {
				problems = append(problems, key+": "+fmt.Sprintf(format, args...))
			})
			require.Len(t, problems, 1, problems)
			require.Contains(t, problems[0], tc.want)
		})
	}
}
