package triage_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/incidentflow/incidentflow/config"
	"github.com/incidentflow/incidentflow/triage"
)

// The seed rule, written as config exactly as config/example.yaml ships it.
func seedRules(t *testing.T) []config.TriageRule {
	t.Helper()
	cfg, err := config.Load("../config/example.yaml")
	require.NoError(t, err)
	require.NotEmpty(t, cfg.Triage.Rules)
	return cfg.Triage.Rules
}

func TestSeedRule(t *testing.T) {
	rules := seedRules(t)
	for _, tc := range []struct {
		name   string
		values map[string]string
		want   string
	}{
		{"critical service, 25% errors", map[string]string{"tier": "critical", "error_rate": "0.25"}, "P1"},
		{"critical service, 25% written as percent", map[string]string{"tier": "critical", "error_rate": "25%"}, "P1"},
		{"critical service, 15% errors", map[string]string{"tier": "critical", "error_rate": "0.15"}, "P2"},
		{"not critical, 25% errors", map[string]string{"tier": "standard", "error_rate": "0.25"}, "P2"},
		{"revenue impact", map[string]string{"revenue_impact": "true"}, "P2"},
		{"1500 users", map[string]string{"users_affected": "1500"}, "P2"},
		{"exactly 1000 users is not more than 1000", map[string]string{"users_affected": "1000"}, "P3"},
		{"6% errors", map[string]string{"error_rate": "0.06"}, "P3"},
		{"150 users", map[string]string{"users_affected": "150"}, "P3"},
		{"4% errors, 50 users", map[string]string{"error_rate": "0.04", "users_affected": "50"}, "P4"},
		{"nothing known", map[string]string{}, "P4"},
		{"garbage number never matches a threshold", map[string]string{"error_rate": "lots"}, "P4"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := triage.Classify(rules, tc.values)
			require.True(t, ok)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestNoRuleMatches(t *testing.T) {
	above := 0.5
	_, ok := triage.Classify([]config.TriageRule{{Severity: "P1", All: []config.Condition{{Key: "x", Above: &above}}}}, map[string]string{"x": "0.1"})
	require.False(t, ok)
	_, ok = triage.Classify(nil, map[string]string{"x": "1"})
	require.False(t, ok)
}
