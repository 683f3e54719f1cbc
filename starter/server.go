package starter

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/slack-go/slack"
	"go.temporal.io/sdk/client"

	"github.com/incidentflow/incidentflow/config"
	"github.com/incidentflow/incidentflow/incident"
	"github.com/incidentflow/incidentflow/metrics"
	"github.com/incidentflow/incidentflow/workflows"
)

// Server is the HTTP intake and API.
type Server struct {
	// twilioToken checks the signature of Twilio's callbacks.
	twilioToken string
	incidents   *Incidents
	cfg         *config.Config
	log         *slog.Logger
	// tokens holds each integration's secret, read from the environment at
	// start-up; an integration with token_env but an empty variable gets no
	// entry and so accepts nothing (fail closed).
	tokens map[string]string
	// Timeout bounds each Temporal call so an outage answers 503, not a hang.
	Timeout time.Duration
	// slackSecret is the Slack signing secret; without it every Slack
	// request is refused.
	slackSecret string
	slackHTTP   *http.Client
	// SlackUsers, when set, maps Slack users without a configured slack_id
	// to configured users by email (users.lookupByEmail).
	SlackUsers SlackUserLookup
	emailIDs   sync.Map // configured user name -> Slack user ID (or "" if none)
	// apiKeys authenticate people and bots on the API; a token whose
	// variable is empty is left out (fail closed).
	apiKeys []apiKey
}

// NewServer reads integration tokens with getenv (os.Getenv in production).
func NewServer(inc *Incidents, log *slog.Logger, getenv func(string) string) *Server {
	s := &Server{incidents: inc, cfg: inc.Config, log: log, tokens: map[string]string{}, Timeout: 5 * time.Second,
		slackHTTP: &http.Client{Timeout: 2 * time.Second}}
	if env := s.cfg.Twilio.AuthTokenEnv; env != "" {
		s.twilioToken = getenv(env)
	}
	if env := s.cfg.Slack.SigningSecretEnv; env != "" {
		if s.slackSecret = getenv(env); s.slackSecret == "" {
			log.Warn("slack signing secret variable is empty: Slack commands and buttons will be refused", "signing_secret_env", env)
		}
	}
	for _, t := range s.cfg.APITokens {
		if secret := getenv(t.TokenEnv); secret != "" {
			s.apiKeys = append(s.apiKeys, apiKey{APIToken: t, secret: secret})
		} else {
			log.Warn("api token variable is empty: that token is refused", "api_token", t.Name, "token_env", t.TokenEnv)
		}
	}
	for _, in := range s.cfg.Integrations {
		if in.TokenEnv == "" {
			continue
		}
		if tok := getenv(in.TokenEnv); tok != "" {
			s.tokens[in.Name] = tok
		} else {
			log.Warn("integration token variable is empty: its alerts will be refused", "integration", in.Name, "token_env", in.TokenEnv)
		}
	}
	return s
}

// SlackUserLookup is the part of slack-go's client the intake uses.
type SlackUserLookup interface {
	GetUserByEmailContext(ctx context.Context, email string) (*slack.User, error)
}

// Handler routes every endpoint.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/alerts/alertmanager", s.intake(config.KindAlertmanager, s.alertmanager))
	mux.HandleFunc("POST /v1/alerts/grafana", s.intake(config.KindGrafana, s.grafana))
	mux.HandleFunc("POST /v2/enqueue", s.intake(config.KindEventsV2, s.eventsV2))
	mux.HandleFunc("POST /v1/alerts", s.intake(config.KindGeneric, s.generic))
	mux.HandleFunc("POST /v2/alerts", s.intake(config.KindOpsgenie, s.opsgenieCreate))
	mux.HandleFunc("POST /v2/alerts/{identifier}/acknowledge", s.intake(config.KindOpsgenie, s.opsgenieAct("acknowledge")))
	mux.HandleFunc("POST /v2/alerts/{identifier}/close", s.intake(config.KindOpsgenie, s.opsgenieAct("close")))
	mux.HandleFunc("POST /v2/alerts/{identifier}/notes", s.intake(config.KindOpsgenie, s.opsgenieAct("notes")))
	mux.HandleFunc("POST /slack/commands", s.slackCommand)
	mux.HandleFunc("POST /slack/interactions", s.slackInteraction)
	mux.HandleFunc("GET /v1/incidents", s.readable(false, s.listIncidents))
	mux.HandleFunc("POST /v1/incidents", s.declareIncident)
	mux.HandleFunc("GET /v1/incidents/{id}", s.readable(false, s.getIncident))
	mux.HandleFunc("POST /v1/incidents/{id}/{action}", s.act)
	mux.HandleFunc("POST /v1/incidents/{id}/subscribers", s.addSubscriber)
	mux.HandleFunc("POST /v1/incidents/{id}/merge", s.mergeIncident)
	mux.HandleFunc("POST /v1/incidents/{id}/link", s.linkIncident)
	mux.HandleFunc("POST /v1/incidents/{id}/unlink", s.unlinkIncident)
	mux.HandleFunc("POST /v1/incidents/{id}/major", s.declareMajor)
	mux.HandleFunc("GET /v1/incidents/{id}/subscribers", s.listSubscribers)
	mux.HandleFunc("DELETE /v1/incidents/{id}/subscribers/{subscriber}", s.removeSubscriber)
	mux.HandleFunc("GET /v1/incidents/{id}/runbook", s.readable(false, s.listRunbook))
	mux.HandleFunc("POST /v1/incidents/{id}/runbook/{step}", s.runStep)
	mux.HandleFunc("POST /v1/incidents/{id}/data-breach", s.declareBreach)
	mux.HandleFunc("GET /v1/incidents/{id}/data-breach", s.readable(false, s.getBreach))
	mux.HandleFunc("POST /v1/incidents/{id}/data-breach/{item}", s.checkBreach)
	mux.HandleFunc("GET /v1/incidents/{id}/postmortem", s.readable(false, s.getPostmortem))
	mux.HandleFunc("POST /v1/incidents/{id}/postmortem/complete", s.completePostmortem)
	mux.HandleFunc("POST /v1/incidents/{id}/action-items/{item}/{change}", s.changeActionItem)
	mux.HandleFunc("POST /v1/twilio/voice", func(w http.ResponseWriter, r *http.Request) { s.twilioCallback(w, r, true) })
	mux.HandleFunc("POST /v1/twilio/sms", func(w http.ResponseWriter, r *http.Request) { s.twilioCallback(w, r, false) })
	mux.HandleFunc("GET /v1/oncall", s.readable(false, s.getOnCall))
	mux.HandleFunc("GET /v1/schedules/{file}", s.readable(true, s.getScheduleICS))
	mux.HandleFunc("GET /v1/schedules/{name}/overrides", s.readable(false, s.listOverrides))
	mux.HandleFunc("POST /v1/schedules/{name}/overrides", s.addOverride)
	mux.HandleFunc("DELETE /v1/schedules/{name}/overrides/{id}", s.removeOverride)
	mux.HandleFunc("POST /v1/maintenance", s.addMaintenance)
	mux.HandleFunc("GET /v1/maintenance", s.readable(false, s.listMaintenance))
	mux.HandleFunc("DELETE /v1/maintenance/{id}", s.removeMaintenance)
	mux.HandleFunc("GET /v1/heartbeats", s.readable(false, s.listHeartbeats))
	mux.HandleFunc("GET /v1/heartbeats/{name}", s.readable(false, s.getHeartbeat))
	mux.HandleFunc("POST /v1/heartbeats", s.createHeartbeat)
	mux.HandleFunc("PATCH /v1/heartbeats/{name}", s.changeHeartbeat)
	mux.HandleFunc("DELETE /v1/heartbeats/{name}", s.deleteHeartbeat)
	mux.HandleFunc("GET /v1/heartbeats/{name}/ping", s.pingHeartbeat)
	mux.HandleFunc("POST /v1/heartbeats/{name}/ping", s.pingHeartbeat)
	mux.HandleFunc("GET /v2/heartbeats/{name}/ping", s.opsgeniePing)
	mux.HandleFunc("POST /v2/heartbeats/{name}/ping", s.opsgeniePing)
	mux.HandleFunc("PUT /v2/heartbeats/{name}/ping", s.opsgeniePing)
	mux.HandleFunc("PATCH /v2/heartbeats/{name}/ping", s.opsgeniePing)
	mux.HandleFunc("POST /v2/heartbeats", s.ogHeartbeatCall(s.ogCreateHeartbeat))
	mux.HandleFunc("GET /v2/heartbeats", s.ogHeartbeatCall(s.ogListHeartbeats))
	mux.HandleFunc("GET /v2/heartbeats/{name}", s.ogHeartbeatCall(s.ogGetHeartbeat))
	mux.HandleFunc("PATCH /v2/heartbeats/{name}", s.ogHeartbeatCall(s.ogUpdateHeartbeat))
	mux.HandleFunc("DELETE /v2/heartbeats/{name}", s.ogHeartbeatCall(s.ogDeleteHeartbeat))
	mux.HandleFunc("POST /v2/heartbeats/{name}/enable", s.ogHeartbeatCall(s.ogSwitchHeartbeat(true)))
	mux.HandleFunc("POST /v2/heartbeats/{name}/disable", s.ogHeartbeatCall(s.ogSwitchHeartbeat(false)))
	mux.HandleFunc("GET /healthz", s.healthz)
	// A read like the others: http.public_reads opens it, else a scraper
	// sends an API token (a read_only one will do) as its bearer token.
	mux.HandleFunc("GET /metrics", s.readable(false, metrics.Handler().ServeHTTP))
	mux.HandleFunc("GET /v1/report", s.readable(false, s.getReport))
	// Public, no token: the status page is for customers.
	status := s.statusPage()
	mux.Handle("GET /status", status)
	mux.Handle("GET /status.json", status)
	return s.limitBody(jsonMisses(mux))
}

// jsonMisses answers requests that match no route (404) or not with that
// method (405, with Allow) in JSON like every other error, not the mux's
// plain text.
func jsonMisses(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := mux.Handler(r); pattern != "" {
			mux.ServeHTTP(w, r)
			return
		}
		miss := &missRecorder{header: w.Header()}
		mux.ServeHTTP(miss, r)
		path := incident.Cut(r.URL.Path, 200)
		msg := fmt.Sprintf("no endpoint %s %s", r.Method, path)
		if miss.status == http.StatusMethodNotAllowed {
			msg = fmt.Sprintf("%s %s: method not allowed (allowed: %s)", r.Method, path, w.Header().Get("Allow"))
		}
		if miss.status == 0 {
			miss.status = http.StatusNotFound
		}
		writeJSON(w, miss.status, map[string]string{"error": msg})
	})
}

// missRecorder keeps the status (and, through the shared header, Allow)
// of the mux's own answer and drops its text.
type missRecorder struct {
	header http.Header
	status int
}

func (m *missRecorder) Header() http.Header { return m.header }
func (m *missRecorder) WriteHeader(code int) {
	if m.status == 0 {
		m.status = code
	}
}
func (m *missRecorder) Write(b []byte) (int, error) {
	m.WriteHeader(http.StatusOK)
	return len(b), nil
}

func (s *Server) limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, s.cfg.HTTP.MaxBodyBytes)
		next.ServeHTTP(w, r)
	})
}

func (s *Server) alertmanager(w http.ResponseWriter, r *http.Request) {
	integ, err := s.authenticate(r, config.KindAlertmanager)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var payload alertmanagerWebhook
	if err := decodeJSON(r, &payload); err != nil {
		s.fail(w, r, err)
		return
	}
	events, err := alertmanagerEvents(s.cfg, integ, payload)
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

// deliver hands every event to Temporal, in order, before anything is
// answered: a 2xx means every alert is durable.
func (s *Server) deliver(ctx context.Context, events []AlertEvent) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, s.Timeout)
	defer cancel()
	id, err := s.incidents.Alerts(ctx, events)
	if err != nil {
		return "", s.incidents.explain(ctx, "", err)
	}
	return id, nil
}

// searchParams are the filters GET /v1/incidents takes.
var searchParams = []string{"status", "service", "severity", "commander", "since", "until", "q", "cursor", "limit", "similar"}

// maxListSimilar bounds a listing that looks up similar incidents: each
// service's past incidents are read once, each incident's findings once.
const maxListSimilar = 100

// listIncidents answers GET /v1/incidents: a search, newest first, with a
// cursor to go on when there are more.
func (s *Server) listIncidents(w http.ResponseWriter, r *http.Request) {
	f, err := s.filterOf(r.URL.Query())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.Timeout)
	defer cancel()
	withSimilar := false
	if v := r.URL.Query().Get("similar"); v != "" {
		if withSimilar, err = strconv.ParseBool(v); err != nil {
			s.fail(w, r, &BadRequest{Field: "similar", Msg: "true or false"})
			return
		}
		if withSimilar && f.Limit > maxListSimilar {
			s.fail(w, r, &BadRequest{Field: "limit", Msg: fmt.Sprintf("at most %d with similar=true", maxListSimilar)})
			return
		}
	}
	page, err := s.incidents.Search(ctx, f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if withSimilar {
		page.Similar = s.incidents.SimilarFor(ctx, page.Incidents)
	}
	writeJSON(w, http.StatusOK, page)
}

func (s *Server) filterOf(q url.Values) (Filter, error) {
	for k := range q {
		if !slices.Contains(searchParams, k) {
			return Filter{}, &BadRequest{Field: incident.Cut(k, incident.MaxName), Msg: "unknown filter (one of " + strings.Join(searchParams, ", ") + ")"}
		}
	}
	f := Filter{Limit: 100, Status: q.Get("status"), Service: q.Get("service"), Severity: q.Get("severity"),
		Commander: q.Get("commander"), Text: q.Get("q"), Cursor: q.Get("cursor")}
	if err := incident.CheckLen("q", f.Text, incident.MaxTitle); err != nil {
		return Filter{}, &BadRequest{Field: "q", Msg: strings.TrimPrefix(err.Error(), "q: ")}
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return Filter{}, &BadRequest{Field: "limit", Msg: "must be a number from 1 to 1000"}
		}
		f.Limit = n
	}
	var err error
	if f.Since, err = PointInTime("since", q.Get("since")); err != nil {
		return Filter{}, err
	}
	if f.Until, err = PointInTime("until", q.Get("until")); err != nil {
		return Filter{}, err
	}
	return f, nil
}

// PointInTime reads an RFC 3339 time, or how long ago: "36h", "7d".
func PointInTime(field, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	ago, err := time.ParseDuration(v)
	if days, ok := strings.CutSuffix(v, "d"); ok {
		var n int
		if n, err = strconv.Atoi(days); err == nil {
			ago = time.Duration(n) * 24 * time.Hour
		}
	}
	if err != nil || ago < 0 {
		return time.Time{}, &BadRequest{Field: field, Msg: fmt.Sprintf("%q is neither an RFC 3339 time (2026-11-01T00:00:00Z) nor a time ago (36h, 7d)", incident.Cut(v, incident.MaxName))}
	}
	return time.Now().Add(-ago), nil
}

func (s *Server) getIncident(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), s.Timeout)
	defer cancel()
	id, err := pathID(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	st, err := s.incidents.Get(ctx, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	// The incident, and beside it the past ones like it.
	writeJSON(w, http.StatusOK, struct {
		*workflows.Incident
		Similar []Similar `json:"similar"`
	}{st, s.incidents.Similar(ctx, st)})
}

// incidentActions are the {action}s of POST /v1/incidents/{id}/{action}.
var incidentActions = []string{"ack", "resolve", "reopen", "escalate", "close", "severity", "roles", "status-updates", "notes", "action-items", "page"}

// act maps POST /v1/incidents/{id}/{action} onto the workflow's Updates.
func (s *Server) act(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	// req points at the decoded body, so authorize can fill in its `by`.
	var (
		update string
		req    any
		by     *string
	)
	switch action := r.PathValue("action"); action {
	case "ack", "resolve", "reopen", "escalate", "close":
		a := &workflows.ActionRequest{}
		err = decodeCommand(r, a)
		update, req, by = action, a, &a.By
	case "severity":
		a := &workflows.SeverityRequest{}
		if err = decodeCommand(r, a); err == nil {
			sev, ok := s.cfg.NormalizeSeverity(a.Severity)
			if !ok {
				err = &BadRequest{Field: "severity", Msg: fmt.Sprintf("unknown severity %q (one of %s)", a.Severity, strings.Join(s.cfg.SeverityNames(), ", "))}
			}
			a.Severity = sev
		}
		update, req, by = workflows.UpdateSetSeverity, a, &a.By
	case "roles":
		a := &workflows.RoleRequest{}
		if err = decodeCommand(r, a); err == nil {
			err = s.checkUser("user", a.User)
		}
		update, req, by = workflows.UpdateAssignRole, a, &a.By
	case "status-updates":
		a := &workflows.StatusUpdate{}
		err = decodeCommand(r, a)
		update, req, by = workflows.UpdateStatusUpdate, a, &a.By
	case "notes":
		a := &workflows.NoteRequest{}
		err = decodeCommand(r, a)
		update, req, by = workflows.UpdateNote, a, &a.By
	case "action-items":
		a := &workflows.ActionItemRequest{}
		if err = decodeCommand(r, a); err == nil {
			err = s.checkUser("owner", a.Owner)
		}
		update, req, by = workflows.UpdateActionItem, a, &a.By
	case "page":
		a := &workflows.PageSomeoneRequest{}
		if err = decodeCommand(r, a); err == nil && a.Next {
			err = s.pageNextOnCall(r.Context(), a)
		}
		update, req, by = workflows.UpdatePage, a, &a.By
	default:
		s.fail(w, r, &NotFound{Msg: fmt.Sprintf("no action %q on an incident (one of %s)", incident.Cut(action, incident.MaxName), strings.Join(incidentActions, ", "))})
		return
	}
	if err = s.authorize(r, err, by); err != nil {
		s.fail(w, r, err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.Timeout)
	defer cancel()
	var st any
	if update == workflows.UpdateActionItem {
		st, err = s.incidents.AddActionItem(ctx, id, *req.(*workflows.ActionItemRequest))
	} else {
		st, err = s.incidents.Act(ctx, id, update, req)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

// getPostmortem answers the post-mortem as JSON (with its draft and
// completion rate), or the draft alone as Markdown when asked for it.
func (s *Server) getPostmortem(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), s.Timeout)
	defer cancel()
	id, err := pathID(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	st, err := s.incidents.Postmortem(ctx, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if r.URL.Query().Get("format") == "markdown" || strings.Contains(r.Header.Get("Accept"), "text/markdown") {
		w.Header().Set("Content-Type", "text/markdown; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, st.Draft)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

func (s *Server) completePostmortem(w http.ResponseWriter, r *http.Request) {
	req := &workflows.CompleteRequest{}
	err := decodeCommand(r, req)
	s.actOnPostmortem(w, r, err, workflows.UpdatePostmortemComplete, req, &req.By)
}

// actOnPostmortem checks who acts, then runs the Update on the incident's
// post-mortem and answers its state; err is a decoding failure to report.
func (s *Server) actOnPostmortem(w http.ResponseWriter, r *http.Request, err error, update string, req any, by *string) {
	if err = s.authorize(r, err, by); err != nil {
		s.fail(w, r, err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.Timeout)
	defer cancel()
	id, err := pathID(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	st, err := s.incidents.ActOnPostmortem(ctx, id, update, req)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

// changeActionItem closes or drops action item {item} of a post-mortem.
func (s *Server) changeActionItem(w http.ResponseWriter, r *http.Request) {
	var update string
	switch change := r.PathValue("change"); change {
	case "close":
		update = workflows.UpdateCloseActionItem
	case "drop":
		update = workflows.UpdateDropActionItem
	default:
		s.fail(w, r, &NotFound{ID: change, Msg: fmt.Sprintf("no action %q on an action item (close or drop)", change)})
		return
	}
	n, err := strconv.Atoi(r.PathValue("item"))
	if err != nil || n < 1 {
		s.fail(w, r, &BadRequest{Field: "item", Msg: fmt.Sprintf("%q is not an action item number", r.PathValue("item"))})
		return
	}
	req := &workflows.ActionItemChange{}
	err = decodeCommand(r, req)
	req.Item = n
	s.actOnPostmortem(w, r, err, update, req, &req.By)
}

// decodeBody is decodeJSON where an empty body means "no fields".
func decodeBody(r *http.Request, v any) error {
	if err := decodeJSON(r, v); err != nil && !errors.Is(err, errEmptyBody) {
		return err
	}
	return nil
}

// decodeCommand reads a command's body strictly: an empty body means no
// fields, and a field the command does not take is a 400 naming it (a
// misspelt "to_step" must not be ignored in silence).
func decodeCommand(r *http.Request, v any) error {
	body, err := readBody(r)
	if err != nil || len(strings.TrimSpace(string(body))) == 0 {
		return err
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	err = dec.Decode(v)
	if field, ok := strings.CutPrefix(fmt.Sprint(err), "json: unknown field "); ok {
		name := strings.Trim(field, `"`)
		if strings.TrimSpace(name) == "" || strings.IndexFunc(name, func(r rune) bool { return !unicode.IsGraphic(r) }) >= 0 {
			// {"": ...}, {" ": ...}, a control character: the answer must
			// still name the field at fault, visibly.
			name = strconv.Quote(name)
		}
		return &BadRequest{Field: incident.Cut(name, incident.MaxName), Msg: "unknown field (this command takes " + strings.Join(jsonFields(v), ", ") + ")"}
	}
	if err != nil {
		return unmarshalBody(body, v)
	}
	return nil
}

func (s *Server) checkUser(field, user string) error {
	if strings.TrimSpace(user) == "" {
		return &BadRequest{Field: field, Msg: "required: a configured user"}
	}
	if _, ok := s.cfg.Users[user]; !ok {
		return &BadRequest{Field: field, Msg: fmt.Sprintf("unknown user %q", user)}
	}
	return nil
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	if _, err := s.incidents.Client.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "error": "temporal: " + err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// authenticate finds the integration of this kind the request's bearer
// token belongs to.
func (s *Server) authenticate(r *http.Request, kind string) (config.Integration, error) {
	in, err := s.integrationFor(kind, credential(r, "Bearer"))
	if err == nil {
		noteIntegration(r, in.Name)
	}
	return in, err
}

// integrationFor: a matching token picks the integration; one without
// token_env accepts requests that match no token.
func (s *Server) integrationFor(kind, bearer string) (config.Integration, error) {
	var open *config.Integration
	found := false
	for i, in := range s.cfg.Integrations {
		if in.Kind != kind {
			continue
		}
		found = true
		if in.TokenEnv == "" {
			if open == nil {
				open = &s.cfg.Integrations[i]
			}
			continue
		}
		if tok, ok := s.tokens[in.Name]; ok && bearer != "" && subtle.ConstantTimeCompare([]byte(tok), []byte(bearer)) == 1 {
			return in, nil
		}
	}
	if open != nil {
		return *open, nil
	}
	if !found {
		return config.Integration{}, &NotFound{Msg: fmt.Sprintf("no integration of kind %s is configured (add one to integrations with kind: %s)", kind, kind)}
	}
	return config.Integration{}, errUnauthorized
}

var (
	errUnauthorized = errors.New("missing or wrong bearer token")
	errEmptyBody    = errors.New("empty body")
)

func decodeJSON(r *http.Request, v any) error {
	body, err := readBody(r)
	if err != nil {
		return err
	}
	return unmarshalBody(body, v)
}

// readBody reads the whole body; one over http.max_body_bytes is a 413.
func readBody(r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, tooBig
		}
		return nil, &BadRequest{Field: "body", Msg: "could not read: " + err.Error()}
	}
	return body, nil
}

// unmarshalBody decodes JSON, naming the field at fault in the API's words.
func unmarshalBody(body []byte, v any) error {
	if len(strings.TrimSpace(string(body))) == 0 {
		return errEmptyBody
	}
	if err := json.Unmarshal(body, v); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) && typeErr.Field != "" {
			return &BadRequest{Field: typeErr.Field, Msg: fmt.Sprintf("want %s, got %s", jsonKind(typeErr.Type), typeErr.Value)}
		}
		return &BadRequest{Field: "body", Msg: "invalid JSON: " + err.Error()}
	}
	return nil
}

func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, msg := answerFor(w, err)
	if status >= 500 {
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "status", status, "error", err)
	}
	writeJSON(w, status, map[string]string{"error": msg})
}

// answerFor is the status and message that answer err, in the API's
// words; it sets the headers that go with them (Retry-After on a 503).
func answerFor(w http.ResponseWriter, err error) (int, string) {
	status := http.StatusInternalServerError
	msg := err.Error()
	var bad *BadRequest
	var nf *NotFound
	var conflict *Conflict
	var unavailable *Unavailable
	var stuck *Stuck
	var forbidden *Forbidden
	var tooBig *http.MaxBytesError
	switch {
	case errors.Is(err, errEmptyBody):
		status, msg = http.StatusBadRequest, "body: required (JSON)"
	case errors.As(err, &bad):
		status = http.StatusBadRequest
	case errors.Is(err, errUnauthorized):
		status = http.StatusUnauthorized
	case errors.Is(err, errNoAPIToken), errors.Is(err, errBadAPIToken):
		status = http.StatusUnauthorized
		w.Header().Set("WWW-Authenticate", `Bearer realm="incidentflow"`)
	case errors.As(err, &forbidden):
		status = http.StatusForbidden
	case errors.As(err, &tooBig):
		status, msg = http.StatusRequestEntityTooLarge, fmt.Sprintf("body: larger than %d bytes (http.max_body_bytes)", tooBig.Limit)
	case errors.As(err, &nf):
		status = http.StatusNotFound
	case errors.As(err, &conflict):
		status = http.StatusConflict
	case errors.As(err, &unavailable), errors.As(err, &stuck):
		status = http.StatusServiceUnavailable
		w.Header().Set("Retry-After", "5")
	}
	return status, msg
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
