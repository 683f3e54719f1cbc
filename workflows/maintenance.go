package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/incidentflow/incidentflow/incident"
)

// The maintenance workflow holds the windows made at run time, one
// workflow for the whole install: durable, so a planned window survives
// restarts and deploys, each dropped when it ends.
const (
	MaintenanceWorkflowName = "Maintenance"
	UpdateAddMaintenance    = "add-window"
	UpdateRemoveMaintenance = "remove-window"
	// WindowNotFound is the error type of removing a window that is not
	// there (or has ended).
	WindowNotFound = "WindowNotFound"
)

// MaintenanceInput starts (or continues) the maintenance workflow.
type MaintenanceInput struct {
	Windows []incident.MaintenanceWindow `json:"windows,omitempty"`
	Next    int                          `json:"next,omitempty"`
}

// MaintenanceRequest asks for a window; the intake has checked the service
// and who asks.
type MaintenanceRequest struct {
	Service string    `json:"service,omitempty"`
	Start   time.Time `json:"start"`
	End     time.Time `json:"end"`
	Reason  string    `json:"reason"`
	By      string    `json:"by,omitempty"`
}

// RemoveMaintenanceRequest names the window to remove.
type RemoveMaintenanceRequest struct {
	ID string `json:"id"`
	By string `json:"by,omitempty"`
}

type maintenanceWorkflow struct {
	st   MaintenanceInput
	list timedList[incident.MaintenanceWindow]
}

// MaintenanceWorkflow keeps the run-time maintenance windows until each
// ends, answers them by query, and takes changes by Update.
func MaintenanceWorkflow(ctx workflow.Context, in MaintenanceInput) error {
	w := &maintenanceWorkflow{st: in, list: timedList[incident.MaintenanceWindow]{items: in.Windows}}
	if err := w.setup(ctx); err != nil {
		return err
	}
	if err := w.list.run(ctx, "maintenance window"); err != nil {
		return err
	}
	w.st.Windows = w.list.items
	return workflow.NewContinueAsNewError(ctx, MaintenanceWorkflowName, w.st)
}

func (w *maintenanceWorkflow) setup(ctx workflow.Context) error {
	if err := workflow.SetQueryHandler(ctx, incident.QueryMaintenance, func() ([]incident.MaintenanceWindow, error) {
		return w.list.current(workflow.Now(ctx)), nil
	}); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateAddMaintenance, w.add,
		workflow.UpdateHandlerOptions{Validator: func(ctx workflow.Context, req MaintenanceRequest) error {
			return w.validateAdd(workflow.Now(ctx), req)
		}}); err != nil {
		return err
	}
	return workflow.SetUpdateHandlerWithOptions(ctx, UpdateRemoveMaintenance, w.remove,
		workflow.UpdateHandlerOptions{Validator: func(ctx workflow.Context, req RemoveMaintenanceRequest) error {
			if w.list.find(req.ID) < 0 {
				return temporal.NewNonRetryableApplicationError(
					fmt.Sprintf("no maintenance window %q (it may have ended)", incident.Cut(req.ID, incident.MaxName)), WindowNotFound, nil)
			}
			return nil
		}})
}

func (w *maintenanceWorkflow) validateAdd(now time.Time, req MaintenanceRequest) error {
	switch {
	case req.Reason == "":
		return fieldError("reason", "required: say why paging is held (people read it on every incident it holds)")
	case len(req.Reason) > incident.MaxText:
		return checkLen("reason", req.Reason, incident.MaxText)
	case len(req.Service) > incident.MaxName:
		return checkLen("service", req.Service, incident.MaxName)
	case len(req.By) > incident.MaxName:
		return checkLen("by", req.By, incident.MaxName)
	case len(w.list.current(now)) >= incident.MaxMaintenanceWindows:
		return fieldError("windows", "%d windows are planned, the most kept; remove one first", incident.MaxMaintenanceWindows)
	}
	return checkSpan(now, req.Start, req.End, incident.MaxMaintenanceSpan, "a maintenance window")
}

func (w *maintenanceWorkflow) add(ctx workflow.Context, req MaintenanceRequest) (incident.MaintenanceWindow, error) {
	w.st.Next++
	m := incident.MaintenanceWindow{
		ID: fmt.Sprintf("m%d", w.st.Next), Service: req.Service, Start: req.Start.UTC(), End: req.End.UTC(),
		Reason: req.Reason, By: req.By, CreatedAt: workflow.Now(ctx).UTC(),
	}
	w.list.add(m)
	return m, nil
}

func (w *maintenanceWorkflow) remove(ctx workflow.Context, req RemoveMaintenanceRequest) (incident.MaintenanceWindow, error) {
	i := w.list.find(req.ID)
	if i < 0 {
		return incident.MaintenanceWindow{}, temporal.NewNonRetryableApplicationError("no maintenance window "+req.ID, WindowNotFound, nil)
	}
	return w.list.remove(i), nil
}
