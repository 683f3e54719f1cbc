package activities

import (
	"context"

	"github.com/incidentflow/incidentflow/incident"
)

// MaintenanceSource answers the maintenance windows made at run time.
type MaintenanceSource interface {
	Windows(ctx context.Context) ([]incident.MaintenanceWindow, error)
}

// MaintenanceFor is what holds a service's paging now: the config's
// windows and those made at run time. When the run-time ones cannot be
// read, the config's alone decide, with a warning: paging when unsure
// beats holding a page nobody meant to hold.
func (a *Activities) MaintenanceFor(ctx context.Context, req incident.MaintenanceRequest) (incident.MaintenanceHold, error) {
	var windows []incident.MaintenanceWindow
	for _, m := range a.Config.Maintenance {
		start, end, err := m.Times()
		if err != nil {
			continue // config validation refuses these
		}
		windows = append(windows, incident.MaintenanceWindow{Service: m.Service, Start: start, End: end, Reason: m.Reason})
	}
	if a.Maintenance != nil {
		ctx, cancel := context.WithTimeout(ctx, overridesTimeout)
		defer cancel()
		live, err := a.Maintenance.Windows(ctx)
		if err != nil {
			a.logger().Warn("deciding maintenance by the config's windows alone", "service", req.Service, "error", err)
		}
		windows = append(windows, live...)
	}
	return incident.HoldFor(windows, req.Service, a.now()), nil
}
