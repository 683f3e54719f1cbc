package activities

import (
	"context"

	"go.temporal.io/sdk/temporal"

	"github.com/incidentflow/incidentflow/incident"
)

// AlertRaiser hands an alert to the intake's alert path, exactly as an
// integration's webhook would: only the intake (package starter) starts or
// signals incident workflows, so it is injected here rather than built.
type AlertRaiser interface {
	Raise(ctx context.Context, a incident.RaisedAlert) error
}

// RaiseAlert raises (or resolves) an alert a workflow decided on: a
// heartbeat's miss. It returns once the incident has it; retries are safe
// because the alert's fingerprint makes a repeat a duplicate, never a
// second page.
func (a *Activities) RaiseAlert(ctx context.Context, al incident.RaisedAlert) error {
	if a.Alerts == nil {
		// A wiring mistake, not a passing failure: retrying cannot help.
		return temporal.NewNonRetryableApplicationError("no alert path is wired into this worker (Activities.Alerts)", "NoAlertPath", nil)
	}
	return a.Alerts.Raise(ctx, al)
}
