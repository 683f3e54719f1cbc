package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/incidentflow/incidentflow/config"
	"github.com/incidentflow/incidentflow/incident"
	"github.com/incidentflow/incidentflow/workflows"
)

const opsgenieKey = "6f1c3a9e-e2e-genie-key"

func init() { testSecrets["OPSGENIE_KEY"] = opsgenieKey }

// newOpsgenieHarness is the harness with an opsgenie integration, as a team
// moving off Opsgenie would add it.
func newOpsgenieHarness(t *testing.T) *harness {
	return newHarnessWith(t, func(c *config.Config) {
		c.Integrations = append(c.Integrations, config.Integration{
			Name: "opsgenie", Kind: config.KindOpsgenie, TokenEnv: "OPSGENIE_KEY", Service: "checkout", DefaultSeverity: "P3"})
	})
}

// genie sends what an Opsgenie client sends: `Authorization: GenieKey <key>`.
func (h *harness) genie(path, body, key string) (int, map[string]any) {
	h.t.Helper()
	return h.doAuthorized(http.MethodPost, path, []byte(body), "GenieKey "+key)
}

// requireAccepted checks an answer is Opsgenie's 202, field for field.
func requireAccepted(t *testing.T, code int, body map[string]any) {
	t.Helper()
	require.Equal(t, http.StatusAccepted, code, body)
	require.Len(t, body, 3, body)
	require.Equal(t, "Request will be processed", body["result"])
	require.IsType(t, float64(0), body["took"])
	_, err := uuid.Parse(body["requestId"].(string))
	require.NoError(t, err)
}

func TestOpsgenieAlertAPI(t *testing.T) {
	h := newOpsgenieHarness(t)
	alias := "checkout-5xx-" + t.Name()
	id := workflows.IncidentID(alias)
	create := fmt.Sprintf(`{"message":"checkout 5xx above 5%%","alias":%q,"priority":"P1",
		"description":"error rate 7%% for 5m","tags":["checkout","prod"],"details":{"region":"eu-1"},
		"entity":"checkout-api","source":"grafana","responders":[{"type":"team","name":"sre"}]}`, alias)

	code, body := h.genie("/v2/alerts", create, opsgenieKey)
	requireAccepted(t, code, body)
	waitFor(t, "the on-call DM", 10*time.Second, func() bool { return len(h.slack.Messages(aliceDM)) == 1 })
	page := h.slack.Messages(aliceDM)[0].Form.Get("text")
	require.Contains(t, page, "[P1]")
	require.Contains(t, page, "checkout 5xx above 5%")
	st := stateOf(t, id)
	require.Equal(t, "P1", st.Severity)
	require.Equal(t, "checkout", st.Service)
	require.Equal(t, "opsgenie", st.Source)

	// The same alias again joins the incident, as Opsgenie counts a duplicate.
	code, body = h.genie("/v2/alerts", create, opsgenieKey)
	requireAccepted(t, code, body)
	waitFor(t, "the duplicate counted", 10*time.Second, func() bool { return stateOf(t, id).AlertCount == 2 })
	resp, err := temporalClient.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{
		Query: fmt.Sprintf("WorkflowId = '%s'", id)})
	require.NoError(t, err)
	require.Len(t, resp.GetExecutions(), 1, "a duplicate joins the one incident")
	require.Len(t, h.slack.Messages(aliceDM), 1, "a duplicate never pages again")

	// The 202 comes once the incident took the ack: it is acknowledged now.
	byAlias := "/v2/alerts/" + url.PathEscape(alias)
	code, body = h.genie(byAlias+"/acknowledge?identifierType=alias", `{"user":"alice","source":"script","note":"looking"}`, opsgenieKey)
	requireAccepted(t, code, body)
	st = stateOf(t, id)
	require.Equal(t, incident.StatusAcknowledged, st.Status)
	require.Equal(t, "integration:opsgenie", st.AcknowledgedBy, "the key acts, not whoever the body names")
	require.Contains(t, lastOf(st.Timeline, workflows.KindAck).Message, "alice (Opsgenie API): looking")
	code, body = h.genie(byAlias+"/acknowledge?identifierType=alias", `{}`, opsgenieKey)
	requireAccepted(t, code, body)

	// Notes by the incident ID (identifierType defaults to id).
	code, body = h.genie("/v2/alerts/"+id+"/notes", `{"user":"bob","note":"rolled back the deploy"}`, opsgenieKey)
	requireAccepted(t, code, body)
	note := lastOf(stateOf(t, id).Timeline, workflows.KindNote)
	require.Equal(t, "bob (Opsgenie API): rolled back the deploy", note.Message)
	require.Equal(t, "integration:opsgenie", note.Actor)

	code, body = h.genie("/v2/alerts", create, "wrong-key")
	require.Equal(t, http.StatusUnauthorized, code, body)
	require.Contains(t, body["message"], "Could not authenticate")
	require.Contains(t, body, "requestId")

	code, body = h.genie("/v2/alerts", fmt.Sprintf(`{"message":%q}`, strings.Repeat("m", 131)), opsgenieKey)
	require.Equal(t, http.StatusUnprocessableEntity, code, body)
	require.Equal(t, map[string]any{"message": "131 characters is too long (at most 130)"}, body["errors"])
	require.Equal(t, "message: 131 characters is too long (at most 130)", body["error"])

	// Closing the alert resolves it, and with it the incident it alone fired.
	code, body = h.genie(byAlias+"/close?identifierType=alias", `{"source":"alertmanager"}`, opsgenieKey)
	requireAccepted(t, code, body)
	waitFor(t, "the close to resolve it", 10*time.Second, func() bool { return stateOf(t, id).Status == incident.StatusMonitoring })
	st = stateOf(t, id)
	require.Equal(t, "alert:opsgenie", st.ResolvedBy)
	require.Equal(t, incident.AlertResolved, st.Alerts[0].Status)
	waitFor(t, "the monitoring window to end", 10*time.Second, func() bool { return stateOf(t, id).Status == incident.StatusClosed })
	require.Empty(t, h.slack.Messages(bobDM), "the ack stopped escalation")
}

// lastOf is the last timeline entry of a kind.
func lastOf(timeline []workflows.TimelineEntry, kind workflows.Kind) workflows.TimelineEntry {
	for i := len(timeline) - 1; i >= 0; i-- {
		if timeline[i].Kind == kind {
			return timeline[i]
		}
	}
	return workflows.TimelineEntry{}
}

// alertmanagerBinEnv names a Prometheus Alertmanager binary for
// TestOpsgenieFromRealAlertmanager (else `alertmanager` on PATH):
//
//	GOBIN=/tmp/am go install github.com/prometheus/alertmanager/cmd/alertmanager@v0.28.1
//	INCIDENTFLOW_ALERTMANAGER=/tmp/am/alertmanager go test ./e2e -run OpsgenieFromReal
const alertmanagerBinEnv = "INCIDENTFLOW_ALERTMANAGER"

// A real Alertmanager whose opsgenie_configs point at the intake by
// api_url: its create opens and pages an incident, its close of the
// resolved group resolves it. Skipped without the binary, which this
// module does not depend on.
func TestOpsgenieFromRealAlertmanager(t *testing.T) {
	bin := os.Getenv(alertmanagerBinEnv)
	if bin == "" {
		bin, _ = exec.LookPath("alertmanager")
	}
	if bin == "" {
		t.Skipf("no Alertmanager: set %s to a binary (go install github.com/prometheus/alertmanager/cmd/alertmanager@v0.28.1)", alertmanagerBinEnv)
	}
	h := newOpsgenieHarness(t)
	dir := t.TempDir()
	amConfig := fmt.Sprintf(`
route:
  receiver: incidentflow
  group_by: [alertname]
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: incidentflow
    opsgenie_configs:
      - api_url: %s/
        api_key: %s
        priority: '{{ if eq .CommonLabels.severity "critical" }}P1{{ else }}P3{{ end }}'
        send_resolved: true
`, h.api.URL, opsgenieKey)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "alertmanager.yml"), []byte(amConfig), 0o600))
	addr := freeAddr(t)
	am := exec.Command(bin, "--config.file="+filepath.Join(dir, "alertmanager.yml"), "--storage.path="+dir,
		"--web.listen-address="+addr, "--cluster.listen-address=", "--log.level=warn")
	var amLog bytes.Buffer
	am.Stdout, am.Stderr = &amLog, &amLog
	require.NoError(t, am.Start())
	t.Cleanup(func() {
		_ = am.Process.Kill()
		_ = am.Wait()
		if t.Failed() {
			t.Logf("alertmanager log:\n%s", amLog.String())
		}
	})
	amURL := "http://" + addr
	waitFor(t, "Alertmanager to be ready", 15*time.Second, func() bool {
		resp, err := http.Get(amURL + "/-/ready")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})

	alertname := "CheckoutErrors" + strings.ReplaceAll(t.Name(), "/", "")
	postAlert := func(endsAt time.Time) {
		t.Helper()
		alert := map[string]any{
			"labels":      map[string]string{"alertname": alertname, "severity": "critical"},
			"annotations": map[string]string{"summary": "checkout 5xx above 5%"},
			"startsAt":    time.Now().Add(-time.Minute).Format(time.RFC3339),
		}
		if !endsAt.IsZero() {
			alert["endsAt"] = endsAt.Format(time.RFC3339)
		}
		b, _ := json.Marshal([]any{alert})
		resp, err := http.Post(amURL+"/api/v2/alerts", "application/json", bytes.NewReader(b))
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
	}
	postAlert(time.Time{})

	// Alertmanager's alias is the hash of the group key.
	sum := sha256.Sum256([]byte(fmt.Sprintf(`{}:{alertname=%q}`, alertname)))
	id := workflows.IncidentID(hex.EncodeToString(sum[:]))
	waitFor(t, "the page from Alertmanager's alert", 15*time.Second, func() bool { return len(h.slack.Messages(aliceDM)) == 1 })
	require.Contains(t, h.slack.Messages(aliceDM)[0].Form.Get("blocks"), `"value":"`+id+`"`)
	st := stateOf(t, id)
	require.Equal(t, "P1", st.Severity, "the priority template's P1")
	require.Equal(t, "opsgenie", st.Source)

	postAlert(time.Now().Add(-time.Second))
	waitFor(t, "Alertmanager's close to resolve it", 15*time.Second, func() bool { return stateOf(t, id).Status == incident.StatusMonitoring })
	require.Equal(t, "alert:opsgenie", stateOf(t, id).ResolvedBy)
}

// freeAddr is a loopback address nothing listens on right now.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return addr
}

// stateOf reads the incident with the state query, straight from Temporal:
// what the Opsgenie intake did is checked without the read API's auth.
func stateOf(t *testing.T, id string) workflows.Incident {
	t.Helper()
	v, err := temporalClient.QueryWorkflow(context.Background(), id, "", workflows.QueryState)
	require.NoError(t, err)
	var st workflows.Incident
	require.NoError(t, v.Get(&st))
	return st
}
