package incident

import (
	"fmt"
	"time"
)

// Heartbeat monitors: one long-running workflow per configured monitor
// holds its last ping and raises an alert when a ping is missed.
const (
	// QueryHeartbeat answers a monitor's HeartbeatView.
	QueryHeartbeat    = "heartbeat"
	heartbeatIDPrefix = "heartbeat-"
)

// HeartbeatWorkflowID names a monitor's workflow: one per monitor, found
// by name (names are validated to be ID-safe).
func HeartbeatWorkflowID(name string) string { return heartbeatIDPrefix + name }

// HeartbeatKey is the dedup key of the incident a monitor's miss opens: the
// same for every miss, so a miss while its incident is still open joins it
// (and reopens it if resolved) instead of paging a second incident.
func HeartbeatKey(name string) string { return heartbeatIDPrefix + name }

// HeartbeatState is where a monitor stands.
type HeartbeatState string

const (
	// HeartbeatWaiting: no ping yet since monitoring began; a job that
	// never runs is missed like one that stops.
	HeartbeatWaiting HeartbeatState = "waiting"
	HeartbeatUp      HeartbeatState = "up"
	// HeartbeatLate is a reader's view of up or waiting past the expected
	// ping but within the grace: nothing is raised yet. The workflow never
	// holds it (it would need a clock of its own); HeartbeatView.At adds it.
	HeartbeatLate HeartbeatState = "late"
	// HeartbeatDown: a ping was missed and its alert raised; the next ping
	// resolves it.
	HeartbeatDown HeartbeatState = "down"
	// HeartbeatDisabled monitors record pings and never alert.
	HeartbeatDisabled HeartbeatState = "disabled"
)

// HeartbeatConfig is what a monitor runs with: the config's entry, with
// grace and severity settled. It travels in workflow history: no secrets.
type HeartbeatConfig struct {
	Interval Duration `json:"interval"`
	Grace    Duration `json:"grace"`
	Service  string   `json:"service"`
	Severity string   `json:"severity"`
	Enabled  bool     `json:"enabled"`
}

// Check is the monitor workflow's own guard on a change: the intake has
// already checked it against the config (service and severity names), so
// this only keeps nonsense out of the workflow's state.
func (c HeartbeatConfig) Check() error {
	const year = 366 * 24 * time.Hour
	switch {
	case time.Duration(c.Interval) < time.Second || time.Duration(c.Interval) > year:
		return fmt.Errorf("interval: %s must be from 1s to 8784h", time.Duration(c.Interval))
	case c.Grace < 0 || time.Duration(c.Grace) > year:
		return fmt.Errorf("grace: %s must be from 0s to 8784h", time.Duration(c.Grace))
	case c.Service == "" || len(c.Service) > MaxName:
		return fmt.Errorf("service: required, at most %d bytes", MaxName)
	case c.Severity == "" || len(c.Severity) > MaxName:
		return fmt.Errorf("severity: required, at most %d bytes", MaxName)
	}
	return nil
}

// HeartbeatPing is one ping as the intake received it.
type HeartbeatPing struct {
	// At is when the intake received it; the workflow keeps it when it is
	// plausible (see the workflow), so the answer to the ping and the
	// monitor agree on the time.
	At time.Time `json:"at"`
	// Source says which door it came through (api, opsgenie).
	Source string `json:"source,omitempty"`
}

// HeartbeatView is a monitor as readers see it.
type HeartbeatView struct {
	Name  string         `json:"name"`
	State HeartbeatState `json:"state"`
	// LastPing is nil until the first ping.
	LastPing *time.Time `json:"last_ping"`
	// ExpectedBy is when the next ping should come; NextDue adds the grace:
	// past it, the ping is missed. Both are nil when not watching
	// (disabled, or already down).
	ExpectedBy *time.Time `json:"expected_by,omitempty"`
	NextDue    *time.Time `json:"next_due"`
	// WatchingSince is when the monitor began waiting for its first ping.
	WatchingSince time.Time `json:"watching_since"`
	// MissedAt is when the current miss was declared (state down).
	MissedAt *time.Time `json:"missed_at,omitempty"`
	Interval Duration   `json:"interval"`
	Grace    Duration   `json:"grace"`
	Service  string     `json:"service"`
	Severity string     `json:"severity"`
	Enabled  bool       `json:"enabled"`
	Pings    int64      `json:"pings"`
	Misses   int64      `json:"misses"`
	// Incident is the incident a miss opens (open or not).
	Incident string `json:"incident_key"`
	// ManagedBy says where the monitor is changed: "config" (the file;
	// the API refuses to change it) or "api".
	ManagedBy string `json:"managed_by,omitempty"`
}

// At is the view as of now: up or waiting past the expected ping, within
// the grace, reads as late.
func (v HeartbeatView) At(now time.Time) HeartbeatView {
	if (v.State == HeartbeatUp || v.State == HeartbeatWaiting) && v.ExpectedBy != nil && now.After(*v.ExpectedBy) {
		v.State = HeartbeatLate
	}
	return v
}

// RaisedAlert is an alert a workflow raises through the intake's alert
// path (a heartbeat's miss, and its resolution): the same event an
// integration's webhook becomes.
type RaisedAlert struct {
	Key      string `json:"key"`
	Title    string `json:"title"`
	Service  string `json:"service"`
	Severity string `json:"severity"`
	// Source names what raised it (heartbeat:NAME).
	Source string `json:"source"`
	// Fingerprint is the alert within its incident: a retried activity
	// sends the same one, so the incident counts one alert and pages once.
	Fingerprint string            `json:"fingerprint"`
	Status      string            `json:"status"` // AlertFiring or AlertResolved
	Summary     string            `json:"summary"`
	Labels      map[string]string `json:"labels,omitempty"`
}
