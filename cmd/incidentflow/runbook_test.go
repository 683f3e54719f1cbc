package main

import "testing"

// The runbook command's arguments and flags are checked before any
// connection is tried: no Temporal is needed to find the mistake.
func TestRunbookCommandLine(t *testing.T) {
	dead := closedAddress(t)
	for _, c := range []cliCase{
		{name: "needs an ID", args: []string{"runbook"}, code: 2, stderr: []string{"missing ID"}},
		{name: "at most a step", args: []string{"runbook", "incident-x", "restart", "now"}, code: 2, stderr: []string{`unexpected argument "now"`}},
		{name: "runs count from 1", args: []string{"runbook", "incident-x", "restart", "--run", "-1", "--address", dead}, code: 2,
			stderr: []string{"--run: -1: runs count from 1"}, notSeen: []string{dead}},
		{name: "--by must be configured", args: []string{"runbook", "incident-x", "restart", "--config", contractConfig, "--by", "zed", "--address", dead}, code: 1,
			stderr: []string{`--by: "zed" is not a configured user`}, notSeen: []string{"cannot reach"}},
		{name: "asking connects", args: []string{"runbook", "incident-x", "restart", "--config", contractConfig, "--by", "alice", "--address", dead}, code: 1,
			stderr: []string{"cannot reach Temporal at " + dead}},
		{name: "listing needs no --by", args: []string{"runbook", "incident-x", "--config", contractConfig, "--address", dead}, code: 1,
			stderr: []string{"cannot reach Temporal at " + dead}, notSeen: []string{"--by"}},
		{name: "help explains approval", args: []string{"runbook", "--help"},
			stdout: []string{"runbook ID [STEP]", "a second person, allowed and not the one who asked", "--run"}},
	} {
		t.Run(c.name, c.run)
	}
}
