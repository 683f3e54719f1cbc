// Package worker registers incidentflow's workflows and activities on a
// Temporal worker with the options they were tuned for.
package worker

import (
	"time"

	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/incidentflow/incidentflow/activities"
	"github.com/incidentflow/incidentflow/starter"
	"github.com/incidentflow/incidentflow/workflows"
)

// New builds (but does not start) a worker on taskQueue. Its activities
// read schedules' run-time overrides through c, and raise workflows'
// alerts (heartbeat misses) through the intake's alert path on c, unless
// told otherwise.
func New(c client.Client, taskQueue string, acts *activities.Activities) sdkworker.Worker {
	if acts.Overrides == nil {
		acts.Overrides = starter.OverrideReader{Client: c}
	}
	if acts.Maintenance == nil {
		acts.Maintenance = starter.MaintenanceReader{Client: c}
	}
	if acts.Config != nil {
		inc := &starter.Incidents{Client: c, Config: acts.Config, TaskQueue: taskQueue}
		if acts.Alerts == nil {
			acts.Alerts = &starter.AlertRaiser{Incidents: inc}
		}
		if acts.Similar == nil {
			acts.Similar = starter.SimilarFinder{Incidents: inc}
		}
	}
	w := sdkworker.New(c, taskQueue, sdkworker.Options{
		// Incidents are many small, mostly idle workflows; keeping them cached
		// avoids replaying history on every signal.
		MaxConcurrentWorkflowTaskPollers: 4,
		MaxConcurrentActivityTaskPollers: 4,
		// A workflow task waits this long for the worker that ran the last
		// one before any worker may take it: what a worker killed just
		// before an escalation step costs that step (5 s by default).
		StickyScheduleToStartTimeout: 2 * time.Second,
	})
	Register(w, acts)
	return w
}

// Register puts every workflow and activity on w; tests and replayers use it
// so they register exactly what production does.
func Register(w sdkworker.Registry, acts *activities.Activities) {
	RegisterWorkflows(w)
	w.RegisterActivity(acts)
}

// RegisterWorkflows registers the workflows alone, for replayers.
func RegisterWorkflows(r sdkworker.WorkflowRegistry) {
	r.RegisterWorkflowWithOptions(workflows.IncidentWorkflow, workflow.RegisterOptions{Name: workflows.IncidentWorkflowName})
	r.RegisterWorkflowWithOptions(workflows.PostmortemWorkflow, workflow.RegisterOptions{Name: workflows.PostmortemWorkflowName})
	r.RegisterWorkflowWithOptions(workflows.BreachWorkflow, workflow.RegisterOptions{Name: workflows.BreachWorkflowName})
	r.RegisterWorkflowWithOptions(workflows.NotifyPersonWorkflow, workflow.RegisterOptions{Name: workflows.NotifyPersonWorkflowName})
	r.RegisterWorkflowWithOptions(workflows.ScheduleWorkflow, workflow.RegisterOptions{Name: workflows.ScheduleWorkflowName})
	r.RegisterWorkflowWithOptions(workflows.MaintenanceWorkflow, workflow.RegisterOptions{Name: workflows.MaintenanceWorkflowName})
	r.RegisterWorkflowWithOptions(workflows.HeartbeatWorkflow, workflow.RegisterOptions{Name: workflows.HeartbeatWorkflowName})
	r.RegisterWorkflowWithOptions(workflows.AccessGrantWorkflow, workflow.RegisterOptions{Name: workflows.AccessGrantWorkflowName})
}
