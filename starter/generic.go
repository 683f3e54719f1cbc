package starter

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/incidentflow/incidentflow/config"
	"github.com/incidentflow/incidentflow/workflows"
)

// genericAlert is the small JSON form for scripts and tools with no
// standard format (POST /v1/alerts).
type genericAlert struct {
	Key      string         `json:"key"`
	Title    string         `json:"title"`
	Service  string         `json:"service"`
	Severity string         `json:"severity"`
	Status   string         `json:"status"`
	Details  map[string]any `json:"details"`
}

func genericEvent(cfg *config.Config, integ config.Integration, a genericAlert) (AlertEvent, error) {
	if strings.TrimSpace(a.Key) == "" {
		return AlertEvent{}, &BadRequest{Field: "key", Msg: "required (the dedup key)"}
	}
	status := a.Status
	if status == "" {
		status = workflows.AlertFiring
	}
	if status != workflows.AlertFiring && status != workflows.AlertResolved {
		return AlertEvent{}, &BadRequest{Field: "status", Msg: fmt.Sprintf("%q must be firing or resolved", a.Status)}
	}
	service := integ.Service
	if a.Service != "" {
		if _, ok := cfg.Services[a.Service]; !ok {
			return AlertEvent{}, &BadRequest{Field: "service", Msg: fmt.Sprintf("unknown service %q", a.Service)}
		}
		service = a.Service
	}
	values := map[string]string{"service": service}
	addDetails(values, a.Details)
	severity, err := severityOf(cfg, integ, a.Severity, "severity", values)
	if err != nil {
		return AlertEvent{}, err
	}
	title := strings.TrimSpace(a.Title)
	if title == "" {
		title = a.Key
	}
	return AlertEvent{
		Key: a.Key, Title: title, Service: service, Severity: severity, Source: integ.Name,
		Alert: workflows.AlertSignal{Fingerprint: a.Key, Status: status, Summary: title, Source: integ.Name, Labels: values},
	}, nil
}

func (s *Server) generic(w http.ResponseWriter, r *http.Request) {
	integ, err := s.authenticate(r, config.KindGeneric)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var a genericAlert
	if err := decodeJSON(r, &a); err != nil {
		s.fail(w, r, err)
		return
	}
	ev, err := genericEvent(s.cfg, integ, a)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	id, err := s.deliver(r.Context(), []AlertEvent{ev})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"status": "accepted", "incident_id": id, "alerts": 1})
}
