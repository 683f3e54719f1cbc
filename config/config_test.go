package config_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidentflow/incidentflow/config"
)

// contractConfig is a copy of shared/contract-config.yaml, the shape users
// rely on (.ci/run also validates the original when it is beside the repo),
// kept here so a fresh clone tests with nothing beside it.
const contractConfig = "testdata/contract-config.yaml"

// validYAML is a small config that passes validation; the invalid cases
// below append to or edit it.
const validYAML = `
integrations:
  - name: prom
    kind: alertmanager
    service: checkout
services:
  checkout:
    escalation_policy: P
escalation_policies:
  P:
    repeat: 1
    steps:
      - delay: 0s
        targets: [schedule:S]
      - targets: [user:alice]
schedules:
  S:
    time_zone: Europe/Berlin
    layers:
      - start: 2026-01-05T09:00:00+01:00
        shift: 168h
        users: [alice, bob]
users:
  alice: {slack_id: U0ALICE, email: alice@example.com}
  bob: {email: bob@example.com}
`

// problems returns the Problems inside err, failing the test if there are none.
func problems(t *testing.T, err error) config.Problems {
	t.Helper()
	require.Error(t, err)
	var p config.Problems
	require.True(t, errors.As(err, &p), "error %q is not config.Problems", err)
	require.NotEmpty(t, p)
	return p
}

func TestLoadShippedFiles(t *testing.T) {
	tests := []struct {
		name string
		load func() (*config.Config, error)
	}{
		{"contract-config.yaml", func() (*config.Config, error) {
			require.FileExists(t, contractConfig)
			return config.Load(contractConfig)
		}},
		{"example.yaml", func() (*config.Config, error) { return config.Load("example.yaml") }},
		{"demo", config.Demo},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := tc.load()
			require.NoError(t, err)
			require.NotNil(t, cfg)
			require.NotEmpty(t, cfg.Services)
			require.NotEmpty(t, cfg.EscalationPolicies)
			require.NotEmpty(t, cfg.Integrations)
			for _, in := range cfg.Integrations {
				require.Contains(t, cfg.Severities, in.DefaultSeverity, "integration %s", in.Name)
			}
		})
	}
}

func TestContractConfigValues(t *testing.T) {
	cfg, err := config.Load(contractConfig)
	require.NoError(t, err)
	require.Equal(t, "incidents", cfg.Temporal.TaskQueue)
	require.Equal(t, int64(1048576), cfg.HTTP.MaxBodyBytes)
	require.Equal(t, 5*time.Minute, cfg.Timings.AckTimeout.D())
	require.Equal(t, []config.Duration{config.Duration(24 * time.Hour), config.Duration(44 * time.Hour)}, cfg.Timings.PostmortemReminders)
	require.Equal(t, "checkout-primary", cfg.Services["checkout"].EscalationPolicy)
	pol := cfg.EscalationPolicies["checkout-primary"]
	require.Equal(t, 1, pol.Repeat)
	require.Len(t, pol.Steps, 3)
	require.NotNil(t, pol.Steps[1].Delay)
	require.Equal(t, 5*time.Minute, pol.Steps[1].Delay.D())
	require.Equal(t, []string{"user:carol", "slack_channel:#sre"}, pol.Steps[2].Targets)
	require.Equal(t, "Europe/Berlin", cfg.Schedules["checkout-oncall"].TimeZone)
	require.Equal(t, 168*time.Hour, cfg.Schedules["checkout-oncall"].Layers[0].Shift.D())
	require.Equal(t, "slack_channel:#incidents", cfg.Slack.AnnounceChannelTarget())
	require.Equal(t, "P3", cfg.Integrations[0].DefaultSeverity, "lowest paging severity")
	require.False(t, cfg.Severities["P4"].Page)
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	require.NoError(t, os.WriteFile(bad, []byte(strings.Replace(validYAML, "escalation_policy: P", "escalation_policy: x", 1)), 0o600))

	tests := []struct {
		name    string
		path    string
		wantMsg string
	}{
		{"missing file", filepath.Join(dir, "nope.yaml"), "read config"},
		{"invalid file names path and key", bad, bad + ": services.checkout.escalation_policy: unknown policy \"x\""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := config.Load(tc.path)
			require.Error(t, err)
			require.Nil(t, cfg)
			require.Contains(t, err.Error(), tc.wantMsg)
		})
	}
}

func TestParseValid(t *testing.T) {
	cfg, err := config.Parse([]byte(validYAML))
	require.NoError(t, err)
	require.Nil(t, cfg.EscalationPolicies["P"].Steps[1].Delay, "a step without delay leaves it to timings.ack_timeout")
	require.NotNil(t, cfg.EscalationPolicies["P"].Steps[0].Delay)
	require.Equal(t, time.Duration(0), cfg.EscalationPolicies["P"].Steps[0].Delay.D())
}

func TestValidationProblems(t *testing.T) {
	tests := []struct {
		name string
		// edit turns validYAML into the invalid config.
		edit func(string) string
		want string
	}{
		{
			name: "unknown escalation policy",
			edit: func(s string) string { return strings.Replace(s, "escalation_policy: P", "escalation_policy: x", 1) },
			want: `services.checkout.escalation_policy: unknown policy "x"`,
		},
		{
			name: "missing escalation policy",
			edit: func(s string) string {
				return strings.Replace(s, "escalation_policy: P", "slack_channel: \"#checkout\"", 1)
			},
			want: `services.checkout.escalation_policy: required`,
		},
		{
			name: "unknown target user",
			edit: func(s string) string { return strings.Replace(s, "[schedule:S]", "[user:zed]", 1) },
			want: `escalation_policies.P.steps[0].targets[0]: unknown user "zed"`,
		},
		{
			name: "unknown target schedule",
			edit: func(s string) string { return strings.Replace(s, "[user:alice]", "[user:alice, schedule:nope]", 1) },
			want: `escalation_policies.P.steps[1].targets[1]: unknown schedule "nope"`,
		},
		{
			name: "unknown target kind",
			edit: func(s string) string { return strings.Replace(s, "[user:alice]", "[pager:alice]", 1) },
			want: `escalation_policies.P.steps[1].targets[0]: unknown target kind "pager" in "pager:alice" (use user, schedule, slack_channel, webhook, email, teams or mattermost)`,
		},
		{
			name: "unknown webhook target",
			edit: func(s string) string { return strings.Replace(s, "[user:alice]", "[webhook:ops]", 1) },
			want: `escalation_policies.P.steps[1].targets[0]: unknown webhook "ops" (define it under webhooks)`,
		},
		{
			name: "step without targets",
			edit: func(s string) string { return strings.Replace(s, "targets: [user:alice]", "targets: []", 1) },
			want: `escalation_policies.P.steps[1].targets: at least one target is required`,
		},
		{
			name: "negative step delay",
			edit: func(s string) string { return strings.Replace(s, "delay: 0s", "delay: -1m", 1) },
			want: `escalation_policies.P.steps[0].delay: must not be negative`,
		},
		{
			name: "negative repeat",
			edit: func(s string) string { return strings.Replace(s, "repeat: 1", "repeat: -1", 1) },
			want: `escalation_policies.P.repeat: must not be negative`,
		},
		{
			name: "integration with unknown kind",
			edit: func(s string) string { return strings.Replace(s, "kind: alertmanager", "kind: pagerduty", 1) },
			want: `integrations.prom.kind: unknown kind "pagerduty" (alertmanager, events_v2, generic or opsgenie)`,
		},
		{
			name: "integration with unknown service",
			edit: func(s string) string { return strings.Replace(s, "    service: checkout", "    service: billing", 1) },
			want: `integrations.prom.service: unknown service "billing"`,
		},
		{
			name: "integration with unknown default severity",
			edit: func(s string) string {
				return strings.Replace(s, "    service: checkout", "    service: checkout\n    default_severity: P9", 1)
			},
			want: `integrations.prom.default_severity: unknown severity "P9"`,
		},
		{
			name: "bad time zone",
			edit: func(s string) string { return strings.Replace(s, "Europe/Berlin", "Mars/Olympus", 1) },
			want: `schedules.S.time_zone: unknown time zone "Mars/Olympus"`,
		},
		{
			name: "layer with unknown user",
			edit: func(s string) string { return strings.Replace(s, "users: [alice, bob]", "users: [alice, zed]", 1) },
			want: `schedules.S.layers[0].users: unknown user "zed"`,
		},
		{
			name: "layer with bad start",
			edit: func(s string) string {
				return strings.Replace(s, "start: 2026-01-05T09:00:00+01:00", "start: next monday", 1)
			},
			want: `schedules.S.layers[0].start: "next monday" is not a time (RFC 3339, e.g. 2026-01-05T09:00:00+01:00)`,
		},
		{
			name: "layer with zero shift",
			edit: func(s string) string { return strings.Replace(s, "shift: 168h", "shift: 0s", 1) },
			want: `schedules.S.layers[0].shift: must be positive`,
		},
		{
			name: "restriction with unknown day",
			edit: func(s string) string {
				return strings.Replace(s, "users: [alice, bob]", "users: [alice, bob]\n        restrictions:\n          - {days: [mon, funday], start: \"20:00\", end: \"08:00\"}", 1)
			},
			want: `schedules.S.layers[0].restrictions[0].days: unknown day "funday"`,
		},
		{
			name: "restriction with bad clock",
			edit: func(s string) string {
				return strings.Replace(s, "users: [alice, bob]", "users: [alice, bob]\n        restrictions:\n          - {start: \"8pm\", end: \"08:00\"}", 1)
			},
			want: `schedules.S.layers[0].restrictions[0].start: "8pm" is not HH:MM`,
		},
		{
			name: "override ending before it starts",
			edit: func(s string) string {
				return strings.Replace(s, "users: [alice, bob]", "users: [alice, bob]\n    overrides:\n      - {start: \"2026-02-02T10:00\", end: \"2026-02-02T09:00\", user: bob}", 1)
			},
			want: `schedules.S.overrides[0].end: must be after start`,
		},
		{
			name: "override with unknown user",
			edit: func(s string) string {
				return strings.Replace(s, "users: [alice, bob]", "users: [alice, bob]\n    overrides:\n      - {start: \"2026-02-02T09:00\", end: \"2026-02-02T10:00\", user: zed}", 1)
			},
			want: `schedules.S.overrides[0].user: unknown user "zed"`,
		},
		{
			name: "bad user email",
			edit: func(s string) string { return strings.Replace(s, "email: bob@example.com", "email: not-an-address", 1) },
			want: `users.bob.email: "not-an-address" is not an email address`,
		},
		{
			name: "bad slack id",
			edit: func(s string) string { return strings.Replace(s, "slack_id: U0ALICE", "slack_id: alice", 1) },
			want: `users.alice.slack_id: "alice" is not a Slack user ID (like U024BE7LH)`,
		},
		{
			name: "postmortem reminder after due",
			edit: func(s string) string { return s + "timings:\n  postmortem_due: 10h\n  postmortem_reminders: [12h]\n" },
			want: `timings.postmortem_reminders[0]: 12h0m0s must be between 0 and postmortem_due (10h0m0s)`,
		},
		{
			name: "negative ack timeout",
			edit: func(s string) string { return s + "timings:\n  ack_timeout: -5m\n" },
			want: `timings.ack_timeout: must be positive`,
		},
		{
			name: "slack api url without trailing slash",
			edit: func(s string) string { return s + "slack:\n  api_url: https://slack.example.com/api\n" },
			want: `slack.api_url: "https://slack.example.com/api" must be an absolute URL ending in /api/ (slack-go's OptionAPIURL)`,
		},
		{
			name: "unknown severity role",
			edit: func(s string) string {
				return s + "severities:\n  P1: {roles: [commander, janitor], page: true}\n  P2: {page: true}\n"
			},
			want: `severities.P1.roles: unknown role "janitor" (commander, comms, ops, scribe, deputy, planning, liaison)`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := tc.edit(validYAML)
			require.NotEqual(t, validYAML, src, "edit changed nothing")
			cfg, err := config.Parse([]byte(src))
			require.Nil(t, cfg)
			require.Contains(t, problems(t, err), tc.want)
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string
	}{
		{
			name: "bad duration names the key",
			src:  "services: {}\ntimings:\n  ack_timeout: 5 minutes\n",
			want: []string{`timings.ack_timeout: want a duration like 5m, got "5 minutes"`},
		},
		{
			name: "bad step delay",
			src:  strings.Replace(validYAML, "delay: 0s", "delay: soon", 1),
			want: []string{`escalation_policies.P.steps[0].delay: want a duration like 5m, got "soon"`},
		},
		{
			name: "unknown top-level key",
			src:  validYAML + "pagerduty:\n  key: x\n",
			want: []string{"pagerduty: unknown key"},
		},
		{
			name: "misspelt nested key",
			src:  strings.Replace(validYAML, "escalation_policy: P", "escalation_polcy: P", 1),
			want: []string{"services.checkout.escalation_polcy: unknown key (did you mean escalation_policy?)"},
		},
		{
			name: "not YAML",
			src:  "services: [\n",
			want: []string{"line"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := config.Parse([]byte(tc.src))
			require.Nil(t, cfg)
			require.Error(t, err)
			for _, w := range tc.want {
				require.Contains(t, err.Error(), w)
			}
		})
	}
}

func TestEveryProblemIsListed(t *testing.T) {
	src := strings.NewReplacer(
		"escalation_policy: P", "escalation_policy: x",
		"[user:alice]", "[user:zed]",
		"Europe/Berlin", "Mars/Olympus",
		"repeat: 1", "repeat: -2",
		"kind: alertmanager", "kind: nagios",
	).Replace(validYAML)
	_, err := config.Parse([]byte(src))
	p := problems(t, err)
	require.Greater(t, len(p), 1)
	for _, want := range []string{
		`services.checkout.escalation_policy: unknown policy "x"`,
		`escalation_policies.P.steps[1].targets[0]: unknown user "zed"`,
		`schedules.S.time_zone: unknown time zone "Mars/Olympus"`,
		`escalation_policies.P.repeat: must not be negative`,
		`integrations.prom.kind: unknown kind "nagios" (alertmanager, events_v2, generic or opsgenie)`,
	} {
		require.Contains(t, p, want)
	}
	require.Len(t, p, 5)
	// The error text carries every problem, one a line.
	require.Len(t, strings.Split(err.Error(), "\n"), 5)
}

func TestDefaults(t *testing.T) {
	for name, src := range map[string]string{"empty": "", "comment only": "# only a comment\n", "empty mapping": "{}\n"} {
		t.Run(name, func(t *testing.T) {
			cfg, err := config.Parse([]byte(src))
			require.NoError(t, err)
			require.Equal(t, "incidents", cfg.Temporal.TaskQueue)
			require.Equal(t, "default", cfg.Temporal.Namespace)
			require.Equal(t, "127.0.0.1:8080", cfg.HTTP.Listen)
			require.Equal(t, int64(1048576), cfg.HTTP.MaxBodyBytes)
			require.Equal(t, 5*time.Minute, cfg.Timings.AckTimeout.D())
			require.Equal(t, 30*time.Minute, cfg.Timings.ResolveStableFor.D())
			require.Equal(t, 48*time.Hour, cfg.Timings.PostmortemDue.D())
			require.Equal(t, 30*time.Minute, cfg.Timings.NoProgressNudge.D())
			require.Equal(t, 2*time.Hour, cfg.Timings.CommanderHandover.D())
			require.Equal(t, []string{"P1", "P2", "P3", "P4"}, cfg.SeverityNames())
			for _, sev := range []string{"P1", "P2", "P3"} {
				require.True(t, cfg.Severities[sev].Page, sev)
			}
			require.False(t, cfg.Severities["P4"].Page)
			require.Equal(t, "P3", cfg.LowestPagingSeverity())
			require.Equal(t, "", cfg.Slack.AnnounceChannelTarget())
		})
	}
}

func TestIntegrationDefaultSeverity(t *testing.T) {
	tests := []struct {
		name string
		line string
		want string
	}{
		{"unset: lowest paging severity", "", "P3"},
		{"configured name", "    default_severity: P2\n", "P2"},
		{"alias", "    default_severity: critical\n", "P1"},
		{"case-insensitive name", "    default_severity: p4\n", "P4"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := strings.Replace(validYAML, "    service: checkout\n", "    service: checkout\n"+tc.line, 1)
			cfg, err := config.Parse([]byte(src))
			require.NoError(t, err)
			require.Equal(t, tc.want, cfg.Integrations[0].DefaultSeverity)
		})
	}
}

func TestNormalizeSeverity(t *testing.T) {
	cfg, err := config.Parse(nil)
	require.NoError(t, err)
	tests := []struct {
		in     string
		want   string
		wantOK bool
	}{
		{"critical", "P1", true},
		{"CRITICAL", "P1", true},
		{"sev1", "P1", true},
		{"high", "P2", true},
		{"error", "P2", true},
		{"warning", "P3", true},
		{"warn", "P3", true},
		{"info", "P4", true},
		{"low", "P4", true},
		{"P1", "P1", true},
		{"p2", "P2", true},
		{" P3 ", "P3", true},
		{"bogus", "", false},
		{"", "", false},
		{"P5", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, ok := cfg.NormalizeSeverity(tc.in)
			require.Equal(t, tc.wantOK, ok)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestNormalizeSeverityFewerLevels(t *testing.T) {
	cfg, err := config.Parse([]byte("severities:\n  SEV1: {page: true}\n  SEV2: {page: true}\n"))
	require.NoError(t, err)
	tests := []struct{ in, want string }{
		{"critical", "SEV1"},
		{"sev1", "SEV1"},
		{"high", "SEV2"},
		{"warning", "SEV2"}, // below the lowest level: clamped to it
		{"info", "SEV2"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, ok := cfg.NormalizeSeverity(tc.in)
			require.True(t, ok)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestParseTarget(t *testing.T) {
	tests := []struct {
		in      string
		want    config.Target
		wantErr string
	}{
		{in: "user:alice", want: config.Target{Kind: config.TargetUser, Name: "alice"}},
		{in: "schedule:checkout-oncall", want: config.Target{Kind: config.TargetSchedule, Name: "checkout-oncall"}},
		{in: "slack_channel:#sre", want: config.Target{Kind: config.TargetSlackChannel, Name: "#sre"}},
		{in: "webhook:ops", want: config.Target{Kind: config.TargetWebhook, Name: "ops"}},
		{in: "email:oncall@example.com", want: config.Target{Kind: config.TargetEmail, Name: "oncall@example.com"}},
		{in: "  user:bob  ", want: config.Target{Kind: config.TargetUser, Name: "bob"}},
		{in: "alice", wantErr: "is not kind:name"},
		{in: "user:", wantErr: "is not kind:name"},
		{in: "", wantErr: "is not kind:name"},
		{in: "pager:alice", wantErr: `unknown target kind "pager"`},
		{in: "User:alice", wantErr: `unknown target kind "User"`},
		{in: ":alice", wantErr: `unknown target kind ""`},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := config.ParseTarget(tc.in)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				require.Equal(t, config.Target{}, got)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
			require.Equal(t, tc.want.Kind+":"+tc.want.Name, got.String())
		})
	}
}
