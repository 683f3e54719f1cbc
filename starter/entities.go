package starter

import (
	"context"
	"errors"
	"fmt"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/incidentflow/incidentflow/incident"
)

// The long-running workflows that each hold one durable thing (a
// schedule's overrides, the maintenance windows) are read here, where
// every other Temporal call of the intake is; the worker hands these
// readers to the activities.

// OverrideReader reads a schedule's run-time overrides from its workflow.
type OverrideReader struct {
	Client client.Client
}

// Overrides answers a schedule's run-time overrides; none when its
// workflow was never started (nobody has made one).
func (r OverrideReader) Overrides(ctx context.Context, schedule string) ([]incident.Override, error) {
	var out []incident.Override
	if _, err := queryEntity(ctx, r.Client, incident.ScheduleWorkflowID(schedule), incident.QueryOverrides, &out); err != nil {
		return nil, fmt.Errorf("read the run-time overrides of schedule %s: %w", schedule, err)
	}
	return out, nil
}

// MaintenanceReader reads the run-time maintenance windows from their
// workflow; none when it was never started.
type MaintenanceReader struct {
	Client client.Client
}

func (m MaintenanceReader) Windows(ctx context.Context) ([]incident.MaintenanceWindow, error) {
	var out []incident.MaintenanceWindow
	if _, err := queryEntity(ctx, m.Client, incident.MaintenanceWorkflowID, incident.QueryMaintenance, &out); err != nil {
		return nil, fmt.Errorf("read the maintenance windows: %w", err)
	}
	return out, nil
}

// queryEntity asks the open workflow id for query and decodes the answer into
// into; found is false when no such workflow runs. A closed one (an
// operator terminated it) is rejected by the server at once rather than
// sent to a worker that may not exist: a page must not wait on it.
func queryEntity(ctx context.Context, c client.Client, id, query string, into any) (found bool, err error) {
	resp, err := c.QueryWorkflowWithOptions(ctx, &client.QueryWorkflowWithOptionsRequest{
		WorkflowID: id, QueryType: query, QueryRejectCondition: enumspb.QUERY_REJECT_CONDITION_NOT_OPEN,
	})
	var nf *serviceerror.NotFound
	switch {
	case errors.As(err, &nf):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("query %s of %s: %w", query, id, err)
	case resp.QueryRejected != nil:
		return false, nil
	}
	if err := resp.QueryResult.Get(into); err != nil {
		return false, fmt.Errorf("decode %s of %s: %w", query, id, err)
	}
	return true, nil
}

// entityStart starts an entity workflow on first use, or joins the one
// that runs: entities are created by their first change.
func (in *Incidents) entityStart(id, summary, workflowName string, input any) client.WithStartWorkflowOperation {
	return in.Client.NewWithStartWorkflowOperation(client.StartWorkflowOptions{
		ID:                       id,
		TaskQueue:                in.TaskQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		StaticSummary:            summary,
	}, workflowName, input)
}

// updateEntity runs an Update on entity workflow id (after start, when
// given) and decodes its answer into into.
func (in *Incidents) updateEntity(ctx context.Context, start client.WithStartWorkflowOperation, id, update string, arg, into any) error {
	opts := client.UpdateWorkflowOptions{WorkflowID: id, UpdateName: update, Args: []any{arg}, WaitForStage: client.WorkflowUpdateStageCompleted}
	var h client.WorkflowUpdateHandle
	var err error
	if start != nil {
		h, err = in.Client.UpdateWithStartWorkflow(ctx, client.UpdateWithStartWorkflowOptions{StartWorkflowOperation: start, UpdateOptions: opts})
	} else {
		h, err = in.Client.UpdateWorkflow(ctx, opts)
	}
	if err != nil {
		return err
	}
	return h.Get(ctx, into)
}
