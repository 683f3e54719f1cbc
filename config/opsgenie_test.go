package config_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/incidentflow/incidentflow/config"
)

// withIntegration is validYAML with its integration replaced by line.
func withIntegration(line string) string {
	return strings.Replace(validYAML, "  - name: prom\n    kind: alertmanager\n    service: checkout\n", line, 1)
}

func TestOpsgenieIntegrationValidation(t *testing.T) {
	for _, tc := range []struct {
		name string
		line string
		want []string
	}{
		{"no key: Opsgenie clients always send one",
			"  - {name: og, kind: opsgenie, service: checkout}\n",
			[]string{"integrations.og.token_env: required for kind opsgenie"}},
		{"priorities on another kind",
			"  - {name: prom, kind: alertmanager, service: checkout, priorities: {P1: P1}}\n",
			[]string{"integrations.prom.priorities: only an integration of kind opsgenie maps priorities"}},
		{"not an Opsgenie priority",
			"  - {name: og, kind: opsgenie, token_env: K, service: checkout, priorities: {P6: P1, p1: P1}}\n",
			[]string{`integrations.og.priorities.P6: "P6" is not an Opsgenie priority (P1, P2, P3, P4, P5)`,
				`integrations.og.priorities.p1: "p1" is not an Opsgenie priority`}},
		{"not a configured severity",
			"  - {name: og, kind: opsgenie, token_env: K, service: checkout, priorities: {P5: P9}}\n",
			[]string{`integrations.og.priorities.P5: unknown severity "P9" (one of P1, P2, P3, P4)`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := config.Parse([]byte(withIntegration(tc.line)))
			p := problems(t, err)
			require.Len(t, p, len(tc.want), "%v", p)
			for i, want := range tc.want {
				require.Contains(t, p[i], want)
			}
		})
	}
}

func TestOpsgenieIntegrationLoads(t *testing.T) {
	cfg, err := config.Parse([]byte(withIntegration(
		"  - {name: og, kind: opsgenie, token_env: OG_KEY, service: checkout, priorities: {P2: critical, P5: P3}}\n")))
	require.NoError(t, err)
	in := cfg.Integrations[0]
	require.Equal(t, config.KindOpsgenie, in.Kind)
	require.Equal(t, map[string]string{"P2": "P1", "P5": "P3"}, in.Priorities, "aliases spelt as configured")
	for p, want := range map[string]string{"P1": "P1", "P2": "P1", "P3": "P3", "P4": "P4", "P5": "P3", "p4": "P4"} {
		got, ok := cfg.OpsgenieSeverity(in, p)
		require.True(t, ok, p)
		require.Equal(t, want, got, p)
	}
	for _, p := range []string{"", "P0", "P6", "critical"} {
		_, ok := cfg.OpsgenieSeverity(in, p)
		require.False(t, ok, p)
	}
}
