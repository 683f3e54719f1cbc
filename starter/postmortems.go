package starter

import (
	"context"
	"fmt"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/incidentflow/incidentflow/workflows"
)

// Postmortem returns the post-mortem of an incident, running or finished.
func (in *Incidents) Postmortem(ctx context.Context, incidentID string) (*workflows.PostmortemState, error) {
	id := workflows.PostmortemID(incidentID)
	v, err := in.Client.QueryWorkflow(ctx, id, "", workflows.QueryState)
	if err != nil {
		return nil, in.explainPostmortem(ctx, incidentID, err)
	}
	var st workflows.PostmortemState
	if err := v.Get(&st); err != nil {
		return nil, fmt.Errorf("decode state of %s: %w", id, err)
	}
	return &st, nil
}

// ActOnPostmortem runs an Update (postmortem-complete, close-action-item,
// drop-action-item, add-action-item) on an incident's post-mortem.
func (in *Incidents) ActOnPostmortem(ctx context.Context, incidentID, update string, req any) (*workflows.PostmortemState, error) {
	h, err := in.Client.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID:   workflows.PostmortemID(incidentID),
		UpdateName:   update,
		Args:         []interface{}{req},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	var res workflows.PostmortemResult
	if err == nil {
		err = h.Get(ctx, &res)
	}
	if err != nil {
		return nil, in.explainPostmortem(ctx, incidentID, err)
	}
	// The Update answers a small result; the post-mortem is read by query.
	st, err := in.Postmortem(ctx, incidentID)
	if err != nil {
		return &workflows.PostmortemState{ID: res.ID, Status: res.Status, ItemsDone: res.ItemsDone, ItemsTotal: res.ItemsTotal, CompletionRate: res.CompletionRate}, nil
	}
	return st, nil
}

// AddActionItem goes to the incident while it runs and to its post-mortem
// once the incident has closed, so follow-ups can be added at any time.
func (in *Incidents) AddActionItem(ctx context.Context, incidentID string, req workflows.ActionItemRequest) (any, error) {
	if in.running(ctx, workflows.PostmortemID(incidentID)) {
		return in.ActOnPostmortem(ctx, incidentID, workflows.UpdateActionItem, req)
	}
	return in.Act(ctx, incidentID, workflows.UpdateActionItem, req)
}

func (in *Incidents) running(ctx context.Context, workflowID string) bool {
	d, err := in.Client.DescribeWorkflowExecution(ctx, workflowID, "")
	return err == nil && d.GetWorkflowExecutionInfo().GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING
}

func (in *Incidents) explainPostmortem(ctx context.Context, incidentID string, err error) error {
	id := workflows.PostmortemID(incidentID)
	explained := in.explain(ctx, id, err)
	if _, ok := explained.(*NotFound); ok {
		return &NotFound{ID: id, Msg: fmt.Sprintf("no post-mortem %q: one starts when an incident whose severity needs it (postmortem: true) is resolved", id)}
	}
	if c, ok := explained.(*Conflict); ok && c.Msg == closedMessage(id) {
		return &Conflict{Msg: fmt.Sprintf("post-mortem %s is finished", id)}
	}
	return explained
}
