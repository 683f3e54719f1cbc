package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidentflow/incidentflow/config"
	"github.com/incidentflow/incidentflow/incident"
	"github.com/incidentflow/incidentflow/starter"
	"github.com/incidentflow/incidentflow/workflows"
)

// heartbeatOf reads one monitor from GET /v1/heartbeats.
func (h *harness) heartbeatOf(name string) map[string]any {
	h.t.Helper()
	code, out := h.do(http.MethodGet, "/v1/heartbeats", nil, "")
	require.Equal(h.t, http.StatusOK, code, out)
	for _, v := range out["heartbeats"].([]any) {
		if hb := v.(map[string]any); hb["name"] == name {
			return hb
		}
	}
	h.t.Fatalf("heartbeat %s not listed: %v", name, out)
	return nil
}

// A cron job's dead-man's switch, end to end: the intake starts the
// monitor at start-up, a ping over HTTP keeps it up, silence past interval
// + grace opens an incident on its service that pages alice in Slack, and
// the next ping (Opsgenie's form, with a GenieKey) resolves it.
func TestHeartbeatMissPagesAndPingResolves(t *testing.T) {
	// Monitors are namespace-wide workflows: a name of its own.
	name := fmt.Sprintf("backup%d", time.Now().UnixNano()%1_000_000_000)
	h := newHarnessWith(t, func(c *config.Config) {
		c.Integrations = append(c.Integrations, config.Integration{
			Name: "opsgenie", Kind: config.KindOpsgenie, TokenEnv: "OPSGENIE_KEY", Service: "checkout", DefaultSeverity: "P3"})
		c.Heartbeats = map[string]config.Heartbeat{
			name: {Interval: config.Duration(3 * time.Second), Grace: config.Duration(time.Second), Service: "checkout", Severity: "P3"},
		}
	})
	ctx := context.Background()
	// What `serve` and `dev` do at start-up.
	inc := &starter.Incidents{Client: temporalClient, Config: h.cfg, TaskQueue: h.cfg.Temporal.TaskQueue}
	require.NoError(t, inc.EnsureHeartbeats(ctx))
	require.NoError(t, inc.EnsureHeartbeats(ctx), "start-up again changes nothing")
	waitFor(t, "the monitor to answer", 10*time.Second, func() bool { return h.heartbeatOf(name)["state"] == "waiting" })

	code, out := h.do(http.MethodPost, "/v1/heartbeats/"+name+"/ping", nil, aliceToken)
	require.Equal(t, http.StatusAccepted, code, out)
	require.Equal(t, name, out["heartbeat"])
	require.Equal(t, "up", out["state"])
	pinged := out["last_ping"]
	waitFor(t, "the ping recorded", 10*time.Second, func() bool { return h.heartbeatOf(name)["last_ping"] == pinged })
	require.Equal(t, "up", h.heartbeatOf(name)["state"])

	code, out = h.do(http.MethodPost, "/v1/heartbeats/nosuch/ping", nil, aliceToken)
	require.Equal(t, http.StatusNotFound, code, out)
	require.Contains(t, out["error"], "one of "+name)

	// Silence: missed 4s after the ping; the incident pages alice.
	id := workflows.IncidentID(incident.HeartbeatKey(name))
	waitFor(t, "alice paged for the miss", 20*time.Second, func() bool {
		for _, m := range h.slack.Messages(aliceDM) {
			if strings.Contains(m.Form.Get("text"), "heartbeat "+name+" missed: no ping since") {
				return true
			}
		}
		return false
	})
	st := h.incident(id)
	require.Equal(t, "checkout", st.Service)
	require.Equal(t, "P3", st.Severity)
	require.Equal(t, "heartbeat:"+name, st.Source)
	require.Contains(t, st.Title, "heartbeat "+name+" missed: no ping since")
	require.Equal(t, "down", h.heartbeatOf(name)["state"])
	require.Len(t, h.slack.Messages(aliceDM), 1, "one miss, one page")

	// The job is back, pinging the way Opsgenie's clients do.
	code, out = h.doAuthorized(http.MethodGet, "/v2/heartbeats/"+name+"/ping", nil, "GenieKey "+opsgenieKey)
	require.Equal(t, http.StatusAccepted, code, out)
	require.Equal(t, "PONG - Heartbeat received", out["result"])
	require.Contains(t, out, "took")
	require.NotEmpty(t, out["requestId"])
	waitFor(t, "the incident resolved by the ping", 20*time.Second, func() bool {
		return h.incident(id).ResolvedBy == "alert:heartbeat:"+name
	})
	waitFor(t, "the monitor up again", 10*time.Second, func() bool { return h.heartbeatOf(name)["state"] == "up" })
	hb := h.heartbeatOf(name)
	require.EqualValues(t, 2, hb["pings"])
	require.EqualValues(t, 1, hb["misses"])
	require.Len(t, h.slack.Messages(aliceDM), 1, "the resolution pages nobody")

	// The monitor would outlive this test's worker: end it, and keep its
	// history for the replay tests.
	wf := incident.HeartbeatWorkflowID(name)
	require.NoError(t, temporalClient.TerminateWorkflow(ctx, wf, "", "test over"))
	recordRun(t, wf, "", "v6_heartbeat")
}

// A monitor made over HTTP, as a team moving off Opsgenie scripts it: it
// lives only in Temporal, is listed beside the file's, can be switched off
// and on and re-timed, misses and recovers like any other, and goes away
// when deleted, while the file's monitors refuse changes over the API.
func TestHeartbeatMadeOverHTTP(t *testing.T) {
	suffix := time.Now().UnixNano() % 1_000_000_000
	name, fromFile := fmt.Sprintf("export%d", suffix), fmt.Sprintf("filed%d", suffix)
	h := newHarnessWith(t, func(c *config.Config) {
		c.Heartbeats = map[string]config.Heartbeat{
			fromFile: {Interval: config.Duration(time.Hour), Service: "checkout"},
		}
	})
	ctx := context.Background()
	t.Cleanup(func() {
		for _, n := range []string{name, fromFile} {
			_ = temporalClient.TerminateWorkflow(ctx, incident.HeartbeatWorkflowID(n), "", "test over")
		}
	})
	body := func(fields string) []byte { return []byte(fields) }

	refusals := []struct {
		why, token, body string
		code             int
		field            string
	}{
		{"no token", "", `{"name":"x1","interval":"1h","service":"checkout"}`, http.StatusUnauthorized, ""},
		{"bad name", aliceToken, `{"name":"no/slash","interval":"1h","service":"checkout"}`, http.StatusBadRequest, "name:"},
		{"no interval", aliceToken, `{"name":"x1","service":"checkout"}`, http.StatusBadRequest, "interval: required"},
		{"interval not a duration", aliceToken, `{"name":"x1","interval":"daily","service":"checkout"}`, http.StatusBadRequest, "interval:"},
		{"interval too short", aliceToken, `{"name":"x1","interval":"10ms","service":"checkout"}`, http.StatusBadRequest, "interval: 10ms must be from 1s"},
		{"unknown service", aliceToken, `{"name":"x1","interval":"1h","service":"nosuch"}`, http.StatusBadRequest, "service: unknown service"},
		{"unknown severity", aliceToken, `{"name":"x1","interval":"1h","service":"checkout","severity":"P9"}`, http.StatusBadRequest, "severity: unknown severity"},
		{"unknown field", aliceToken, `{"name":"x1","interval":"1h","service":"checkout","owner":"x"}`, http.StatusBadRequest, "owner"},
		{"the file's name", aliceToken, `{"name":"` + fromFile + `","interval":"1h","service":"checkout"}`, http.StatusConflict, "config file"},
	}
	for _, r := range refusals {
		code, out := h.do(http.MethodPost, "/v1/heartbeats", body(r.body), r.token)
		require.Equal(t, r.code, code, "%s: %v", r.why, out)
		require.Contains(t, out["error"], r.field, r.why)
	}

	code, out := h.do(http.MethodPost, "/v1/heartbeats", body(`{"name":"`+name+`","interval":"3s","grace":"1s","service":"checkout","severity":"P3"}`), aliceToken)
	require.Equal(t, http.StatusCreated, code, out)
	require.Equal(t, "waiting", out["state"])
	require.Equal(t, "api", out["managed_by"])
	require.NotEmpty(t, out["next_due"])
	code, out = h.do(http.MethodPost, "/v1/heartbeats", body(`{"name":"`+name+`","interval":"1h","service":"checkout"}`), aliceToken)
	require.Equal(t, http.StatusConflict, code, out)
	require.Contains(t, out["error"], "exists")

	code, out = h.do(http.MethodPatch, "/v1/heartbeats/"+fromFile, body(`{"enabled":false}`), aliceToken)
	require.Equal(t, http.StatusConflict, code, out)
	require.Contains(t, out["error"], "heartbeats."+fromFile)
	code, out = h.do(http.MethodDelete, "/v1/heartbeats/"+fromFile, nil, aliceToken)
	require.Equal(t, http.StatusConflict, code, out)

	// Switched off before it is due: 5 s pass with no ping and no page.
	code, out = h.do(http.MethodPatch, "/v1/heartbeats/"+name, body(`{"enabled":false}`), aliceToken)
	require.Equal(t, http.StatusOK, code, out)
	require.Equal(t, "disabled", out["state"])
	require.Equal(t, false, out["enabled"])
	require.EqualValues(t, "3s", out["interval"], "a change keeps what it does not name")
	code, out = h.do(http.MethodPost, "/v1/heartbeats/"+name+"/ping", nil, aliceToken)
	require.Equal(t, http.StatusAccepted, code, out)
	require.Equal(t, "disabled", out["state"])
	waitFor(t, "both monitors listed", 10*time.Second, func() bool {
		code, out := h.do(http.MethodGet, "/v1/heartbeats", nil, "")
		require.Equal(t, http.StatusOK, code, out)
		seen := map[string]string{}
		for _, v := range out["heartbeats"].([]any) {
			hb := v.(map[string]any)
			seen[hb["name"].(string)], _ = hb["managed_by"].(string)
		}
		return seen[name] == "api" && seen[fromFile] == "config"
	})
	time.Sleep(5 * time.Second)
	for _, m := range h.slack.Messages(aliceDM) {
		require.NotContains(t, m.Form.Get("text"), "heartbeat "+name, "a disabled monitor never alerts")
	}

	// On again, re-timed: due 2+1 s from now, then missed, then paged.
	code, out = h.do(http.MethodPatch, "/v1/heartbeats/"+name, body(`{"enabled":true,"interval":"2s","grace":"1s"}`), aliceToken)
	require.Equal(t, http.StatusOK, code, out)
	require.Contains(t, []any{"up", "waiting"}, out["state"])
	require.EqualValues(t, "2s", out["interval"])
	id := workflows.IncidentID(incident.HeartbeatKey(name))
	waitFor(t, "alice paged for the miss", 20*time.Second, func() bool {
		for _, m := range h.slack.Messages(aliceDM) {
			if strings.Contains(m.Form.Get("text"), "heartbeat "+name+" missed") {
				return true
			}
		}
		return false
	})
	code, out = h.do(http.MethodGet, "/v1/heartbeats/"+name, nil, "")
	require.Equal(t, http.StatusOK, code, out)
	require.Equal(t, "down", out["state"])
	code, out = h.do(http.MethodPost, "/v1/heartbeats/"+name+"/ping", nil, aliceToken)
	require.Equal(t, http.StatusAccepted, code, out)
	waitFor(t, "the incident resolved by the ping", 20*time.Second, func() bool {
		return h.incident(id).ResolvedBy == "alert:heartbeat:"+name
	})

	code, out = h.do(http.MethodDelete, "/v1/heartbeats/"+name, nil, aliceToken)
	require.Equal(t, http.StatusOK, code, out)
	require.Equal(t, true, out["deleted"])
	waitFor(t, "the monitor gone", 10*time.Second, func() bool {
		code, _ := h.do(http.MethodGet, "/v1/heartbeats/"+name, nil, "")
		return code == http.StatusNotFound
	})
	code, out = h.do(http.MethodPost, "/v1/heartbeats/"+name+"/ping", nil, aliceToken)
	require.Equal(t, http.StatusNotFound, code, out)
	code, out = h.do(http.MethodPatch, "/v1/heartbeats/"+name, body(`{"enabled":true}`), aliceToken)
	require.Equal(t, http.StatusNotFound, code, out)
}

// Opsgenie's Heartbeat API, as a pipeline that registers its own monitor
// calls it: only the host changes.
func TestOpsgenieHeartbeatAPI(t *testing.T) {
	name := fmt.Sprintf("pipeline%d", time.Now().UnixNano()%1_000_000_000)
	h := newHarnessWith(t, func(c *config.Config) {
		c.Integrations = append(c.Integrations, config.Integration{
			Name: "opsgenie", Kind: config.KindOpsgenie, TokenEnv: "OPSGENIE_KEY", Service: "checkout", DefaultSeverity: "P3"})
	})
	t.Cleanup(func() {
		_ = temporalClient.TerminateWorkflow(context.Background(), incident.HeartbeatWorkflowID(name), "", "test over")
	})
	genie := "GenieKey " + opsgenieKey
	og := func(method, path, body string) (int, map[string]any, http.Header) {
		t.Helper()
		req, err := http.NewRequest(method, h.api.URL+path, strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Authorization", genie)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		var out map[string]any
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
		return resp.StatusCode, out, resp.Header
	}

	code, out := h.doAuthorized(http.MethodPost, "/v2/heartbeats", []byte(`{"name":"x","interval":1}`), "GenieKey wrong")
	require.Equal(t, http.StatusUnauthorized, code, out)
	code, out, _ = og(http.MethodPost, "/v2/heartbeats", `{"name":"`+name+`","interval":1,"intervalUnit":"weeks"}`)
	require.Equal(t, http.StatusUnprocessableEntity, code, out)
	require.Contains(t, out["errors"], "intervalUnit")
	code, out, _ = og(http.MethodPost, "/v2/heartbeats", `{"name":"`+name+`","intervalUnit":"hours"}`)
	require.Equal(t, http.StatusUnprocessableEntity, code, out)
	require.Contains(t, out["errors"], "interval")

	code, out, hdr := og(http.MethodPost, "/v2/heartbeats", `{"name":"`+name+`","description":"nightly ETL","interval":30,"intervalUnit":"minutes",
		"enabled":true,"ownerTeam":{"name":"data"},"alertMessage":"ETL missed","alertTags":["etl"],"alertPriority":"P2"}`)
	require.Equal(t, http.StatusCreated, code, out)
	require.Equal(t, map[string]any{"name": name, "enabled": true, "expired": false}, out["data"])
	require.NotEmpty(t, out["requestId"])
	require.Equal(t, "description, alertMessage, alertTags, ownerTeam", hdr.Get("X-Incidentflow-Ignored"))
	code, out, _ = og(http.MethodPost, "/v2/heartbeats", `{"name":"`+name+`","interval":5}`)
	require.Equal(t, http.StatusConflict, code, out)

	code, out, _ = og(http.MethodGet, "/v2/heartbeats/"+name, "")
	require.Equal(t, http.StatusOK, code, out)
	got := out["data"].(map[string]any)
	require.EqualValues(t, 30, got["interval"])
	require.Equal(t, "minutes", got["intervalUnit"])
	require.Equal(t, "P2", got["alertPriority"], "P2 maps to P2 by default")
	require.Equal(t, false, got["expired"])

	code, out, _ = og(http.MethodPost, "/v2/heartbeats/"+name+"/disable", "")
	require.Equal(t, http.StatusOK, code, out)
	require.Equal(t, false, out["data"].(map[string]any)["enabled"])
	code, out, _ = og(http.MethodPatch, "/v2/heartbeats/"+name, `{"interval":2,"intervalUnit":"hours"}`)
	require.Equal(t, http.StatusOK, code, out)
	got = out["data"].(map[string]any)
	require.EqualValues(t, 2, got["interval"])
	require.Equal(t, "hours", got["intervalUnit"])
	require.Equal(t, false, got["enabled"], "a change keeps what it does not name")
	code, out, _ = og(http.MethodPost, "/v2/heartbeats/"+name+"/enable", "")
	require.Equal(t, http.StatusOK, code, out)
	require.Equal(t, true, out["data"].(map[string]any)["enabled"])

	code, out, _ = og(http.MethodGet, "/v2/heartbeats/"+name+"/ping", "")
	require.Equal(t, http.StatusAccepted, code, out)
	waitFor(t, "listed as Opsgenie lists", 10*time.Second, func() bool {
		code, out, _ := og(http.MethodGet, "/v2/heartbeats", "")
		require.Equal(t, http.StatusOK, code, out)
		for _, v := range out["data"].(map[string]any)["heartbeats"].([]any) {
			if v.(map[string]any)["name"] == name {
				return true
			}
		}
		return false
	})
	require.Equal(t, "up", h.heartbeatOf(name)["state"])

	code, out, _ = og(http.MethodDelete, "/v2/heartbeats/"+name, "")
	require.Equal(t, http.StatusOK, code, out)
	require.Equal(t, "Deleted", out["result"])
	waitFor(t, "gone", 10*time.Second, func() bool {
		code, _, _ := og(http.MethodGet, "/v2/heartbeats/"+name, "")
		return code == http.StatusNotFound
	})
}
