package starter

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"

	"github.com/incidentflow/incidentflow/incident"
	"github.com/incidentflow/incidentflow/workflows"
)

// Linked incidents: merge a duplicate into the incident kept, link a child
// under its parent. The incidents check what they can themselves (their
// Updates' validators); what needs the other incident's state (is it open,
// was it merged away, would the link make a loop) is checked here first.
//
// Later alerts on a merged incident's key go to the incident kept. The
// intake learns it from the merged incident's closed run, whose memo names
// where it went (workflows.MemoMergedInto): Temporal keeps that run, and
// the redirect with it, for the namespace's retention, after which the key
// opens incidents afresh, as a key firing again weeks later should. It
// costs nothing on the hot path: a start refuses a closed run of the same
// ID (WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE), so only an alert whose
// incident is closed reads the closed run, once. A long-running entity
// workflow holding key -> incident would have kept redirects forever but
// needed a query, which wakes a worker, before every start.

// maxRedirects bounds how far one alert follows merges (A merged into B,
// B into C, ...).
const maxRedirects = 4

// maxLinkDepth bounds how far up a parent chain a link looks for a loop.
const maxLinkDepth = 10

// MergeRequest is what people send to merge an incident into another.
type MergeRequest struct {
	By   string `json:"by"`
	Into string `json:"into"`
	Note string `json:"note,omitempty"`
}

// LinkRequest is what people send to link an incident under a parent.
type LinkRequest struct {
	By     string `json:"by"`
	Parent string `json:"parent"`
	Note   string `json:"note,omitempty"`
}

// UnlinkRequest takes an incident from under its parent.
type UnlinkRequest struct {
	By   string `json:"by"`
	Note string `json:"note,omitempty"`
}

// Merge merges incident id (the duplicate) into r.Into and answers the
// duplicate as it is after: closed, naming where it went.
func (in *Incidents) Merge(ctx context.Context, id string, r MergeRequest) (*workflows.Incident, error) {
	into, err := otherIncident("into", r.Into)
	if err != nil {
		return nil, err
	}
	if into == id {
		return nil, &BadRequest{Field: "into", Msg: fmt.Sprintf("cannot merge incident %s into itself", id)}
	}
	dup, err := in.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	kept, err := in.openIncident(ctx, "into", into)
	if err != nil {
		return nil, err
	}
	switch {
	case kept.MergedInto == id:
		return nil, &BadRequest{Field: "into", Msg: fmt.Sprintf("%s was merged into %s; merging back would make a loop", into, id)}
	case kept.MergedInto != "":
		return nil, &Conflict{Msg: fmt.Sprintf("into: %s was itself merged into %s; merge into that one", into, kept.MergedInto)}
	case kept.Exercise != dup.Exercise:
		return nil, &BadRequest{Field: "into", Msg: "an exercise and a real incident cannot be merged"}
	}
	return in.Act(ctx, id, workflows.UpdateMerge, workflows.MergeRequest{By: r.By, Into: into, IntoKey: kept.Key, Note: r.Note})
}

// Link links incident child under r.Parent and answers the parent, which
// lists its children.
func (in *Incidents) Link(ctx context.Context, child string, r LinkRequest) (*workflows.Incident, error) {
	parent, err := otherIncident("parent", r.Parent)
	if err != nil {
		return nil, err
	}
	if parent == child {
		return nil, &BadRequest{Field: "parent", Msg: fmt.Sprintf("incident %s cannot be its own parent", child)}
	}
	c, err := in.Get(ctx, child)
	if err != nil {
		return nil, err
	}
	switch {
	case c.Status == incident.StatusClosed:
		return nil, &Conflict{Msg: fmt.Sprintf("incident %s is closed; only an open incident can be linked", child)}
	case c.Parent == parent:
		return nil, &Conflict{Msg: fmt.Sprintf("%s is already a child of %s", child, parent)}
	case c.Parent != "":
		return nil, &Conflict{Msg: fmt.Sprintf("%s is a child of %s; unlink it first", child, c.Parent)}
	}
	p, err := in.openIncident(ctx, "parent", parent)
	if err != nil {
		return nil, err
	}
	// The parent's ancestors must not include the child.
	for up, depth := p.Parent, 0; up != "" && depth < maxLinkDepth; depth++ {
		if up == child {
			return nil, &BadRequest{Field: "parent", Msg: fmt.Sprintf("%s is under %s already; linking it as its child would make a loop", parent, child)}
		}
		a, err := in.Get(ctx, up)
		if err != nil {
			break // an ancestor that cannot be read ends the walk, not the link
		}
		up = a.Parent
	}
	return in.Act(ctx, parent, workflows.UpdateLinkChild, workflows.LinkRequest{By: r.By, Child: child, ChildTitle: c.Title,
		ChildService: c.Service, ChildStatus: c.Status, ChildStage: c.Stage, Note: r.Note})
}

// Unlink takes child from under its parent and answers the child.
func (in *Incidents) Unlink(ctx context.Context, child string, r UnlinkRequest) (*workflows.Incident, error) {
	c, err := in.Get(ctx, child)
	if err != nil {
		return nil, err
	}
	if c.Parent == "" {
		return nil, &Conflict{Msg: fmt.Sprintf("%s has no parent", child)}
	}
	_, err = in.Act(ctx, c.Parent, workflows.UpdateUnlinkChild, workflows.LinkRequest{By: r.By, Child: child, Note: r.Note})
	var conflict *Conflict
	if errors.As(err, &conflict) && in.closed(ctx, c.Parent) {
		// A closed parent takes no commands: the child forgets it alone.
		_, err = in.Act(ctx, child, workflows.UpdateSetParent, workflows.ParentRequest{By: r.By})
	}
	if err != nil {
		return nil, err
	}
	return in.Get(ctx, child)
}

// otherIncident reads a body field naming another incident.
func otherIncident(field, v string) (string, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return "", &BadRequest{Field: field, Msg: "required (an incident id)"}
	}
	if err := incident.CheckLen(field, v, maxID); err != nil {
		return "", &BadRequest{Field: field, Msg: strings.TrimPrefix(err.Error(), field+": ")}
	}
	return workflows.NormalizeID(v), nil
}

// openIncident reads the incident a field names, which must be open.
func (in *Incidents) openIncident(ctx context.Context, field, id string) (*workflows.Incident, error) {
	st, err := in.Get(ctx, id)
	var nf *NotFound
	var conflict *Conflict
	switch {
	case errors.As(err, &nf):
		return nil, &BadRequest{Field: field, Msg: fmt.Sprintf("no incident %s", id)}
	case errors.As(err, &conflict):
		return nil, &Conflict{Msg: field + ": " + conflict.Msg}
	case err != nil:
		return nil, err
	case st.Status == incident.StatusClosed || !in.running(ctx, id):
		return nil, &Conflict{Msg: fmt.Sprintf("%s: incident %s is closed", field, id)}
	}
	return st, nil
}

// alertInput is the input of an incident an alert opens.
func (in *Incidents) alertInput(first AlertEvent) workflows.IncidentInput {
	return workflows.IncidentInput{
		Key: first.Key, Title: first.Title, Service: first.Service, Severity: first.Severity, Source: first.Source,
		Shadow: in.shadow(first.Source), Runbook: first.Alert.Runbook,
	}
}

func isAlreadyStarted(err error) bool {
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	return errors.As(err, &started)
}

// sendToMerged delivers a batch for id, whose workflow is not running:
// to the incident it was merged into (following merges, a bounded number
// of times), else, for a firing alert, to a new run of id as before.
func (in *Incidents) sendToMerged(ctx context.Context, id string, first AlertEvent, batch workflows.AlertBatch, start bool) error {
	asked := id
	for hop := 0; ; hop++ {
		into, key, err := in.mergedInto(ctx, id)
		if err != nil && !isNotFound(err) {
			return err
		}
		if into == "" || hop >= maxRedirects {
			if !start {
				return nil // a resolved alert opens nothing
			}
			_, err := in.Client.SignalWithStartWorkflow(ctx, id, workflows.SignalAlerts, batch, in.startOptions(id, first),
				workflows.IncidentWorkflowName, in.alertInput(first))
			return err
		}
		in.redirects.note(asked, into)
		id = into
		if !start || key == "" {
			// Without its key the incident kept cannot be opened again:
			// it takes the batch only while it runs.
			err := in.Client.SignalWorkflow(ctx, id, "", workflows.SignalAlerts, batch)
			if isNotFound(err) && !start {
				continue // closed too: merged on, perhaps
			}
			if isNotFound(err) {
				return nil
			}
			return err
		}
		first.Key = key
		opts := in.startOptions(id, first)
		opts.WorkflowIDReusePolicy = enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE
		_, err = in.Client.SignalWithStartWorkflow(ctx, id, workflows.SignalAlerts, batch, opts, workflows.IncidentWorkflowName, in.alertInput(first))
		if !isAlreadyStarted(err) {
			return err
		}
	}
}

// mergedInto reads, from the latest run of id, the incident it was merged
// into and that incident's key ("" when it was not merged).
func (in *Incidents) mergedInto(ctx context.Context, id string) (string, string, error) {
	d, err := in.Client.DescribeWorkflowExecution(ctx, id, "")
	if err != nil {
		return "", "", err
	}
	memo := d.GetWorkflowExecutionInfo().GetMemo().GetFields()
	into := payloadString(memo[workflows.MemoMergedInto])
	if into == id {
		into = ""
	}
	return into, payloadString(memo[workflows.MemoMergedIntoKey]), nil
}

// redirectCache remembers, for the intake's answer, which incident the
// alerts of a merged one went to. It is bounded: only answers read it, so
// forgetting costs nothing but the name of the incident kept in a 202.
type redirectCache struct {
	mu sync.Mutex
	m  map[string]string
}

const maxRedirectCache = 1000

func (c *redirectCache) note(from, to string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxRedirectCache {
		c.m = map[string]string{}
	}
	c.m[from] = to
}

// answerID is the incident the intake names for alerts sent to id.
func (c *redirectCache) answerID(id string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if to, ok := c.m[id]; ok {
		return to
	}
	return id
}

// mergeIncident is POST /v1/incidents/{id}/merge {"into": "<id>"}.
func (s *Server) mergeIncident(w http.ResponseWriter, r *http.Request) {
	req := &MergeRequest{}
	s.linkCommand(w, r, req, &req.By, func(ctx context.Context, id string) (*workflows.Incident, error) {
		return s.incidents.Merge(ctx, id, *req)
	})
}

// linkIncident is POST /v1/incidents/{id}/link {"parent": "<id>"}.
func (s *Server) linkIncident(w http.ResponseWriter, r *http.Request) {
	req := &LinkRequest{}
	s.linkCommand(w, r, req, &req.By, func(ctx context.Context, id string) (*workflows.Incident, error) {
		return s.incidents.Link(ctx, id, *req)
	})
}

// unlinkIncident is POST /v1/incidents/{id}/unlink.
func (s *Server) unlinkIncident(w http.ResponseWriter, r *http.Request) {
	req := &UnlinkRequest{}
	s.linkCommand(w, r, req, &req.By, func(ctx context.Context, id string) (*workflows.Incident, error) {
		return s.incidents.Unlink(ctx, id, *req)
	})
}

// linkCommand decodes, authorises like every write, and runs do; several
// incidents are read and written, so it gets two of the usual timeouts.
func (s *Server) linkCommand(w http.ResponseWriter, r *http.Request, req any, by *string, do func(context.Context, string) (*workflows.Incident, error)) {
	id, err := pathID(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	err = decodeCommand(r, req)
	if err = s.authorize(r, err, by); err != nil {
		s.fail(w, r, err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*s.Timeout)
	defer cancel()
	st, err := do(ctx, workflows.NormalizeID(id))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

const (
	mergeUsage  = "Usage: `/incident merge <duplicate> <into>` (in the duplicate's channel: `/incident merge <into>`)"
	linkUsage   = "Usage: `/incident link <child> <parent>` (in the child's channel: `/incident link <parent>`)"
	unlinkUsage = "Usage: `/incident unlink <child>`"
)

// slashLinked runs `/incident merge|link|unlink`. In an incident's
// channel the first incident (the duplicate, the child) may be left out.
func (s *Server) slashLinked(ctx context.Context, by, channelID, sub string, args []string) slackReply {
	want, usage := 2, mergeUsage
	switch sub {
	case "link":
		usage = linkUsage
	case "unlink":
		want, usage = 1, unlinkUsage
	}
	if len(args) == want-1 {
		if implied, ok, _ := s.incidentOfChannel(ctx, channelID); ok {
			args = append([]string{implied}, args...)
		}
	}
	if len(args) != want {
		return ephemeral(usage)
	}
	id := workflows.NormalizeID(args[0])
	var text string
	switch sub {
	case "merge":
		if _, err := s.incidents.Merge(ctx, id, MergeRequest{By: by, Into: args[1]}); err != nil {
			return ephemeral(slackError(err))
		}
		text = fmt.Sprintf("%s merged %s into %s: its alerts go there from now on.", by, id, workflows.NormalizeID(args[1]))
	case "link":
		parent, err := s.incidents.Link(ctx, id, LinkRequest{By: by, Parent: args[1]})
		if err != nil {
			return ephemeral(slackError(err))
		}
		text = fmt.Sprintf("%s linked %s as a child of %s (%s).", by, id, parent.ID, childCount(len(parent.Children)))
	default:
		if _, err := s.incidents.Unlink(ctx, id, UnlinkRequest{By: by}); err != nil {
			return ephemeral(slackError(err))
		}
		text = fmt.Sprintf("%s unlinked %s from its parent.", by, id)
	}
	return slackReply{ResponseType: "in_channel", Text: text}
}

func childCount(n int) string {
	if n == 1 {
		return "1 child"
	}
	return fmt.Sprintf("%d children", n)
}
