package e2e

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"

	"github.com/incidentflow/incidentflow/activities"
	"github.com/incidentflow/incidentflow/config"
	"github.com/incidentflow/incidentflow/internal/fakeslack"
	"github.com/incidentflow/incidentflow/starter"
	"github.com/incidentflow/incidentflow/worker"
)

// childWorkerEnv starts this test binary as a worker process: its value is
// "temporal address|task queue|Slack API URL".
const childWorkerEnv = "INCIDENTFLOW_E2E_CHILD_WORKER"

// runChildWorker is a worker process as production runs it, until killed.
func runChildWorker() {
	parts := strings.Split(os.Getenv(childWorkerEnv), "|")
	cfg, err := config.Parse([]byte(fmt.Sprintf(configTemplate, parts[1], parts[2], "http://127.0.0.1:1/")))
	if err != nil {
		fmt.Fprintln(os.Stderr, "child worker config:", err)
		os.Exit(2)
	}
	c, err := client.Dial(client.Options{HostPort: parts[0], Logger: sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler))})
	if err != nil {
		fmt.Fprintln(os.Stderr, "child worker dial:", err)
		os.Exit(2)
	}
	if err := worker.New(c, parts[1], slackOnlyActivities(cfg)).Run(nil); err != nil {
		fmt.Fprintln(os.Stderr, "child worker:", err)
		os.Exit(2)
	}
}

// kill -9 of the worker in the middle of a page: another worker delivers
// it within seconds (the heartbeat timeout), not after the attempt's whole
// timeout, and only once.
func TestWorkerKilledMidPageCostsSecondsAndPagesOnce(t *testing.T) {
	slow(t)
	fake := fakeslack.New(botToken)
	t.Cleanup(fake.Close)
	fake.AddChannel("incidents", "")
	queue := "e2e-crash-" + strings.ToLower(t.Name())
	cfg, err := config.Parse([]byte(fmt.Sprintf(configTemplate, queue, fake.APIURL(), "http://127.0.0.1:1/")))
	require.NoError(t, err)
	env := map[string]string{"PROM_TOKEN": promToken, "GENERIC_TOKEN": genericToken}
	srv := starter.NewServer(&starter.Incidents{Client: temporalClient, Config: cfg, TaskQueue: queue}, slog.New(slog.NewTextHandler(io.Discard, nil)), func(k string) string { return env[k] })
	api := httptest.NewServer(srv.Handler())
	t.Cleanup(api.Close)
	h := &harness{t: t, slack: fake, api: api, cfg: cfg}

	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), childWorkerEnv+"="+testFrontend+"|"+queue+"|"+fake.APIURL())
	child.Stderr = os.Stderr
	require.NoError(t, child.Start())
	t.Cleanup(func() { _ = child.Process.Kill(); _, _ = child.Process.Wait() })
	waitFor(t, "the worker process to poll", 30*time.Second, func() bool {
		d, err := temporalClient.DescribeTaskQueue(context.Background(), queue, enumspb.TASK_QUEUE_TYPE_ACTIVITY)
		return err == nil && len(d.GetPollers()) > 0
	})

	// The page hangs at Slack until the worker is gone.
	fake.StallNext("conversations.open", 30*time.Second)
	code, body := h.post("/v1/alerts", []byte(`{"key":"crash-`+t.Name()+`","title":"db down","severity":"critical"}`), genericToken)
	require.Equal(t, http.StatusAccepted, code, body)
	waitFor(t, "the page to be under way", 10*time.Second, func() bool { return len(fake.Calls("conversations.open (stalled)")) == 1 })
	require.NoError(t, child.Process.Kill())
	_, _ = child.Process.Wait()
	killed := time.Now()

	w := worker.New(temporalClient, queue, slackOnlyActivities(cfg))
	require.NoError(t, w.Start())
	t.Cleanup(w.Stop)
	waitFor(t, "the page after the crash", 30*time.Second, func() bool { return len(fake.Messages(aliceDM)) >= 1 })
	took := time.Since(killed)
	t.Logf("page delivered %s after kill -9 of the worker mid-page", took.Round(100*time.Millisecond))
	// About 4 s here: the 3 s heartbeat timeout after the last heartbeat, then the retry.
	require.Less(t, took, 6*time.Second, "the heartbeat timeout (3 s), not the attempt's 5 minutes (nor the old 30 s)")
	time.Sleep(2 * time.Second)
	require.Len(t, fake.Messages(aliceDM), 1, "paged once")
}

// slackOnlyActivities pages by Slack alone, one client for pages and
// channels, as production wires it.
func slackOnlyActivities(cfg *config.Config) *activities.Activities {
	slackActs := &activities.Slack{Client: slack.New(botToken, slack.OptionAPIURL(cfg.Slack.APIURL))}
	return &activities.Activities{Config: cfg, Notifiers: []activities.Notifier{slackActs}, Slack: slackActs, Logger: slog.New(slog.DiscardHandler)}
}
