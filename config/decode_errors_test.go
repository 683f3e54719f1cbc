package config_test

import (
	"bytes"
	"flag"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/incidentflow/incidentflow/config"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from what config validate prints now")

// validateOutput is what `incidentflow config validate FILE` prints: the
// problems on stdout, then the count it exits 1 with.
func validateOutput(t *testing.T, file string) string {
	t.Helper()
	_, err := config.Load(file)
	p := problems(t, err)
	var buf bytes.Buffer
	require.NoError(t, p.Report(&buf, file))
	buf.WriteString(p.Summary(file) + "\n")
	return buf.String()
}

func TestValidateGolden(t *testing.T) {
	const file = "testdata/five_mistakes.yaml"
	got := validateOutput(t, file)
	golden := strings.TrimSuffix(file, ".yaml") + ".golden"
	if *update {
		require.NoError(t, os.WriteFile(golden, []byte(got), 0o644))
	}
	want, err := os.ReadFile(golden)
	require.NoError(t, err, "run go test ./config -update to create it")
	require.Equal(t, string(want), got, "run go test ./config -update if the change is intended")
}

func TestSummary(t *testing.T) {
	require.Equal(t, "1 problem in f.yaml", config.Problems{"a: b"}.Summary("f.yaml"))
	require.Equal(t, "2 problems in f.yaml", config.Problems{"a: b", "c: d"}.Summary("f.yaml"))
}

// TestDecodeProblemsByKey: mistakes yaml.v3 reports by line and Go type
// are named by key path and in YAML's terms.
func TestDecodeProblemsByKey(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string // exactly these problems, in this order
	}{
		{
			name: "the issue's example: every problem, semantic ones too",
			src: "services:\n  checkout: {escalaton_policy: p}\n" +
				"escalation_policies:\n  p: {repeat: once, steps: [{targets: [user:zed]}]}\n" +
				"usres: {}\n",
			want: []string{
				"services.checkout.escalaton_policy: unknown key (did you mean escalation_policy?)",
				`escalation_policies.p.repeat: want a number, got "once"`,
				`escalation_policies.p.steps[0].targets[0]: unknown user "zed"`,
				"usres: unknown key (did you mean users?)",
			},
		},
		{
			name: "wrong types in YAML terms",
			src: "services:\n  s: {escalation_policy: p, slack_channel: {a: b}}\n" +
				"escalation_policies:\n  p:\n    steps:\n      - targets: [user:a, {user: b}]\n      - targets: user:a\n" +
				"users:\n  a: {}\n  b: {}\n" +
				"http: {public_reads: maybe}\n" +
				"timings: {postmortem_reminders: 24h, ack_timeout: [5m]}\n",
			want: []string{
				`services.s.slack_channel: want a string, got a mapping`,
				`escalation_policies.p.steps[0].targets[1]: want a string, got a mapping`,
				`escalation_policies.p.steps[1].targets: want a list, got "user:a"`,
				`http.public_reads: want true or false, got "maybe"`,
				`timings.postmortem_reminders: want a list, got "24h"`,
				`timings.ack_timeout: want a duration like 5m, got a list`,
			},
		},
		{
			name: "durations keep going past the first",
			src:  "services: {}\ntimings:\n  ack_timeout: 5 minutes\n  no_progress_nudge: soon\n",
			want: []string{
				`timings.ack_timeout: want a duration like 5m, got "5 minutes"`,
				`timings.no_progress_nudge: want a duration like 5m, got "soon"`,
			},
		},
		{
			name: "no close key lists the valid ones",
			src:  "services:\n  s: {escalation_policy: p, owner: x}\nescalation_policies:\n  p: {steps: [{targets: [user:a]}]}\nusers: {a: {}}\n",
			want: []string{"services.s.owner: unknown key (valid keys: escalation_policy, github_repo, runbook_url, slack_channel, subscribers)"},
		},
		{
			name: "a long key a few edits off",
			src:  "escalation_policy: {}\n",
			want: []string{"escalation_policy: unknown key (did you mean escalation_policies?)"},
		},
		{
			name: "a prefix",
			src:  "integrations:\n  - {name: prom, kind: generic, service: s, token: X}\nservices:\n  s: {escalation_policy: p}\nescalation_policies:\n  p: {steps: [{targets: [user:a]}]}\nusers: {a: {}}\n",
			want: []string{"integrations.prom.token: unknown key (did you mean token_env?)"},
		},
		{
			name: "a repeated key",
			src:  "users:\n  a: {}\n  a: {email: a@example.com}\n",
			want: []string{"users.a: duplicate key (first at line 2)"},
		},
		{
			name: "not a mapping at all",
			src:  "[a, b]\n",
			want: []string{"line 1: want a mapping, got a list"},
		},
		{
			name: "a misspelt key is not also reported as missing",
			src:  "services:\n  s: {escalation_polcy: p}\nescalation_policies:\n  p: {steps: [{targets: [user:a]}]}\nusers: {a: {}}\n",
			want: []string{"services.s.escalation_polcy: unknown key (did you mean escalation_policy?)"},
		},
		{
			name: "a value of the wrong type is not also reported by the check of its value",
			src:  "services:\n  s: {escalation_policy: p}\nescalation_policies:\n  p: {steps: [{targets: [user:a]}, {targets: [[user:a]]}]}\nusers: {a: {}}\n",
			want: []string{"escalation_policies.p.steps[1].targets[0]: want a string, got a list"},
		},
		{
			name: "anchors and merges are followed",
			src: "schedules:\n  base: &base {time_zone: Europe/Berlin, layers: [{start: \"2026-01-05T09:00:00Z\", shift: 1h, users: [a], shfit: 2h}]}\n" +
				"  s:\n    <<: *base\n    timezone: UTC\nusers: {a: {}}\n",
			want: []string{
				"schedules.base.layers[0].shfit: unknown key (did you mean shift?)",
				"schedules.s.layers[0].shfit: unknown key (did you mean shift?)",
				"schedules.s.timezone: unknown key (did you mean time_zone?)",
			},
		},
		{
			name: "not YAML",
			src:  "services: [\n",
			want: []string{"line 1: did not find expected node content"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := config.Parse([]byte(tc.src))
			require.Nil(t, cfg)
			require.Equal(t, config.Problems(tc.want), problems(t, err))
		})
	}
}

// TestProblemsInFileOrder: semantic problems come in the order of the keys
// they name, not alphabetically, and those about keys left out come last.
func TestProblemsInFileOrder(t *testing.T) {
	src := strings.NewReplacer(
		"escalation_policy: P", "escalation_policy: x",
		"Europe/Berlin", "Mars/Olympus",
		"kind: alertmanager", "kind: nagios",
	).Replace(validYAML) + "timings: {ack_timeout: -1m}\nwebhooks: {ops: {}}\n"
	_, err := config.Parse([]byte(src))
	require.Equal(t, config.Problems{
		`integrations.prom.kind: unknown kind "nagios" (alertmanager, events_v2, generic or opsgenie)`,
		`services.checkout.escalation_policy: unknown policy "x"`,
		`schedules.S.time_zone: unknown time zone "Mars/Olympus"`,
		`timings.ack_timeout: must be positive`,
		`webhooks.ops.url: "" is not an absolute URL`,
	}, problems(t, err))
}

// TestDecodeProblemsNeverAccept: whatever the walk makes of a file the
// strict decode refuses, Parse refuses it too.
func TestDecodeProblemsNeverAccept(t *testing.T) {
	for _, src := range []string{
		"services: {s: {escalation_policy: p, <<: 5}}\n",
		"users: {a: !!binary aGVsbG8=}\n",
		"users:\n  ? [a]\n  : {}\n",
	} {
		cfg, err := config.Parse([]byte(src))
		require.Nil(t, cfg, src)
		problems(t, err)
	}
}
