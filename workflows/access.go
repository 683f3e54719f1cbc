package workflows

import (
	"fmt"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/incidentflow/incidentflow/incident"
)

// Just-in-time access: someone who takes a role on an incident of a
// service with access grants gets them, and loses them when the incident
// closes or after the grant's maximum, whichever is first. Each grant to
// each person is a child workflow, AccessGrantWorkflow, that outlives its
// incident (ParentClosePolicy ABANDON): its durable timer guarantees the
// revoke whatever happens to the incident, a worker or a deploy.
const (
	accessChange = "access-v1"

	AccessGrantWorkflowName = "AccessGrantWorkflow"
	// SignalRevokeAccess tells a grant to end now (its incident closed).
	SignalRevokeAccess = "revoke-access"
	// UpdateAccessEvent (and its signal twin) is a grant's workflow telling
	// its incident what it did, for the timeline.
	UpdateAccessEvent = "access-event"
	// QueryAccess answers an AccessGrantState.
	QueryAccess = "access"
	// maxAccessRecords bounds the grants one incident keeps.
	maxAccessRecords = 50
	// KindAccess: a grant given, taken back, or failed.
	KindAccess Kind = "access"
)

// AccessRecord is one grant to one person, in the incident's state.
type AccessRecord struct {
	Grant    string     `json:"grant"`
	User     string     `json:"user"`
	Role     string     `json:"role"`
	Workflow string     `json:"workflow"`
	Until    time.Time  `json:"until"`
	Granted  *time.Time `json:"granted_at,omitempty"`
	Revoked  *time.Time `json:"revoked_at,omitempty"`
	Error    string     `json:"error,omitempty"`
	// Ended: revoked, failed, or told to revoke.
	Ended bool `json:"ended,omitempty"`
	// Closed: ended because the incident closed; if it is reopened, the
	// role earns the grant again. A grant that ran its maximum or failed
	// is not given again on the same incident.
	Closed bool `json:"closed,omitempty"`
}

// reconcileAccess starts a grant for each role holder who earns one and
// has none running. Shadow incidents only say what they would have given,
// and game days give nothing: practice needs no production access.
func (w *incidentWorkflow) reconcileAccess(ctx workflow.Context) {
	st := &w.st
	if len(st.Policy.Access) == 0 || st.exercising() || !st.Status.Open() {
		return
	}
	for _, role := range incident.Roles {
		user := st.Roles[role]
		if user == "" {
			continue
		}
		for _, g := range st.Policy.Access {
			if !g.Earns(role) || w.hasAccess(g.Name, user) || len(st.Access) >= maxAccessRecords {
				continue
			}
			if workflow.GetVersion(ctx, accessChange, workflow.DefaultVersion, 1) < 1 {
				return
			}
			w.grant(ctx, g, role, user)
		}
	}
}

func (w *incidentWorkflow) hasAccess(grant, user string) bool {
	for _, r := range w.st.Access {
		if r.Grant == grant && r.User == user && !r.Closed {
			return true
		}
	}
	return false
}

func (w *incidentWorkflow) grant(ctx workflow.Context, g incident.AccessGrant, role, user string) {
	st := &w.st
	now := workflow.Now(ctx)
	rec := AccessRecord{Grant: g.Name, User: user, Role: role, Until: now.Add(g.Max),
		Workflow: fmt.Sprintf("access-%s-%s-%s-%d", strings.TrimPrefix(IncidentID(st.Key), idPrefix), incident.Slug(g.Name, "._", 64), incident.Slug(user, "._", 64), len(st.Access)+1)}
	if st.Shadow {
		rec.Ended = true
		st.Access = append(st.Access, rec)
		w.record(ctx, KindAccess, "", fmt.Sprintf("would have granted %s to %s as %s (shadow mode: nothing granted)", g.Describe(), user, role))
		return
	}
	st.Access = append(st.Access, rec)
	w.record(ctx, KindAccess, "", fmt.Sprintf("granting %s to %s as %s, until %s at the latest", g.Describe(), user, role, rec.Until.UTC().Format(time.RFC3339)))
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID:        rec.Workflow,
		ParentClosePolicy: enumspb.PARENT_CLOSE_POLICY_ABANDON,
		StaticSummary:     incident.Cut(fmt.Sprintf("%s for %s on %s, revoked by %s at the latest", g.Describe(), user, st.ID, rec.Until.UTC().Format(time.RFC3339)), 200),
	})
	f := workflow.ExecuteChildWorkflow(cctx, AccessGrantWorkflowName, AccessGrantInput{
		Request: incident.AccessRequest{IncidentID: st.ID, Grant: g, User: user}, Parent: workflow.GetInfo(ctx).WorkflowExecution.ID,
	})
	w.inFlight++
	workflow.Go(ctx, func(gctx workflow.Context) {
		defer func() {
			w.inFlight--
			w.wakeUp()
		}()
		if err := f.GetChildWorkflowExecution().Get(gctx, nil); err != nil {
			w.accessEvent(gctx, incident.AccessEvent{Grant: g.Name, User: user, Kind: incident.AccessFailed, At: workflow.Now(gctx), Reason: "could not start: " + errorMessage(err)})
		}
	})
}

// revokeAccess tells every grant still running to end: the incident has
// closed. Each signal is waited for, since a run that completes with one
// still in flight may never deliver it; a grant already ended cannot take
// it, which is as well.
func (w *incidentWorkflow) revokeAccess(ctx workflow.Context) {
	var sent []workflow.Future
	for i := range w.st.Access {
		r := &w.st.Access[i]
		if r.Ended {
			continue
		}
		r.Ended, r.Closed = true, true
		w.record(ctx, KindAccess, "", fmt.Sprintf("taking %s back from %s: the incident closed", r.Grant, r.User))
		sent = append(sent, workflow.SignalExternalWorkflow(ctx, r.Workflow, "", SignalRevokeAccess, "the incident closed"))
	}
	for _, f := range sent {
		_ = f.Get(ctx, nil)
	}
}

func (w *incidentWorkflow) accessCommands(ctx workflow.Context) []func() (command, error) {
	return []func() (command, error){
		func() (command, error) {
			return defineCommand(ctx, w, UpdateAccessEvent, func(e incident.AccessEvent) string { return "" },
				validateAccessEvent, w.accessEvent)
		},
	}
}

func validateAccessEvent(e incident.AccessEvent) error {
	switch {
	case e.Grant == "" || len(e.Grant) > incident.MaxName:
		return fieldError("grant", "required, at most %d bytes", incident.MaxName)
	case e.User == "" || len(e.User) > incident.MaxName:
		return fieldError("user", "required, at most %d bytes", incident.MaxName)
	case e.Kind != incident.AccessGranted && e.Kind != incident.AccessRevoked && e.Kind != incident.AccessFailed:
		return fieldError("kind", "%q must be granted, revoked or failed", incident.Cut(e.Kind, incident.MaxName))
	}
	return checkNote(e.Reason)
}

// accessEvent records what a grant's workflow did.
func (w *incidentWorkflow) accessEvent(ctx workflow.Context, e incident.AccessEvent) {
	var rec *AccessRecord
	for i := len(w.st.Access) - 1; i >= 0; i-- {
		if r := &w.st.Access[i]; r.Grant == e.Grant && r.User == e.User {
			rec = r
			break
		}
	}
	at := e.At
	switch e.Kind {
	case incident.AccessGranted:
		if rec != nil {
			rec.Granted = &at
		}
		w.record(ctx, KindAccess, "", fmt.Sprintf("granted %s to %s, until %s at the latest", e.Grant, e.User, e.Until.UTC().Format(time.RFC3339)))
	case incident.AccessRevoked:
		if rec != nil {
			rec.Revoked, rec.Ended = &at, true
		}
		w.record(ctx, KindAccess, "", fmt.Sprintf("revoked %s from %s: %s", e.Grant, e.User, e.Reason))
	case incident.AccessFailed:
		if rec != nil {
			rec.Error, rec.Ended = incident.Cut(e.Reason, incident.MaxText), true
		}
		w.record(ctx, KindAccess, "", fmt.Sprintf("could not grant %s to %s: %s", e.Grant, e.User, e.Reason))
	}
}

// AccessGrantInput starts one grant to one person; Parent is the incident
// told what happens.
type AccessGrantInput struct {
	Request incident.AccessRequest `json:"request"`
	Parent  string                 `json:"parent"`
}

// AccessGrantState is a grant as its query answers it.
type AccessGrantState struct {
	Request    incident.AccessRequest `json:"request"`
	Until      time.Time              `json:"until"`
	GrantedAt  *time.Time             `json:"granted_at,omitempty"`
	RevokedAt  *time.Time             `json:"revoked_at,omitempty"`
	Reason     string                 `json:"reason,omitempty"`
	GrantError string                 `json:"grant_error,omitempty"`
}

// AccessGrantWorkflow gives one grant, waits for its incident to close or
// its maximum to pass, and takes it back, retrying the revoke until it
// succeeds.
func AccessGrantWorkflow(ctx workflow.Context, in AccessGrantInput) (*AccessGrantState, error) {
	st := &AccessGrantState{Request: in.Request, Until: workflow.Now(ctx).Add(in.Request.Grant.Max)}
	if err := workflow.SetQueryHandler(ctx, QueryAccess, func() (AccessGrantState, error) { return *st, nil }); err != nil {
		return nil, err
	}
	revoke := workflow.GetSignalChannel(ctx, SignalRevokeAccess)
	tell := func(e incident.AccessEvent) {
		e.Grant, e.User, e.At = in.Request.Grant.Name, in.Request.User, workflow.Now(ctx)
		// The incident may have closed: it then has no timeline to keep.
		_ = workflow.SignalExternalWorkflow(ctx, in.Parent, "", UpdateAccessEvent, e).Get(ctx, nil)
	}

	gctx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second, Summary: "grant " + in.Request.Grant.Describe() + " to " + in.Request.User,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute, MaximumAttempts: 10},
	})
	var login string
	if err := workflow.ExecuteActivity(gctx, a.GrantAccess, in.Request).Get(ctx, &login); err != nil {
		st.GrantError = errorMessage(err)
		tell(incident.AccessEvent{Kind: incident.AccessFailed, Reason: st.GrantError})
		return st, nil
	}
	now := workflow.Now(ctx)
	st.GrantedAt = &now
	st.Request.Login = login
	tell(incident.AccessEvent{Kind: incident.AccessGranted, Until: st.Until})

	tctx, cancel := workflow.WithCancel(ctx)
	timer := workflow.NewTimerWithOptions(tctx, st.Until.Sub(now), workflow.TimerOptions{
		Summary: fmt.Sprintf("revoke %s from %s at the latest", in.Request.Grant.Describe(), in.Request.User),
	})
	sel := workflow.NewSelector(ctx)
	sel.AddReceive(revoke, func(c workflow.ReceiveChannel, _ bool) {
		var why string
		c.Receive(ctx, &why)
		st.Reason = incident.Cut(why, incident.MaxName)
	})
	sel.AddFuture(timer, func(workflow.Future) { st.Reason = "its maximum of " + in.Request.Grant.Max.String() + " passed" })
	sel.Select(ctx)
	cancel()

	// Retried without end: access given must be taken back.
	rctx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second, Summary: "revoke " + in.Request.Grant.Describe() + " from " + in.Request.User,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 5 * time.Minute},
	})
	if err := workflow.ExecuteActivity(rctx, a.RevokeAccess, st.Request).Get(ctx, nil); err != nil {
		return st, err
	}
	revoked := workflow.Now(ctx)
	st.RevokedAt = &revoked
	tell(incident.AccessEvent{Kind: incident.AccessRevoked, Reason: st.Reason})
	return st, nil
}
