package starter

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/slack-go/slack"
	"go.temporal.io/sdk/client"

	"github.com/incidentflow/incidentflow/activities"
	"github.com/incidentflow/incidentflow/incident"
	"github.com/incidentflow/incidentflow/workflows"
)

// RunbookStepAnswer is what asking for a runbook step answers: the run it
// asked for or approved, and what the timeline says of it.
type RunbookStepAnswer struct {
	IncidentID string               `json:"incident_id"`
	Run        workflows.RunbookRun `json:"run"`
	Message    string               `json:"message,omitempty"`
}

// Runbook lists the incident's runbook steps and their runs.
func (in *Incidents) Runbook(ctx context.Context, id string) (*workflows.Runbook, error) {
	v, err := in.Client.QueryWorkflow(ctx, id, "", workflows.QueryRunbook)
	if err != nil {
		return nil, in.explain(ctx, id, err)
	}
	var rb workflows.Runbook
	if err := v.Get(&rb); err != nil {
		return nil, fmt.Errorf("decode runbook of %s: %w", id, err)
	}
	return &rb, nil
}

// RunStep asks for a runbook step, or approves the request awaiting
// approval: an Update, whose validator names the field at fault (an
// unknown step, someone not allowed, approving one's own request, a run
// that already ran) or says why not.
func (in *Incidents) RunStep(ctx context.Context, id string, req workflows.RunbookRequest) (*RunbookStepAnswer, error) {
	h, err := in.Client.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: id, UpdateName: workflows.UpdateRunbookStep, Args: []interface{}{req}, WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	var res workflows.RunbookAnswer
	if err == nil {
		err = h.Get(ctx, &res)
	}
	if err != nil {
		return nil, in.explain(ctx, id, err)
	}
	return &RunbookStepAnswer{IncidentID: res.ID, Run: res.Run, Message: res.Message}, nil
}

// pathStep reads the {step} of a runbook URL.
func pathStep(r *http.Request) (string, error) {
	step := r.PathValue("step")
	switch {
	case step == "":
		return "", &BadRequest{Field: "step", Msg: "required: the step's name"}
	case len(step) > incident.MaxStepName:
		return "", &BadRequest{Field: "step", Msg: fmt.Sprintf("%d bytes is too long (at most %d)", len(step), incident.MaxStepName)}
	case !incident.ValidStepName(step):
		return "", &BadRequest{Field: "step", Msg: "a step name is lowercase letters, digits, '-' and '_'"}
	}
	return step, nil
}

// runStep is POST /v1/incidents/{id}/runbook/{step} with {"by", "run"}:
// 202 when the step's call started, 200 when the request awaits approval
// (or, in shadow mode, was recorded as what would have run).
func (s *Server) runStep(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	req := &workflows.RunbookRequest{}
	if req.Step, err = pathStep(r); err == nil {
		err = decodeCommand(r, req)
		if err == nil && req.Run < 0 {
			err = &BadRequest{Field: "run", Msg: fmt.Sprintf("%d: runs count from 1", req.Run)}
		}
	}
	if err = s.authorize(r, err, &req.By); err != nil {
		s.fail(w, r, err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.Timeout)
	defer cancel()
	out, err := s.incidents.RunStep(ctx, id, *req)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	code := http.StatusOK
	if out.Run.Status == workflows.RunRunning {
		code = http.StatusAccepted
	}
	writeJSON(w, code, out)
}

// listRunbook is GET /v1/incidents/{id}/runbook.
func (s *Server) listRunbook(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.Timeout)
	defer cancel()
	out, err := s.incidents.Runbook(ctx, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// runbookClick is a click on a runbook step's button on the card: its
// value names the incident and the run the card showed, so a click the
// card had not caught up with, or a second click, is refused with why.
func (s *Server) runbookClick(ctx context.Context, by string, a *slack.BlockAction) slackReply {
	step := strings.TrimPrefix(a.ActionID, activities.ActionRunbookPrefix)
	raw, runText, ok := strings.Cut(a.Value, "|")
	run, err := strconv.Atoi(runText)
	if !ok || err != nil || run < 1 || raw == "" {
		return ephemeral(fmt.Sprintf("This button's value %q is not an incident and a run.", incident.Cut(a.Value, 100)))
	}
	if !incident.ValidStepName(step) {
		return ephemeral(fmt.Sprintf("Unknown runbook step %q.", incident.Cut(step, 100)))
	}
	id := workflows.NormalizeID(raw)
	out, err := s.incidents.RunStep(ctx, id, workflows.RunbookRequest{By: by, Step: step, Run: run})
	if err != nil {
		return ephemeral(slackError(err))
	}
	switch out.Run.Status {
	case workflows.RunAwaitingApproval:
		return ephemeral(fmt.Sprintf("Asked for %s on %s (run %d): it runs when someone else allowed approves it.", step, id, out.Run.Run))
	case workflows.RunWouldHaveRun:
		return ephemeral(fmt.Sprintf("Shadow mode: %s on %s would have called %s; nothing was sent.", step, id, out.Run.Request))
	}
	return ephemeral(fmt.Sprintf("Running %s on %s (run %d): %s. Its outcome goes on the timeline.", step, id, out.Run.Run, out.Run.Request))
}
