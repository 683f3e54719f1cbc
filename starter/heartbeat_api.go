package starter

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/incidentflow/incidentflow/config"
	"github.com/incidentflow/incidentflow/incident"
	"github.com/incidentflow/incidentflow/workflows"
)

// Monitors made over the API have no line in any file: their workflow is
// the only record, and its memo says so. EnsureHeartbeats, which stops
// monitors that left the config, leaves them alone.
const (
	memoManagedBy    = "managed_by"
	memoCreatedBy    = "created_by"
	managedByConfig  = "config"
	managedByAPI     = "api"
	heartbeatListCap = 1000
)

// HeartbeatChange is a monitor as the API makes it, or the fields a change
// sets (nil: keep).
type HeartbeatChange struct {
	Interval *config.Duration
	Grace    *config.Duration
	Service  *string
	Severity *string
	Enabled  *bool
}

func (c HeartbeatChange) apply(h config.Heartbeat) config.Heartbeat {
	if c.Interval != nil {
		h.Interval = *c.Interval
		if c.Grace == nil {
			// A grace settled from the old interval would no longer be a
			// tenth of the new one: settle it again.
			h.Grace = 0
		}
	}
	if c.Grace != nil {
		h.Grace = *c.Grace
	}
	if c.Service != nil {
		h.Service = *c.Service
	}
	if c.Severity != nil {
		h.Severity = *c.Severity
	}
	if c.Enabled != nil {
		h.Enabled = c.Enabled
	}
	return h
}

// checkHeartbeat validates a monitor made or changed over the API against
// the config, answering the first problem as a 400 naming its field.
func (in *Incidents) checkHeartbeat(name string, h config.Heartbeat) (config.Heartbeat, error) {
	var bad *BadRequest
	h = in.Config.CheckHeartbeat(name, h, "", func(key, format string, args ...any) {
		if bad == nil {
			bad = &BadRequest{Field: key, Msg: fmt.Sprintf(format, args...)}
		}
	})
	if bad != nil {
		return h, bad
	}
	return h, nil
}

func (in *Incidents) refuseConfigured(name, what string) error {
	if _, ok := in.Config.Heartbeats[name]; ok {
		return &Conflict{Msg: fmt.Sprintf("heartbeat %s is defined in the config file (heartbeats.%s): %s it there", name, name, what)}
	}
	return nil
}

// CreateHeartbeat starts a monitor that lives only in Temporal. A name the
// config uses, or a monitor already running, is a conflict.
func (in *Incidents) CreateHeartbeat(ctx context.Context, name string, c HeartbeatChange, by string) (incident.HeartbeatView, error) {
	if err := in.refuseConfigured(name, "change"); err != nil {
		return incident.HeartbeatView{}, err
	}
	h, err := in.checkHeartbeat(name, c.apply(config.Heartbeat{}))
	if err != nil {
		return incident.HeartbeatView{}, err
	}
	hc := heartbeatConfig(in.Config, h)
	opts, input := in.heartbeatStart(name, hc)
	opts.WorkflowExecutionErrorWhenAlreadyStarted = true
	opts.Memo = map[string]any{memoManagedBy: managedByAPI, memoCreatedBy: by}
	if _, err := in.Client.ExecuteWorkflow(ctx, opts, workflows.HeartbeatWorkflowName, input); err != nil {
		var started *serviceerror.WorkflowExecutionAlreadyStarted
		if errors.As(err, &started) {
			return incident.HeartbeatView{}, &Conflict{Msg: fmt.Sprintf("heartbeat %s exists: change it with PATCH /v1/heartbeats/%s", name, name)}
		}
		return incident.HeartbeatView{}, in.explain(ctx, opts.ID, err)
	}
	// What the monitor starts as, without waiting on a worker to answer a
	// query: it begins watching now.
	now := time.Now().UTC()
	v := incident.HeartbeatView{
		Name: name, State: incident.HeartbeatWaiting, WatchingSince: now,
		Interval: hc.Interval, Grace: hc.Grace, Service: hc.Service, Severity: hc.Severity, Enabled: hc.Enabled,
		Incident: incident.HeartbeatKey(name), ManagedBy: managedByAPI,
	}
	if hc.Enabled {
		expected := now.Add(time.Duration(hc.Interval))
		due := expected.Add(time.Duration(hc.Grace))
		v.ExpectedBy, v.NextDue = &expected, &due
	} else {
		v.State = incident.HeartbeatDisabled
	}
	return v, nil
}

// ChangeHeartbeat changes a monitor made over the API and answers what it
// has become, from the monitor itself.
func (in *Incidents) ChangeHeartbeat(ctx context.Context, name string, c HeartbeatChange) (incident.HeartbeatView, error) {
	if err := in.refuseConfigured(name, "change"); err != nil {
		return incident.HeartbeatView{}, err
	}
	cur, err := in.Heartbeat(ctx, name)
	if err != nil {
		return incident.HeartbeatView{}, err
	}
	enabled := cur.Enabled
	h, err := in.checkHeartbeat(name, c.apply(config.Heartbeat{
		Interval: config.Duration(cur.Interval), Grace: config.Duration(cur.Grace),
		Service: cur.Service, Severity: cur.Severity, Enabled: &enabled,
	}))
	if err != nil {
		return incident.HeartbeatView{}, err
	}
	id := incident.HeartbeatWorkflowID(name)
	handle, err := in.Client.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: id, UpdateName: workflows.UpdateHeartbeatConfigure,
		Args: []any{heartbeatConfig(in.Config, h)}, WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err != nil {
		return incident.HeartbeatView{}, in.notRunning(ctx, name, err)
	}
	var v incident.HeartbeatView
	if err := handle.Get(ctx, &v); err != nil {
		return incident.HeartbeatView{}, in.notRunning(ctx, name, err)
	}
	v.ManagedBy = managedByAPI
	return v.At(time.Now()), nil
}

// DeleteHeartbeat stops a monitor made over the API. An incident it opened
// stays open, for people to close.
func (in *Incidents) DeleteHeartbeat(ctx context.Context, name string) error {
	if err := in.refuseConfigured(name, "remove"); err != nil {
		return err
	}
	if err := in.Client.CancelWorkflow(ctx, incident.HeartbeatWorkflowID(name), ""); err != nil {
		return in.notRunning(ctx, name, err)
	}
	return nil
}

func (in *Incidents) notRunning(ctx context.Context, name string, err error) error {
	if isNotFound(err) {
		// Never made, or deleted: a closed monitor takes no change.
		return &NotFound{Msg: fmt.Sprintf("no heartbeat %q", incident.Cut(name, incident.MaxName))}
	}
	return in.explain(ctx, incident.HeartbeatWorkflowID(name), err)
}

// apiHeartbeats lists the running monitors made over the API, from
// visibility, sorted by name.
func (in *Incidents) apiHeartbeats(ctx context.Context) ([]string, error) {
	var names []string
	var token []byte
	for len(names) < heartbeatListCap {
		resp, err := in.Client.ListWorkflow(ctx, in.runningHeartbeats(token))
		if err != nil {
			return names, fmt.Errorf("list heartbeats made over the API: %w", err)
		}
		for _, e := range resp.GetExecutions() {
			if payloadString(e.GetMemo().GetFields()[memoManagedBy]) != managedByAPI {
				continue
			}
			name := heartbeatName(e.GetExecution().GetWorkflowId())
			if _, configured := in.Config.Heartbeats[name]; !configured {
				names = append(names, name)
			}
		}
		if token = resp.GetNextPageToken(); len(token) == 0 {
			break
		}
	}
	return names, nil
}

func heartbeatName(workflowID string) string {
	return workflowID[len(incident.HeartbeatWorkflowID("")):]
}

// heartbeatBody is POST /v1/heartbeats and PATCH /v1/heartbeats/{name}.
type heartbeatBody struct {
	Name     string  `json:"name"`
	Interval *string `json:"interval"`
	Grace    *string `json:"grace"`
	Service  *string `json:"service"`
	Severity *string `json:"severity"`
	Enabled  *bool   `json:"enabled"`
	By       string  `json:"by"`
}

func (b heartbeatBody) change() (HeartbeatChange, error) {
	c := HeartbeatChange{Service: b.Service, Severity: b.Severity, Enabled: b.Enabled}
	for _, f := range []struct {
		name  string
		value *string
		into  **config.Duration
	}{{"interval", b.Interval, &c.Interval}, {"grace", b.Grace, &c.Grace}} {
		if f.value == nil {
			continue
		}
		d, err := time.ParseDuration(*f.value)
		if err != nil {
			return c, &BadRequest{Field: f.name, Msg: fmt.Sprintf("%q is not a duration (90s, 1h, 24h)", incident.Cut(*f.value, 40))}
		}
		cd := config.Duration(d)
		*f.into = &cd
	}
	return c, nil
}

func (s *Server) createHeartbeat(w http.ResponseWriter, r *http.Request) {
	var body heartbeatBody
	err := decodeCommand(r, &body)
	if err = s.authorize(r, err, &body.By); err != nil {
		s.fail(w, r, err)
		return
	}
	c, err := body.change()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.Timeout)
	defer cancel()
	v, err := s.incidents.CreateHeartbeat(ctx, body.Name, c, body.By)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, v)
}

func (s *Server) changeHeartbeat(w http.ResponseWriter, r *http.Request) {
	var body heartbeatBody
	err := decodeCommand(r, &body)
	if err = s.authorize(r, err, &body.By); err != nil {
		s.fail(w, r, err)
		return
	}
	if body.Name != "" && body.Name != r.PathValue("name") {
		s.fail(w, r, &BadRequest{Field: "name", Msg: "a monitor cannot be renamed: create the new one and delete this one"})
		return
	}
	c, err := body.change()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.Timeout)
	defer cancel()
	v, err := s.incidents.ChangeHeartbeat(ctx, r.PathValue("name"), c)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (s *Server) deleteHeartbeat(w http.ResponseWriter, r *http.Request) {
	by := r.URL.Query().Get("by")
	if err := s.authorize(r, nil, &by); err != nil {
		s.fail(w, r, err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.Timeout)
	defer cancel()
	name := r.PathValue("name")
	if err := s.incidents.DeleteHeartbeat(ctx, name); err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"heartbeat": name, "deleted": true, "by": by})
}
