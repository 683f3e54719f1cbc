package config

import (
	"fmt"

	"github.com/incidentflow/incidentflow/incident"
)

// validateSubscribers checks a service's subscribers as the API checks an
// incident's: each exactly one well-formed address, listed once, and no
// more of them than one incident may have.
func validateSubscribers(key string, subs []incident.Subscriber, add func(key, format string, args ...any)) {
	if len(subs) > incident.MaxSubscribers {
		add(key, "%d subscribers is over %d", len(subs), incident.MaxSubscribers)
	}
	seen := map[string]int{}
	for i, s := range subs {
		k := fmt.Sprintf("%s[%d]", key, i)
		if p := s.Check(); p != nil {
			add(k+"."+p.Field, "%s", p.Msg)
			continue
		}
		if first, ok := seen[s.ID()]; ok {
			add(k, "%s is already %s[%d]", s.ID(), key, first)
			continue
		}
		seen[s.ID()] = i
	}
}
