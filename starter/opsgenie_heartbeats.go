package starter

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/incidentflow/incidentflow/config"
	"github.com/incidentflow/incidentflow/incident"
)

// Opsgenie's Heartbeat API, the part scripts use to manage monitors
// (create, change, enable, disable, delete, read), so a pipeline that
// registers its own heartbeat moves with only its URL changed. Monitors
// made here are the API's (managed_by api), on the integration's service,
// at the severity its priority map gives alertPriority. Opsgenie's owner
// team, alert message, tags and description have nothing to act on here:
// they are accepted and not kept, and the answer says so in a header.

// ogHeartbeat is Opsgenie's create and update body.
type ogHeartbeat struct {
	Name          string   `json:"name"`
	Description   string   `json:"description"`
	Interval      *int     `json:"interval"`
	IntervalUnit  string   `json:"intervalUnit"`
	Enabled       *bool    `json:"enabled"`
	AlertPriority string   `json:"alertPriority"`
	AlertMessage  string   `json:"alertMessage"`
	AlertTags     []string `json:"alertTags"`
	OwnerTeam     any      `json:"ownerTeam"`
}

// ogUnits are Opsgenie's interval units, largest first (for answering).
var ogUnits = []struct {
	name string
	d    time.Duration
}{{"days", 24 * time.Hour}, {"hours", time.Hour}, {"minutes", time.Minute}}

const ogIgnoredHeader = "X-Incidentflow-Ignored"

// change turns the body into a monitor change: on create, interval is
// required and everything else has Opsgenie's defaults (minutes, enabled).
func (b ogHeartbeat) change(cfg *config.Config, integ config.Integration, create bool) (HeartbeatChange, error) {
	bad := ogInvalid{}
	var c HeartbeatChange
	unit := strings.ToLower(strings.TrimSpace(b.IntervalUnit))
	if unit == "" {
		unit = "minutes"
	}
	var per time.Duration
	for _, u := range ogUnits {
		if u.name == unit {
			per = u.d
		}
	}
	switch {
	case per == 0:
		bad["intervalUnit"] = fmt.Sprintf("%s must be minutes, hours or days", quote(b.IntervalUnit))
	case b.Interval != nil && *b.Interval < 1:
		bad["interval"] = "must be at least 1"
	case b.Interval != nil:
		d := config.Duration(time.Duration(*b.Interval) * per)
		c.Interval = &d
	case create:
		bad["interval"] = "required"
	case b.IntervalUnit != "":
		bad["interval"] = "required with intervalUnit"
	}
	if create {
		c.Service = &integ.Service
		on := b.Enabled == nil || *b.Enabled
		c.Enabled = &on
	} else {
		c.Enabled = b.Enabled
	}
	if p := strings.TrimSpace(b.AlertPriority); p != "" || create {
		sev, ok := cfg.OpsgenieSeverity(integ, cmpOr(p, ogDefaultPriority))
		if !ok {
			bad["alertPriority"] = fmt.Sprintf("%s must be one of %s", quote(b.AlertPriority), strings.Join(config.OpsgeniePriorities, ", "))
		}
		c.Severity = &sev
	}
	if len(bad) > 0 {
		return c, bad
	}
	return c, nil
}

// ignored names the fields given that have no meaning here.
func (b ogHeartbeat) ignored() string {
	var out []string
	for _, f := range []struct {
		name string
		set  bool
	}{{"description", b.Description != ""}, {"alertMessage", b.AlertMessage != ""}, {"alertTags", len(b.AlertTags) > 0}, {"ownerTeam", b.OwnerTeam != nil}} {
		if f.set {
			out = append(out, f.name)
		}
	}
	return strings.Join(out, ", ")
}

// ogHeartbeatView is a monitor as Opsgenie's API describes one.
func ogHeartbeatView(v incident.HeartbeatView) map[string]any {
	interval, unit := int(time.Duration(v.Interval)/time.Minute), "minutes"
	for _, u := range ogUnits {
		if d := time.Duration(v.Interval); d >= u.d && d%u.d == 0 {
			interval, unit = int(d/u.d), u.name
			break
		}
	}
	return map[string]any{
		"name": v.Name, "description": "", "interval": interval, "intervalUnit": unit, "enabled": v.Enabled,
		"expired": v.State == incident.HeartbeatDown, "ownerTeam": map[string]any{}, "alertPriority": v.Severity,
		"alertMessage": "", "alertTags": []string{},
	}
}

func (s *Server) ogHeartbeatAnswer(w http.ResponseWriter, status int, q ogRequest, data any, ignored string) {
	if ignored != "" {
		w.Header().Set(ogIgnoredHeader, ignored)
	}
	writeJSON(w, status, map[string]any{"data": data, "took": q.took(), "requestId": q.id})
}

// ogHeartbeatCall authenticates an Opsgenie heartbeat call and gives the
// handler its integration and a context with the request's deadline.
func (s *Server) ogHeartbeatCall(h func(ctx context.Context, w http.ResponseWriter, r *http.Request, q ogRequest, integ config.Integration) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		q := newOGRequest(w)
		integ, err := s.opsgenieAuth(r)
		if err == nil {
			ctx, cancel := context.WithTimeout(r.Context(), s.Timeout)
			defer cancel()
			err = h(ctx, w, r, q, integ)
		}
		if err != nil {
			s.opsgenieFail(w, r, q, err)
		}
	}
}

// POST /v2/heartbeats
func (s *Server) ogCreateHeartbeat(ctx context.Context, w http.ResponseWriter, r *http.Request, q ogRequest, integ config.Integration) error {
	var b ogHeartbeat
	if err := decodeBody(r, &b); err != nil {
		return err
	}
	c, err := b.change(s.cfg, integ, true)
	if err != nil {
		return err
	}
	v, err := s.incidents.CreateHeartbeat(ctx, b.Name, c, "opsgenie:"+integ.Name)
	if err != nil {
		return err
	}
	s.ogHeartbeatAnswer(w, http.StatusCreated, q, map[string]any{"name": v.Name, "enabled": v.Enabled, "expired": false}, b.ignored())
	return nil
}

// PATCH /v2/heartbeats/{name}
func (s *Server) ogUpdateHeartbeat(ctx context.Context, w http.ResponseWriter, r *http.Request, q ogRequest, integ config.Integration) error {
	var b ogHeartbeat
	if err := decodeBody(r, &b); err != nil {
		return err
	}
	c, err := b.change(s.cfg, integ, false)
	if err != nil {
		return err
	}
	v, err := s.incidents.ChangeHeartbeat(ctx, r.PathValue("name"), c)
	if err != nil {
		return err
	}
	s.ogHeartbeatAnswer(w, http.StatusOK, q, ogHeartbeatView(v), b.ignored())
	return nil
}

// POST /v2/heartbeats/{name}/enable and /disable
func (s *Server) ogSwitchHeartbeat(on bool) func(context.Context, http.ResponseWriter, *http.Request, ogRequest, config.Integration) error {
	return func(ctx context.Context, w http.ResponseWriter, r *http.Request, q ogRequest, _ config.Integration) error {
		v, err := s.incidents.ChangeHeartbeat(ctx, r.PathValue("name"), HeartbeatChange{Enabled: &on})
		if err != nil {
			return err
		}
		s.ogHeartbeatAnswer(w, http.StatusOK, q, map[string]any{"name": v.Name, "enabled": v.Enabled, "expired": v.State == incident.HeartbeatDown}, "")
		return nil
	}
}

// DELETE /v2/heartbeats/{name}
func (s *Server) ogDeleteHeartbeat(ctx context.Context, w http.ResponseWriter, r *http.Request, q ogRequest, _ config.Integration) error {
	if err := s.incidents.DeleteHeartbeat(ctx, r.PathValue("name")); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"result": "Deleted", "took": q.took(), "requestId": q.id})
	return nil
}

// GET /v2/heartbeats/{name}
func (s *Server) ogGetHeartbeat(ctx context.Context, w http.ResponseWriter, r *http.Request, q ogRequest, _ config.Integration) error {
	v, err := s.incidents.Heartbeat(ctx, r.PathValue("name"))
	if err != nil {
		return err
	}
	s.ogHeartbeatAnswer(w, http.StatusOK, q, ogHeartbeatView(v), "")
	return nil
}

// GET /v2/heartbeats: every monitor, the config's and the API's.
func (s *Server) ogListHeartbeats(ctx context.Context, w http.ResponseWriter, _ *http.Request, q ogRequest, _ config.Integration) error {
	list, err := s.incidents.Heartbeats(ctx)
	if err != nil {
		return err
	}
	out := make([]map[string]any, 0, len(list))
	for _, h := range list {
		out = append(out, ogHeartbeatView(h.HeartbeatView))
	}
	s.ogHeartbeatAnswer(w, http.StatusOK, q, map[string]any{"heartbeats": out}, "")
	return nil
}
