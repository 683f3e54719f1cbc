package workflows

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/incidentflow/incidentflow/activities"
	"github.com/incidentflow/incidentflow/incident"
)

// subscribersChange sends every public status update to the incident's
// subscribers and its service's (one activity per update).
const subscribersChange = "subscribers-v1"

// Stakeholder subscriptions: an Update (and signal twin) each way, and a
// query for who is subscribed.
const (
	SignalAddSubscriber    = "add-subscriber"
	SignalRemoveSubscriber = "remove-subscriber"
	UpdateAddSubscriber    = SignalAddSubscriber
	UpdateRemoveSubscriber = SignalRemoveSubscriber
	QuerySubscribers       = "subscribers"
)

// Timeline kinds of subscriptions.
const (
	KindSubscriber          Kind = "subscriber"
	KindSubscribersNotified Kind = "subscribers_notified"
)

// SubscribeRequest subscribes a stakeholder to the incident's public
// updates: an email address or a Slack user, exactly one.
type SubscribeRequest struct {
	By        string `json:"by"`
	Email     string `json:"email,omitempty"`
	SlackUser string `json:"slack_user,omitempty"`
}

// Subscriber is who the request subscribes.
func (r SubscribeRequest) Subscriber() incident.Subscriber {
	return incident.Subscriber{Email: r.Email, SlackUser: r.SlackUser}
}

// UnsubscribeRequest removes one subscriber, named by its ID
// ("email:…", "slack:…"), its address or its Slack user ID.
type UnsubscribeRequest struct {
	By         string `json:"by"`
	Subscriber string `json:"subscriber"`
}

// Subscription is one subscriber of an incident, kept in its state.
type Subscription struct {
	ID        string    `json:"id"`
	Email     string    `json:"email,omitempty"`
	SlackUser string    `json:"slack_user,omitempty"`
	AddedBy   string    `json:"added_by"`
	AddedAt   time.Time `json:"added_at"`
}

func (s Subscription) subscriber() incident.Subscriber {
	return incident.Subscriber{Email: s.Email, SlackUser: s.SlackUser}
}

// Subscribers answers the subscribers query. Service subscribers come from
// the config and are not listed here: the service says whose they are.
type Subscribers struct {
	ID          string         `json:"id"`
	Service     string         `json:"service"`
	Subscribers []Subscription `json:"subscribers"`
}

// subscriberCommands are the subscription commands, after every other
// command so the order earlier histories consumed signals in is kept. The
// first also registers the query, which must exist as soon as they do.
func (w *incidentWorkflow) subscriberCommands(ctx workflow.Context) []func() (command, error) {
	return []func() (command, error){
		func() (command, error) {
			if err := workflow.SetQueryHandler(ctx, QuerySubscribers, func() (Subscribers, error) {
				return Subscribers{ID: w.st.ID, Service: w.st.Service, Subscribers: append([]Subscription{}, w.st.Subscribers...)}, nil
			}); err != nil {
				return command{}, fmt.Errorf("register %s query: %w", QuerySubscribers, err)
			}
			return defineCommand(ctx, w, SignalAddSubscriber, func(r SubscribeRequest) string { return r.By }, w.validateSubscribe, w.subscribe)
		},
		func() (command, error) {
			return defineCommand(ctx, w, SignalRemoveSubscriber, func(r UnsubscribeRequest) string { return r.By }, w.validateUnsubscribe, w.unsubscribe)
		},
	}
}

func (w *incidentWorkflow) validateSubscribe(r SubscribeRequest) error {
	if err := requireBy(r.By); err != nil {
		return err
	}
	sub := r.Subscriber()
	if p := sub.Check(); p != nil {
		return fieldError(p.Field, "%s", p.Msg)
	}
	// A resolved incident takes no more status updates: nothing would come.
	if err := w.validateOpen("take subscribers"); err != nil {
		return err
	}
	id := sub.ID()
	if w.subscriberIndex(id) >= 0 {
		return fmt.Errorf("%s already gets the public updates of incident %s", id, w.st.ID)
	}
	if n := len(w.st.Subscribers); n >= incident.MaxSubscribers {
		return fmt.Errorf("incident %s already has %d subscribers, the most one incident takes (limit %d); subscribe a list address instead", w.st.ID, n, incident.MaxSubscribers)
	}
	return nil
}

func (w *incidentWorkflow) subscribe(ctx workflow.Context, r SubscribeRequest) {
	sub := r.Subscriber()
	w.st.Subscribers = append(w.st.Subscribers, Subscription{ID: sub.ID(), Email: sub.Email, SlackUser: sub.SlackUser, AddedBy: r.By, AddedAt: workflow.Now(ctx)})
	w.record(ctx, KindSubscriber, r.By, fmt.Sprintf("%s subscribed to public updates (%s)", sub.Display(), countOf(len(w.st.Subscribers), "subscriber")))
}

func (w *incidentWorkflow) validateUnsubscribe(r UnsubscribeRequest) error {
	if err := requireBy(r.By); err != nil {
		return err
	}
	if strings.TrimSpace(r.Subscriber) == "" {
		return fieldError("subscriber", "required (its id, email address or Slack user ID)")
	}
	if err := checkLen("subscriber", r.Subscriber, incident.MaxEmail+len("email:")); err != nil {
		return err
	}
	if w.subscriberIndex(incident.SubscriberID(r.Subscriber)) < 0 {
		return fieldError("subscriber", "%q is not subscribed to incident %s", r.Subscriber, w.st.ID)
	}
	return nil
}

func (w *incidentWorkflow) unsubscribe(ctx workflow.Context, r UnsubscribeRequest) {
	i := w.subscriberIndex(incident.SubscriberID(r.Subscriber))
	if i < 0 {
		return // removed by a command applied since validation
	}
	gone := w.st.Subscribers[i].subscriber()
	w.st.Subscribers = slices.Delete(w.st.Subscribers, i, i+1)
	w.record(ctx, KindSubscriber, r.By, fmt.Sprintf("%s unsubscribed (%s left)", gone.Display(), countOf(len(w.st.Subscribers), "subscriber")))
}

func (w *incidentWorkflow) subscriberIndex(id string) int {
	return slices.IndexFunc(w.st.Subscribers, func(s Subscription) bool { return s.ID == id })
}

// notifySubscribers sends a public update to the incident's subscribers and
// its service's, beside the main loop; a private update reaches none.
func (w *incidentWorkflow) notifySubscribers(ctx workflow.Context, u StatusUpdate) {
	// A shadow incident or an exercise is a rehearsal: it never reaches
	// customers, as it never reaches the status page.
	if !u.Public || w.st.Shadow || w.st.exercising() {
		return
	}
	if workflow.GetVersion(ctx, subscribersChange, workflow.DefaultVersion, 1) < 1 {
		return
	}
	subs := make([]incident.Subscriber, len(w.st.Subscribers))
	for i, s := range w.st.Subscribers {
		subs[i] = s.subscriber()
	}
	req := incident.PublicUpdateRequest{
		IncidentID: w.st.ID, Service: w.st.Service, Severity: w.st.Severity, Text: publicText(w.st.Service, u),
		// The opening time tells apart two incidents of one key (a key
		// that fires again after its incident closed reuses the ID).
		IdempotencyKey: fmt.Sprintf("%s/%d/public/%d", w.st.ID, w.st.CreatedAt.Unix(), w.st.seq()),
		Subscribers:    subs,
	}
	opts := workflow.ActivityOptions{
		StartToCloseTimeout: 10 * time.Minute,
		// The activity heartbeats whom it reached, so an attempt that dies
		// is noticed in seconds and the next skips them.
		HeartbeatTimeout: activities.HeartbeatTimeout,
		Summary:          "public update to subscribers",
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    time.Second,
			BackoffCoefficient: 2,
			MaximumInterval:    time.Minute,
			MaximumAttempts:    incident.SubscriberAttempts,
		},
	}
	var res incident.PublicUpdateResult
	w.loop.beside(ctx, opts, a.NotifySubscribers, req, &res, func(gctx workflow.Context, err error) {
		switch {
		case err != nil:
			w.record(gctx, KindNotifyFailed, "", "public update to subscribers failed: "+errorMessage(err))
		case res.Failed > 0:
			w.record(gctx, KindNotifyFailed, "", fmt.Sprintf("public update sent to %s; %d failed: %s",
				countOf(res.Sent, "subscriber"), res.Failed, strings.Join(res.Failures, "; ")))
		case res.Sent > 0:
			w.record(gctx, KindSubscribersNotified, "", fmt.Sprintf("public update sent to %s", countOf(res.Sent, "subscriber")))
		}
	})
}

// publicText is the update as customers may read it, as the status page
// shows it: never who wrote it, nor the internal "known" and "doing".
func publicText(service string, u StatusUpdate) string {
	stage := string(u.Stage)
	if stage != "" {
		stage = strings.ToUpper(stage[:1]) + stage[1:]
	}
	lines := []string{fmt.Sprintf("Update on %s (%s): %s", service, stage, strings.TrimSpace(u.Message))}
	for _, f := range []struct{ k, v string }{{"Impact", u.Impact}, {"Workaround", u.Workaround}, {"ETA", u.ETA}} {
		if v := strings.TrimSpace(f.v); v != "" {
			lines = append(lines, f.k+": "+v)
		}
	}
	return strings.Join(lines, "\n")
}

func countOf(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
