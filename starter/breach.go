package starter

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/incidentflow/incidentflow/incident"
	"github.com/incidentflow/incidentflow/workflows"
)

// BreachDeclaration marks an incident a personal-data breach.
type BreachDeclaration struct {
	By string
	// AwareAt is when the team became aware; zero means now.
	AwareAt time.Time
	Note    string
}

// DeclareBreach marks an incident a personal-data breach and starts its
// regulator-notification deadline with the config's privacy settings. An
// incident still running starts the breach workflow as its child; one
// already closed has it started here, as the incident would have.
func (in *Incidents) DeclareBreach(ctx context.Context, id string, d BreachDeclaration) (*workflows.BreachState, error) {
	plan := in.Config.BreachPlan()
	req := workflows.BreachRequest{By: d.By, Note: d.Note, Plan: &plan}
	if !d.AwareAt.IsZero() {
		// Checked here too, so a declaration with a bad time opens nothing.
		if err := incident.CheckAwareAt(d.AwareAt, time.Now()); err != nil {
			return nil, &BadRequest{Field: "aware_at", Msg: err.Error()}
		}
		aware := d.AwareAt.UTC()
		req.AwareAt = &aware
	}
	if err := incident.CheckLen("note", d.Note, incident.MaxText); err != nil {
		return nil, &BadRequest{Field: "note", Msg: strings.TrimPrefix(err.Error(), "note: ")}
	}
	st, err := in.Act(ctx, id, workflows.UpdateDataBreach, req)
	var conflict *Conflict
	if errors.As(err, &conflict) && conflict.Msg == closedMessage(id) {
		return in.breachAfterClose(ctx, id, req)
	}
	if err != nil {
		return nil, err
	}
	if st.DataBreach == nil {
		why := "see the incident's timeline"
		if n := len(st.Timeline); n > 0 {
			why = st.Timeline[n-1].Message
		}
		return nil, &Conflict{Msg: fmt.Sprintf("incident %s could not start its data-breach deadline: %s", id, why)}
	}
	return in.Breach(ctx, id)
}

// breachAfterClose starts the deadline of a breach found after its
// incident closed: from the incident as it closed, with nobody to mirror to.
func (in *Incidents) breachAfterClose(ctx context.Context, id string, req workflows.BreachRequest) (*workflows.BreachState, error) {
	inc, err := in.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if inc.DataBreach != nil {
		return nil, &Conflict{Msg: fmt.Sprintf("incident %s was already a data breach: %s tracks it", id, inc.DataBreach.Workflow)}
	}
	if err := requireConfiguredUser(in, req.By); err != nil {
		return nil, err
	}
	aware := time.Now().UTC()
	if req.AwareAt != nil {
		aware = *req.AwareAt
	}
	bid := workflows.BreachID(id)
	opts := client.StartWorkflowOptions{
		ID:        bid,
		TaskQueue: in.TaskQueue,
		// One breach per incident: a running one is refused, a finished one
		// (every item ticked) is not started again.
		WorkflowIDReusePolicy:                    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowExecutionErrorWhenAlreadyStarted: true,
		StaticSummary:                            incident.Cut(incident.ExerciseText(inc.Exercise, fmt.Sprintf("GDPR Art. 33 deadline of %s %s: %s", inc.Severity, inc.Service, inc.Title)), 200),
		TypedSearchAttributes:                    temporal.NewSearchAttributes(workflows.SearchSeverity.ValueSet(inc.Severity), workflows.SearchService.ValueSet(inc.Service)),
		Memo:                                     map[string]interface{}{workflows.MemoTitle: inc.Title},
	}
	_, err = in.Client.ExecuteWorkflow(ctx, opts, workflows.BreachWorkflowName, workflows.BreachInput{
		IncidentID: inc.ID, Title: inc.Title, Service: inc.Service, Severity: inc.Severity, Commander: inc.Commander,
		DeclaredBy: req.By, AwareAt: aware, Note: req.Note, Plan: *req.Plan, Shadow: inc.Shadow, Exercise: inc.Exercise,
	})
	if err != nil {
		var started *serviceerror.WorkflowExecutionAlreadyStarted
		if errors.As(err, &started) {
			return nil, &Conflict{Msg: fmt.Sprintf("incident %s is already a data breach: %s tracks it", id, bid)}
		}
		return nil, in.explain(ctx, bid, err)
	}
	return in.Breach(ctx, id)
}

func requireConfiguredUser(in *Incidents, by string) error {
	if _, ok := in.Config.Users[by]; !ok {
		return &BadRequest{Field: "by", Msg: fmt.Sprintf("unknown user %q", incident.Cut(by, incident.MaxName))}
	}
	return nil
}

// Breach is the data breach of an incident, running or done.
func (in *Incidents) Breach(ctx context.Context, incidentID string) (*workflows.BreachState, error) {
	id := workflows.BreachID(incidentID)
	v, err := in.Client.QueryWorkflow(ctx, id, "", workflows.QueryState)
	if err != nil {
		return nil, in.explainBreach(ctx, incidentID, err)
	}
	var st workflows.BreachState
	if err := v.Get(&st); err != nil {
		return nil, fmt.Errorf("decode state of %s: %w", id, err)
	}
	return &st, nil
}

// CheckBreach ticks one item of an incident's data-breach checklist.
func (in *Incidents) CheckBreach(ctx context.Context, incidentID string, req workflows.BreachCheckRequest) (*workflows.BreachState, error) {
	if !slices.Contains(incident.BreachItems, req.Item) {
		return nil, &BadRequest{Field: "item", Msg: fmt.Sprintf("%q is not on the checklist (one of %s)", incident.Cut(req.Item, incident.MaxName), strings.Join(incident.BreachItems, ", "))}
	}
	h, err := in.Client.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID:   workflows.BreachID(incidentID),
		UpdateName:   workflows.UpdateBreachCheck,
		Args:         []interface{}{req},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	var res workflows.BreachResult
	if err == nil {
		err = h.Get(ctx, &res)
	}
	if err != nil {
		return nil, in.explainBreach(ctx, incidentID, err)
	}
	st, err := in.Breach(ctx, incidentID)
	if err != nil {
		// Ticked all the same; the last tick ends the workflow.
		return &workflows.BreachState{ID: res.ID, Status: res.Status}, nil
	}
	return st, nil
}

func (in *Incidents) explainBreach(ctx context.Context, incidentID string, err error) error {
	id := workflows.BreachID(incidentID)
	explained := in.explain(ctx, id, err)
	if _, ok := explained.(*NotFound); ok {
		return &NotFound{ID: id, Msg: fmt.Sprintf("incident %s is not a data breach: POST /v1/incidents/%s/data-breach (or /incident breach) makes it one", incidentID, incidentID)}
	}
	if c, ok := explained.(*Conflict); ok && c.Msg == closedMessage(id) {
		return &Conflict{Msg: fmt.Sprintf("the data breach of %s is done: every checklist item is ticked", incidentID)}
	}
	return explained
}

// breachBody is POST /v1/incidents/{id}/data-breach.
type breachBody struct {
	By string `json:"by"`
	// AwareAt is RFC 3339, or how long ago ("30h"); absent: now.
	AwareAt string `json:"aware_at"`
	Note    string `json:"note"`
}

// breachCheckBody is POST /v1/incidents/{id}/data-breach/{item}.
type breachCheckBody struct {
	By   string `json:"by"`
	Note string `json:"note"`
}

func (s *Server) declareBreach(w http.ResponseWriter, r *http.Request) {
	var body breachBody
	err := decodeCommand(r, &body)
	if err = s.authorize(r, err, &body.By); err != nil {
		s.fail(w, r, err)
		return
	}
	id, err := pathID(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	aware, err := PointInTime("aware_at", body.AwareAt)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.Timeout)
	defer cancel()
	st, err := s.incidents.DeclareBreach(ctx, id, BreachDeclaration{By: body.By, AwareAt: aware, Note: body.Note})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

func (s *Server) getBreach(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.Timeout)
	defer cancel()
	st, err := s.incidents.Breach(ctx, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

func (s *Server) checkBreach(w http.ResponseWriter, r *http.Request) {
	var body breachCheckBody
	err := decodeCommand(r, &body)
	if err = s.authorize(r, err, &body.By); err != nil {
		s.fail(w, r, err)
		return
	}
	id, err := pathID(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.Timeout)
	defer cancel()
	st, err := s.incidents.CheckBreach(ctx, id, workflows.BreachCheckRequest{By: body.By, Item: r.PathValue("item"), Note: body.Note})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

const breachUsage = "Usage: `/incident breach <id> [aware-at: RFC 3339 or 30h ago] [note]` marks it a personal-data breach · " +
	"`/incident breach <id> regulator_notified|users_notified|records_kept [note]` ticks the checklist · `/incident breach <id> status`"

// slashBreach: `/incident breach [id] [when] [note]` declares, `... ITEM
// [note]` ticks an item, `... status` shows where the breach stands.
func (s *Server) slashBreach(ctx context.Context, by, id string, rest []string) slackReply {
	switch {
	case len(rest) > 0 && rest[0] == "status":
		st, err := s.incidents.Breach(ctx, id)
		if err != nil {
			return ephemeral(slackError(err))
		}
		return ephemeral(BreachSummary(st))
	case len(rest) > 0 && slices.Contains(incident.BreachItems, rest[0]):
		st, err := s.incidents.CheckBreach(ctx, id, workflows.BreachCheckRequest{By: by, Item: rest[0], Note: strings.Join(rest[1:], " ")})
		if err != nil {
			return ephemeral(slackError(err))
		}
		return slackReply{ResponseType: "in_channel", Text: fmt.Sprintf("%s ticked %s for the data breach of %s. %s", by, rest[0], id, BreachSummary(st))}
	case len(rest) > 0 && rest[0] == "help":
		return ephemeral(breachUsage)
	}
	d := BreachDeclaration{By: by, Note: strings.Join(rest, " ")}
	if len(rest) > 0 {
		if at, err := PointInTime("aware_at", rest[0]); err == nil {
			d.AwareAt, d.Note = at, strings.Join(rest[1:], " ")
		}
	}
	st, err := s.incidents.DeclareBreach(ctx, id, d)
	if err != nil {
		return ephemeral(slackError(err) + "\n" + breachUsage)
	}
	return slackReply{ResponseType: "in_channel", Text: fmt.Sprintf("%s marked %s a personal-data breach. %s Tick: `/incident breach %s regulator_notified|users_notified|records_kept`",
		by, id, BreachSummary(st), id)}
}

// BreachSummary is a breach in a few lines, for Slack and the CLI.
func BreachSummary(st *workflows.BreachState) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Data breach %s: %s; aware since %s, regulator deadline %s (GDPR Art. 33)",
		st.ID, st.Status, st.AwareAt.UTC().Format(time.RFC3339), st.Deadline.UTC().Format(time.RFC3339))
	if st.NextReminderAt != nil {
		fmt.Fprintf(&b, "; next reminder %s", st.NextReminderAt.UTC().Format(time.RFC3339))
	}
	if st.Overdue {
		b.WriteString("; OVERDUE")
	}
	b.WriteString(".")
	for _, c := range st.Checklist {
		mark := "[ ]"
		if c.Done {
			mark = "[x]"
		}
		fmt.Fprintf(&b, "\n%s %s", mark, c.Item)
		if c.Done && c.At != nil {
			fmt.Fprintf(&b, " by %s at %s", c.By, c.At.UTC().Format(time.RFC3339))
		}
		if c.Note != "" {
			fmt.Fprintf(&b, ": %s", c.Note)
		}
	}
	return b.String()
}
