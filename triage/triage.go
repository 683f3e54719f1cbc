// Package triage decides an alert's severity from config rules, for alerts
// that carry no severity of their own.
package triage

import (
	"strconv"
	"strings"

	"github.com/incidentflow/incidentflow/config"
)

// Classify returns the severity of the first rule whose conditions hold for
// values (labels, annotations, details and "service", merged).
func Classify(rules []config.TriageRule, values map[string]string) (string, bool) {
	for _, r := range rules {
		if matchesAll(r.All, values) && matchesAny(r.Any, values) {
			return r.Severity, true
		}
	}
	return "", false
}

func matchesAll(conds []config.Condition, values map[string]string) bool {
	for _, c := range conds {
		if !holds(c, values) {
			return false
		}
	}
	return true
}

func matchesAny(conds []config.Condition, values map[string]string) bool {
	if len(conds) == 0 {
		return true
	}
	for _, c := range conds {
		if holds(c, values) {
			return true
		}
	}
	return false
}

// holds is false for a missing value, and for a number test on a value that
// is not a number, so a rule never fires on data it did not get.
func holds(c config.Condition, values map[string]string) bool {
	v, ok := values[c.Key]
	if !ok {
		return false
	}
	v = strings.TrimSpace(v)
	switch {
	case c.Equals != nil:
		return strings.EqualFold(v, *c.Equals)
	case c.Above != nil:
		n, ok := number(v)
		return ok && n > *c.Above
	case c.Below != nil:
		n, ok := number(v)
		return ok && n < *c.Below
	}
	return false
}

// number reads 0.2, 20% (as 0.2) and 1e3.
func number(s string) (float64, bool) {
	pct := strings.HasSuffix(s, "%")
	n, err := strconv.ParseFloat(strings.TrimSuffix(s, "%"), 64)
	if err != nil {
		return 0, false
	}
	if pct {
		n /= 100
	}
	return n, true
}
