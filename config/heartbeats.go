package config

import (
	"regexp"
	"strings"
	"time"
	"unicode/utf8"
)

// Heartbeat is a dead-man's switch: a cron job or pipeline pings it at
// least every Interval; when no ping comes within Interval + Grace, an
// incident opens on Service at Severity, and the next ping resolves it.
type Heartbeat struct {
	Interval Duration `yaml:"interval"`
	// Grace is how late a ping may be before the monitor counts it missed:
	// jobs run a little longer or start a little later some days. Unset, it
	// is a tenth of the interval (see DefaultGrace).
	Grace    Duration `yaml:"grace"`
	Service  string   `yaml:"service"`
	Severity string   `yaml:"severity"`
	// Enabled is a pointer so that leaving it out means on: a monitor is
	// written down to be watched, and turning one off should be explicit.
	Enabled *bool `yaml:"enabled"`
}

// On says whether the monitor alerts (enabled unless set to false).
func (h Heartbeat) On() bool { return h.Enabled == nil || *h.Enabled }

// Bounds on heartbeat timings. A second is the floor because Temporal's
// timers are floored near a second (and tests use seconds); a year covers
// the yearly job. Grace is bounded by the same year so a deadline stays
// within what anyone would wait for.
const (
	MinHeartbeatInterval = time.Second
	MaxHeartbeatInterval = 366 * 24 * time.Hour
	MaxHeartbeatGrace    = 366 * 24 * time.Hour
)

// DefaultGrace is the grace of a monitor that names none: a tenth of its
// interval, at least a second.
func DefaultGrace(interval time.Duration) time.Duration {
	return max(interval/10, time.Second)
}

// heartbeatName keeps names to what a URL path and a workflow ID carry
// unchanged: letters, digits, dot, dash and underscore.
var heartbeatName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// validateHeartbeats checks every monitor and settles its defaults in
// place (grace, severity spelt as configured): Validate runs after
// applyDefaults, and the severity can only be normalised once the
// severities themselves are known.
func (c *Config) validateHeartbeats(add func(key, format string, args ...any)) {
	for _, name := range sortedKeys(c.Heartbeats) {
		c.Heartbeats[name] = c.CheckHeartbeat(name, c.Heartbeats[name], "heartbeats."+name, add)
	}
}

// CheckHeartbeat checks one monitor, from the config file or made over the
// API, and returns it with its defaults settled. Problems are reported
// under key (the monitor's path in the file), or, with key "", under the
// bare field names an API body uses.
func (c *Config) CheckHeartbeat(name string, h Heartbeat, key string, add func(key, format string, args ...any)) Heartbeat {
	field := func(f string) string {
		if key == "" {
			return f
		}
		return key + "." + f
	}
	nameKey := key
	if key == "" {
		nameKey = "name"
	}
	if !heartbeatName.MatchString(name) {
		add(nameKey, "%q is not a heartbeat name: 1 to 64 letters, digits, '.', '-' or '_', starting with a letter or digit (it is part of the ping URL)", cut(name, 100))
	}
	switch iv := h.Interval.D(); {
	case iv == 0:
		add(field("interval"), "required: how often the job pings (a Go duration such as 1h or 24h)")
	case iv < MinHeartbeatInterval || iv > MaxHeartbeatInterval:
		// The bounds above, as people write them.
		add(field("interval"), "%s must be from 1s to 8784h (366 days)", iv)
	}
	switch g := h.Grace.D(); {
	case g < 0 || g > MaxHeartbeatGrace:
		add(field("grace"), "%s must be from 0s to 8784h (366 days)", g)
	case g == 0 && h.Interval > 0:
		h.Grace = Duration(DefaultGrace(h.Interval.D()))
	}
	if h.Service == "" {
		add(field("service"), "required: the service whose incident a missed ping opens")
	} else if _, ok := c.Services[h.Service]; !ok {
		add(field("service"), "unknown service %q (one of %s)", cut(h.Service, 100), strings.Join(sortedKeys(c.Services), ", "))
	}
	if h.Severity == "" {
		h.Severity = c.LowestPagingSeverity()
	} else if sev, ok := c.NormalizeSeverity(h.Severity); ok {
		h.Severity = sev
	} else {
		add(field("severity"), "unknown severity %q (one of %s)", cut(h.Severity, 100), strings.Join(c.SeverityNames(), ", "))
	}
	return h
}

// HeartbeatNames lists the configured monitors, sorted.
func (c *Config) HeartbeatNames() []string { return sortedKeys(c.Heartbeats) }

// cut keeps a value quoted back in a problem short: a name or service sent
// over the API may be any length, and the answer should not echo a megabyte.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// ValidHeartbeatName says whether name can be a monitor's.
func ValidHeartbeatName(name string) bool { return heartbeatName.MatchString(name) }
