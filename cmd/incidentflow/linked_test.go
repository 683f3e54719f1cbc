package main

import "testing"

// merge, link and unlink refuse a wrong command line before dialing
// anything: the other incident is required, --by must be configured.
func TestLinkedCommandLines(t *testing.T) {
	dead := closedAddress(t)
	for _, c := range []cliCase{
		{name: "merge needs ID", args: []string{"merge", "--into", "a"}, code: 2, stderr: []string{"missing ID"}},
		{name: "merge needs --into", args: []string{"merge", "b", "--config", contractConfig, "--address", dead}, code: 2, stderr: []string{"--into is required"}},
		{name: "link needs --parent", args: []string{"link", "c", "--config", contractConfig, "--address", dead}, code: 2, stderr: []string{"--parent is required"}},
		{name: "merge --by not configured", args: []string{"merge", "b", "--into", "a", "--config", contractConfig, "--by", "zed", "--address", dead}, code: 1,
			stderr: []string{"zed"}},
		{name: "unlink unreachable Temporal", args: []string{"unlink", "c", "--config", contractConfig, "--by", "alice", "--address", dead}, code: 1,
			stderr: []string{"cannot reach"}},
		{name: "merge help", args: []string{"merge", "--help"}, stdout: []string{"later alerts on ID's key join --into"}},
	} {
		t.Run(c.name, c.run)
	}
}
