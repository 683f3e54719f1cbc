package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/incidentflow/incidentflow/incident"
)

// The schedule workflow holds one schedule's run-time overrides: a durable
// entity of its own, so "I'm covering Bob tonight" survives restarts and
// deploys without a second database.
const (
	ScheduleWorkflowName = "ScheduleOverrides"
	UpdateAddOverride    = "add-override"
	UpdateRemoveOverride = "remove-override"
	// OverrideNotFound is the error type of removing an override that is
	// not there (or has ended).
	OverrideNotFound = "OverrideNotFound"
)

// ScheduleInput starts (or continues) a schedule's workflow.
type ScheduleInput struct {
	Schedule  string              `json:"schedule"`
	Overrides []incident.Override `json:"overrides,omitempty"`
	// Next numbers the next override: ids stay unique across runs.
	Next int `json:"next,omitempty"`
}

// OverrideRequest asks for an override; the intake has checked that the
// user is configured and who asks.
type OverrideRequest struct {
	User  string    `json:"user"`
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	By    string    `json:"by,omitempty"`
}

// RemoveOverrideRequest names the override to remove.
type RemoveOverrideRequest struct {
	ID string `json:"id"`
	By string `json:"by,omitempty"`
}

type scheduleWorkflow struct {
	st   ScheduleInput
	list timedList[incident.Override]
}

// ScheduleWorkflow holds a schedule's overrides until each ends, answers
// them by query, and takes changes by Update.
func ScheduleWorkflow(ctx workflow.Context, in ScheduleInput) error {
	w := &scheduleWorkflow{st: in, list: timedList[incident.Override]{items: in.Overrides}}
	if err := w.setup(ctx); err != nil {
		return err
	}
	if err := w.list.run(ctx, "override"); err != nil {
		return err
	}
	w.st.Overrides = w.list.items
	return workflow.NewContinueAsNewError(ctx, ScheduleWorkflowName, w.st)
}

func (w *scheduleWorkflow) setup(ctx workflow.Context) error {
	if err := workflow.SetQueryHandler(ctx, incident.QueryOverrides, func() ([]incident.Override, error) {
		return w.list.current(workflow.Now(ctx)), nil
	}); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateAddOverride, w.add,
		workflow.UpdateHandlerOptions{Validator: func(ctx workflow.Context, req OverrideRequest) error {
			return w.validateAdd(workflow.Now(ctx), req)
		}}); err != nil {
		return err
	}
	return workflow.SetUpdateHandlerWithOptions(ctx, UpdateRemoveOverride, w.remove,
		workflow.UpdateHandlerOptions{Validator: func(ctx workflow.Context, req RemoveOverrideRequest) error {
			if w.list.find(req.ID) < 0 {
				return temporal.NewNonRetryableApplicationError(
					fmt.Sprintf("schedule %s has no override %q (it may have ended)", w.st.Schedule, req.ID), OverrideNotFound, nil)
			}
			return nil
		}})
}

func (w *scheduleWorkflow) validateAdd(now time.Time, req OverrideRequest) error {
	switch {
	case req.User == "":
		return fieldError("user", "is required")
	case len(req.User) > incident.MaxName:
		return checkLen("user", req.User, incident.MaxName)
	case len(req.By) > incident.MaxName:
		return checkLen("by", req.By, incident.MaxName)
	case len(w.list.current(now)) >= incident.MaxOverrides:
		return fieldError("overrides", "schedule %s already has %d overrides, the most it keeps; remove one first", w.st.Schedule, incident.MaxOverrides)
	}
	// Shifts hand over on whole minutes, and so do overrides.
	return checkSpan(now, req.Start.Truncate(time.Minute), req.End.Truncate(time.Minute), incident.MaxOverrideSpan, "an override")
}

func (w *scheduleWorkflow) add(ctx workflow.Context, req OverrideRequest) (incident.Override, error) {
	w.st.Next++
	// Shifts hand over on whole minutes; so do overrides.
	o := incident.Override{
		ID: fmt.Sprintf("o%d", w.st.Next), User: req.User,
		Start: req.Start.UTC().Truncate(time.Minute), End: req.End.UTC().Truncate(time.Minute),
		By: req.By, CreatedAt: workflow.Now(ctx).UTC(),
	}
	// Later overrides win where they overlap, as in the config.
	w.list.add(o)
	return o, nil
}

func (w *scheduleWorkflow) remove(ctx workflow.Context, req RemoveOverrideRequest) (incident.Override, error) {
	i := w.list.find(req.ID)
	if i < 0 {
		return incident.Override{}, temporal.NewNonRetryableApplicationError("no override "+req.ID, OverrideNotFound, nil)
	}
	return w.list.remove(i), nil
}
