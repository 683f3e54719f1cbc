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
	"github.com/incidentflow/incidentflow/workflows"
)

// AddMaintenance plans a window through the maintenance workflow (started
// by the first window).
func (in *Incidents) AddMaintenance(ctx context.Context, req workflows.MaintenanceRequest) (incident.MaintenanceWindow, error) {
	if _, ok := in.Config.Services[req.Service]; req.Service != "" && !ok {
		return incident.MaintenanceWindow{}, &BadRequest{Field: "service", Msg: fmt.Sprintf("unknown service %q (leave it out for every service)", incident.Cut(req.Service, incident.MaxName))}
	}
	start := in.entityStart(incident.MaintenanceWorkflowID, "maintenance windows made at run time", workflows.MaintenanceWorkflowName, workflows.MaintenanceInput{})
	var m incident.MaintenanceWindow
	if err := in.updateEntity(ctx, start, incident.MaintenanceWorkflowID, workflows.UpdateAddMaintenance, req, &m); err != nil {
		return incident.MaintenanceWindow{}, in.explainMaintenance(ctx, err)
	}
	return m, nil
}

// RemoveMaintenance ends a run-time window now; incidents it held page
// at their next check, within five minutes.
func (in *Incidents) RemoveMaintenance(ctx context.Context, id, by string) (incident.MaintenanceWindow, error) {
	var m incident.MaintenanceWindow
	if err := in.updateEntity(ctx, nil, incident.MaintenanceWorkflowID, workflows.UpdateRemoveMaintenance, workflows.RemoveMaintenanceRequest{ID: id, By: by}, &m); err != nil {
		err = in.explainMaintenance(ctx, err)
		var nf *NotFound
		if errors.As(err, &nf) {
			return incident.MaintenanceWindow{}, &NotFound{Msg: fmt.Sprintf("no maintenance window %q (it may have ended)", incident.Cut(id, incident.MaxName))}
		}
		return incident.MaintenanceWindow{}, err
	}
	return m, nil
}

// MaintenanceWindows are the windows still to end: the config's (without
// ids: change them in the file) and those made at run time.
func (in *Incidents) MaintenanceWindows(ctx context.Context) ([]incident.MaintenanceWindow, error) {
	out := []incident.MaintenanceWindow{}
	now := time.Now()
	for _, m := range in.Config.Maintenance {
		start, end, err := m.Times()
		if err == nil && end.After(now) {
			out = append(out, incident.MaintenanceWindow{Service: m.Service, Start: start, End: end, Reason: m.Reason, By: "config"})
		}
	}
	live, err := MaintenanceReader{Client: in.Client}.Windows(ctx)
	if err != nil {
		return nil, in.explainMaintenance(ctx, err)
	}
	return append(out, live...), nil
}

func (in *Incidents) explainMaintenance(ctx context.Context, err error) error {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) && appErr.Type() == workflows.WindowNotFound {
		return &NotFound{Msg: appErr.Message()}
	}
	return in.explain(ctx, incident.MaintenanceWorkflowID, err)
}

// maintenanceBody is POST /v1/maintenance: times RFC 3339, or UTC without
// an offset; "for" (a duration from now) may stand for start and end.
type maintenanceBody struct {
	Service string `json:"service"`
	Start   string `json:"start"`
	End     string `json:"end"`
	For     string `json:"for"`
	Reason  string `json:"reason"`
	By      string `json:"by"`
}

func (b maintenanceBody) request() (workflows.MaintenanceRequest, error) {
	req := workflows.MaintenanceRequest{Service: b.Service, Reason: b.Reason, By: b.By}
	if b.For != "" {
		d, err := time.ParseDuration(b.For)
		if err != nil || d <= 0 || b.Start != "" || b.End != "" {
			return req, &BadRequest{Field: "for", Msg: "a positive duration (2h), instead of start and end"}
		}
		req.Start = time.Now()
		req.End = req.Start.Add(d)
		return req, nil
	}
	var err error
	for _, f := range []struct {
		name, value string
		into        *time.Time
	}{{"start", b.Start, &req.Start}, {"end", b.End, &req.End}} {
		if f.value == "" {
			return req, &BadRequest{Field: f.name, Msg: "required: an RFC 3339 time (or give \"for\": \"2h\")"}
		}
		if *f.into, err = config.ParseTime(f.value, time.UTC); err != nil {
			return req, &BadRequest{Field: f.name, Msg: incident.Cut(err.Error(), 200)}
		}
	}
	return req, nil
}

func (s *Server) addMaintenance(w http.ResponseWriter, r *http.Request) {
	var body maintenanceBody
	err := decodeCommand(r, &body)
	if err = s.authorize(r, err, &body.By); err != nil {
		s.fail(w, r, err)
		return
	}
	req, err := body.request()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.Timeout)
	defer cancel()
	m, err := s.incidents.AddMaintenance(ctx, req)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, m)
}

func (s *Server) removeMaintenance(w http.ResponseWriter, r *http.Request) {
	by := r.URL.Query().Get("by")
	if err := s.authorize(r, nil, &by); err != nil {
		s.fail(w, r, err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.Timeout)
	defer cancel()
	m, err := s.incidents.RemoveMaintenance(ctx, r.PathValue("id"), by)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, m)
}

func (s *Server) listMaintenance(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), s.Timeout)
	defer cancel()
	list, err := s.incidents.MaintenanceWindows(ctx)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"windows": list})
}

const maintenanceUsage = "Usage: `/incident maintenance <service|all> <2h> <reason>` · `/incident maintenance list` · `/incident maintenance end <id>`"

// slashMaintenance answers `/incident maintenance ...`.
func (s *Server) slashMaintenance(ctx context.Context, by string, args []string) slackReply {
	switch {
	case len(args) == 1 && args[0] == "list":
		list, err := s.incidents.MaintenanceWindows(ctx)
		if err != nil {
			return ephemeral(slackError(err))
		}
		if len(list) == 0 {
			return ephemeral("No maintenance windows are planned.")
		}
		var b strings.Builder
		b.WriteString("Maintenance windows:")
		for _, m := range list {
			fmt.Fprintf(&b, "\n• %s %s from %s to %s: %s", orAll(m.ID, "(config)"), orAll(m.Service, "every service"), slackTime(m.Start), slackTime(m.End), m.Reason)
		}
		return ephemeral(b.String())
	case len(args) == 2 && args[0] == "end":
		m, err := s.incidents.RemoveMaintenance(ctx, args[1], by)
		if err != nil {
			return ephemeral(slackError(err))
		}
		return slackReply{ResponseType: "in_channel", Text: fmt.Sprintf("Maintenance `%s` (%s) ended early by %s: held incidents page within five minutes if they still fire.", m.ID, orAll(m.Service, "every service"), s.mention(by))}
	case len(args) >= 3:
		d, err := time.ParseDuration(args[1])
		if err != nil || d <= 0 {
			return ephemeral(fmt.Sprintf("%q is not a duration (2h, 90m).\n%s", incident.Cut(args[1], incident.MaxName), maintenanceUsage))
		}
		service := args[0]
		if service == "all" {
			service = ""
		}
		now := time.Now()
		m, err := s.incidents.AddMaintenance(ctx, workflows.MaintenanceRequest{Service: service, Start: now, End: now.Add(d), Reason: strings.Join(args[2:], " "), By: by})
		if err != nil {
			return ephemeral(slackError(err))
		}
		return slackReply{ResponseType: "in_channel", Text: fmt.Sprintf("Maintenance `%s` on %s until %s (%s), by %s: alerts are recorded, nobody is paged unless they still fire when it ends.",
			m.ID, orAll(m.Service, "every service"), slackTime(m.End), m.Reason, s.mention(by))}
	}
	return ephemeral(maintenanceUsage)
}

func orAll(s, all string) string {
	if s == "" {
		return all
	}
	return s
}
