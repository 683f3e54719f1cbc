package starter

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/incidentflow/incidentflow/activities"
	"github.com/incidentflow/incidentflow/incident"
	"github.com/incidentflow/incidentflow/workflows"
)

// Slack allows 3 seconds for an answer; leave room for the network.
const slackBudget = 2500 * time.Millisecond

const slashUsage = "Usage: `/incident declare [--exercise @user...] <severity> [service] <title>` · `ack <id>` · `resolve <id> [summary]` · " +
	"`reopen <id>` · `close <id>` · `escalate <id> [step N]` · `status <id> <investigating|identified|monitoring|resolved> <message>` · " +
	"`severity <id> <level>` · `role <id> <commander|comms|ops|scribe|deputy|planning|liaison> <@user>` · `note <id> <text>` · " +
	"`major <id> [reason]` · `brief <id> <message>` (a major incident's executive brief) · " +
	"`action <id> <title> [owner @user] [due YYYY-MM-DD] [type prevent|detect|respond]` · `page <id> <@user|schedule:name>` · " +
	"`postmortem <id> [done [note]]` · `merge <duplicate> <into>` · `link <child> <parent>` · `unlink <child>` · `breach <id> [aware-at] | <checklist item> | status` (a personal-data breach) · `subscribe <id>` · `unsubscribe <id>` · `oncall [schedule]` · `oncall override <schedule> <12h | FROM TO> [@user]` · `help`. " +
	"In an incident's channel, leave out the id."

// verifySlack checks Slack's v0 signature over the raw body and the
// 5-minute timestamp window, and returns the body. Any failure is a bare 401.
func (s *Server) verifySlack(r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, tooBig
		}
		return nil, &BadRequest{Field: "body", Msg: "could not read"}
	}
	if s.slackSecret == "" {
		return nil, errUnauthorized
	}
	sv, err := slack.NewSecretsVerifier(r.Header, s.slackSecret)
	if err != nil {
		return nil, errUnauthorized
	}
	if _, err := sv.Write(body); err != nil || sv.Ensure() != nil {
		return nil, errUnauthorized
	}
	return body, nil
}

// slackForm verifies a Slack request and parses its form body.
func (s *Server) slackForm(r *http.Request) (url.Values, error) {
	body, err := s.verifySlack(r)
	if err != nil {
		return nil, err
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, &BadRequest{Field: "body", Msg: "not a form"}
	}
	return form, nil
}

// userBySlackID maps a Slack user to a configured user: by slack_id, else
// by email through users.lookupByEmail (each user looked up once).
func (s *Server) userBySlackID(ctx context.Context, id string) (string, bool) {
	if id == "" {
		return "", false
	}
	names := sortedUserNames(s.cfg.Users)
	for _, name := range names {
		if s.cfg.Users[name].SlackID == id {
			return name, true
		}
	}
	if s.SlackUsers == nil {
		return "", false
	}
	for _, name := range names {
		u := s.cfg.Users[name]
		if u.SlackID != "" || u.Email == "" {
			continue
		}
		known, cached := s.emailIDs.Load(name)
		if !cached {
			found, err := s.SlackUsers.GetUserByEmailContext(ctx, u.Email)
			if err != nil {
				var se slack.SlackErrorResponse
				if !errors.As(err, &se) || se.Err != "users_not_found" {
					s.log.Warn("slack users.lookupByEmail", "user", name, "error", err)
					continue // not cached: a passing failure is tried again
				}
				found = &slack.User{}
			}
			known, _ = s.emailIDs.LoadOrStore(name, found.ID)
		}
		if known == id {
			return name, true
		}
	}
	return "", false
}

type slackReply struct {
	ResponseType    string `json:"response_type"`
	Text            string `json:"text"`
	ReplaceOriginal bool   `json:"replace_original"`
}

func ephemeral(text string) slackReply { return slackReply{ResponseType: "ephemeral", Text: text} }

func (s *Server) slackCommand(w http.ResponseWriter, r *http.Request) {
	form, err := s.slackForm(r)
	if err != nil {
		s.slackFail(w, r, err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), slackBudget)
	defer cancel()
	writeJSON(w, http.StatusOK, s.runSlash(ctx, form.Get("user_id"), form.Get("channel_id"), form.Get("text")))
}

// runSlash executes one `/incident` command for a Slack user. Typed in an
// incident's own channel, the incident is implied; elsewhere its id comes
// first.
func (s *Server) runSlash(ctx context.Context, slackUser, channelID, text string) slackReply {
	args := strings.Fields(text)
	if len(args) == 0 || args[0] == "help" {
		return ephemeral(slashUsage)
	}
	if args[0] == "subscribe" || args[0] == "unsubscribe" {
		return s.slashSubscribe(ctx, slackUser, channelID, args[0], args[1:])
	}
	by, ok := s.userBySlackID(ctx, slackUser)
	if !ok {
		return ephemeral(fmt.Sprintf("Your Slack user %s is not one of incidentflow's users: add `slack_id: %s` to your user in the config.", slackUser, slackUser))
	}
	sub, args := args[0], args[1:]
	switch sub {
	case "declare":
		return s.slashDeclare(ctx, by, args)
	case "oncall":
		return s.slashOncall(ctx, by, args)
	case "maintenance":
		return s.slashMaintenance(ctx, by, args)
	case "merge", "link", "unlink":
		return s.slashLinked(ctx, by, channelID, sub, args)
	}
	var id string
	var rest []string
	if implied, ok, _ := s.incidentOfChannel(ctx, channelID); ok {
		id, rest = implied, args
	} else if len(args) == 0 {
		return ephemeral(fmt.Sprintf("`/incident %s` needs an incident id (or type it in the incident's channel).\n%s", sub, slashUsage))
	} else {
		id, rest = workflows.NormalizeID(args[0]), args[1:]
	}
	text = strings.Join(rest, " ")
	var update string
	var req any
	switch sub {
	case "ack", "resolve", "reopen", "close", "escalate":
		a := workflows.ActionRequest{By: by, Note: text}
		// `/incident escalate <id> step 2 [note]` aims the escalation.
		if sub == "escalate" && len(rest) >= 2 && rest[0] == "step" {
			if n, err := strconv.Atoi(rest[1]); err == nil {
				a.ToStep, a.Note = n, strings.Join(rest[2:], " ")
			}
		}
		update, req = sub, a
	case "status":
		if len(rest) < 2 {
			return ephemeral("Usage: `/incident status <id> <investigating|identified|monitoring|resolved> <message>`")
		}
		update, req = workflows.UpdateStatusUpdate, workflows.StatusUpdate{By: by, Stage: incident.Stage(rest[0]), Message: strings.Join(rest[1:], " ")}
	case "severity":
		if len(rest) != 1 {
			return ephemeral("Usage: `/incident severity <id> <level>`")
		}
		sev, ok := s.cfg.NormalizeSeverity(rest[0])
		if !ok {
			return ephemeral(fmt.Sprintf("Unknown severity %q: one of %s.", rest[0], strings.Join(s.cfg.SeverityNames(), ", ")))
		}
		update, req = workflows.UpdateSetSeverity, workflows.SeverityRequest{By: by, Severity: sev}
	case "role":
		if len(rest) < 2 {
			return ephemeral("Usage: `/incident role <id> <commander|comms|ops|scribe|deputy|planning|liaison> <@user>`")
		}
		user, ok := s.mentionedUser(ctx, rest[1])
		if !ok {
			return ephemeral(fmt.Sprintf("%s is not one of incidentflow's users.", rest[1]))
		}
		update, req = workflows.UpdateAssignRole, workflows.RoleRequest{By: by, Role: rest[0], User: user, Note: strings.Join(rest[2:], " ")}
	case "note":
		update, req = workflows.UpdateNote, workflows.NoteRequest{By: by, Text: text}
	case "major":
		update, req = workflows.UpdateMajor, workflows.MajorRequest{By: by, Reason: text}
	case "brief":
		update, req = workflows.UpdateStatusUpdate, workflows.StatusUpdate{By: by, Audience: workflows.AudienceExec, Message: text}
	case "action":
		item, msg := s.parseActionItem(ctx, by, rest)
		if msg != "" {
			return ephemeral(msg)
		}
		res, err := s.incidents.AddActionItem(ctx, id, item)
		if err != nil {
			return ephemeral(slackError(err))
		}
		where := id
		if pm, ok := res.(*workflows.PostmortemState); ok {
			where = fmt.Sprintf("post-mortem %s, item %d", pm.ID, len(pm.ActionItems))
		}
		return slackReply{ResponseType: "in_channel", Text: fmt.Sprintf("%s added an action item (%s): %s", by, where, item.Title)}
	case "postmortem":
		return s.slashPostmortem(ctx, by, id, rest)
	case "breach":
		return s.slashBreach(ctx, by, id, rest)
	case "page":
		if len(rest) < 1 {
			return ephemeral("Usage: `/incident page <id> <@user|schedule:name [next]>`")
		}
		target := rest[0]
		if m := mention.FindStringSubmatch(target); m != nil {
			user, ok := s.userBySlackID(ctx, m[1])
			if !ok {
				return ephemeral(fmt.Sprintf("%s is not one of incidentflow's users.", target))
			}
			target = user
		}
		p := workflows.PageSomeoneRequest{By: by, Target: strings.TrimPrefix(target, "@"), Note: strings.Join(rest[1:], " ")}
		// `/incident page <id> schedule:primary next`: who takes over next.
		if len(rest) > 1 && rest[1] == "next" {
			p.Note = strings.Join(rest[2:], " ")
			if err := s.pageNextOnCall(ctx, &p); err != nil {
				return ephemeral(slackError(err))
			}
		}
		update, req = workflows.UpdatePage, p
	default:
		return ephemeral(fmt.Sprintf("Unknown command %q.\n%s", sub, slashUsage))
	}
	st, err := s.incidents.Act(ctx, id, update, req)
	if err != nil {
		return ephemeral(slackError(err))
	}
	return slackReply{ResponseType: "in_channel", Text: fmt.Sprintf("%s: %s (%s %s, %s)", by, describe(sub), st.Severity, st.ID, st.Status)}
}

// slashPostmortem: `/incident postmortem [id]` shows where the post-mortem
// stands; `/incident postmortem [id] done [note]` marks it written up.
func (s *Server) slashPostmortem(ctx context.Context, by, id string, rest []string) slackReply {
	if len(rest) > 0 && rest[0] == "done" {
		st, err := s.incidents.ActOnPostmortem(ctx, id, workflows.UpdatePostmortemComplete, workflows.CompleteRequest{By: by, Note: strings.Join(rest[1:], " ")})
		if err != nil {
			return ephemeral(slackError(err))
		}
		return slackReply{ResponseType: "in_channel", Text: fmt.Sprintf("%s marked the post-mortem of %s done; %d of %d action item(s) closed or dropped.", by, st.IncidentID, st.ItemsDone, st.ItemsTotal)}
	}
	if len(rest) > 0 {
		return ephemeral("Usage: `/incident postmortem <id> [done [note]]`")
	}
	st, err := s.incidents.Postmortem(ctx, id)
	if err != nil {
		return ephemeral(slackError(err))
	}
	where := fmt.Sprintf("GET /v1/incidents/%s/postmortem", st.IncidentID)
	if st.Issue != nil {
		where = st.Issue.URL
	}
	return ephemeral(fmt.Sprintf("Post-mortem of %s: %s, due %s; action items %d/%d done (%.0f%%). %s",
		st.IncidentID, st.Status, st.DueAt.UTC().Format("Mon Jan 2 15:04 MST"), st.ItemsDone, st.ItemsTotal, 100*st.CompletionRate, where))
}

func (s *Server) slashDeclare(ctx context.Context, by string, args []string) slackReply {
	usage := "Usage: `/incident declare [--exercise @user...] <severity> [service] <title>`"
	exercise := len(args) > 0 && args[0] == "--exercise"
	var participants []string
	if exercise {
		var msg string
		if participants, args, msg = s.exerciseParticipants(ctx, args[1:]); msg != "" {
			return ephemeral(msg)
		}
	}
	if len(args) < 2 {
		return ephemeral(usage)
	}
	sev, ok := s.cfg.NormalizeSeverity(args[0])
	if !ok {
		return ephemeral(fmt.Sprintf("Unknown severity %q: one of %s.", args[0], strings.Join(s.cfg.SeverityNames(), ", ")))
	}
	args = args[1:]
	service := ""
	if _, ok := s.cfg.Services[args[0]]; ok && len(args) > 1 {
		service, args = args[0], args[1:]
	} else if len(s.cfg.Services) == 1 {
		for name := range s.cfg.Services {
			service = name
		}
	} else {
		return ephemeral(fmt.Sprintf("Which service? %s; services: %s.", usage, strings.Join(sortedUserNames(s.cfg.Services), ", ")))
	}
	d := Declaration{Service: service, Severity: sev, Title: strings.Join(args, " "), By: by}
	if exercise {
		id, err := s.incidents.DeclareExercise(ctx, d, participants)
		if err != nil {
			return ephemeral(slackError(err))
		}
		return slackReply{ResponseType: "in_channel", Text: fmt.Sprintf("%s %s declared %s exercise %s on %s: %s (pages only %s)",
			incident.ExerciseMark, by, sev, id, service, d.Title, strings.Join(participants, ", "))}
	}
	id, err := s.incidents.Declare(ctx, d)
	if err != nil {
		return ephemeral(slackError(err))
	}
	return slackReply{ResponseType: "in_channel", Text: fmt.Sprintf("%s declared %s incident %s on %s: %s", by, sev, id, service, strings.Join(args, " "))}
}

// exerciseParticipants takes an exercise's participants out of the
// declare's arguments: mentions (`<@U123>`, `@name`) wherever they are,
// and configured user names before the severity. It returns the rest, or
// what to tell the user about a participant it does not know.
func (s *Server) exerciseParticipants(ctx context.Context, args []string) (participants, rest []string, msg string) {
	leading := true
	for _, arg := range args {
		_, isUser := s.cfg.Users[strings.TrimSuffix(arg, ",")]
		if !mention.MatchString(arg) && !strings.HasPrefix(arg, "@") && !(leading && isUser) {
			leading = false
			rest = append(rest, arg)
			continue
		}
		user, ok := s.mentionedUser(ctx, strings.TrimSuffix(arg, ","))
		if !ok {
			return nil, nil, fmt.Sprintf("Participant %s is not one of incidentflow's users (%s).", arg, strings.Join(sortedUserNames(s.cfg.Users), ", "))
		}
		if !slices.Contains(participants, user) {
			participants = append(participants, user)
		}
	}
	return participants, rest, ""
}

func (s *Server) incidentOfChannel(ctx context.Context, channelID string) (string, bool, error) {
	if s.incidents.Client == nil || channelID == "" {
		return "", false, nil
	}
	return s.incidents.ByChannel(ctx, channelID)
}

// parseActionItem reads `<title words> [owner @user] [due YYYY-MM-DD]
// [type prevent|detect|respond]`; owner defaults to the author, type to prevent.
func (s *Server) parseActionItem(ctx context.Context, by string, args []string) (workflows.ActionItemRequest, string) {
	item := workflows.ActionItemRequest{By: by, Owner: by, Type: "prevent"}
	var title []string
	for i := 0; i < len(args); i++ {
		if i+1 < len(args) {
			switch args[i] {
			case "owner":
				user, ok := s.mentionedUser(ctx, args[i+1])
				if !ok {
					return item, fmt.Sprintf("%s is not one of incidentflow's users.", args[i+1])
				}
				item.Owner = user
				i++
				continue
			case "due":
				item.Due = args[i+1]
				i++
				continue
			case "type":
				item.Type = args[i+1]
				i++
				continue
			}
		}
		title = append(title, args[i])
	}
	item.Title = strings.Join(title, " ")
	if item.Title == "" {
		return item, "Usage: `/incident action <id> <title> [owner @user] [due YYYY-MM-DD] [type prevent|detect|respond]`"
	}
	return item, ""
}

var mention = regexp.MustCompile(`^<@([A-Z0-9]+)(\|[^>]*)?>$`)

// mentionedUser reads `<@U123|name>`, `@name` or `name`.
func (s *Server) mentionedUser(ctx context.Context, arg string) (string, bool) {
	if m := mention.FindStringSubmatch(arg); m != nil {
		return s.userBySlackID(ctx, m[1])
	}
	name := strings.TrimPrefix(arg, "@")
	_, ok := s.cfg.Users[name]
	return name, ok
}

func describe(sub string) string {
	switch sub {
	case "ack":
		return "acknowledged"
	case "resolve":
		return "resolved"
	case "reopen":
		return "reopened"
	case "close":
		return "closed"
	case "escalate":
		return "escalated"
	case "status":
		return "posted a status update"
	case "severity":
		return "changed the severity"
	case "role":
		return "assigned a role"
	case "action":
		return "added an action item"
	case "page":
		return "paged"
	case "major":
		return "declared a major incident"
	case "brief":
		return "sent the executive brief"
	}
	return "added a note"
}

// slackError says why, in words fit for an ephemeral message.
func slackError(err error) string {
	var conflict *Conflict
	var nf *NotFound
	var unavailable *Unavailable
	var bad *BadRequest
	switch {
	case errors.As(err, &conflict):
		return "Not done: " + conflict.Msg
	case errors.As(err, &nf):
		return nf.Error()
	case errors.As(err, &bad):
		return bad.Error()
	case errors.As(err, &unavailable):
		return "Temporal is unavailable right now; try again in a moment."
	}
	return "Something went wrong: " + err.Error()
}

// slackInteraction handles button clicks on incident cards and pages.
// Slack discards the HTTP answer of block_actions, so the outcome goes
// back to the clicking user through response_url.
func (s *Server) slackInteraction(w http.ResponseWriter, r *http.Request) {
	form, err := s.slackForm(r)
	if err != nil {
		s.slackFail(w, r, err)
		return
	}
	var cb slack.InteractionCallback
	if err := json.Unmarshal([]byte(form.Get("payload")), &cb); err != nil {
		s.slackFail(w, r, &BadRequest{Field: "payload", Msg: "not an interaction payload"})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), slackBudget)
	defer cancel()
	reply := s.runAction(ctx, cb)
	if cb.ResponseURL != "" {
		s.respond(ctx, cb.ResponseURL, reply)
	}
	w.WriteHeader(http.StatusOK)
}

func (s *Server) runAction(ctx context.Context, cb slack.InteractionCallback) slackReply {
	if cb.Type != slack.InteractionTypeBlockActions || len(cb.ActionCallback.BlockActions) == 0 {
		return ephemeral("incidentflow does not handle this interaction.")
	}
	by, ok := s.userBySlackID(ctx, cb.User.ID)
	if !ok {
		return ephemeral(fmt.Sprintf("Your Slack user %s is not one of incidentflow's users: add `slack_id: %s` to your user in the config.", cb.User.ID, cb.User.ID))
	}
	a := cb.ActionCallback.BlockActions[0]
	if strings.HasPrefix(a.ActionID, activities.ActionRunbookPrefix) {
		return s.runbookClick(ctx, by, a)
	}
	id := workflows.NormalizeID(a.Value)
	var update, sub string
	var req any = workflows.ActionRequest{By: by}
	switch a.ActionID {
	case activities.ActionAck:
		update, sub = workflows.UpdateAck, "ack"
	case activities.ActionResolve:
		update, sub = workflows.UpdateResolve, "resolve"
	case activities.ActionEscalate:
		update, sub = workflows.UpdateEscalate, "escalate"
	case activities.ActionCommander:
		update, sub = workflows.UpdateAssignRole, "role"
		req = workflows.RoleRequest{By: by, Role: "commander", User: by, Note: "took command from Slack"}
	default:
		return ephemeral(fmt.Sprintf("Unknown action %q.", a.ActionID))
	}
	st, err := s.incidents.Act(ctx, id, update, req)
	if err != nil {
		return ephemeral(slackError(err))
	}
	return ephemeral(fmt.Sprintf("Done: you %s %s (now %s).", describe(sub), st.ID, st.Status))
}

func (s *Server) respond(ctx context.Context, responseURL string, reply slackReply) {
	b, _ := json.Marshal(reply)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, responseURL, bytes.NewReader(b))
	if err != nil {
		s.log.Warn("slack response_url", "error", err)
		return
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.slackHTTP.Do(req)
	if err != nil {
		s.log.Warn("slack response_url", "error", err)
		return
	}
	resp.Body.Close()
}

// slackFail answers Slack: 401 without detail for a bad signature.
func (s *Server) slackFail(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, errUnauthorized) {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "unauthorized"})
		return
	}
	s.fail(w, r, err)
}

func sortedUserNames[V any](m map[string]V) []string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}
