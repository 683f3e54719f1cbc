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
	"github.com/incidentflow/incidentflow/incident"
	"github.com/incidentflow/incidentflow/workflows"
)

// maxEventsV2Bytes is PagerDuty's limit on one event: a bigger one is
// refused with a 400, as PagerDuty does, before it is decoded.
const maxEventsV2Bytes = 512 << 10

// eventsV2 is a PagerDuty Events API v2 event (POST /v2/enqueue), the
// format Grafana, Datadog, Zabbix, Sentry and many others can send.
type eventsV2 struct {
	RoutingKey  string          `json:"routing_key"`
	EventAction string          `json:"event_action"`
	DedupKey    string          `json:"dedup_key"`
	Payload     *eventsV2Detail `json:"payload"`
	Client      string          `json:"client"`
	ClientURL   string          `json:"client_url"`
	// Links are PagerDuty's {href, text}; the first http(s) one is taken
	// as the runbook.
	Links []struct {
		Href string `json:"href"`
		Text string `json:"text"`
	} `json:"links"`
}

func (e eventsV2) runbook() string {
	for _, l := range e.Links {
		if u := incident.RunbookURL(l.Href); u != "" {
			return u
		}
	}
	return ""
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
// for acknowledge, into the incident to acknowledge. A dedup_key over
// incident.MaxKey is refused; the summary, details and source are cut, never
// refused, since refusing an alert pages nobody.
func eventsV2Event(cfg *config.Config, integ config.Integration, e eventsV2) (AlertEvent, error) {
	switch e.EventAction {
	case "trigger", "acknowledge", "resolve":
	case "":
		return AlertEvent{}, &BadRequest{Field: "event_action", Msg: "required (trigger, acknowledge or resolve)"}
	default:
		return AlertEvent{}, &BadRequest{Field: "event_action", Msg: quote(e.EventAction) + " must be trigger, acknowledge or resolve"}
	}
	if err := checkLen("dedup_key", e.DedupKey, incident.MaxKey); err != nil {
		return AlertEvent{}, err
	}
	if e.EventAction != "trigger" {
		if strings.TrimSpace(e.DedupKey) == "" {
			return AlertEvent{}, &BadRequest{Field: "dedup_key", Msg: "required to " + e.EventAction}
		}
		status := incident.AlertResolved
		// The same fingerprint as the trigger's, so the resolve finds its alert.
		fingerprint := incident.CutID(e.DedupKey, incident.MaxFingerprint)
		return AlertEvent{Key: e.DedupKey, Source: integ.Name, Alert: workflows.AlertSignal{Fingerprint: fingerprint, Status: status, Source: integ.Name}}, nil
	}
	p := e.Payload
	switch {
	case p == nil:
		return AlertEvent{}, &BadRequest{Field: "payload", Msg: "required to trigger"}
	case strings.TrimSpace(p.Summary) == "":
		return AlertEvent{}, &BadRequest{Field: "payload.summary", Msg: "required"}
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
	// Triage saw every detail in full; the signal keeps a bounded copy, and
	// the source, a host name, is held to incident.MaxName.
	labels := boundLabels(values)
	if src, ok := labels["source"]; ok {
		labels["source"] = incident.Cut(src, incident.MaxName)
	}
	key := e.DedupKey
	if strings.TrimSpace(key) == "" {
		// Without a key, the same alert from the same source is one incident
		// (the whole summary counts, not only what is kept of it).
		sum := sha256.Sum256([]byte(integ.Name + "\x00" + p.Source + "\x00" + p.Component + "\x00" + p.Summary))
		key = hex.EncodeToString(sum[:16])
	}
	summary := incident.Cut(p.Summary, incident.MaxTitle)
	return AlertEvent{
		Key: key, Title: summary, Service: service, Severity: severity, Source: integ.Name,
		Alert: workflows.AlertSignal{
			Fingerprint: incident.CutID(key, incident.MaxFingerprint), Status: incident.AlertFiring,
			Summary: summary, Source: integ.Name, Labels: labels, Runbook: e.runbook(), StartsAt: startedAt(p.Timestamp),
		},
	}, nil
}

// severityOf maps a sender's severity onto the config's; an unknown value
// falls to the triage rules, then to the integration's default. Any other
// value is refused, one over incident.MaxName as too long: only a
// configured severity ever reaches the incident.
func severityOf(cfg *config.Config, integ config.Integration, given, field string, values map[string]string) (string, error) {
	if sev, ok := cfg.NormalizeSeverity(given); ok {
		return sev, nil
	}
	if given != "" && !strings.EqualFold(given, "auto") {
		if err := checkLen(field, given, incident.MaxName); err != nil {
			return "", err
		}
		return "", &BadRequest{Field: field, Msg: fmt.Sprintf("unknown severity %s (%s, or an alias such as critical, error, warning, info)", quote(given), strings.Join(cfg.SeverityNames(), ", "))}
	}
	return triaged(cfg, values, integ.DefaultSeverity), nil
}

func (s *Server) eventsV2(w http.ResponseWriter, r *http.Request) {
	var e eventsV2
	if err := decodeEventsV2(r, &e); err != nil {
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
	noteIntegration(r, integ.Name)
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

// decodeEventsV2 refuses an event over PagerDuty's 512 KB before decoding
// it. A body over http.max_body_bytes is still a 413, as on every endpoint.
func decodeEventsV2(r *http.Request, e *eventsV2) error {
	body, err := readBody(r)
	if err != nil {
		return err
	}
	if len(body) > maxEventsV2Bytes {
		return tooLong(&incident.TooLong{Field: "body", Limit: maxEventsV2Bytes, Got: len(body)})
	}
	return unmarshalBody(body, e)
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
