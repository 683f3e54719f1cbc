package starter

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"go.temporal.io/api/workflowservice/v1"

	"github.com/incidentflow/incidentflow/notify/twilio"
	"github.com/incidentflow/incidentflow/workflows"
)

// twilioCallback takes a key pressed on a page call (voice) or a reply to a
// page SMS, checks Twilio's signature, and acts as the person whose number
// it is: 1 acknowledges, 2 escalates. It answers TwiML, said or texted back.
func (s *Server) twilioCallback(w http.ResponseWriter, r *http.Request, voice bool) {
	if err := r.ParseForm(); err != nil {
		s.fail(w, r, &BadRequest{Field: "body", Msg: "not a form: " + err.Error()})
		return
	}
	full := strings.TrimRight(s.cfg.Twilio.CallbackURL, "/") + r.URL.RequestURI()
	if s.twilioToken == "" || !twilio.Valid(s.twilioToken, full, r.PostForm, r.Header.Get("X-Twilio-Signature")) {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "X-Twilio-Signature: missing, or not made with this account's auth token"})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.Timeout)
	defer cancel()
	// The person is whoever has the number we called or texted.
	number, key := r.PostForm.Get("From"), strings.TrimSpace(r.PostForm.Get("Body"))
	if voice {
		number, key = r.PostForm.Get("To"), r.PostForm.Get("Digits")
	}
	user := s.userByPhone(number)
	reply := func(text string) {
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte(twilio.Reply(voice, text)))
	}
	if user == "" {
		reply("This number is not one of incidentflow's people.")
		return
	}
	id := r.URL.Query().Get("incident")
	if id == "" {
		var err error
		if id, err = s.incidents.LastPaged(ctx, user); err != nil || id == "" {
			reply("No incident has paged you in the last two hours.")
			return
		}
	}
	if !strings.HasPrefix(id, "incident-") {
		reply("That is not an incident.")
		return
	}
	var update, done string
	switch firstWord(key) {
	case "1", "ack":
		update, done = workflows.UpdateAck, "Acknowledged"
	case "2", "escalate":
		update, done = workflows.UpdateEscalate, "Escalated"
	default:
		reply("Press or reply 1 to acknowledge, 2 to escalate.")
		return
	}
	via := "sms"
	if voice {
		via = "phone"
	}
	if _, err := s.incidents.Act(ctx, id, update, workflows.ActionRequest{By: user, Note: "by " + via}); err != nil {
		reply(fmt.Sprintf("%s: %s", id, err.Error()))
		return
	}
	reply(fmt.Sprintf("%s %s. Thank you.", done, id))
}

// firstWord is the reply's first word, in lower case ("" for none).
func firstWord(s string) string {
	if f := strings.Fields(strings.ToLower(s)); len(f) > 0 {
		return f[0]
	}
	return ""
}

func (s *Server) userByPhone(number string) string {
	if number == "" {
		return ""
	}
	for name, u := range s.cfg.Users {
		if u.Phone == number {
			return name
		}
	}
	return ""
}

// LastPaged is the incident that most recently paged user through their
// notification rules, in the last two hours ("" if none).
func (in *Incidents) LastPaged(ctx context.Context, user string) (string, error) {
	since := time.Now().Add(-2 * time.Hour).UTC().Format(time.RFC3339)
	resp, err := in.Client.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{PageSize: 200,
		Query: fmt.Sprintf("WorkflowType = '%s' AND StartTime > '%s'", workflows.NotifyPersonWorkflowName, since)})
	if err != nil {
		return "", in.explain(ctx, "", err)
	}
	var best string
	var bestAt time.Time
	for _, e := range resp.GetExecutions() {
		fields := e.GetMemo().GetFields()
		if payloadString(fields[workflows.MemoPagedUser]) != user {
			continue
		}
		if at := e.GetStartTime().AsTime(); best == "" || at.After(bestAt) {
			best, bestAt = payloadString(fields[workflows.MemoIncident]), at
		}
	}
	return best, nil
}
