package starter

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/incidentflow/incidentflow/config"
	"github.com/incidentflow/incidentflow/workflows"
)

// eventsV2 is a PagerDuty Events API v2 event (POST /v2/enqueue), the
// format Grafana, Datadog, Zabbix, Sentry and many others can send.
type eventsV2 struct {
	RoutingKey  string          `json:"routing_key"`
	EventAction string          `json:"event_action"`
	DedupKey    string          `json:"dedup_key"`
	Payload     *eventsV2Detail `json:"payload"`
	Client      string          `json:"client"`
	ClientURL   string          `json:"client_url"`
}

type eventsV2Detail struct {
	Summary       string         `json:"summary"`
	Source        string         `json:"source"`
	Severity      string         `json:"severity"`
	Timestamp     string         `json:"timestamp"`
	Component     string         `json:"component"`
	Group         string         `json:"group"`
	Class         string         `json:"class"`
	CustomDetails map[string]any `json:"custom_details"`
}

// eventsV2Event validates an event and turns it into an alert event, or,
// for acknowledge, into the incident to acknowledge.
func eventsV2Event(cfg *config.Config, integ config.Integration, e eventsV2) (AlertEvent, error) {
	switch e.EventAction {
	case "trigger", "acknowledge", "resolve":
	case "":
		return AlertEvent{}, &BadRequest{Field: "event_action", Msg: "required (trigger, acknowledge or resolve)"}
	default:
		return AlertEvent{}, &BadRequest{Field: "event_action", Msg: fmt.Sprintf("%q must be trigger, acknowledge or resolve", e.EventAction)}
	}
	if e.EventAction != "trigger" {
		if strings.TrimSpace(e.DedupKey) == "" {
			return AlertEvent{}, &BadRequest{Field: "dedup_key", Msg: "required to " + e.EventAction}
		}
		status := workflows.AlertResolved
		return AlertEvent{Key: e.DedupKey, Source: integ.Name, Alert: workflows.AlertSignal{Fingerprint: e.DedupKey, Status: status, Source: integ.Name}}, nil
	}
	p := e.Payload
	switch {
	case p == nil:
		return AlertEvent{}, &BadRequest{Field: "payload", Msg: "required to trigger"}
	case strings.TrimSpace(p.Summary) == "":
		return AlertEvent{}, &BadRequest{Field: "payload.summary", Msg: "required"}
	case len(p.Summary) > 1024:
		return AlertEvent{}, &BadRequest{Field: "payload.summary", Msg: "longer than 1024 characters"}
	case strings.TrimSpace(p.Source) == "":
		return AlertEvent{}, &BadRequest{Field: "payload.source", Msg: "required"}
	case p.Severity == "":
		return AlertEvent{}, &BadRequest{Field: "payload.severity", Msg: "required (critical, error, warning or info)"}
	}
	values := map[string]string{"source": p.Source, "component": p.Component, "group": p.Group, "class": p.Class}
	addDetails(values, p.CustomDetails)
	service := integ.Service
	if svc, ok := values["service"]; ok {
		if _, known := cfg.Services[svc]; known {
			service = svc
		}
	}
	values["service"] = service
	severity, err := severityOf(cfg, integ, p.Severity, "payload.severity", values)
	if err != nil {
		return AlertEvent{}, err
	}
	key := e.DedupKey
	if strings.TrimSpace(key) == "" {
		// Without a key, the same alert from the same source is one incident.
		sum := sha256.Sum256([]byte(integ.Name + "\x00" + p.Source + "\x00" + p.Component + "\x00" + p.Summary))
		key = hex.EncodeToString(sum[:16])
	}
	return AlertEvent{
		Key: key, Title: p.Summary, Service: service, Severity: severity, Source: integ.Name,
		Alert: workflows.AlertSignal{Fingerprint: key, Status: workflows.AlertFiring, Summary: p.Summary, Source: integ.Name, Labels: values},
	}, nil
}

// severityOf maps a sender's severity onto the config's; an unknown value
// falls to the triage rules, then to the integration's default.
func severityOf(cfg *config.Config, integ config.Integration, given, field string, values map[string]string) (string, error) {
	if sev, ok := cfg.NormalizeSeverity(given); ok {
		return sev, nil
	}
	if given != "" && !strings.EqualFold(given, "auto") {
		return "", &BadRequest{Field: field, Msg: fmt.Sprintf("unknown severity %q (%s, or an alias such as critical, error, warning, info)", given, strings.Join(cfg.SeverityNames(), ", "))}
	}
	return triaged(cfg, values, integ.DefaultSeverity), nil
}

func (s *Server) eventsV2(w http.ResponseWriter, r *http.Request) {
	var e eventsV2
	if err := decodeJSON(r, &e); err != nil {
		s.failEventsV2(w, r, err)
		return
	}
	if strings.TrimSpace(e.RoutingKey) == "" {
		s.failEventsV2(w, r, &BadRequest{Field: "routing_key", Msg: "required (the integration key)"})
		return
	}
	integ, err := s.integrationFor(config.KindEventsV2, e.RoutingKey)
	if err != nil {
		s.failEventsV2(w, r, err)
		return
	}
	ev, err := eventsV2Event(s.cfg, integ, e)
	if err != nil {
		s.failEventsV2(w, r, err)
		return
	}
	if e.EventAction == "acknowledge" {
		err = s.ackFromIntegration(r, integ, ev.Key)
	} else {
		_, err = s.deliver(r.Context(), []AlertEvent{ev})
	}
	if err != nil {
		s.failEventsV2(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"status": "success", "message": "Event processed", "dedup_key": ev.Key})
}

// ackFromIntegration acknowledges the open incident of key, if any, as the
// sending tool did (someone acked in Grafana, say).
func (s *Server) ackFromIntegration(r *http.Request, integ config.Integration, key string) error {
	ctx, cancel := context.WithTimeout(r.Context(), s.Timeout)
	defer cancel()
	err := s.incidents.Signal(ctx, workflows.IncidentID(key), workflows.SignalAck, workflows.ActionRequest{By: "integration:" + integ.Name})
	var nf *NotFound
	var conflict *Conflict
	if errors.As(err, &nf) || errors.As(err, &conflict) {
		return nil
	}
	return err
}

// failEventsV2 answers in the contract's shape and PagerDuty's at once, so
// tools written for either understand a rejection.
func (s *Server) failEventsV2(w http.ResponseWriter, r *http.Request, err error) {
	var bad *BadRequest
	if errors.As(err, &bad) {
		writeJSON(w, http.StatusBadRequest, map[string]any{
			"error": bad.Error(), "status": "invalid event", "message": "Event object is invalid", "errors": []string{bad.Error()},
		})
		return
	}
	s.fail(w, r, err)
}

// addDetails copies the scalar fields of a sender's details into values,
// where triage rules and alert labels can see them.
func addDetails(values map[string]string, details map[string]any) {
	for k, v := range details {
		switch v := v.(type) {
		case string:
			values[k] = v
		case float64, bool:
			values[k] = fmt.Sprint(v)
		}
	}
}
