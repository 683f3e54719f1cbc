package starter

import (
	"fmt"
	"maps"
	"net/http"

	"github.com/incidentflow/incidentflow/config"
)

// grafanaExtras are Grafana's own fields beside the Alertmanager webhook
// its unified alerting sends (version "1"). They are read apart, not
// embedded, so a type error names the field as the sender wrote it.
type grafanaExtras struct {
	OrgID   int    `json:"orgId"`
	Title   string `json:"title"`
	State   string `json:"state"`
	Message string `json:"message"`
}

// grafana takes Grafana's webhook contact point: its groupKey is the
// incident key, as Alertmanager's is, and its alerts go the same way.
func (s *Server) grafana(w http.ResponseWriter, r *http.Request) {
	integ, err := s.authenticate(r, config.KindGrafana)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var am alertmanagerWebhook
	var payload grafanaExtras
	body, err := readBody(r)
	if err == nil {
		err = unmarshalBody(body, &am)
	}
	if err == nil {
		err = unmarshalBody(body, &payload)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if v := am.Version; v != "" && v != "1" {
		s.fail(w, r, &BadRequest{Field: "version", Msg: fmt.Sprintf("unsupported Grafana webhook version %s (want \"1\")", quote(v))})
		return
	}
	am.Version = ""
	if am.CommonAnnotations["summary"] == "" && payload.Title != "" {
		// Grafana's title ("[FIRING:1] HighCPU ...") beats the alert name
		// when no summary is set.
		am.CommonAnnotations = withSummary(am.CommonAnnotations, payload.Title)
	}
	events, err := alertmanagerEvents(s.cfg, integ, am)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	id, err := s.deliver(r.Context(), events)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"status": "accepted", "incident_id": id, "alerts": len(events)})
}

func withSummary(annotations map[string]string, summary string) map[string]string {
	out := maps.Clone(annotations)
	if out == nil {
		out = map[string]string{}
	}
	out["summary"] = summary
	return out
}
