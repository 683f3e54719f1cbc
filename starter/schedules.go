package starter

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/incidentflow/incidentflow/config"
	"github.com/incidentflow/incidentflow/incident"
	"github.com/incidentflow/incidentflow/oncall"
	"github.com/incidentflow/incidentflow/workflows"
)

// AddOverride puts req.User on call for a schedule from req.Start to
// req.End, through the schedule's workflow (started by the first override).
func (in *Incidents) AddOverride(ctx context.Context, schedule string, req workflows.OverrideRequest) (incident.Override, error) {
	if err := in.checkOverride(schedule, req); err != nil {
		return incident.Override{}, err
	}
	id := incident.ScheduleWorkflowID(schedule)
	start := in.entityStart(id, "run-time overrides of schedule "+schedule, workflows.ScheduleWorkflowName, workflows.ScheduleInput{Schedule: schedule})
	var o incident.Override
	if err := in.updateEntity(ctx, start, id, workflows.UpdateAddOverride, req, &o); err != nil {
		return incident.Override{}, in.explainSchedule(ctx, schedule, err)
	}
	return o, nil
}

// checkOverride refuses what the workflow cannot know: unknown schedules
// and users.
func (in *Incidents) checkOverride(schedule string, req workflows.OverrideRequest) error {
	if _, ok := in.Config.Schedules[schedule]; !ok {
		return unknownSchedule(in.Config, schedule)
	}
	if req.User == "" {
		return &BadRequest{Field: "user", Msg: "required: the configured user who covers"}
	}
	if _, ok := in.Config.Users[req.User]; !ok {
		return &BadRequest{Field: "user", Msg: fmt.Sprintf("unknown user %q", incident.Cut(req.User, incident.MaxName))}
	}
	return nil
}

// RemoveOverride removes a run-time override by its id.
func (in *Incidents) RemoveOverride(ctx context.Context, schedule, overrideID, by string) (incident.Override, error) {
	if _, ok := in.Config.Schedules[schedule]; !ok {
		return incident.Override{}, unknownSchedule(in.Config, schedule)
	}
	var o incident.Override
	if err := in.updateEntity(ctx, nil, incident.ScheduleWorkflowID(schedule), workflows.UpdateRemoveOverride, workflows.RemoveOverrideRequest{ID: overrideID, By: by}, &o); err != nil {
		err = in.explainSchedule(ctx, schedule, err)
		var nf *NotFound
		if errors.As(err, &nf) {
			return incident.Override{}, &NotFound{Msg: fmt.Sprintf("schedule %s has no override %q", schedule, incident.Cut(overrideID, incident.MaxName))}
		}
		return incident.Override{}, err
	}
	return o, nil
}

// Overrides are a schedule's run-time overrides still to end.
func (in *Incidents) Overrides(ctx context.Context, schedule string) ([]incident.Override, error) {
	if _, ok := in.Config.Schedules[schedule]; !ok {
		return nil, unknownSchedule(in.Config, schedule)
	}
	out, err := OverrideReader{Client: in.Client}.Overrides(ctx, schedule)
	if err != nil {
		return nil, in.explainSchedule(ctx, schedule, err)
	}
	if out == nil {
		out = []incident.Override{}
	}
	return out, nil
}

// Schedule is a configured schedule with its run-time overrides. When
// those cannot be read, it is the config's alone and warning says why;
// without a Temporal client (config checks) it is the config's.
func (in *Incidents) Schedule(ctx context.Context, name string) (sched config.Schedule, warning string) {
	sched = in.Config.Schedules[name]
	if in.Client == nil {
		return sched, ""
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	extra, err := OverrideReader{Client: in.Client}.Overrides(ctx, name)
	if err != nil {
		return sched, "run-time overrides could not be read, so this is the config's schedule alone: " + err.Error()
	}
	return oncall.WithOverrides(sched, extra), ""
}

func unknownSchedule(cfg *config.Config, name string) error {
	return &NotFound{Msg: fmt.Sprintf("no schedule %q (one of %s)", incident.Cut(name, incident.MaxName), strings.Join(sortedSchedules(cfg), ", "))}
}

// explainSchedule maps the schedule workflow's errors onto the API's.
func (in *Incidents) explainSchedule(ctx context.Context, schedule string, err error) error {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) && appErr.Type() == workflows.OverrideNotFound {
		return &NotFound{Msg: appErr.Message()}
	}
	return in.explain(ctx, incident.ScheduleWorkflowID(schedule), err)
}

// overrideBody is POST /v1/schedules/{name}/overrides. Times are RFC
// 3339, or local to the schedule's time zone without an offset.
type overrideBody struct {
	User  string `json:"user"`
	Start string `json:"start"`
	End   string `json:"end"`
	By    string `json:"by"`
}

func (b overrideBody) request(cfg *config.Config, schedule, by string) (workflows.OverrideRequest, error) {
	req := workflows.OverrideRequest{User: b.User, By: by}
	sched, ok := cfg.Schedules[schedule]
	if !ok {
		return req, unknownSchedule(cfg, schedule)
	}
	loc, err := time.LoadLocation(sched.TimeZone)
	if err != nil {
		return req, &Conflict{Msg: fmt.Sprintf("schedule %s: %v", schedule, err)}
	}
	for _, f := range []struct {
		name, value string
		into        *time.Time
	}{{"start", b.Start, &req.Start}, {"end", b.End, &req.End}} {
		if f.value == "" {
			return req, &BadRequest{Field: f.name, Msg: "required: an RFC 3339 time (2026-11-24T20:00:00Z)"}
		}
		if *f.into, err = config.ParseTime(f.value, loc); err != nil {
			return req, &BadRequest{Field: f.name, Msg: incident.Cut(err.Error(), 200)}
		}
	}
	return req, nil
}

func (s *Server) addOverride(w http.ResponseWriter, r *http.Request) {
	var body overrideBody
	err := decodeCommand(r, &body)
	if err = s.authorize(r, err, &body.By); err != nil {
		s.fail(w, r, err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.Timeout)
	defer cancel()
	req, err := body.request(s.cfg, r.PathValue("name"), body.By)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	o, err := s.incidents.AddOverride(ctx, r.PathValue("name"), req)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, o)
}

func (s *Server) removeOverride(w http.ResponseWriter, r *http.Request) {
	by := r.URL.Query().Get("by")
	if err := s.authorize(r, nil, &by); err != nil {
		s.fail(w, r, err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.Timeout)
	defer cancel()
	o, err := s.incidents.RemoveOverride(ctx, r.PathValue("name"), r.PathValue("id"), by)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, o)
}

func (s *Server) listOverrides(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), s.Timeout)
	defer cancel()
	name := r.PathValue("name")
	out, err := s.incidents.Overrides(ctx, name)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"schedule": name, "overrides": out})
}

// pageNextOnCall: see Incidents.NextOnCall.
func (s *Server) pageNextOnCall(ctx context.Context, a *workflows.PageSomeoneRequest) error {
	return s.incidents.NextOnCall(ctx, a)
}

// NextOnCall turns "page schedule:NAME, next" into the user on call after
// the current shift, so the workflow pages a person it can name.
func (in *Incidents) NextOnCall(ctx context.Context, a *workflows.PageSomeoneRequest) error {
	name, ok := strings.CutPrefix(a.Target, "schedule:")
	if !ok {
		return &BadRequest{Field: "next", Msg: "only with a schedule:NAME target"}
	}
	if _, known := in.Config.Schedules[name]; !known {
		return &BadRequest{Field: "target", Msg: fmt.Sprintf("unknown schedule %q", incident.Cut(name, incident.MaxName))}
	}
	sched, _ := in.Schedule(ctx, name)
	sh, err := oncall.ShiftAt(sched, time.Now())
	if err != nil || sh.Next == "" {
		return &Conflict{Msg: fmt.Sprintf("schedule %s has nobody on call after the current shift", name)}
	}
	a.Target, a.Next = "user:"+sh.Next, false
	note := fmt.Sprintf("next on call for %s", name)
	if a.Note != "" {
		note += ": " + a.Note
	}
	a.Note = note
	return nil
}
