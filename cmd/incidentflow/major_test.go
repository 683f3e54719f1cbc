package main

import "testing"

// The major command: --reason declares, --brief briefs the executives, and
// the two together are refused before any connection is tried.
func TestMajorFlags(t *testing.T) {
	dead := closedAddress(t)
	for _, c := range []cliCase{
		{name: "reason and brief together", args: []string{"major", "incident-db-1", "--address", dead, "--by", "alice", "--reason", "x", "--brief", "y"}, code: 1,
			stderr: []string{"[brief reason] were all set"}, notSeen: []string{dead}},
		{name: "no id", args: []string{"major", "--address", dead, "--by", "alice"}, code: 2},
		{name: "a declaration connects", args: []string{"major", "incident-db-1", "--address", dead, "--by", "alice", "--reason", "all regions"}, code: 1,
			stderr: []string{dead}},
		{name: "help explains both", args: []string{"major", "--help"},
			stdout: []string{"--reason", "--brief", "--stage", "executive brief"}},
	} {
		t.Run(c.name, c.run)
	}
}
