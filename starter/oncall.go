package starter

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	ics "github.com/arran4/golang-ical"

	"github.com/incidentflow/incidentflow/config"
	"github.com/incidentflow/incidentflow/incident"
	"github.com/incidentflow/incidentflow/oncall"
)

// OnCall is one schedule's shift at a moment.
type OnCall struct {
	Schedule string `json:"schedule"`
	oncall.Shift
	// Error says why nobody is on call.
	Error string `json:"error,omitempty"`
	// Warning says the run-time overrides could not be read.
	Warning string `json:"warning,omitempty"`
}

// getOnCall answers GET /v1/oncall[?schedule=S&at=RFC3339]: who is on call
// now (or at), since and until when, and who is next, for one schedule or
// every one.
func (s *Server) getOnCall(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	for k := range q {
		if k != "schedule" && k != "at" {
			s.fail(w, r, &BadRequest{Field: k, Msg: "unknown filter (schedule, at)"})
			return
		}
	}
	at := time.Now()
	if v := q.Get("at"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			s.fail(w, r, &BadRequest{Field: "at", Msg: fmt.Sprintf("%q is not an RFC 3339 time (2026-11-24T09:00:00Z)", v)})
			return
		}
		at = t
	}
	var names []string
	if name := q.Get("schedule"); name != "" {
		if _, ok := s.cfg.Schedules[name]; !ok {
			s.fail(w, r, &NotFound{Msg: fmt.Sprintf("no schedule %q (one of %s)", name, strings.Join(sortedSchedules(s.cfg), ", "))})
			return
		}
		names = []string{name}
	} else {
		names = sortedSchedules(s.cfg)
	}
	writeJSON(w, http.StatusOK, map[string]any{"at": at.UTC(), "oncall": s.incidents.OnCall(r.Context(), names, at)})
}

// OnCall is who is on call at at in each named schedule, run-time
// overrides included.
func (in *Incidents) OnCall(ctx context.Context, names []string, at time.Time) []OnCall {
	out := make([]OnCall, 0, len(names))
	for _, name := range names {
		sched, warning := in.Schedule(ctx, name)
		sh, err := oncall.ShiftAt(sched, at)
		oc := OnCall{Schedule: name, Shift: sh, Warning: warning}
		if err != nil {
			oc.Error = err.Error()
		}
		out = append(out, oc)
	}
	return out
}

func sortedSchedules(cfg *config.Config) []string {
	names := make([]string, 0, len(cfg.Schedules))
	for n := range cfg.Schedules {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// getScheduleICS answers GET /v1/schedules/{name}.ics[?user=U&weeks=N]: the
// next weeks' shifts (8 by default) as an iCalendar feed that Google
// Calendar and Outlook subscribe to, optionally only one person's.
func (s *Server) getScheduleICS(w http.ResponseWriter, r *http.Request) {
	file := r.PathValue("file")
	name, ok := strings.CutSuffix(file, ".ics")
	_, known := s.cfg.Schedules[name]
	if !ok || !known {
		s.fail(w, r, &NotFound{Msg: fmt.Sprintf("no schedule feed %q (one of %s, as NAME.ics)", incident.Cut(file, incident.MaxName), strings.Join(sortedSchedules(s.cfg), ", "))})
		return
	}
	q := r.URL.Query()
	weeks := 8
	if v := q.Get("weeks"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 26 {
			s.fail(w, r, &BadRequest{Field: "weeks", Msg: fmt.Sprintf("%q must be a whole number from 1 to 26", v)})
			return
		}
		weeks = n
	}
	user := q.Get("user")
	if _, ok := s.cfg.Users[user]; user != "" && !ok {
		s.fail(w, r, &BadRequest{Field: "user", Msg: fmt.Sprintf("unknown user %q", incident.Cut(user, incident.MaxName))})
		return
	}
	now := time.Now()
	sched, warning := s.incidents.Schedule(r.Context(), name)
	if warning != "" {
		s.log.Warn("serving a calendar without run-time overrides", "schedule", name, "warning", warning)
	}
	shifts, err := oncall.Shifts(sched, now, now.Add(time.Duration(weeks)*7*24*time.Hour))
	if err != nil {
		s.fail(w, r, &Conflict{Msg: fmt.Sprintf("schedule %s: %v", name, err)})
		return
	}
	cal := ics.NewCalendar()
	cal.SetMethod(ics.MethodPublish)
	cal.SetProductId("-//incidentflow//on-call//EN")
	title := "On call: " + name
	if user != "" {
		title += " (" + user + ")"
	}
	cal.SetName(title)
	cal.SetXWRCalName(title)
	cal.SetRefreshInterval("PT1H")
	for _, sh := range shifts {
		if user != "" && sh.User != user {
			continue
		}
		ev := cal.AddEvent(fmt.Sprintf("%s-%s-%d@incidentflow", name, sh.User, sh.Start.Unix()))
		ev.SetDtStampTime(now)
		ev.SetStartAt(sh.Start)
		ev.SetEndAt(sh.End)
		ev.SetSummary(fmt.Sprintf("On call: %s (%s)", sh.User, name))
		ev.SetDescription(fmt.Sprintf("%s is on call for %s; %s takes over at the end.", sh.User, name, orNobody(sh.Next)))
	}
	w.Header().Set("Content-Type", "text/calendar; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf("inline; filename=%q", name+".ics"))
	w.WriteHeader(http.StatusOK)
	_ = cal.SerializeTo(w)
}

func orNobody(user string) string {
	if user == "" {
		return "nobody"
	}
	return user
}
