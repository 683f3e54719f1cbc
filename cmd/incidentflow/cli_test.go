package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"os"
	"runtime"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/incidentflow/incidentflow/config"
	"github.com/incidentflow/incidentflow/incident"
)

const contractConfig = "../../config/testdata/contract-config.yaml"

// TestMain keeps the machine's own settings out: no TEMPORAL_* variable,
// no INCIDENTFLOW_* one, and a temporal.toml path inside the repo that
// does not exist, so the user's ~/.config/temporalio is never read.
func TestMain(m *testing.M) {
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "TEMPORAL_") || strings.HasPrefix(name, "INCIDENTFLOW_") {
			os.Unsetenv(name)
		}
	}
	os.Setenv("TEMPORAL_CONFIG_FILE", "testdata/absent-temporal.toml")
	os.Exit(m.Run())
}

func runCLI(args ...string) (stdout, stderr string, code int) {
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, &out, &errOut)
	return out.String(), errOut.String(), code
}

// closedAddress is a local address nothing listens on, so a dial fails at
// once instead of waiting for a timeout.
func closedAddress(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

type cliCase struct {
	name    string
	args    []string
	env     map[string]string
	code    int
	stdout  []string // each must appear
	stderr  []string
	notSeen []string // must appear in neither
}

func (c cliCase) run(t *testing.T) {
	t.Helper()
	for k, v := range c.env {
		t.Setenv(k, v)
	}
	stdout, stderr, code := runCLI(c.args...)
	if code != c.code {
		t.Errorf("%v: exit %d, want %d\nstdout: %s\nstderr: %s", c.args, code, c.code, stdout, stderr)
	}
	for _, s := range c.stdout {
		if !strings.Contains(stdout, s) {
			t.Errorf("%v: stdout lacks %q:\n%s", c.args, s, stdout)
		}
	}
	for _, s := range c.stderr {
		if !strings.Contains(stderr, s) {
			t.Errorf("%v: stderr lacks %q:\n%s", c.args, s, stderr)
		}
	}
	for _, s := range c.notSeen {
		if strings.Contains(stdout+stderr, s) {
			t.Errorf("%v: output has %q:\nstdout: %s\nstderr: %s", c.args, s, stdout, stderr)
		}
	}
}

// TestConfigValidateFiveMistakes: `config validate` prints exactly the
// golden file the config package keeps (there with its own relative path),
// the count on stderr, and exits 1.
func TestConfigValidateFiveMistakes(t *testing.T) {
	const file = "../../config/testdata/five_mistakes.yaml"
	golden, err := os.ReadFile("../../config/testdata/five_mistakes.golden")
	if err != nil {
		t.Fatal(err)
	}
	want := strings.ReplaceAll(string(golden), "testdata/five_mistakes.yaml", file)
	lines := strings.SplitAfter(want, "\n")
	wantCount := lines[len(lines)-2]
	stdout, stderr, code := runCLI("config", "validate", file)
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	if wantStdout := strings.TrimSuffix(want, wantCount); stdout != wantStdout {
		t.Errorf("stdout:\n%s\nwant:\n%s", stdout, wantStdout)
	}
	if wantStderr := "incidentflow config validate: " + wantCount; stderr != wantStderr || !strings.Contains(wantCount, "5 problems in "+file) {
		t.Errorf("stderr %q, want %q (5 problems)", stderr, wantStderr)
	}
}

func TestCLI(t *testing.T) {
	dead := closedAddress(t)
	cases := []cliCase{
		{name: "version", args: []string{"version"}, stdout: []string{"incidentflow ", runtime.Version()}},
		{name: "completion bash", args: []string{"completion", "bash"}, stdout: []string{"bash completion", "incidentflow"}},
		{name: "completion zsh", args: []string{"completion", "zsh"}, stdout: []string{"#compdef incidentflow"}},
		{name: "completion fish", args: []string{"completion", "fish"}, stdout: []string{"fish completion", "incidentflow"}},
		{name: "completion help", args: []string{"completion", "bash", "--help"}, stdout: []string{"Usage:"}},
		{name: "no arguments shows help", args: nil, stdout: []string{"Usage:", "declare", "oncall"}},
		{name: "unknown command", args: []string{"frobnicate"}, code: 2, stderr: []string{`unknown command "frobnicate"`}},
		{name: "config alone shows help", args: []string{"config"}, stdout: []string{"validate"}},
		{name: "config unknown subcommand", args: []string{"config", "check"}, code: 2, stderr: []string{`unknown command "check"`}},
		{name: "config validate --help reads no file", args: []string{"config", "validate", "--help"},
			stdout: []string{"config validate FILE"}, notSeen: []string{"open --help", "no such file"}},
		{name: "config validate needs FILE", args: []string{"config", "validate"}, code: 2, stderr: []string{"missing FILE"}},
		{name: "config validate contract", args: []string{"config", "validate", contractConfig}, stdout: []string{contractConfig + ": ok"}},
		{name: "config validate bad file", args: []string{"config", "validate", "testdata/bad-config.yaml"}, code: 1,
			stdout: []string{
				`services.checkout.escalation_policy: unknown policy "nope"`,
				`schedules.checkout-oncall.layers[0].users: unknown user "zed"`,
			},
			stderr: []string{"2 problems in testdata/bad-config.yaml"}},
		{name: "config validate missing file", args: []string{"config", "validate", "testdata/no-such.yaml"}, code: 1, stderr: []string{"no-such.yaml"}},

		{name: "--by not configured", args: []string{"ack", "incident-x", "--config", contractConfig, "--by", "zed", "--address", dead}, code: 1,
			stderr: []string{`--by: "zed" is not a configured user`, "alice, bob, carol, dave"}, notSeen: []string{"cannot reach"}},
		{name: "$USER not configured", args: []string{"resolve", "incident-x", "--config", contractConfig, "--address", dead},
			env: map[string]string{"USER": "root"}, code: 1,
			stderr:  []string{"--by", "$USER (root) is not a configured user", "INCIDENTFLOW_USER", "configured users: alice, bob, carol, dave"},
			notSeen: []string{"cannot reach"}},
		{name: "$USER unset", args: []string{"escalate", "incident-x", "--config", contractConfig, "--address", dead},
			env: map[string]string{"USER": ""}, code: 1, stderr: []string{"--by", "$USER is not set"}},
		{name: "INCIDENTFLOW_USER not configured", args: []string{"ack", "incident-x", "--config", contractConfig, "--address", dead},
			env: map[string]string{"USER": "alice", EnvUser: "zed"}, code: 1, stderr: []string{"INCIDENTFLOW_USER=zed is not a configured user", "--by"}},
		{name: "postmortem action checks --by", args: []string{"postmortem", "incident-x", "done", "--config", contractConfig, "--address", dead},
			env: map[string]string{"USER": "root"}, code: 1, stderr: []string{"--by"}, notSeen: []string{"cannot reach"}},
		{name: "$USER configured: dials, and says where and how to change it", args: []string{"ack", "incident-x", "--config", contractConfig, "--address", dead},
			env: map[string]string{"USER": "alice"}, code: 1,
			stderr: []string{"cannot reach Temporal at " + dead + " (address from --address)", "TEMPORAL_ADDRESS"}},
		{name: "TEMPORAL_ADDRESS is named as the source", args: []string{"show", "incident-x"},
			env: map[string]string{"TEMPORAL_ADDRESS": dead}, code: 1,
			stderr: []string{"cannot reach Temporal at " + dead + " (address from TEMPORAL_ADDRESS)"}},

		{name: "list unknown status", args: []string{"list", "--status", "frozen"}, code: 2, stderr: []string{`unknown status "frozen"`, "monitoring"}},
		{name: "list bad output", args: []string{"list", "--output", "yaml"}, code: 2, stderr: []string{`"yaml" is not table or json`}},
		{name: "declare needs its flags", args: []string{"declare"}, code: 1, stderr: []string{`"service"`, `"severity"`, `"title"`}},
		{name: "declare help says keys are unique", args: []string{"declare", "--help"}, stdout: []string{"Every declaration opens its own incident"}},
		{name: "action needs ID", args: []string{"ack"}, code: 2, stderr: []string{"missing ID"}},
		{name: "role needs a role and a user", args: []string{"role", "incident-x"}, code: 2, stderr: []string{"missing ROLE USER"}},
		{name: "postmortem unknown action", args: []string{"postmortem", "incident-x", "frob"}, code: 2, stderr: []string{`unknown post-mortem action "frob"`}},
		{name: "postmortem item number", args: []string{"postmortem", "incident-x", "close-item", "one"}, code: 2, stderr: []string{`"one" is not an action item number`}},

		{name: "oncall table", args: []string{"oncall", "--config", contractConfig, "--at", "2026-01-05T10:00:00+01:00"},
			stdout: []string{"SCHEDULE", "ON CALL", "checkout-oncall", "alice", "dave"}},
		{name: "oncall unknown schedule", args: []string{"oncall", "--config", contractConfig, "--schedule", "nope"}, code: 1,
			stderr: []string{`--schedule: unknown schedule "nope"`, "checkout-oncall"}},
		{name: "oncall bad --at", args: []string{"oncall", "--config", contractConfig, "--at", "tomorrow"}, code: 2, stderr: []string{"--at"}},

		{name: "import pagerduty export", args: []string{"import", "pagerduty", "--from", "../../importer/testdata/pagerduty"},
			stdout: []string{"schedules:", "follow-the-sun:", "time_zone: America/New_York"}, stderr: []string{"# Import from PagerDuty", "## Not imported"}},
		{name: "import needs a source", args: []string{"import", "opsgenie"}, code: 2, stderr: []string{"--from DIR or --api-url URL is required"}},
		{name: "import api needs key variable", args: []string{"import", "opsgenie", "--api-url", "http://127.0.0.1:1"}, code: 2, stderr: []string{"--api-key-env"}},
	}
	for _, c := range cases {
		t.Run(c.name, c.run)
	}
}

// TestListAcceptsEveryStatus: every status `list` prints, and starter's
// own filters, pass the flag check and go on to dial (which fails here).
func TestListAcceptsEveryStatus(t *testing.T) {
	dead := closedAddress(t)
	statuses := []string{"open", "closed"}
	for _, s := range incident.Statuses {
		statuses = append(statuses, string(s))
	}
	for _, s := range statuses {
		cliCase{name: s, args: []string{"list", "--status", s, "--address", dead}, code: 1, stderr: []string{"cannot reach Temporal"}}.run(t)
	}
}

func TestHelpOnEveryCommand(t *testing.T) {
	var walk func(*cobra.Command)
	seen := 0
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			walk(sub)
		}
		path := strings.Fields(c.CommandPath())[1:]
		for _, help := range []string{"--help", "-h"} {
			stdout, stderr, code := runCLI(append(path, help)...)
			if code != 0 || !strings.Contains(stdout, "Usage:") {
				t.Errorf("%s %s: exit %d\nstdout: %s\nstderr: %s", c.CommandPath(), help, code, stdout, stderr)
			}
		}
		seen++
	}
	walk(newRootCmd())
	// dev worker serve declare ack resolve escalate reopen close list show
	// postmortem oncall config (validate) version, and the root.
	if seen < 17 {
		t.Errorf("walked %d commands, want every one", seen)
	}
	for _, name := range []string{"ack", "list", "show", "oncall", "postmortem"} {
		stdout, _, _ := runCLI(name, "--help")
		if name != "ack" && !strings.Contains(stdout, "--output table|json") {
			t.Errorf("%s --help lacks --output:\n%s", name, stdout)
		}
	}
}

func TestVersionJSON(t *testing.T) {
	stdout, _, code := runCLI("version", "--output", "json")
	var v versionInfo
	if err := json.Unmarshal([]byte(stdout), &v); code != 0 || err != nil {
		t.Fatalf("exit %d, %v: %s", code, err, stdout)
	}
	if v.Go != runtime.Version() || v.Version == "" || v.Module != "github.com/incidentflow/incidentflow" {
		t.Errorf("version: %+v", v)
	}
}

func TestOncallJSON(t *testing.T) {
	for _, tc := range []struct {
		at, user, next string
	}{
		{"2026-01-05T10:00:00+01:00", "alice", "dave"},
		{"2026-01-13T10:00:00+01:00", "dave", "alice"},
	} {
		stdout, stderr, code := runCLI("oncall", "--config", contractConfig, "--at", tc.at, "-o", "json")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		var got struct {
			OnCall []struct {
				Schedule, User, Next string
			} `json:"oncall"`
		}
		if err := json.Unmarshal([]byte(stdout), &got); err != nil {
			t.Fatalf("%v: %s", err, stdout)
		}
		if len(got.OnCall) != 1 || got.OnCall[0].Schedule != "checkout-oncall" || got.OnCall[0].User != tc.user || got.OnCall[0].Next != tc.next {
			t.Errorf("at %s: %+v, want %s then %s", tc.at, got.OnCall, tc.user, tc.next)
		}
	}
}

func TestUserListIsBounded(t *testing.T) {
	cfg := &config.Config{Users: map[string]config.User{}}
	for i := range 12 {
		cfg.Users[fmt.Sprintf("u%02d", i)] = config.User{}
	}
	got := userList(cfg)
	if !strings.HasSuffix(got, "u09 and 2 more") || strings.Contains(got, "u10") {
		t.Errorf("userList: %s", got)
	}
}

// TestTemporalAddressPrecedence: --address, then TEMPORAL_ADDRESS, then
// the temporal.toml profile, then the config file, then the default.
func TestTemporalAddressPrecedence(t *testing.T) {
	cfg, err := config.Load(contractConfig)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Temporal.Address = "from-config:7233"
	cfg.Temporal.Namespace = "config-ns"
	for _, tc := range []struct {
		name               string
		env                map[string]string
		flag               string
		want, from, wantNS string
	}{
		{name: "config file", want: "from-config:7233", from: "temporal.address in", wantNS: "config-ns"},
		{name: "profile over config", env: map[string]string{"TEMPORAL_CONFIG_FILE": "testdata/temporal.toml"},
			want: "profile-default.example:7233", from: `temporal.toml profile "default"`, wantNS: "config-ns"},
		{name: "named profile", env: map[string]string{"TEMPORAL_CONFIG_FILE": "testdata/temporal.toml", "TEMPORAL_PROFILE": "staging"},
			want: "profile-staging.example:7233", from: `profile "staging"`, wantNS: "staging"},
		{name: "TEMPORAL_ADDRESS over profile", env: map[string]string{"TEMPORAL_CONFIG_FILE": "testdata/temporal.toml", "TEMPORAL_ADDRESS": "from-env:7233", "TEMPORAL_NAMESPACE": "env-ns"},
			want: "from-env:7233", from: "TEMPORAL_ADDRESS", wantNS: "env-ns"},
		{name: "--address over everything", env: map[string]string{"TEMPORAL_CONFIG_FILE": "testdata/temporal.toml", "TEMPORAL_ADDRESS": "from-env:7233"},
			flag: "from-flag:7233", want: "from-flag:7233", from: "--address", wantNS: "config-ns"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			got, err := temporalOptions(cfg, contractConfig, conn{address: tc.flag}, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			if got.opts.HostPort != tc.want || !strings.Contains(got.where(), tc.from) || got.opts.Namespace != tc.wantNS {
				t.Errorf("got %s in %s (%s), want %s from %s in %s", got.opts.HostPort, got.opts.Namespace, got.where(), tc.want, tc.from, tc.wantNS)
			}
		})
	}
	cfg.Temporal.Address = ""
	got, err := temporalOptions(cfg, contractConfig, conn{}, slog.New(slog.DiscardHandler))
	if err != nil || got.opts.HostPort != "localhost:7233" || !strings.Contains(got.where(), "default") {
		t.Errorf("no address anywhere: %s (%v)", got.where(), err)
	}
}
