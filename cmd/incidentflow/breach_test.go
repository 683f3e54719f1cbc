package main

import "testing"

// The breach command's arguments are checked before any connection is
// tried: no Temporal is needed to find the mistake.
func TestBreachArguments(t *testing.T) {
	dead := closedAddress(t)
	for _, c := range []cliCase{
		{name: "unknown action", args: []string{"breach", "--address", dead, "inc-1", "regulator-notified"}, code: 2,
			stderr: []string{`unknown breach action "regulator-notified" (status, regulator_notified, users_notified, records_kept)`}, notSeen: []string{dead}},
		{name: "aware-at is for declaring", args: []string{"breach", "--address", dead, "inc-1", "records_kept", "--aware-at", "2h"}, code: 2,
			stderr: []string{"--aware-at is only for declaring the breach"}, notSeen: []string{dead}},
		{name: "aware-at unreadable", args: []string{"breach", "--address", dead, "inc-1", "--aware-at", "yesterday", "--by", "alice"}, code: 1,
			stderr: []string{`--aware-at: "yesterday" is neither an RFC 3339 time`}, notSeen: []string{dead}},
		{name: "a declaration connects", args: []string{"breach", "--address", dead, "inc-1", "--aware-at", "30h", "--by", "alice"}, code: 1,
			stderr: []string{dead}},
		{name: "help explains the deadline", args: []string{"breach", "--help"},
			stdout: []string{"GDPR Art. 33", "--aware-at", "regulator_notified (which\nstops the reminders)"}},
	} {
		t.Run(c.name, c.run)
	}
}
