package starter

import (
	"context"
	"net/http"

	"github.com/incidentflow/incidentflow/workflows"
)

// declareBody is POST /v1/incidents.
type declareBody struct {
	Title     string `json:"title"`
	Service   string `json:"service"`
	Severity  string `json:"severity"`
	Commander string `json:"commander"`
	By        string `json:"by"`
}

// declareIncident opens an incident by hand and answers 201 with it; the
// commander named in the body, else whoever declares, takes the role.
func (s *Server) declareIncident(w http.ResponseWriter, r *http.Request) {
	var body declareBody
	err := decodeCommand(r, &body)
	if err = s.authorize(r, err, &body.By); err != nil {
		s.fail(w, r, err)
		return
	}
	if body.Service == "" && len(s.cfg.Services) == 1 {
		for name := range s.cfg.Services {
			body.Service = name
		}
	}
	if body.Service == "" {
		s.fail(w, r, &BadRequest{Field: "service", Msg: "required: one of the configured services"})
		return
	}
	if body.Commander != "" {
		if err := s.checkUser("commander", body.Commander); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.Timeout)
	defer cancel()
	id, err := s.incidents.Declare(ctx, Declaration{Service: body.Service, Severity: body.Severity, Title: body.Title, By: body.By, Commander: body.Commander})
	if id == "" {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/v1/incidents/"+id)
	var st *workflows.Incident
	if err == nil {
		st, err = s.incidents.Get(ctx, id)
	}
	if err != nil {
		// Declared all the same: say so, with what is known.
		writeJSON(w, http.StatusCreated, map[string]any{"id": id, "warning": err.Error()})
		return
	}
	writeJSON(w, http.StatusCreated, st)
}
