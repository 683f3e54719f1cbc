// Package procs holds the end-to-end tests that run incidentflow as its
// real binary, in processes of its own (dev, worker, serve) against a
// Temporal server that is a process of its own too, on PostgreSQL or a
// SQLite file: the production path, Temporal down under load, dev killed
// at random, Slack and GitHub failing for a minute. They are a package of
// their own so that each of the two end-to-end packages stays well within
// go test's ten minutes.
package procs

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// needsProcesses skips a test unless INCIDENTFLOW_E2E_PROCS is set. Each
// runs PostgreSQL, a Temporal server and the real binary for a minute or
// more: beside the other end-to-end tests they would load both cores and
// slow those tests' timings, so .ci/run runs this package on its own,
// after them, with the variable set.
func needsProcesses(t *testing.T) {
	t.Helper()
	if os.Getenv("INCIDENTFLOW_E2E_PROCS") == "" {
		t.Skip("set INCIDENTFLOW_E2E_PROCS=1 to run (.ci/run does, in a step of its own)")
	}
}

const (
	botToken     = "xoxb-test-token"
	genericToken = "generic-secret"
	githubToken  = "ghp_e2e"
	aliceToken   = "alice-api-token"
	// The direct-message channels the Slack-speaking server opens for them.
	aliceDM = "D0ALICE"
	bobDM   = "D0BOB"
)

func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// buildIncidentflow builds the real binary into the test's temp dir (the
// build cache makes every build after the first a link).
func buildIncidentflow(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "incidentflow")
	build := exec.Command("go", "build", "-o", bin, "./cmd/incidentflow")
	build.Dir = "../.."
	out, err := build.CombinedOutput()
	require.NoError(t, err, "go build: %s", out)
	return bin
}
