package config

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const heartbeatBase = `
services:
  checkout: {escalation_policy: p}
escalation_policies: {p: {steps: [{targets: [user:alice]}]}}
users: {alice: {}}
`

// Monitors are settled as they load: severity spelt as configured, grace a
// tenth of the interval when unset, enabled unless switched off.
func TestHeartbeatsLoadWithDefaults(t *testing.T) {
	cfg, err := Parse([]byte(heartbeatBase + `
heartbeats:
  nightly-backup: {interval: 24h, grace: 30m, service: checkout, severity: critical}
  etl.hourly: {interval: 1h, service: checkout}
  paused: {interval: 2s, service: checkout, severity: p2, enabled: false}
`))
	require.NoError(t, err)
	require.Equal(t, []string{"etl.hourly", "nightly-backup", "paused"}, cfg.HeartbeatNames())
	nb := cfg.Heartbeats["nightly-backup"]
	require.Equal(t, "P1", nb.Severity)
	require.Equal(t, 30*time.Minute, nb.Grace.D())
	require.True(t, nb.On())
	etl := cfg.Heartbeats["etl.hourly"]
	require.Equal(t, 6*time.Minute, etl.Grace.D())
	require.Equal(t, cfg.LowestPagingSeverity(), etl.Severity)
	p := cfg.Heartbeats["paused"]
	require.False(t, p.On())
	require.Equal(t, "P2", p.Severity)
	require.Equal(t, time.Second, p.Grace.D(), "at least a second of grace")
}

func TestHeartbeatsAreValidatedNamingTheKey(t *testing.T) {
	_, err := Parse([]byte(heartbeatBase + `
heartbeats:
  no-interval: {service: checkout}
  too-often: {interval: 500ms, service: checkout}
  too-rarely: {interval: 9000h, service: checkout}
  bad-grace: {interval: 1h, grace: -1m, service: checkout}
  no-service: {interval: 1h}
  other-service: {interval: 1h, service: billing}
  odd-severity: {interval: 1h, service: checkout, severity: whenever}
  "has space": {interval: 1h, service: checkout}
`))
	require.Error(t, err)
	for _, want := range []string{
		`heartbeats.no-interval.interval: required`,
		`heartbeats.too-often.interval: 500ms must be from 1s to 8784h (366 days)`,
		`heartbeats.too-rarely.interval: 9000h0m0s must be from 1s to 8784h (366 days)`,
		`heartbeats.bad-grace.grace: -1m0s must be from 0s to 8784h (366 days)`,
		`heartbeats.no-service.service: required`,
		`heartbeats.other-service.service: unknown service "billing" (one of checkout)`,
		`heartbeats.odd-severity.severity: unknown severity "whenever" (one of P1, P2, P3, P4)`,
		`heartbeats.has space: "has space" is not a heartbeat name`,
	} {
		require.Contains(t, err.Error(), want)
	}
}
