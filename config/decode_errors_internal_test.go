package config

import (
	"bytes"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

// TestLocateYAMLErrors: yaml.v3's own messages, should the walk ever miss
// one, still come out by key path and in YAML's terms.
func TestLocateYAMLErrors(t *testing.T) {
	src := "services:\n  checkout: {escalaton_policy: p}\n" +
		"escalation_policies:\n  p: {repeat: once, steps: [{targets: [user:a, [x]]}]}\n" +
		"  q: {repeat: onceuponatime}\n" +
		"users:\n  a: {}\n  a: {}\n"
	var cfg Config
	dec := yaml.NewDecoder(bytes.NewReader([]byte(src)))
	dec.KnownFields(true)
	err := dec.Decode(&cfg)
	var te *yaml.TypeError
	require.True(t, errors.As(err, &te), "%v", err)

	var doc yaml.Node
	require.NoError(t, yaml.Unmarshal([]byte(src), &doc))
	idx := indexTree(&doc)
	var got []string
	for _, msg := range te.Errors {
		got = append(got, idx.locate(errorLine(msg), msg).String())
	}
	require.ElementsMatch(t, []string{
		"services.checkout.escalaton_policy: unknown key",
		`escalation_policies.p.repeat: want a number, got "once"`,
		`escalation_policies.p.steps[0].targets[1]: want a string, got a list`,
		`escalation_policies.q.repeat: want a number, got "onceuponatime"`,
		"users.a: duplicate key (first at line 7)",
	}, got)

	require.Equal(t, "line 9: something new", idx.locate(9, "line 9: something new").String(),
		"a message it cannot place keeps its line")
}

func TestEditDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"users", "users", 0},
		{"usres", "users", 1}, // a swap is one edit
		{"escalaton_policy", "escalation_policy", 1},
		{"escalation_policy", "escalation_policies", 3},
		{"", "abc", 3},
	} {
		require.Equal(t, tc.want, editDistance(tc.a, tc.b), "%s/%s", tc.a, tc.b)
	}
}

func TestClosestKey(t *testing.T) {
	valid := []string{"escalation_policy", "github_repo", "slack_channel"}
	require.Equal(t, "escalation_policy", closestKey("Escalation-Policy", valid))
	require.Equal(t, "github_repo", closestKey("github", valid), "a prefix")
	require.Equal(t, "", closestKey("owner", valid))
	require.Equal(t, "", closestKey("ab", []string{"tls"}))
	require.Equal(t, "", closestKey("li", []string{"listen"}), "too short to be a prefix")
	require.Equal(t, "tls", closestKey("tsl", []string{"tls", "listen"}))
}
