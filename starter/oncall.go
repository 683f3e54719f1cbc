package starter

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/incidentflow/incidentflow/oncall"
)

// OnCall is one schedule's shift at a moment.
type OnCall struct {
	Schedule string `json:"schedule"`
	oncall.Shift
	// Error says why nobody is on call.
	Error string `json:"error,omitempty"`
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
			s.fail(w, r, &NotFound{Msg: fmt.Sprintf("no schedule %q (one of %s)", name, strings.Join(scheduleNames(s), ", "))})
			return
		}
		names = []string{name}
	} else {
		names = scheduleNames(s)
	}
	out := []OnCall{}
	for _, name := range names {
		sh, err := oncall.ShiftAt(s.cfg.Schedules[name], at)
		oc := OnCall{Schedule: name, Shift: sh}
		if err != nil {
			oc.Error = err.Error()
		}
		out = append(out, oc)
	}
	writeJSON(w, http.StatusOK, map[string]any{"at": at.UTC(), "oncall": out})
}

func scheduleNames(s *Server) []string {
	names := make([]string, 0, len(s.cfg.Schedules))
	for n := range s.cfg.Schedules {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}
