package main

import "testing"

// The declare command's exercise flags: a game day names whom it pages,
// and only a game day names participants; both are told before any
// connection is tried, so no Temporal is needed to find the mistake.
func TestDeclareExerciseFlags(t *testing.T) {
	dead := closedAddress(t)
	base := []string{"declare", "--address", dead, "--service", "demo", "--severity", "P2", "--title", "game day", "--by", "alice"}
	for _, c := range []cliCase{
		{name: "exercise without participants", args: append(base[:len(base):len(base)], "--exercise"), code: 1,
			stderr: []string{"--participant is required with --exercise"}, notSeen: []string{dead}},
		{name: "participants without exercise", args: append(base[:len(base):len(base)], "--participant", "bob"), code: 1,
			stderr: []string{"--participant is only for an exercise"}, notSeen: []string{dead}},
		{name: "an exercise connects to declare", args: append(base[:len(base):len(base)], "--exercise", "--participant", "bob", "--participant", "carol"), code: 1,
			stderr: []string{dead}},
		{name: "help explains exercises", args: []string{"declare", "--help"},
			stdout: []string{"--exercise", "--participant", "pages only the\nusers named by --participant"}},
	} {
		t.Run(c.name, c.run)
	}
}
