package starter

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/incidentflow/incidentflow/incident"
	"github.com/incidentflow/incidentflow/workflows"
)

// declareBody is POST /v1/incidents.
type declareBody struct {
	Title     string `json:"title"`
	Service   string `json:"service"`
	Severity  string `json:"severity"`
	Commander string `json:"commander"`
	By        string `json:"by"`
	// Exercise declares a game day: it pages only Participants.
	Exercise     bool     `json:"exercise"`
	Participants []string `json:"participants"`
	// DataBreach marks it a personal-data breach from the start, aware
	// since AwareAt (RFC 3339 or how long ago; absent: now).
	DataBreach bool   `json:"data_breach"`
	AwareAt    string `json:"aware_at"`
}

// declareIncident opens an incident by hand and answers 201 with it; the
// commander named in the body, else whoever declares, takes the role (an
// exercise's commander only when named: the drill is who takes it).
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
	if !body.Exercise && len(body.Participants) > 0 {
		s.fail(w, r, &BadRequest{Field: "participants", Msg: `only for an exercise ("exercise": true)`})
		return
	}
	breach, err := s.breachAtDeclaration(body)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.Timeout)
	defer cancel()
	d := Declaration{Service: body.Service, Severity: body.Severity, Title: body.Title, By: body.By, Commander: body.Commander}
	var id string
	if body.Exercise {
		id, err = s.incidents.DeclareExercise(ctx, d, body.Participants)
	} else {
		id, err = s.incidents.Declare(ctx, d)
	}
	if id == "" {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/v1/incidents/"+id)
	var st *workflows.Incident
	if err == nil && breach != nil {
		_, err = s.incidents.DeclareBreach(ctx, id, *breach)
	}
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

// CheckParticipants checks an exercise's participants against the
// configured users: at least one (an exercise never falls back on the
// real on-call), at most incident.MaxParticipants, each named once.
func (in *Incidents) CheckParticipants(participants []string) ([]string, error) {
	if len(participants) == 0 {
		return nil, &BadRequest{Field: "participants", Msg: "required for an exercise: the configured users it pages (it never pages the real on-call)"}
	}
	if len(participants) > incident.MaxParticipants {
		return nil, &BadRequest{Field: "participants", Msg: fmt.Sprintf("%d named, at most %d", len(participants), incident.MaxParticipants)}
	}
	var out []string
	for _, p := range participants {
		p = strings.TrimPrefix(strings.TrimSpace(p), "@")
		if _, ok := in.Config.Users[p]; !ok {
			return nil, &BadRequest{Field: "participants", Msg: fmt.Sprintf("unknown user %q (one of %s)", incident.Cut(p, incident.MaxName), strings.Join(sortedUserNames(in.Config.Users), ", "))}
		}
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out, nil
}

// DeclareExercise starts a game day: an incident that runs as a real one
// but pages only its participants and says [EXERCISE] on everything it
// sends. Its memo marks it, so lists can leave it out unread. Nobody is
// made commander unless d names one: who takes command is part of the drill.
func (in *Incidents) DeclareExercise(ctx context.Context, d Declaration, participants []string) (string, error) {
	participants, err := in.CheckParticipants(participants)
	if err != nil {
		return "", err
	}
	sev, err := in.checkDeclaration(d)
	if err != nil {
		return "", err
	}
	// The ID says exercise too, as does everything that shows it.
	key := declaredKey("exercise", d.Title)
	id := workflows.IncidentID(key)
	ev := AlertEvent{Key: key, Title: d.Title, Service: d.Service, Severity: sev, Source: "declared:" + d.By}
	opts := in.startOptions(id, ev)
	opts.WorkflowExecutionErrorWhenAlreadyStarted = true
	opts.Memo[workflows.MemoExercise] = true
	opts.StaticSummary = incident.ExerciseText(true, opts.StaticSummary)
	_, err = in.Client.ExecuteWorkflow(ctx, opts, workflows.IncidentWorkflowName, workflows.IncidentInput{
		Key: key, Title: d.Title, Service: d.Service, Severity: sev, Source: ev.Source, Shadow: in.Config.Shadow,
		Exercise: true, Participants: participants,
	})
	if err != nil {
		return "", in.explain(ctx, id, err)
	}
	if d.Commander != "" {
		if _, err := in.Act(ctx, id, workflows.UpdateAssignRole, workflows.RoleRequest{By: d.By, Role: incident.RoleCommander, User: d.Commander}); err != nil {
			return id, fmt.Errorf("declared exercise %s, but %s could not be made commander: %w", id, d.Commander, err)
		}
	}
	return id, nil
}

// breachAtDeclaration reads the data-breach fields of a declaration, and
// refuses a bad one before anything is opened.
func (s *Server) breachAtDeclaration(body declareBody) (*BreachDeclaration, error) {
	if !body.DataBreach {
		if body.AwareAt != "" {
			return nil, &BadRequest{Field: "aware_at", Msg: `only with "data_breach": true`}
		}
		return nil, nil
	}
	aware, err := PointInTime("aware_at", body.AwareAt)
	if err != nil {
		return nil, err
	}
	if !aware.IsZero() {
		if err := incident.CheckAwareAt(aware, time.Now()); err != nil {
			return nil, &BadRequest{Field: "aware_at", Msg: err.Error()}
		}
	}
	return &BreachDeclaration{By: body.By, AwareAt: aware}, nil
}
