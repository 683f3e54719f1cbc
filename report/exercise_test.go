package report

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidentflow/incidentflow/incident"
	"github.com/incidentflow/incidentflow/workflows"
)

// Exercises count in no figure, this period's or the previous one's, and
// are listed apart with their evaluation.
func TestExercisesAreListedApartFromTheFigures(t *testing.T) {
	exercise := func(c inc, participants ...string) Record {
		r := c.record()
		r.Incident.Exercise, r.Incident.Participants = true, participants
		if c.ack > 0 {
			s := c.ack.Seconds()
			r.Incident.ExerciseEvaluation = &workflows.ExerciseEvaluation{TimeToAckSeconds: &s, Summary: "Exercise evaluation: time to ack 10s (bob)."}
		}
		return r
	}
	cur := append(records(
		inc{id: "incident-real", title: "checkout down", service: "checkout", sev: "P1", opened: nov(3, 10), ack: 10 * time.Minute, mitigated: time.Hour},
	), exercise(inc{id: "incident-exercise-a", title: "game day: db failover", service: "db", sev: "P1", opened: nov(4, 10), ack: 10 * time.Second, mitigated: time.Minute}, "bob", "erin"),
		exercise(inc{id: "incident-exercise-b", title: "tabletop", service: "db", sev: "P4", opened: nov(5, 10), status: incident.StatusTriggered}, "carol"))
	prev := []Record{exercise(inc{id: "incident-exercise-old", title: "last drill", service: "db", sev: "P2", opened: oct(4, 10), ack: time.Second}, "bob")}

	r := Build(Options{Period: month, Severities: severity, Now: now}, cur, prev)

	require.Equal(t, 1, r.Incidents)
	all := r.Totals[len(r.Totals)-1]
	require.Equal(t, 1, all.Count)
	require.Equal(t, 0, all.Previous.Count, "last period's exercise is not counted either")
	require.Equal(t, 1, all.MTTA.N)
	require.Equal(t, (10 * time.Minute).Seconds(), *all.MTTA.MeanSeconds, "the exercise's 10s ack is not in MTTA")
	require.Len(t, r.TopServices, 1)
	require.Equal(t, "checkout", r.TopServices[0].Service)
	for _, n := range r.Notable {
		require.Equal(t, "incident-real", n.ID)
	}
	require.Len(t, r.Exercises, 2)
	require.Equal(t, "incident-exercise-a", r.Exercises[0].ID)
	require.Equal(t, []string{"bob", "erin"}, r.Exercises[0].Participants)
	require.Equal(t, 10.0, *r.Exercises[0].TimeToAckSeconds)
	require.Equal(t, "Exercise evaluation: time to ack 10s (bob).", r.Exercises[0].Evaluation)
	require.Nil(t, r.Exercises[1].TimeToAckSeconds, "not acknowledged yet")

	var md bytes.Buffer
	require.NoError(t, Markdown(&md, r))
	require.Contains(t, md.String(), "## Exercises\n\nNot counted in any figure above.")
	require.Contains(t, md.String(), "| incident-exercise-a: game day: db failover | P1 | db | 2026-11-04 10:00 | bob, erin | 10s | - | closed |")
	var html bytes.Buffer
	require.NoError(t, HTML(&html, r))
	require.Contains(t, html.String(), "<h2>Exercises</h2>")
	require.Contains(t, html.String(), "<td>bob, erin</td>")
}
