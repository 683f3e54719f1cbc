package starter

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// Fuzz targets of the Opsgenie API, Slack's commands and buttons, Twilio's
// callbacks and the API's write bodies, with the same checks as the alert
// intakes (fuzzDo, checkStored).

func FuzzOpsgenieCreate(f *testing.F) {
	details := map[string]any{}
	for i := range 120 {
		details[strings.Repeat("d", i%40+1)+string(rune('a'+i%26))] = fuzzLong[:90]
	}
	for _, s := range [][]byte{
		mustJSON(map[string]any{"message": "[FIRING:1] HighCPU web-1", "alias": "highcpu-web-1", "description": "CPU above 95% for 10m",
			"priority": "P1", "tags": []string{"prod", "OverwriteQuietHours"}, "details": map[string]any{"service": "search", "error_rate": 0.5},
			"entity": "web-1", "source": "Alertmanager", "note": "from the prod cluster", "user": "alertmanager"}),
		mustJSON(map[string]any{"message": "disk full"}),
		mustJSON(map[string]any{"message": "x", "priority": "P9"}),
		mustJSON(map[string]any{"message": strings.Repeat("m", 131), "alias": strings.Repeat("a", 513), "entity": fuzzLong}),
		mustJSON(map[string]any{"message": "many", "tags": strings.Split(strings.Repeat("t,", 60), ","), "details": details}),
		mustJSON(map[string]any{"message": fuzzControl, "alias": fuzzControl, "tags": []string{fuzzControl}, "details": map[string]any{fuzzControl: fuzzControl}}),
		mustJSON(map[string]any{"message": "nested", "details": map[string]any{"a": map[string]any{"b": 1}, "c": []int{1}}}),
		[]byte(`{"message":"` + fuzzBadUTF8 + `","alias":"` + fuzzBadUTF8 + `"}`),
		[]byte(`{"message":"\u0000","alias":"\u0000"}`),
		[]byte(`{"message":"deep","details":` + fuzzDeep + `}`),
		[]byte(`{"message":7}`),
		[]byte(`{}`),
		[]byte(``),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		h, fake := fuzzServer(t)
		var a opsgenieAlert
		if json.Unmarshal(body, &a) == nil {
			ev, err := opsgenieEvent(fuzzCfg(t), fuzzInteg(t, "og"), a)
			checkEvents(t, []AlertEvent{ev}, err)
		}
		if rec := fuzzDo(t, h, jsonPost("/v2/alerts", "GenieKey "+ogKey, body)); rec.Code < 300 {
			fake.checkStored(t)
		}
	})
}

var ogActions = []string{"acknowledge", "close", "notes"}

func FuzzOpsgenieAction(f *testing.F) {
	for _, s := range []struct {
		action         uint8
		identifier     string
		identifierType string
		body           []byte
	}{
		{0, "highcpu-web-1", "alias", []byte(`{"user":"alice","source":"Grafana","note":"looking"}`)},
		{1, "incident-highcpu-web-1", "id", []byte(`{"note":"fixed by restart"}`)},
		{1, "highcpu-web-1", "", nil},
		{2, "highcpu-web-1", "alias", []byte(`{"note":"` + strings.Repeat("n", 5000) + `"}`)},
		{2, "k", "alias", []byte(`{}`)},
		{0, "k", "tiny", nil},
		{0, "k", "name", nil},
		{0, strings.Repeat("é", 600), "alias", nil},
		{1, "incident-" + strings.Repeat("k", 2000), "id", nil},
		{0, fuzzControl, "alias", []byte(`{"user":"` + fuzzLong + `"}`)},
		{1, fuzzBadUTF8, "id", []byte(`{"note":"` + fuzzBadUTF8 + `"}`)},
		{1, "incident-" + fuzzBadUTF8, "", nil},
		{2, "\x00", "alias", []byte(`{"note":"\u0000"}`)},
		{0, "k", "alias", []byte(`{"note":` + fuzzDeep + `}`)},
		{0, "k", "alias", []byte(`{"user":["alice"]}`)},
	} {
		f.Add(s.action, s.identifier, s.identifierType, s.body)
	}
	f.Fuzz(func(t *testing.T, action uint8, identifier, identifierType string, body []byte) {
		if identifier == "" || strings.Contains(identifier, "/") {
			return // another route, or none
		}
		h, fake := fuzzServer(t)
		// The identifier reaches the handler as the router decodes it
		// from the path, whatever bytes it holds.
		path := "/v2/alerts/" + url.PathEscape(identifier) + "/" + ogActions[int(action)%len(ogActions)] +
			"?identifierType=" + url.QueryEscape(identifierType)
		if rec := fuzzDo(t, h, jsonPost(path, "GenieKey "+ogKey, body)); rec.Code < 300 {
			fake.checkStored(t)
		}
	})
}

// slackAnswer checks what Slack is answered: a signed request is always
// a 200 (Slack shows nothing else to the person), with an ephemeral or
// channel message for a command.
func slackAnswer(t *testing.T, rec *httptest.ResponseRecorder, command bool) {
	t.Helper()
	if rec.Code != http.StatusOK && rec.Code != http.StatusBadRequest {
		t.Fatalf("a signed Slack request answered %d: %s", rec.Code, rec.Body.String())
	}
	if !command || rec.Code != http.StatusOK {
		return
	}
	var reply slackReply
	if err := json.Unmarshal(rec.Body.Bytes(), &reply); err != nil || reply.Text == "" {
		t.Fatalf("a command answered %q", rec.Body.String())
	}
}

func FuzzSlackCommand(f *testing.F) {
	for _, s := range []struct{ user, channel, text string }{
		{"U0ALICE", "C0GENERAL", "help"},
		{"U0ALICE", "C0GENERAL", ""},
		{"U0ALICE", "C0GENERAL", "declare P1 checkout checkout is down for everyone"},
		{"U0ALICE", "C0GENERAL", "declare --exercise <@U0BOB> P2 search game day"},
		{"U0ALICE", "C0GENERAL", "ack incident-checkout-down"},
		{"U0ALICE", "C0GENERAL", "resolve checkout-down rolled back the deploy"},
		{"U0ALICE", "C0GENERAL", "escalate incident-x step 2 nobody answers"},
		{"U0ALICE", "C0GENERAL", "status incident-x identified bad deploy of cart"},
		{"U0ALICE", "C0GENERAL", "severity incident-x critical"},
		{"U0ALICE", "C0GENERAL", "role incident-x commander <@U0BOB|bob>"},
		{"U0ALICE", "C0GENERAL", "note incident-x " + fuzzLong},
		{"U0ALICE", "C0GENERAL", "action incident-x add an alert on queue depth owner <@U0BOB> due 2026-12-01 type detect"},
		{"U0ALICE", "C0GENERAL", "page incident-x schedule:primary next"},
		{"U0ALICE", "C0GENERAL", "page incident-x <@U0BOB>"},
		{"U0ALICE", "C0GENERAL", "postmortem incident-x done written up"},
		{"U0ALICE", "C0GENERAL", "subscribe incident-x"},
		{"U0ALICE", "C0GENERAL", "oncall"},
		{"U0ALICE", "C0GENERAL", "oncall override primary 12h <@U0BOB>"},
		{"U0ALICE", "C0GENERAL", "maintenance checkout 1h deploying"},
		{"U0NOBODY", "C0GENERAL", "ack incident-x"},
		{"U0ALICE", "C0GENERAL", "ack incident-" + fuzzBadUTF8},
		{"U0ALICE", "C0GENERAL", "ack incident-" + strings.Repeat("k", 2000)},
		{"U0ALICE", "C0GENERAL", "ack " + fuzzControl},
		{"U0ALICE" + fuzzBadUTF8, "C0" + fuzzControl, "declare P1 " + fuzzControl},
	} {
		f.Add(s.user, s.channel, s.text)
	}
	f.Fuzz(func(t *testing.T, user, channel, text string) {
		h, fake := fuzzServer(t)
		form := url.Values{"command": {"/incident"}, "text": {text}, "user_id": {user}, "channel_id": {channel},
			"team_id": {"T0TEAM"}, "response_url": {"https://hooks.slack.com/commands/T0TEAM/1/abc"}}
		slackAnswer(t, fuzzDo(t, h, signedSlack("/slack/commands", form)), true)
		fake.checkStored(t)
	})
}

func FuzzSlackInteraction(f *testing.F) {
	click := func(user, action, value string) string {
		return string(mustJSON(map[string]any{
			"type": "block_actions", "user": map[string]string{"id": user, "username": "alice"},
			"response_url": "https://hooks.slack.com/actions/T0TEAM/1/abc", "trigger_id": "1.2.3",
			"actions": []map[string]any{{"type": "button", "action_id": action, "block_id": "b", "value": value, "action_ts": "1700000000.1"}},
		}))
	}
	for _, s := range []string{
		click("U0ALICE", "incident_ack", "incident-checkout-down"),
		click("U0ALICE", "incident_resolve", "checkout-down"),
		click("U0ALICE", "incident_escalate", "incident-x"),
		click("U0ALICE", "incident_commander", "incident-x"),
		click("U0ALICE", "frobnicate", "incident-x"),
		click("U0NOBODY", "incident_ack", "incident-x"),
		click("U0ALICE", "incident_ack", "incident-"+fuzzBadUTF8),
		click("U0ALICE", "incident_ack", "incident-"+strings.Repeat("k", 2000)),
		click("U0ALICE", "incident_ack", fuzzControl),
		`{"type":"view_submission","user":{"id":"U0ALICE"}}`,
		`{"type":"block_actions","user":{"id":"U0ALICE"},"actions":[]}`,
		`{"type":"block_actions","actions":` + fuzzDeep + `}`,
		`not json`,
		``,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, payload string) {
		h, fake := fuzzServer(t)
		slackAnswer(t, fuzzDo(t, h, signedSlack("/slack/interactions", url.Values{"payload": {payload}})), false)
		fake.checkStored(t)
	})
}

func FuzzTwilio(f *testing.F) {
	for _, s := range []struct {
		voice                  bool
		incident, number, keys string
	}{
		{true, "incident-checkout-down", "+15550100100", "1"},
		{true, "incident-checkout-down", "+15550100100", "2"},
		{false, "", "+15550100100", "ack"},
		{false, "incident-x", "+15550100100", "escalate please"},
		{false, "incident-x", "+15550100100", "9"},
		{false, "incident-x", "+15559999999", "1"},
		{false, "checkout-down", "+15550100100", "1"},
		{true, "incident-" + fuzzBadUTF8, "+15550100100", "1"},
		{true, "incident-" + strings.Repeat("k", 2000), "+15550100100", "1"},
		{false, "incident-" + fuzzControl, "+15550100100", fuzzControl},
	} {
		f.Add(s.voice, s.incident, s.number, s.keys)
	}
	f.Fuzz(func(t *testing.T, voice bool, id, number, keys string) {
		h, fake := fuzzServer(t)
		path, form := "/v1/twilio/sms", url.Values{"From": {number}, "To": {"+15550001111"}, "Body": {keys}, "MessageSid": {"SM1"}}
		if voice {
			path, form = "/v1/twilio/voice", url.Values{"To": {number}, "From": {"+15550001111"}, "Digits": {keys}, "CallSid": {"CA1"}}
		}
		if id != "" {
			path += "?incident=" + url.QueryEscape(id)
		}
		req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		signTwilio(req, "https://if.example.com"+path, form, "twilio-token")
		rec := fuzzDo(t, h, req)
		if rec.Code != http.StatusOK {
			t.Fatalf("a signed Twilio callback answered %d: %s", rec.Code, rec.Body.String())
		}
		if !strings.Contains(rec.Body.String(), "<Response>") {
			t.Fatalf("not TwiML: %q", rec.Body.String())
		}
		fake.checkStored(t)
	})
}

// apiWrites are the API's write endpoints that take a body, with {id} and
// {name} where the path has them.
var apiWrites = []struct{ method, path string }{
	{http.MethodPost, "/v1/incidents"},
	{http.MethodPost, "/v1/incidents/{id}/ack"},
	{http.MethodPost, "/v1/incidents/{id}/resolve"},
	{http.MethodPost, "/v1/incidents/{id}/escalate"},
	{http.MethodPost, "/v1/incidents/{id}/notes"},
	{http.MethodPost, "/v1/incidents/{id}/status-updates"},
	{http.MethodPost, "/v1/incidents/{id}/severity"},
	{http.MethodPost, "/v1/incidents/{id}/roles"},
	{http.MethodPost, "/v1/incidents/{id}/subscribers"},
	{http.MethodPost, "/v1/incidents/{id}/action-items"},
	{http.MethodPost, "/v1/incidents/{id}/page"},
	{http.MethodPost, "/v1/maintenance"},
	{http.MethodPost, "/v1/schedules/{name}/overrides"},
	{http.MethodPost, "/v1/heartbeats"},
	{http.MethodPatch, "/v1/heartbeats/{name}"},
	{http.MethodPost, "/v1/heartbeats/{name}/ping"},
}

func FuzzAPIWrite(f *testing.F) {
	for _, s := range []struct {
		route    uint8
		id, body string
	}{
		{0, "", `{"title":"checkout is down","service":"checkout","severity":"P1","commander":"alice"}`},
		{0, "", `{"title":"game day","service":"search","severity":"P3","exercise":true,"participants":["bob"]}`},
		{0, "", `{"title":"` + fuzzLong + `","service":"` + fuzzControl + `","severity":"` + fuzzBadUTF8 + `"}`},
		{1, "incident-checkout-down", `{"note":"on it"}`},
		{2, "checkout-down", `{"note":"` + fuzzLong + `"}`},
		{3, "incident-x", `{"to_step":2,"note":"nobody answers"}`},
		{3, "incident-x", `{"to_stpe":2}`},
		{4, "incident-x", `{"text":"restarted the pods"}`},
		{5, "incident-x", `{"stage":"identified","message":"bad deploy","impact":"checkout fails for 30%"}`},
		{6, "incident-x", `{"severity":"critical"}`},
		{7, "incident-x", `{"role":"commander","user":"bob"}`},
		{8, "incident-x", `{"email":"cto@example.com"}`},
		{9, "incident-x", `{"title":"alert on queue depth","owner":"bob","due":"2026-12-01","type":"detect"}`},
		{10, "", `{"service":"checkout","duration":"1h","reason":"deploying"}`},
		{11, "primary", `{"user":"bob","start":"2026-11-24T10:00:00Z","end":"2026-11-24T22:00:00Z"}`},
		{12, "", `{"name":"nightly-backup","period":"24h","grace":"1h","service":"checkout"}`},
		{13, "nightly-backup", `{"grace":"2h"}`},
		{14, "nightly-backup", ``},
		{1, "incident-" + fuzzBadUTF8, `{}`},
		{1, "\x00", `{"note":"\u0000"}`},
		{4, "incident-x", `{"text":` + fuzzDeep + `}`},
		{0, "", `[` + strings.Repeat(`"a",`, 20000) + `"a"]`},
	} {
		f.Add(s.route, s.id, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, route uint8, id string, body []byte) {
		w := apiWrites[int(route)%len(apiWrites)]
		if id == "" || strings.Contains(id, "/") {
			id = "x" // another route, or none
		}
		path := strings.NewReplacer("{id}", url.PathEscape(id), "{name}", url.PathEscape(id)).Replace(w.path)
		h, fake := fuzzServer(t)
		req := jsonPost(path, "Bearer alice-api", body)
		req.Method = w.method
		if rec := fuzzDo(t, h, req); rec.Code < 300 {
			fake.checkStored(t)
		}
	})
}
