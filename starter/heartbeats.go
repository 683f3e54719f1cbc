package starter

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/incidentflow/incidentflow/config"
	"github.com/incidentflow/incidentflow/incident"
	"github.com/incidentflow/incidentflow/workflows"
)

// ogPong is what Opsgenie answers a heartbeat ping with.
const ogPong = "PONG - Heartbeat received"

// AlertRaiser is the alert path of workflows that raise alerts themselves
// (a heartbeat's miss): it hands them to Incidents.Alerts, the path every
// intake's alerts take, so a miss pages, dedups and resolves like any
// alert. Workers get one from worker.New.
type AlertRaiser struct{ Incidents *Incidents }

// Raise returns once the incident has the alert.
func (r *AlertRaiser) Raise(ctx context.Context, a incident.RaisedAlert) error {
	title := incident.Cut(a.Title, incident.MaxTitle)
	_, err := r.Incidents.Alerts(ctx, []AlertEvent{{
		Key: a.Key, Title: title, Service: a.Service, Severity: a.Severity, Source: a.Source,
		Alert: workflows.AlertSignal{
			Fingerprint: a.Fingerprint, Status: a.Status, Summary: incident.Cut(a.Summary, incident.MaxTitle),
			Source: a.Source, Labels: boundLabels(a.Labels),
		},
	}})
	return err
}

// heartbeatConfig is what a monitor runs with. Parse has settled grace
// and severity; they are settled again here for configs built in code.
func heartbeatConfig(cfg *config.Config, h config.Heartbeat) incident.HeartbeatConfig {
	grace := h.Grace.D()
	if grace == 0 {
		grace = config.DefaultGrace(h.Interval.D())
	}
	sev, ok := cfg.NormalizeSeverity(h.Severity)
	if !ok {
		sev = cfg.LowestPagingSeverity()
	}
	return incident.HeartbeatConfig{
		Interval: incident.Duration(h.Interval), Grace: incident.Duration(grace),
		Service: h.Service, Severity: sev, Enabled: h.On(),
	}
}

func (in *Incidents) heartbeat(name string) (config.Heartbeat, error) {
	h, ok := in.Config.Heartbeats[name]
	if !ok {
		known := "none are configured (heartbeats in the config)"
		if names := in.Config.HeartbeatNames(); len(names) > 0 {
			known = "one of " + strings.Join(names, ", ")
		}
		return h, &NotFound{Msg: fmt.Sprintf("no heartbeat %q (%s; or one made with POST /v1/heartbeats)", incident.Cut(name, incident.MaxName), known)}
	}
	return h, nil
}

// heartbeatStart starts a monitor's workflow when it is not running; with
// SignalWithStart a running one takes the signal instead.
func (in *Incidents) heartbeatStart(name string, hc incident.HeartbeatConfig) (client.StartWorkflowOptions, workflows.HeartbeatInput) {
	return client.StartWorkflowOptions{
			ID:        incident.HeartbeatWorkflowID(name),
			TaskQueue: in.TaskQueue,
			StaticSummary: fmt.Sprintf("heartbeat %s: a ping every %s (+%s grace), else an incident on %s at %s",
				name, hc.Interval, hc.Grace, hc.Service, hc.Severity),
		}, workflows.HeartbeatInput{
			Name: name, Config: hc,
		}
}

// HeartbeatPong is the answer to a ping.
type HeartbeatPong struct {
	Heartbeat string                  `json:"heartbeat"`
	State     incident.HeartbeatState `json:"state"`
	LastPing  time.Time               `json:"last_ping"`
}

// Ping records a ping of a configured monitor, starting its workflow if
// it is not running. It returns once Temporal has the signal: a ping that
// got its answer is never lost. The state answered is the one the ping
// leads to (up, or disabled for a monitor switched off).
func (in *Incidents) Ping(ctx context.Context, name, source string) (HeartbeatPong, error) {
	h, err := in.heartbeat(name)
	if err != nil {
		return in.pingMade(ctx, name, source, err)
	}
	now := time.Now().UTC()
	opts, input := in.heartbeatStart(name, heartbeatConfig(in.Config, h))
	_, err = in.Client.SignalWithStartWorkflow(ctx, opts.ID, workflows.SignalHeartbeatPing,
		incident.HeartbeatPing{At: now, Source: source}, opts, workflows.HeartbeatWorkflowName, input)
	if err != nil {
		return HeartbeatPong{}, in.explain(ctx, opts.ID, err)
	}
	state := incident.HeartbeatUp
	if !h.On() {
		state = incident.HeartbeatDisabled
	}
	return HeartbeatPong{Heartbeat: name, State: state, LastPing: now}, nil
}

// pingMade pings a monitor made over the API: it is signalled, never
// started, since only its workflow knows its settings. unknown is the
// answer for a name nobody made.
func (in *Incidents) pingMade(ctx context.Context, name, source string, unknown error) (HeartbeatPong, error) {
	if !config.ValidHeartbeatName(name) {
		return HeartbeatPong{}, unknown
	}
	now := time.Now().UTC()
	id := incident.HeartbeatWorkflowID(name)
	if err := in.Client.SignalWorkflow(ctx, id, "", workflows.SignalHeartbeatPing, incident.HeartbeatPing{At: now, Source: source}); err != nil {
		if isNotFound(err) {
			// Never made, or deleted (a closed monitor takes no signal).
			return HeartbeatPong{}, unknown
		}
		return HeartbeatPong{}, in.explain(ctx, id, err)
	}
	state := incident.HeartbeatUp
	// Only to say "disabled" to a job pinging a monitor switched off; the
	// ping itself is already safe with Temporal.
	if v, err := in.Heartbeat(ctx, name); err == nil && !v.Enabled {
		state = incident.HeartbeatDisabled
	}
	return HeartbeatPong{Heartbeat: name, State: state, LastPing: now}, nil
}

// EnsureHeartbeats makes the running monitors match the config: every
// configured one runs with its current settings (a changed interval takes
// effect now), even if it has never been pinged, since a job that never
// runs must be noticed too; a monitor no longer configured (on this task
// queue) is cancelled, leaving any incident it opened to people. It is
// idempotent: every intake calls it at start-up.
func (in *Incidents) EnsureHeartbeats(ctx context.Context) error {
	var errs []error
	configured := map[string]bool{}
	for _, name := range in.Config.HeartbeatNames() {
		hc := heartbeatConfig(in.Config, in.Config.Heartbeats[name])
		opts, input := in.heartbeatStart(name, hc)
		configured[opts.ID] = true
		if _, err := in.Client.SignalWithStartWorkflow(ctx, opts.ID, workflows.SignalHeartbeatConfigure, hc, opts,
			workflows.HeartbeatWorkflowName, input); err != nil {
			errs = append(errs, fmt.Errorf("heartbeat %s: %w", name, err))
		}
	}
	var token []byte
	for {
		resp, err := in.Client.ListWorkflow(ctx, in.runningHeartbeats(token))
		if err != nil {
			errs = append(errs, fmt.Errorf("list running heartbeats: %w", err))
			break
		}
		for _, e := range resp.GetExecutions() {
			id := e.GetExecution().GetWorkflowId()
			if configured[id] || payloadString(e.GetMemo().GetFields()[memoManagedBy]) == managedByAPI {
				continue
			}
			if err := in.Client.CancelWorkflow(ctx, id, ""); err != nil && !isNotFound(err) {
				errs = append(errs, fmt.Errorf("stop %s, no longer configured: %w", id, err))
			}
		}
		if token = resp.GetNextPageToken(); len(token) == 0 {
			break
		}
	}
	return errors.Join(errs...)
}

func (in *Incidents) runningHeartbeats(token []byte) *workflowservice.ListWorkflowExecutionsRequest {
	return &workflowservice.ListWorkflowExecutionsRequest{
		Query: fmt.Sprintf("WorkflowType = '%s' AND ExecutionStatus = 'Running' AND TaskQueue = '%s'",
			workflows.HeartbeatWorkflowName, quoteless(in.TaskQueue)),
		NextPageToken: token,
	}
}

// StartHeartbeats runs EnsureHeartbeats in the background until it has
// succeeded once or ctx ends: `serve` starts while Temporal may still be
// down (it answers 503 meanwhile), and monitors must start once it is up.
func (in *Incidents) StartHeartbeats(ctx context.Context, log *slog.Logger) {
	go func() {
		wait := time.Second
		for {
			err := in.EnsureHeartbeats(ctx)
			n := len(in.Config.Heartbeats)
			if err == nil {
				if n > 0 {
					log.Info("heartbeat monitors running", "count", n)
				}
				return
			}
			if n == 0 {
				// Only tidying up was left to do: not worth a warning a minute.
				log.Info("could not look for heartbeat monitors no longer configured", "error", err)
				return
			}
			log.Warn("heartbeat monitors not all running yet; retrying", "in", wait, "error", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
			wait = min(2*wait, time.Minute)
		}
	}()
}

// HeartbeatItem is a monitor in a listing; Error says why its state could
// not be read (its state is then "unknown").
type HeartbeatItem struct {
	incident.HeartbeatView
	Error string `json:"error,omitempty"`
}

// Heartbeat reads one monitor's state, as of now.
func (in *Incidents) Heartbeat(ctx context.Context, name string) (incident.HeartbeatView, error) {
	managedBy := managedByConfig
	_, unknown := in.heartbeat(name)
	if unknown != nil {
		if !config.ValidHeartbeatName(name) {
			return incident.HeartbeatView{}, unknown
		}
		managedBy = managedByAPI
	}
	id := incident.HeartbeatWorkflowID(name)
	var view incident.HeartbeatView
	// A closed monitor (deleted, or stopped when it left the config) is
	// not running whatever its last state said.
	found, err := queryEntity(ctx, in.Client, id, incident.QueryHeartbeat, &view)
	switch {
	case err != nil:
		return incident.HeartbeatView{}, in.explain(ctx, id, err)
	case !found && unknown != nil:
		return incident.HeartbeatView{}, unknown
	case !found:
		return incident.HeartbeatView{}, &NotFound{Msg: fmt.Sprintf("heartbeat %s is configured but not running: it starts with the intake, or at its first ping", name)}
	}
	view.ManagedBy = managedBy
	return view.At(time.Now()), nil
}

// Heartbeats lists every monitor with its state: the configured ones,
// then those made over the API, each sorted by name. A configured one that
// cannot be read is listed from the config with the reason; if the API's
// cannot be listed, the error says so.
func (in *Incidents) Heartbeats(ctx context.Context) ([]HeartbeatItem, error) {
	names := in.Config.HeartbeatNames()
	made, listErr := in.apiHeartbeats(ctx)
	slices.Sort(made)
	names = append(names, made...)
	out := make([]HeartbeatItem, len(names))
	// A few queries at once: a long list answers in a few round trips
	// without flooding Temporal.
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			v, err := in.Heartbeat(ctx, name)
			if err != nil {
				if _, configured := in.Config.Heartbeats[name]; !configured {
					// Deleted since it was listed, or unreadable: its
					// settings are known only to its workflow.
					out[i] = HeartbeatItem{HeartbeatView: incident.HeartbeatView{Name: name, State: "unknown", ManagedBy: managedByAPI}, Error: err.Error()}
					return
				}
				hc := heartbeatConfig(in.Config, in.Config.Heartbeats[name])
				v = incident.HeartbeatView{Name: name, State: "unknown", Interval: hc.Interval, Grace: hc.Grace,
					Service: hc.Service, Severity: hc.Severity, Enabled: hc.Enabled, Incident: incident.HeartbeatKey(name), ManagedBy: managedByConfig}
				out[i].Error = err.Error()
			}
			out[i].HeartbeatView = v
		}()
	}
	wg.Wait()
	return out, listErr
}

// pingHeartbeat is GET|POST /v1/heartbeats/{name}/ping: an API token that
// may write (a read-only token only reads). The credential is checked
// before the name, so names are not told to strangers.
func (s *Server) pingHeartbeat(w http.ResponseWriter, r *http.Request) {
	t, ok := s.tokenOf(r, false)
	switch {
	case !ok:
		s.fail(w, r, errNoAPIToken)
		return
	case t.ReadOnly:
		s.fail(w, r, &Forbidden{Msg: fmt.Sprintf("token %s is read-only: a ping is a write", t.Name)})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.Timeout)
	defer cancel()
	pong, err := s.incidents.Ping(ctx, r.PathValue("name"), "api:"+t.Name)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, pong)
}

// opsgeniePing is Opsgenie's GET|POST|PUT|PATCH /v2/heartbeats/{name}/ping
// with an opsgenie integration's key, answered as Opsgenie answers. Unlike
// Opsgenie, an unknown name is a 404: a ping nobody watches should not
// look accepted.
func (s *Server) opsgeniePing(w http.ResponseWriter, r *http.Request) {
	q := newOGRequest(w)
	integ, err := s.opsgenieAuth(r)
	if err != nil {
		s.opsgenieFail(w, r, q, err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.Timeout)
	defer cancel()
	if _, err := s.incidents.Ping(ctx, r.PathValue("name"), "opsgenie:"+integ.Name); err != nil {
		s.opsgenieFail(w, r, q, err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"result": ogPong, "took": q.took(), "requestId": q.id})
}

// listHeartbeats is GET /v1/heartbeats.
func (s *Server) listHeartbeats(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), s.Timeout)
	defer cancel()
	list, err := s.incidents.Heartbeats(ctx)
	answer := map[string]any{"heartbeats": list}
	if err != nil {
		// The configured monitors are still worth showing.
		answer["error"] = err.Error()
	}
	writeJSON(w, http.StatusOK, answer)
}

// getHeartbeat is GET /v1/heartbeats/{name}.
func (s *Server) getHeartbeat(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), s.Timeout)
	defer cancel()
	v, err := s.incidents.Heartbeat(ctx, r.PathValue("name"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}
