package report

import "time"

// Exercise is a game day of the period: listed apart, never in the
// figures, so practice neither flatters nor spoils the real response times.
type Exercise struct {
	ID           string    `json:"id"`
	Title        string    `json:"title"`
	Service      string    `json:"service"`
	Severity     string    `json:"severity"`
	Status       string    `json:"status"`
	Participants []string  `json:"participants"`
	CreatedAt    time.Time `json:"created_at"`
	// From the exercise's evaluation, once it ended (nil: not yet, or never).
	TimeToAckSeconds         *float64 `json:"time_to_ack_seconds"`
	TimeToFirstUpdateSeconds *float64 `json:"time_to_first_update_seconds"`
	Evaluation               string   `json:"evaluation,omitempty"`
}

// maxExercises bounds the exercises a report lists.
const maxExercises = 50

// NoteExercises says why exercises are not in the figures.
const NoteExercises = "Exercises (game days) are in no figure of this report: they are listed apart, in their own section at the end."

// withoutExercises splits the exercises off the real incidents. An
// incident that could not be read is taken for a real one: only its state
// says otherwise.
func withoutExercises(recs []Record) (real, exercises []Record) {
	real = make([]Record, 0, len(recs))
	for _, r := range recs {
		if r.Incident.Exercise {
			exercises = append(exercises, r)
		} else {
			real = append(real, r)
		}
	}
	return real, exercises
}

func exerciseRows(recs []Record) []Exercise {
	out := []Exercise{}
	for _, r := range recs {
		if len(out) == maxExercises {
			break
		}
		in := r.Incident
		e := Exercise{ID: in.ID, Title: in.Title, Service: in.Service, Severity: in.Severity, Status: string(in.Status),
			Participants: append([]string{}, in.Participants...), CreatedAt: in.CreatedAt}
		if ev := in.ExerciseEvaluation; ev != nil {
			e.TimeToAckSeconds, e.TimeToFirstUpdateSeconds, e.Evaluation = ev.TimeToAckSeconds, ev.TimeToFirstUpdateSeconds, ev.Summary
		} else if in.MTTASeconds != nil {
			e.TimeToAckSeconds = in.MTTASeconds
		}
		out = append(out, e)
	}
	return out
}
