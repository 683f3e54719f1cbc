package oncall

import (
	"context"
	"fmt"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/incidentflow/incidentflow/config"
	"github.com/incidentflow/incidentflow/incident"
	"github.com/incidentflow/incidentflow/internal/entity"
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

// Live reads the overrides made at run time from each schedule's workflow.
type Live struct {
	Client client.Client
}

// Overrides answers a schedule's run-time overrides; none when its
// workflow was never started (nobody has made one).
func (l *Live) Overrides(ctx context.Context, schedule string) ([]incident.Override, error) {
	var out []incident.Override
	if _, err := entity.Query(ctx, l.Client, incident.ScheduleWorkflowID(schedule), incident.QueryOverrides, &out); err != nil {
		return nil, fmt.Errorf("read the run-time overrides of schedule %s: %w", schedule, err)
	}
	return out, nil
}
