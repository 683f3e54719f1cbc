package oncall

import (
	"errors"
	"time"

	"github.com/incidentflow/incidentflow/config"
)

// Shift is who is on call at a moment, since when, until when, and who
// comes next.
type Shift struct {
	User  string    `json:"user"`
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	// Next is on call from End ("" when nobody is).
	Next string `json:"next"`
}

// horizon bounds how far a shift is traced either way.
const horizon = 35 * 24 * time.Hour

// ShiftAt finds the shift covering t: handovers, overrides and daily
// windows all fall on whole minutes, so the schedule is walked a minute at
// a time. A shift longer than the horizon is cut there.
func ShiftAt(s config.Schedule, t time.Time) (Shift, error) {
	t = t.Truncate(time.Minute)
	user, err := Who(s, t)
	if err != nil {
		return Shift{}, err
	}
	sh := Shift{User: user}
	whoOr := func(at time.Time) (string, error) {
		u, err := Who(s, at)
		if errors.Is(err, ErrNobody) {
			return "", nil
		}
		return u, err
	}
	// Hours first, then minutes, so a week-long shift costs a few hundred calls.
	start := t
	for _, step := range []time.Duration{time.Hour, time.Minute} {
		for start.Sub(t) > -horizon {
			u, err := whoOr(start.Add(-step))
			if err != nil {
				return Shift{}, err
			}
			if u != user {
				break
			}
			start = start.Add(-step)
		}
	}
	end := t
	for _, step := range []time.Duration{time.Hour, time.Minute} {
		for end.Sub(t) < horizon {
			u, err := whoOr(end.Add(step))
			if err != nil {
				return Shift{}, err
			}
			if u != user {
				break
			}
			end = end.Add(step)
		}
	}
	sh.Start, sh.End = start, end.Add(time.Minute)
	next, err := whoOr(sh.End)
	if err != nil {
		return Shift{}, err
	}
	sh.Next = next
	return sh, nil
}

// Shifts lists the shifts from from until until, in order; stretches when
// nobody is on call are skipped.
func Shifts(s config.Schedule, from, until time.Time) ([]Shift, error) {
	var out []Shift
	t := from.Truncate(time.Minute)
	for t.Before(until) {
		sh, err := ShiftAt(s, t)
		if errors.Is(err, ErrNobody) {
			t = t.Add(time.Hour)
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, sh)
		t = sh.End
	}
	return out, nil
}
