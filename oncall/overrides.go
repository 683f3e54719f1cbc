package oncall

import (
	"time"

	"github.com/incidentflow/incidentflow/config"
	"github.com/incidentflow/incidentflow/incident"
)

// WithOverrides returns s with run-time overrides after its own, so that
// they win where they overlap, as a later config override does.
func WithOverrides(s config.Schedule, extra []incident.Override) config.Schedule {
	if len(extra) == 0 {
		return s
	}
	all := make([]config.Override, 0, len(s.Overrides)+len(extra))
	all = append(all, s.Overrides...)
	for _, o := range extra {
		all = append(all, config.Override{User: o.User, Start: o.Start.Format(time.RFC3339Nano), End: o.End.Format(time.RFC3339Nano)})
	}
	s.Overrides = all
	return s
}
