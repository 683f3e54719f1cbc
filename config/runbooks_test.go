package config_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/incidentflow/incidentflow/config"
)

func TestRunbookSteps(t *testing.T) {
	const base = "escalation_policies:\n  p: {steps: [{targets: [user:alice]}]}\nusers: {alice: {}, bob: {}}\n" +
		"services:\n  checkout: {escalation_policy: p}\n  db: {escalation_policy: p}\nrunbooks:\n"
	const good = "  restart:\n    title: Restart checkout\n    service: checkout\n    url: https://auto.example.com/restart?sig=x\n" +
		"    headers: {X-Token: {value_env: RESTART_TOKEN}}\n    body: '{\"id\": {{json .ID}}}'\n    needs_approval: true\n    allowed: [alice, \"role:commander\"]\n"
	var many strings.Builder
	for i := range 11 {
		fmt.Fprintf(&many, "  s%d: {title: S, url: \"https://a.example.com/\", allowed: [alice]}\n", i)
	}
	for _, tc := range []struct {
		name, steps string
		want        []string // problems; none means it parses
	}{
		{name: "a whole step", steps: good},
		{name: "name", steps: "  Restart: {title: R, url: \"https://a.example.com/\", allowed: [alice]}\n",
			want: []string{`runbooks.Restart: "Restart" is not a step name`}},
		{name: "title and url required", steps: "  r: {allowed: [alice]}\n",
			want: []string{"runbooks.r.title: required", "runbooks.r.url: required"}},
		{name: "button-sized title", steps: "  r: {title: " + strings.Repeat("t", 76) + ", url: \"https://a.example.com/\", allowed: [alice]}\n",
			want: []string{"runbooks.r.title: 76 bytes is too long for a button (at most 75)"}},
		{name: "credentials in the url", steps: "  r: {title: R, url: \"https://u:p@a.example.com/\", allowed: [alice]}\n",
			want: []string{"runbooks.r.url: must not hold credentials"}},
		{name: "not http", steps: "  r: {title: R, url: \"ftp://a.example.com/\", allowed: [alice]}\n",
			want: []string{"runbooks.r.url: must be an absolute http(s) URL"}},
		{name: "method", steps: "  r: {title: R, method: FETCH, url: \"https://a.example.com/\", allowed: [alice]}\n",
			want: []string{`runbooks.r.method: "FETCH" is not one of`}},
		{name: "unknown service", steps: "  r: {title: R, services: [checkout, web], url: \"https://a.example.com/\", allowed: [alice]}\n",
			want: []string{`runbooks.r.services[1]: unknown service "web"`}},
		{name: "service and services", steps: "  r: {title: R, service: db, services: [checkout], url: \"https://a.example.com/\", allowed: [alice]}\n",
			want: []string{"runbooks.r.service: give service or services, not both"}},
		{name: "value and value_env", steps: "  r: {title: R, url: \"https://a.example.com/\", allowed: [alice], headers: {X-T: {value: a, value_env: B}}}\n",
			want: []string{"runbooks.r.headers.X-T: give value or value_env (for a secret), exactly one"}},
		{name: "reserved header", steps: "  r: {title: R, url: \"https://a.example.com/\", allowed: [alice], headers: {idempotency-key: {value: a}}}\n",
			want: []string{"runbooks.r.headers.idempotency-key: Idempotency-Key is set by incidentflow"}},
		{name: "env name", steps: "  r: {title: R, url: \"https://a.example.com/\", allowed: [alice], headers: {X-T: {value_env: \"A B\"}}}\n",
			want: []string{`runbooks.r.headers.X-T.value_env: "A B" is not an environment variable name`}},
		{name: "template field", steps: "  r: {title: R, url: \"https://a.example.com/\", allowed: [alice], body: \"{{.Owner}}\"}\n",
			want: []string{"runbooks.r.body: fill body template"}},
		{name: "template syntax", steps: "  r: {title: R, url: \"https://a.example.com/\", allowed: [alice], body: \"{{.ID\"}\n",
			want: []string{"runbooks.r.body: parse body template"}},
		{name: "nobody allowed", steps: "  r: {title: R, url: \"https://a.example.com/\"}\n",
			want: []string{"runbooks.r.allowed: required"}},
		{name: "unknown user and role", steps: "  r: {title: R, url: \"https://a.example.com/\", allowed: [carol, \"role:boss\"]}\n",
			want: []string{`runbooks.r.allowed[0]: unknown user "carol"`, `runbooks.r.allowed[1]: unknown role "boss"`}},
		{name: "timeout", steps: "  r: {title: R, url: \"https://a.example.com/\", allowed: [alice], timeout: 10m}\n",
			want: []string{"runbooks.r.timeout: 10m0s must be from 1s to 5m0s"}},
		{name: "too many for one card", steps: many.String(),
			want: []string{"runbooks: service checkout is offered 11 steps; a card takes at most 10", "runbooks: service db is offered 11 steps"}},
		{name: "unknown key", steps: "  r: {title: R, url: \"https://a.example.com/\", allowed: [alice], token: x}\n",
			want: []string{"runbooks.r.token: unknown key"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := config.Parse([]byte(base + tc.steps))
			if len(tc.want) == 0 {
				require.NoError(t, err)
				require.Equal(t, []string{"restart"}, cfg.RunbookStepsFor("checkout"))
				require.Empty(t, cfg.RunbookStepsFor("db"))
				s := cfg.Runbooks["restart"]
				require.Equal(t, "POST", s.CallMethod())
				require.Equal(t, "https://auto.example.com/restart", config.RunbookTarget(s.URL), "the query may hold a secret")
				body, err := s.RenderBody(config.RunbookData{ID: `incident-"x"`})
				require.NoError(t, err)
				require.Equal(t, `{"id": "incident-\"x\""}`, body)
				return
			}
			var problems config.Problems
			require.True(t, errors.As(err, &problems), "%v", err)
			for _, w := range tc.want {
				require.Contains(t, err.Error(), w)
			}
			require.Len(t, problems, len(tc.want), "%v", problems)
		})
	}
}
