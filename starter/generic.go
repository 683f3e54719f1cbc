package starter

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/incidentflow/incidentflow/config"
	"github.com/incidentflow/incidentflow/incident"
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
	Runbook  string         `json:"runbook_url"`
}

// genericEvent validates an alert and turns it into an alert event. A key
// over incident.MaxKey is refused; the title and details are cut, never
// refused, since refusing an alert pages nobody.
func genericEvent(cfg *config.Config, integ config.Integration, a genericAlert) (AlertEvent, error) {
	if strings.TrimSpace(a.Key) == "" {
		return AlertEvent{}, &BadRequest{Field: "key", Msg: "required (the dedup key)"}
	}
	if err := checkLen("key", a.Key, incident.MaxKey); err != nil {
		return AlertEvent{}, err
	}
	status := a.Status
	if status == "" {
		status = incident.AlertFiring
	}
	if status != incident.AlertFiring && status != incident.AlertResolved {
		return AlertEvent{}, &BadRequest{Field: "status", Msg: quote(a.Status) + " must be firing or resolved"}
	}
	service := integ.Service
	if a.Service != "" {
		if _, ok := cfg.Services[a.Service]; !ok {
			if err := checkLen("service", a.Service, incident.MaxName); err != nil {
				return AlertEvent{}, err
			}
			return AlertEvent{}, &BadRequest{Field: "service", Msg: fmt.Sprintf("unknown service %s", quote(a.Service))}
		}
		service = a.Service
	}
	values := map[string]string{"service": service}
	addDetails(values, a.Details)
	severity, err := severityOf(cfg, integ, a.Severity, "severity", values)
	if err != nil {
		return AlertEvent{}, err
	}
	title := incident.Cut(strings.TrimSpace(a.Title), incident.MaxTitle)
	if title == "" {
		title = a.Key
	}
	return AlertEvent{
		Key: a.Key, Title: title, Service: service, Severity: severity, Source: integ.Name,
		Alert: workflows.AlertSignal{
			Fingerprint: incident.CutID(a.Key, incident.MaxFingerprint), Status: status,
			Summary: title, Source: integ.Name, Labels: boundLabels(values), Runbook: incident.RunbookURL(a.Runbook),
		},
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
