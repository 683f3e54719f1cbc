package starter

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"go.temporal.io/sdk/client"

	"github.com/incidentflow/incidentflow/incident"
	"github.com/incidentflow/incidentflow/workflows"
)

// SubscribersAnswer is what the subscriber endpoints answer: the
// incident's own subscribers and, apart, its service's from the config.
type SubscribersAnswer struct {
	IncidentID         string                   `json:"incident_id"`
	Service            string                   `json:"service"`
	Subscribers        []workflows.Subscription `json:"subscribers"`
	ServiceSubscribers []incident.Subscriber    `json:"service_subscribers"`
	Limit              int                      `json:"limit"`
	// Subscribed or Removed names the subscriber the request changed.
	Subscribed *workflows.Subscription `json:"subscribed,omitempty"`
	Removed    string                  `json:"removed,omitempty"`
}

// Subscribers lists who gets the incident's public updates.
func (in *Incidents) Subscribers(ctx context.Context, id string) (*SubscribersAnswer, error) {
	v, err := in.Client.QueryWorkflow(ctx, id, "", workflows.QuerySubscribers)
	if err != nil {
		return nil, in.explain(ctx, id, err)
	}
	var subs workflows.Subscribers
	if err := v.Get(&subs); err != nil {
		return nil, fmt.Errorf("decode subscribers of %s: %w", id, err)
	}
	svc := in.Config.Services[subs.Service].Subscribers
	return &SubscribersAnswer{IncidentID: subs.ID, Service: subs.Service, Subscribers: subs.Subscribers,
		ServiceSubscribers: append([]incident.Subscriber{}, svc...), Limit: incident.MaxSubscribers}, nil
}

// Subscribe adds a subscriber to the incident's state (an Update, whose
// validator names the field at fault or says why not) and answers the list.
func (in *Incidents) Subscribe(ctx context.Context, id string, req workflows.SubscribeRequest) (*SubscribersAnswer, error) {
	if err := in.update(ctx, id, workflows.UpdateAddSubscriber, req); err != nil {
		return nil, err
	}
	out, err := in.Subscribers(ctx, id)
	if err != nil {
		return nil, err
	}
	for i, s := range out.Subscribers {
		if s.ID == req.Subscriber().ID() {
			out.Subscribed = &out.Subscribers[i]
		}
	}
	return out, nil
}

// Unsubscribe removes one subscriber. One that is not there is a 404.
func (in *Incidents) Unsubscribe(ctx context.Context, id string, req workflows.UnsubscribeRequest) (*SubscribersAnswer, error) {
	before, err := in.Subscribers(ctx, id)
	if err != nil {
		return nil, err
	}
	sid := incident.SubscriberID(req.Subscriber)
	found := false
	for _, s := range before.Subscribers {
		found = found || s.ID == sid
	}
	if !found {
		return nil, &NotFound{Msg: fmt.Sprintf("no subscriber %q on incident %s", incident.Cut(req.Subscriber, 64), id)}
	}
	if err := in.update(ctx, id, workflows.UpdateRemoveSubscriber, req); err != nil {
		return nil, err
	}
	out, err := in.Subscribers(ctx, id)
	if err != nil {
		return nil, err
	}
	out.Removed = sid
	return out, nil
}

func (in *Incidents) update(ctx context.Context, id, name string, req any) error {
	h, err := in.Client.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: id, UpdateName: name, Args: []interface{}{req}, WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err == nil {
		err = h.Get(ctx, nil)
	}
	if err != nil {
		return in.explain(ctx, id, err)
	}
	return nil
}

// addSubscriber is POST /v1/incidents/{id}/subscribers with
// {"email": …} or {"slack_user": …}; auth as every write.
func (s *Server) addSubscriber(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	req := &workflows.SubscribeRequest{}
	err = decodeCommand(r, req)
	if err == nil {
		req.Email, req.SlackUser = strings.TrimSpace(req.Email), strings.TrimSpace(req.SlackUser)
		if p := req.Subscriber().Check(); p != nil {
			err = &BadRequest{Field: p.Field, Msg: p.Msg}
		}
	}
	if err = s.authorize(r, err, &req.By); err != nil {
		s.fail(w, r, err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.Timeout)
	defer cancel()
	out, err := s.incidents.Subscribe(ctx, id, *req)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, out)
}

// listSubscribers is GET /v1/incidents/{id}/subscribers. The list holds
// people's addresses, so it takes an API token (a read-only one will do)
// even where http.public_reads opens the other reads.
func (s *Server) listSubscribers(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.tokenOf(r, false); !ok {
		s.fail(w, r, s.missingToken(r, false))
		return
	}
	id, err := pathID(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.Timeout)
	defer cancel()
	out, err := s.incidents.Subscribers(ctx, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// maxSubscriberRef bounds the {subscriber} of a DELETE: an ID is "email:"
// and an address at most.
const maxSubscriberRef = len("email:") + incident.MaxEmail

// removeSubscriber is DELETE /v1/incidents/{id}/subscribers/{subscriber},
// the subscriber named by its id, its address or its Slack user ID.
func (s *Server) removeSubscriber(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	req := &workflows.UnsubscribeRequest{Subscriber: strings.TrimSpace(r.PathValue("subscriber"))}
	switch n := len(req.Subscriber); {
	case n == 0:
		err = &BadRequest{Field: "subscriber", Msg: "required (its id, email address or Slack user ID)"}
	case n > maxSubscriberRef:
		err = &BadRequest{Field: "subscriber", Msg: fmt.Sprintf("%d bytes is too long (at most %d)", n, maxSubscriberRef)}
	}
	if err = s.authorize(r, err, &req.By); err != nil {
		s.fail(w, r, err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.Timeout)
	defer cancel()
	out, err := s.incidents.Unsubscribe(ctx, id, *req)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// slashSubscribe is `/incident subscribe|unsubscribe [id]`: the calling
// Slack user gets (or stops getting) the incident's public updates by DM.
// Stakeholders need not be incidentflow users: Slack vouches for who calls.
func (s *Server) slashSubscribe(ctx context.Context, slackUser, channelID, sub string, args []string) slackReply {
	var id string
	if implied, ok, _ := s.incidentOfChannel(ctx, channelID); ok && len(args) == 0 {
		id = implied
	} else if len(args) == 1 {
		id = workflows.NormalizeID(args[0])
	} else {
		return ephemeral(fmt.Sprintf("Usage: `/incident %s <id>` (in the incident's channel, leave out the id).", sub))
	}
	if !incident.IsSlackUserID(slackUser) {
		return ephemeral(fmt.Sprintf("Slack sent the user %q, which is not a user ID.", incident.Cut(slackUser, 64)))
	}
	by, ok := s.userBySlackID(ctx, slackUser)
	if !ok {
		by = "slack:" + slackUser
	}
	if sub == "unsubscribe" {
		if _, err := s.incidents.Unsubscribe(ctx, id, workflows.UnsubscribeRequest{By: by, Subscriber: slackUser}); err != nil {
			return ephemeral(slackError(err))
		}
		return ephemeral(fmt.Sprintf("You will no longer get the public updates of %s.", id))
	}
	if _, err := s.incidents.Subscribe(ctx, id, workflows.SubscribeRequest{By: by, SlackUser: slackUser}); err != nil {
		return ephemeral(slackError(err))
	}
	return ephemeral(fmt.Sprintf("You will get the public updates of %s by DM. `/incident unsubscribe %s` stops them.", id, id))
}
