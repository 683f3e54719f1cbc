// Package oncall answers one question: who is on call for a schedule at a
// given time. Layers rotate users every shift from a start time; a later
// layer wins over an earlier one wherever it has someone (restrictions limit
// a layer to daily windows); an override wins over every layer.
package oncall

import (
	"errors"
	"fmt"
	"time"

	"github.com/incidentflow/incidentflow/config"
)

// ErrNobody means no layer or override covers the time asked about.
var ErrNobody = errors.New("nobody is on call")

// Who returns the user on call for s at t.
func Who(s config.Schedule, t time.Time) (string, error) {
	loc, err := time.LoadLocation(s.TimeZone)
	if err != nil {
		return "", fmt.Errorf("schedule time zone %q: %w", s.TimeZone, err)
	}
	t = t.In(loc)
	for i := len(s.Overrides) - 1; i >= 0; i-- {
		o := s.Overrides[i]
		start, err := config.ParseTime(o.Start, loc)
		if err != nil {
			return "", fmt.Errorf("override %d start: %w", i, err)
		}
		end, err := config.ParseTime(o.End, loc)
		if err != nil {
			return "", fmt.Errorf("override %d end: %w", i, err)
		}
		if !t.Before(start) && t.Before(end) {
			return o.User, nil
		}
	}
	for i := len(s.Layers) - 1; i >= 0; i-- {
		user, ok, err := layerUser(s.Layers[i], t, loc)
		if err != nil {
			return "", fmt.Errorf("layer %d: %w", i, err)
		}
		if ok {
			return user, nil
		}
	}
	return "", ErrNobody
}

func layerUser(l config.Layer, t time.Time, loc *time.Location) (string, bool, error) {
	start, err := config.ParseTime(l.Start, loc)
	if err != nil {
		return "", false, err
	}
	if t.Before(start) || len(l.Users) == 0 || l.Shift <= 0 {
		return "", false, nil
	}
	active, err := restricted(l.Restrictions, t)
	if err != nil || !active {
		return "", false, err
	}
	return l.Users[shiftIndex(start.In(loc), t, l.Shift.D())%len(l.Users)], true, nil
}

// shiftIndex counts whole shifts from start to t. Shifts of whole days,
// and shifts that divide a day (12 h, 8 h, 6 h), hand over at the same
// wall-clock times every day, across DST changes, as people expect a
// "Monday 09:00" or an "08:00 and 20:00" rotation to: the shift that spans
// the change is an hour shorter or longer. Other lengths run by the clock.
func shiftIndex(start, t time.Time, shift time.Duration) int {
	const day = 24 * time.Hour
	if shift < day && day%shift == 0 {
		perDay := int(day / shift)
		into := clockOf(t) - clockOf(start)
		n := int(into / shift)
		if into < 0 && into%shift != 0 {
			n-- // floor, not truncation, before the start's time of day
		}
		return civilDays(start, t)*perDay + n
	}
	if shift%day != 0 {
		return int(t.Sub(start) / shift)
	}
	days := civilDays(start, t)
	startClock := clockOf(start)
	if clockOf(t) < startClock {
		days--
	}
	return days / int(shift/day)
}

func civilDays(a, b time.Time) int {
	ay, am, ad := a.Date()
	by, bm, bd := b.Date()
	da := time.Date(ay, am, ad, 0, 0, 0, 0, time.UTC)
	db := time.Date(by, bm, bd, 0, 0, 0, 0, time.UTC)
	return int(db.Sub(da) / (24 * time.Hour))
}

func clockOf(t time.Time) time.Duration {
	h, m, s := t.Clock()
	return time.Duration(h)*time.Hour + time.Duration(m)*time.Minute + time.Duration(s)*time.Second + time.Duration(t.Nanosecond())
}

func restricted(rs []config.Restriction, t time.Time) (bool, error) {
	if len(rs) == 0 {
		return true, nil
	}
	minute := t.Hour()*60 + t.Minute()
	for _, r := range rs {
		from, err := config.ParseClock(r.Start)
		if err != nil {
			return false, err
		}
		to, err := config.ParseClock(r.End)
		if err != nil {
			return false, err
		}
		day := t.Weekday()
		inWindow := false
		if from <= to {
			inWindow = minute >= from && minute < to
		} else if minute >= from {
			inWindow = true
		} else if minute < to {
			// The early-morning part of an overnight window belongs to the
			// day it started on.
			inWindow = true
			day = (day + 6) % 7
		}
		if inWindow && dayAllowed(r.Days, day) {
			return true, nil
		}
	}
	return false, nil
}

func dayAllowed(days []string, d time.Weekday) bool {
	if len(days) == 0 {
		return true
	}
	for _, s := range days {
		if w, ok := config.Weekday(s); ok && w == d {
			return true
		}
	}
	return false
}
