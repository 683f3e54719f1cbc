package config

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestStatusPageServicesAndProblems(t *testing.T) {
	cfg, err := Demo()
	require.NoError(t, err)
	require.Equal(t, "Status", cfg.StatusPageTitle())
	require.Equal(t, []string{"demo"}, cfg.StatusPageServices(), "none listed: every configured service")

	cfg.StatusPage = StatusPage{Title: "Acme", Services: []string{"nosuch", "demo", "demo"}}
	require.Equal(t, []string{"demo"}, cfg.StatusPageServices(), "only configured services, once")
	var problems []string
	cfg.ValidateStatusPage(func(key, format string, args ...any) { problems = append(problems, key) })
	require.Equal(t, []string{"status_page.services[0]", "status_page.services[2]"}, problems)

	parsed, err := Parse(append(append([]byte{}, demoYAML...), "\nstatus_page: {title: Acme status, services: [demo]}\n"...))
	require.NoError(t, err, "the key is part of the file")
	require.Equal(t, StatusPage{Title: "Acme status", Services: []string{"demo"}}, parsed.StatusPage)
}
