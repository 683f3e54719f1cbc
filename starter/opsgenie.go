package starter

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"math"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/incidentflow/incidentflow/config"
	"github.com/incidentflow/incidentflow/incident"
	"github.com/incidentflow/incidentflow/workflows"
)

// Opsgenie's own limits on an alert, in characters (Alertmanager, for one,
// cuts the message at 130 runes, not bytes). A request over one is answered
// 422 as Opsgenie answers it, so a sender that works against Opsgenie works
// here and one that would fail there learns why here too.
const (
	ogMaxMessage     = 130
	ogMaxAlias       = 512
	ogMaxDescription = 15000
	ogMaxTags        = 20
	ogMaxTag         = 50
	ogMaxDetails     = 8000
	ogMaxEntity      = 512
	ogMaxSource      = 100
	ogMaxUser        = 100
	ogMaxNote        = 25000
)

// ogDefaultPriority is what Opsgenie assumes when an alert names none.
const ogDefaultPriority = "P3"

// ogAccepted is the result Opsgenie answers every alert request with: they
// are processed asynchronously there; here the 202 comes only once
// Temporal has the alert or the incident has taken the action.
const ogAccepted = "Request will be processed"

// opsgenieAlert is the body of Opsgenie's POST /v2/alerts. responders,
// visibleTo and actions route and decorate inside Opsgenie; escalation
// here follows the service's policy, so they are read past.
type opsgenieAlert struct {
	Message     string         `json:"message"`
	Alias       string         `json:"alias"`
	Description string         `json:"description"`
	Priority    string         `json:"priority"`
	Tags        []string       `json:"tags"`
	Details     map[string]any `json:"details"`
	Entity      string         `json:"entity"`
	Source      string         `json:"source"`
	Note        string         `json:"note"`
	User        string         `json:"user"`
}

// opsgenieAction is the body of acknowledge, close and notes.
type opsgenieAction struct {
	User   string `json:"user"`
	Source string `json:"source"`
	Note   string `json:"note"`
}

// ogInvalid is Opsgenie's 422: every field at fault, each with its reason.
type ogInvalid map[string]string

func (e ogInvalid) Error() string {
	parts := make([]string, 0, len(e))
	for _, f := range slices.Sorted(maps.Keys(e)) {
		parts = append(parts, f+": "+e[f])
	}
	return strings.Join(parts, "; ")
}

// checkChars records field as too long when s has more than limit characters.
func (e ogInvalid) checkChars(field, s string, limit int) {
	if n := utf8.RuneCountInString(s); n > limit {
		e[field] = fmt.Sprintf("%d characters is too long (at most %d)", n, limit)
	}
}

// ogAliasKey is the incident key of an alias: the alias itself, or, past
// incident.MaxKey bytes (512 characters of Opsgenie can be 2 KB), its start
// and a hash of the whole, so two long aliases never share an incident and
// acting on the same alias later finds the same one.
func ogAliasKey(alias string) string { return incident.CutID(alias, incident.MaxKey) }

// ogDerivedAlias is the alias of an alert sent without one: Opsgenie
// deduplicates such alerts by their message, so the same message from any
// of its integrations is one incident.
func ogDerivedAlias(message string) string {
	sum := sha256.Sum256([]byte(message))
	return hex.EncodeToString(sum[:16])
}

// opsgenieEvent validates an alert and turns it into an alert event. Every
// field over Opsgenie's limit is named at once (ogInvalid); within them,
// what is kept is held to the incident's bounds: the message is at most 520
// bytes (within incident.MaxTitle) and tags, details and the rest become
// labels cut to incident.MaxLabel, at most incident.MaxLabels of them.
func opsgenieEvent(cfg *config.Config, integ config.Integration, a opsgenieAlert) (AlertEvent, error) {
	bad := ogInvalid{}
	message := strings.TrimSpace(a.Message)
	if message == "" {
		bad["message"] = "required"
	}
	bad.checkChars("message", a.Message, ogMaxMessage)
	bad.checkChars("alias", a.Alias, ogMaxAlias)
	bad.checkChars("description", a.Description, ogMaxDescription)
	bad.checkChars("entity", a.Entity, ogMaxEntity)
	bad.checkChars("source", a.Source, ogMaxSource)
	bad.checkChars("user", a.User, ogMaxUser)
	bad.checkChars("note", a.Note, ogMaxNote)
	// Tags and details are kept within Opsgenie's limits rather than
	// refused: Grafana sends every label as a tag, and an alert refused for
	// its 21st label would be an alert lost.
	var tags []string
	for _, tag := range a.Tags {
		if tag = strings.TrimSpace(tag); tag != "" && len(tags) < ogMaxTags && !slices.Contains(tags, tag) {
			tags = append(tags, cutChars(tag, ogMaxTag))
		}
	}
	details, total := map[string]string{}, 0
	for _, k := range slices.Sorted(maps.Keys(a.Details)) {
		var v string
		switch x := a.Details[k].(type) {
		case string:
			v = x
		case float64, bool:
			v = fmt.Sprint(x)
		case nil:
		default:
			bad["details."+incident.Cut(k, ogMaxTag)] = "must be a string"
			continue
		}
		details[k] = v
		total += utf8.RuneCountInString(k) + utf8.RuneCountInString(v)
	}
	if total > ogMaxDetails {
		// Labels are bounded anyway (incident.MaxLabels of incident.MaxLabel).
		details["details_cut"] = fmt.Sprintf("%d characters of details, over Opsgenie's %d: some are left out", total, ogMaxDetails)
	}
	priority := strings.TrimSpace(a.Priority)
	if priority != "" {
		if _, ok := cfg.OpsgenieSeverity(integ, priority); !ok {
			bad["priority"] = fmt.Sprintf("%s must be one of %s", quote(a.Priority), strings.Join(config.OpsgeniePriorities, ", "))
		}
	}
	if len(bad) > 0 {
		return AlertEvent{}, bad
	}

	service := integ.Service
	for _, s := range []string{details["service"], strings.TrimSpace(a.Entity)} {
		if _, ok := cfg.Services[s]; ok {
			service = s
			break
		}
	}
	fixed := map[string]string{
		"tags": strings.Join(tags, ","), "entity": a.Entity, "source": a.Source, "description": a.Description,
		"priority": strings.ToUpper(priority), "user": a.User, "note": a.Note,
	}
	maps.DeleteFunc(fixed, func(_, v string) bool { return strings.TrimSpace(v) == "" })
	fixed["service"] = service

	// Triage sees every value in full, fields over details of the same name.
	values := maps.Clone(details)
	maps.Copy(values, fixed)
	var severity string
	if priority == "" {
		p3, _ := cfg.OpsgenieSeverity(integ, ogDefaultPriority)
		severity = triaged(cfg, values, p3)
	} else {
		severity, _ = cfg.OpsgenieSeverity(integ, priority)
	}

	alias := a.Alias
	if strings.TrimSpace(alias) == "" {
		alias = ogDerivedAlias(message)
	}
	key := ogAliasKey(alias)
	return AlertEvent{
		Key: key, Title: incident.Cut(message, incident.MaxTitle), Service: service, Severity: severity, Source: integ.Name,
		Alert: workflows.AlertSignal{
			Fingerprint: ogFingerprint(key), Status: incident.AlertFiring,
			Summary: incident.Cut(message, incident.MaxTitle), Source: integ.Name, Labels: ogLabels(fixed, details),
		},
	}, nil
}

// ogFingerprint is the alert an alias stands for inside its incident, the
// same on create and close so a close resolves what the create fired.
func ogFingerprint(key string) string { return incident.CutID(key, incident.MaxFingerprint) }

// ogLabels keeps every field and as many details as fit beside them in
// incident.MaxLabels, so many details never push out the tags or entity.
func ogLabels(fixed, details map[string]string) map[string]string {
	rest := map[string]string{}
	room := incident.MaxLabels - len(fixed)
	for _, k := range slices.Sorted(maps.Keys(details)) {
		if _, taken := fixed[k]; taken {
			continue
		}
		if len(rest) == room {
			break
		}
		rest[k] = details[k]
	}
	labels := boundLabels(rest)
	maps.Copy(labels, boundLabels(fixed))
	return labels
}

// ogTarget is the incident an action names. With identifierType alias the
// identifier is the alias sent on create; with id (Opsgenie's default) it
// is the incident's ID, or its key as people type it.
type ogTarget struct {
	ID string
	// Key is known only for an alias; an ID is looked up when the key is needed.
	Key string
}

// opsgenieTarget validates the identifier of an action the way pathID
// does: printable, bounded text, never handed on to Temporal otherwise.
func opsgenieTarget(identifier, identifierType string) (ogTarget, error) {
	bad := ogInvalid{}
	if !utf8.ValidString(identifier) {
		bad["identifier"] = "not valid UTF-8"
	} else if i := strings.IndexFunc(identifier, func(c rune) bool { return !unicode.IsPrint(c) }); i >= 0 {
		c, _ := utf8.DecodeRuneInString(identifier[i:])
		bad["identifier"] = fmt.Sprintf("has the unprintable character %U", c)
	}
	if strings.TrimSpace(identifier) == "" {
		bad["identifier"] = "required"
	}
	switch identifierType {
	case "", "id":
		if len(identifier) > maxID {
			bad["identifier"] = fmt.Sprintf("%d bytes is too long for an incident ID (at most %d)", len(identifier), maxID)
		}
		if len(bad) > 0 {
			return ogTarget{}, bad
		}
		return ogTarget{ID: workflows.NormalizeID(identifier)}, nil
	case "alias":
		bad.checkChars("identifier", identifier, ogMaxAlias)
		if len(bad) > 0 {
			return ogTarget{}, bad
		}
		key := ogAliasKey(identifier)
		return ogTarget{ID: workflows.IncidentID(key), Key: key}, nil
	case "tiny":
		bad["identifierType"] = "tiny IDs are Opsgenie's own; use id (the incident ID) or alias"
	default:
		bad["identifierType"] = quote(identifierType) + " must be id or alias"
	}
	return ogTarget{}, bad
}

// opsgenieActor is who the timeline says acted: the integration, since the
// key authenticates it and nobody in particular. The body's user is only
// what the sender claims, so it is shown as text, never taken for a
// configured user (who would become commander and be invited).
func opsgenieActor(integ config.Integration) string {
	return incident.Cut("integration:"+integ.Name, incident.MaxName)
}

// opsgenieNote is an action's note as the timeline keeps it: who the sender
// says acted, then the note, cut to incident.MaxText (Opsgenie takes up to
// 25,000 characters; the cut says so).
func opsgenieNote(b opsgenieAction) string {
	note := strings.TrimSpace(b.Note)
	if user := strings.TrimSpace(b.User); user != "" {
		if note == "" {
			note = "by " + user + " (Opsgenie API)"
		} else {
			note = user + " (Opsgenie API): " + note
		}
	}
	return incident.Cut(note, incident.MaxText)
}

func (b opsgenieAction) validate(noteRequired bool) error {
	bad := ogInvalid{}
	bad.checkChars("user", b.User, ogMaxUser)
	bad.checkChars("source", b.Source, ogMaxSource)
	bad.checkChars("note", b.Note, ogMaxNote)
	if noteRequired && strings.TrimSpace(b.Note) == "" {
		bad["note"] = "required"
	}
	if len(bad) > 0 {
		return bad
	}
	return nil
}

// opsgenieKey is the key a request carries: `Authorization: GenieKey <key>`,
// or ?apiKey= as Opsgenie also takes it.
func opsgenieKey(r *http.Request) string {
	if k := credential(r, "GenieKey"); k != "" {
		return k
	}
	return strings.TrimSpace(r.URL.Query().Get("apiKey"))
}

// ogRequest is one Opsgenie request being answered: its ID and start.
type ogRequest struct {
	id    string
	start time.Time
}

func newOGRequest(w http.ResponseWriter) ogRequest {
	req := ogRequest{id: uuid.NewString(), start: time.Now()}
	w.Header().Set("X-Request-ID", req.id)
	return req
}

// took is Opsgenie's "took": seconds spent, to the millisecond.
func (q ogRequest) took() float64 {
	return math.Round(time.Since(q.start).Seconds()*1000) / 1000
}

func (s *Server) opsgenieAuth(r *http.Request) (config.Integration, error) {
	in, err := s.integrationFor(config.KindOpsgenie, opsgenieKey(r))
	if err == nil {
		noteIntegration(r, in.Name)
	}
	return in, err
}

// opsgenieCreate is POST /v2/alerts.
func (s *Server) opsgenieCreate(w http.ResponseWriter, r *http.Request) {
	q := newOGRequest(w)
	integ, err := s.opsgenieAuth(r)
	if err != nil {
		s.opsgenieFail(w, r, q, err)
		return
	}
	var a opsgenieAlert
	if err := decodeBody(r, &a); err != nil {
		s.opsgenieFail(w, r, q, err)
		return
	}
	ev, err := opsgenieEvent(s.cfg, integ, a)
	if err != nil {
		s.opsgenieFail(w, r, q, err)
		return
	}
	if _, err := s.deliver(r.Context(), []AlertEvent{ev}); err != nil {
		s.opsgenieFail(w, r, q, err)
		return
	}
	s.opsgenieAccepted(w, q)
}

// opsgenieAct is POST /v2/alerts/{identifier}/acknowledge|close|notes.
func (s *Server) opsgenieAct(action string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		q := newOGRequest(w)
		integ, err := s.opsgenieAuth(r)
		if err != nil {
			s.opsgenieFail(w, r, q, err)
			return
		}
		var b opsgenieAction
		if err = decodeBody(r, &b); err == nil {
			err = b.validate(action == "notes")
		}
		target, targetErr := opsgenieTarget(r.PathValue("identifier"), r.URL.Query().Get("identifierType"))
		// One answer names every field at fault, the identifier's and the body's.
		var bodyBad, targetBad ogInvalid
		if errors.As(err, &bodyBad) && errors.As(targetErr, &targetBad) {
			maps.Copy(bodyBad, targetBad)
		} else if err == nil {
			err = targetErr
		}
		if err != nil {
			s.opsgenieFail(w, r, q, err)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), s.Timeout)
		defer cancel()
		switch action {
		case "acknowledge":
			err = s.opsgenieAcknowledge(ctx, integ, target, b)
		case "close":
			err = s.opsgenieClose(ctx, integ, target, b)
		case "notes":
			_, err = s.incidents.Act(ctx, target.ID, workflows.UpdateNote, workflows.NoteRequest{By: opsgenieActor(integ), Text: opsgenieNote(b)})
		}
		if err != nil {
			s.opsgenieFail(w, r, q, err)
			return
		}
		s.opsgenieAccepted(w, q)
	}
}

// opsgenieAcknowledge acks the incident as the integration. Acking what is
// already acknowledged, resolved or gone is not the sender's error (to
// Opsgenie too it is a 202 that changes nothing), so it answers 202.
func (s *Server) opsgenieAcknowledge(ctx context.Context, integ config.Integration, t ogTarget, b opsgenieAction) error {
	_, err := s.incidents.Act(ctx, t.ID, workflows.UpdateAck, workflows.ActionRequest{By: opsgenieActor(integ), Note: opsgenieNote(b)})
	return s.nothingToDo(ctx, "acknowledge", t.ID, err)
}

// opsgenieClose closes the Opsgenie alert: the alert the alias fired is
// resolved, through the same path as Alertmanager's resolved alerts, and
// the incident resolves once none of its alerts still fires. An incident
// named by ID whose alert did not come from an alias (opened by another
// intake or by hand) has nothing to resolve but itself, so it is resolved
// as the integration. A note is added after the close is durable; a retry
// after a failed note closes nothing twice.
func (s *Server) opsgenieClose(ctx context.Context, integ config.Integration, t ogTarget, b opsgenieAction) error {
	key := t.Key
	if key == "" {
		st, err := s.incidents.Get(ctx, t.ID)
		if err != nil {
			return s.nothingToDo(ctx, "close", t.ID, err)
		}
		if !slices.ContainsFunc(st.Alerts, func(a workflows.Alert) bool { return a.Fingerprint == ogFingerprint(st.Key) }) {
			_, err := s.incidents.Act(ctx, t.ID, workflows.UpdateResolve, workflows.ActionRequest{By: opsgenieActor(integ), Note: opsgenieNote(b)})
			return s.nothingToDo(ctx, "close", t.ID, err)
		}
		key = st.Key
	}
	ev := AlertEvent{Key: key, Source: integ.Name, Alert: workflows.AlertSignal{
		Fingerprint: ogFingerprint(key), Status: incident.AlertResolved, Source: integ.Name}}
	if _, err := s.incidents.Alerts(ctx, []AlertEvent{ev}); err != nil {
		return s.incidents.explain(ctx, "", err)
	}
	if strings.TrimSpace(b.Note) == "" {
		return nil
	}
	_, err := s.incidents.Act(ctx, t.ID, workflows.UpdateNote, workflows.NoteRequest{By: opsgenieActor(integ), Text: opsgenieNote(b)})
	return s.nothingToDo(ctx, "close", t.ID, err)
}

// nothingToDo passes err on unless it only says there was nothing to act
// on (no such incident, or one past the action), which is logged and is
// no failure: senders retry failures, and a retry would change nothing.
func (s *Server) nothingToDo(ctx context.Context, action, id string, err error) error {
	var nf *NotFound
	var conflict *Conflict
	if errors.As(err, &nf) || errors.As(err, &conflict) {
		s.log.InfoContext(ctx, "opsgenie action had nothing to act on", "action", action, "incident", id, "reason", err.Error())
		return nil
	}
	return err
}

func (s *Server) opsgenieAccepted(w http.ResponseWriter, q ogRequest) {
	writeJSON(w, http.StatusAccepted, map[string]any{"result": ogAccepted, "took": q.took(), "requestId": q.id})
}

// opsgenieFail answers in Opsgenie's error shape ({message, took,
// requestId}, with errors for a 422) and the contract's ({error}) at once,
// so clients written for either understand it. The key is never logged:
// only the path is, and it carries no key (?apiKey= is in the query).
func (s *Server) opsgenieFail(w http.ResponseWriter, r *http.Request, q ogRequest, err error) {
	var fields ogInvalid
	var bad *BadRequest
	status, msg := 0, ""
	switch {
	case errors.As(err, &fields):
	case errors.As(err, &bad) && bad.Field != "body":
		// A field of the wrong JSON type is a semantic error to Opsgenie.
		fields = ogInvalid{bad.Field: bad.Msg}
	case errors.Is(err, errUnauthorized):
		status, msg = http.StatusUnauthorized, "Could not authenticate: missing or wrong key (send Authorization: GenieKey <key>)"
	default:
		status, msg = answerFor(w, err)
	}
	answer := map[string]any{"took": q.took(), "requestId": q.id}
	if fields != nil {
		status, msg = http.StatusUnprocessableEntity, fields.Error()
		answer["message"] = "Request body is not processable. Please check the errors."
		answer["errors"] = map[string]string(fields)
	} else {
		answer["message"] = msg
	}
	answer["error"] = msg
	if status >= 500 {
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "status", status, "request_id", q.id, "error", err)
	}
	writeJSON(w, status, answer)
}

// cutChars keeps s within n characters (as Opsgenie counts), marking a cut.
func cutChars(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}
