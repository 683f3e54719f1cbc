package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidentflow/incidentflow/config"
	"github.com/incidentflow/incidentflow/shadow"
	"github.com/incidentflow/incidentflow/starter"
	"github.com/incidentflow/incidentflow/workflows"
)

// Leaving Opsgenie in an afternoon, as the README tells it, on the real
// binary where a person would use it:
//  1. import the account's export into a config, which validates;
//  2. run that config in shadow mode, its Opsgenie integration taking the
//     alerts senders already send (only the URL changes);
//  3. compare what incidentflow would have done with what Opsgenie did;
//  4. (drop shadow: nothing to test beyond the other end-to-end tests).
func TestMovingFromOpsgenieInAnAfternoon(t *testing.T) {
	slow(t)
	dir := t.TempDir()
	bin := filepath.Join(dir, "incidentflow")
	build := exec.Command("go", "build", "-o", bin, "./cmd/incidentflow")
	build.Dir = ".."
	out, err := build.CombinedOutput()
	require.NoError(t, err, "go build: %s", out)
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Env = append(os.Environ(), "INCIDENTFLOW_CONFIG=")
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "incidentflow %s: %s", strings.Join(args, " "), out)
		return string(out)
	}

	// 1. Import, and the config validates.
	cfgPath, reportPath := filepath.Join(dir, "incidentflow.yaml"), filepath.Join(dir, "import-report.md")
	run("import", "opsgenie", "--from", "../importer/testdata/opsgenie", "--out", cfgPath, "--report", reportPath)
	require.Contains(t, run("config", "validate", cfgPath), "ok")
	report, err := os.ReadFile(reportPath)
	require.NoError(t, err)
	require.NotEmpty(t, report, "what did not carry over is written down")
	imported, err := config.Load(cfgPath)
	require.NoError(t, err)
	var integ config.Integration
	for _, in := range imported.Integrations {
		if in.Kind == config.KindOpsgenie && in.Name == "prometheus" {
			integ = in
		}
	}
	require.Equal(t, "prometheus", integ.Name, "the Opsgenie API integration carried over: %+v", imported.Integrations)

	// 2. Shadow mode with the imported people, schedules, policies and
	// integrations; the integration's key as Opsgenie issued it.
	const key = "og-prometheus-key"
	testSecrets[integ.TokenEnv] = key
	t.Cleanup(func() { delete(testSecrets, integ.TokenEnv) })
	h := newHarnessWith(t, func(c *config.Config) {
		c.Users, c.Schedules, c.EscalationPolicies = imported.Users, imported.Schedules, imported.EscalationPolicies
		for name, s := range imported.Services {
			c.Services[name] = s
		}
		c.Integrations = append(c.Integrations, integ)
		c.Shadow = true
	})
	alias := fmt.Sprintf("platform-api-down-%d", time.Now().UnixNano())
	code, body := h.doAuthorized(http.MethodPost, "/v2/alerts", []byte(`{"message":"platform API down","alias":"`+alias+`","priority":"P1"}`), "GenieKey "+key)
	require.Equal(t, http.StatusAccepted, code, body)
	id := workflows.IncidentID(alias)
	var paged string
	t.Cleanup(func() {
		if paged == "" {
			for _, e := range h.incident(id).Timeline {
				t.Logf("timeline: %s %s %s", e.Kind, e.Actor, e.Message)
			}
		}
	})
	// A person's notification rules (email now, sms in 1m, voice in 5m, as
	// imported) are recorded when they are done or an ack stops them.
	waitFor(t, "paging to begin", 20*time.Second, func() bool {
		for _, e := range h.incident(id).Timeline {
			if strings.Contains(e.Message, "paging schedule:") {
				return true
			}
		}
		return false
	})
	time.Sleep(2 * time.Second)
	code, body = h.post("/v1/incidents/"+id+"/ack", []byte(`{}`), aliceToken)
	require.Equal(t, http.StatusOK, code, body)
	waitFor(t, "a page recorded as it would have been", 20*time.Second, func() bool {
		for _, e := range h.incident(id).Timeline {
			if p, ok := workflows.PageIn(e); ok && p.Shadow && imported.Users[p.Recipient].Email != "" {
				paged = p.Recipient
				return true
			}
		}
		return false
	})
	st := h.incident(id)
	require.True(t, st.Shadow)
	require.Equal(t, integ.Service, st.Service)
	for _, c := range h.slack.Calls("chat.postMessage") {
		t.Fatalf("shadow mode posted to Slack: %v", c.Form)
	}

	// 3. Opsgenie's export of the same alert: it notified the same person
	// 15 s in. The comparison agrees.
	export := t.TempDir()
	opened := st.CreatedAt.UTC()
	require.NoError(t, os.MkdirAll(filepath.Join(export, "alert-recipients"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(export, "alerts.json"), []byte(`{"data":[{"id":"og-1","alias":"`+alias+`","message":"platform API down","createdAt":"`+opened.Add(-time.Second).Format(time.RFC3339Nano)+`"}]}`), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(export, "alert-recipients", "og-1.json"), []byte(`{"data":[{"user":{"id":"u1","username":"`+imported.Users[paged].Email+`"},"state":"notified","method":"SMS","createdAt":"`+opened.Add(15*time.Second).Format(time.RFC3339Nano)+`"}]}`), 0o600))
	inc := &starter.Incidents{Client: temporalClient, Config: h.cfg, TaskQueue: h.cfg.Temporal.TaskQueue}
	rep, err := inc.ShadowCompare(context.Background(), starter.ShadowRequest{
		ReportRequest: starter.ReportRequest{Since: "1h", Now: time.Now().UTC().Add(time.Second)}, Source: "opsgenie", Dir: export,
	})
	require.NoError(t, err)
	var mine *shadow.Comparison
	for i := range rep.Incidents {
		if rep.Incidents[i].Ours == id {
			mine = &rep.Incidents[i]
		}
	}
	require.NotNil(t, mine, "%s", rep.Markdown())
	require.Equal(t, "key", mine.MatchedBy, "Opsgenie's alias is incidentflow's key")
	require.True(t, mine.Agree, "%s", rep.Markdown())
	require.Equal(t, paged, mine.People[0].User)
	code, out2 := h.post("/v1/incidents/"+id+"/resolve", []byte(`{}`), aliceToken)
	require.Equal(t, http.StatusOK, code, out2)
}
