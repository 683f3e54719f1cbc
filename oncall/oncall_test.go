package oncall_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidentflow/incidentflow/config"
	"github.com/incidentflow/incidentflow/oncall"
)

func berlin(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Berlin")
	require.NoError(t, err)
	return loc
}

// weekly is the contract's rotation: alice and dave, handing over Mondays
// 09:00 Berlin time.
func weekly() config.Layer {
	return config.Layer{
		Start: "2026-01-05T09:00:00+01:00",
		Shift: config.Duration(168 * time.Hour),
		Users: []string{"alice", "dave"},
	}
}

// nights is a daily rotation of bob and carol covering weekday nights
// (mon-fri 20:00-08:00 Berlin), each night belonging to the day it starts.
func nights() config.Layer {
	return config.Layer{
		Start:        "2026-01-05T20:00",
		Shift:        config.Duration(24 * time.Hour),
		Users:        []string{"bob", "carol"},
		Restrictions: []config.Restriction{{Days: []string{"mon", "tue", "wed", "thu", "fri"}, Start: "20:00", End: "08:00"}},
	}
}

type whoCase struct {
	name string
	at   time.Time
	want string // "" means oncall.ErrNobody
}

func runWho(t *testing.T, s config.Schedule, cases []whoCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := oncall.Who(s, tc.at)
			if tc.want == "" {
				require.ErrorIs(t, err, oncall.ErrNobody)
				require.Empty(t, got)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got, "at %s", tc.at)
		})
	}
}

func TestWeeklyRotation(t *testing.T) {
	loc := berlin(t)
	at := func(y int, m time.Month, d, h, min int) time.Time { return time.Date(y, m, d, h, min, 0, 0, loc) }
	s := config.Schedule{TimeZone: "Europe/Berlin", Layers: []config.Layer{weekly()}}
	runWho(t, s, []whoCase{
		{"before the start", at(2026, 1, 5, 8, 59), ""},
		{"first week starts", at(2026, 1, 5, 9, 0), "alice"},
		{"first week Sunday night", at(2026, 1, 11, 23, 59), "alice"},
		{"first week last minute", at(2026, 1, 12, 8, 59), "alice"},
		{"second week", at(2026, 1, 12, 9, 0), "dave"},
		{"second week middle", at(2026, 1, 15, 14, 0), "dave"},
		{"second week last minute", at(2026, 1, 19, 8, 59), "dave"},
		{"third week", at(2026, 1, 19, 9, 0), "alice"},
		{"week before DST", at(2026, 3, 23, 9, 0), "dave"},
		{"DST Sunday after the change", at(2026, 3, 29, 12, 0), "dave"},
		// 2026-03-29 Europe switches to summer time: the handover stays at
		// Monday 09:00 on the wall clock, not at 08:00 UTC (10:00 local).
		{"after DST Monday 08:59 local", at(2026, 3, 30, 8, 59), "dave"},
		{"after DST Monday 09:00 local", at(2026, 3, 30, 9, 0), "alice"},
		{"after DST Monday 09:30 local", at(2026, 3, 30, 9, 30), "alice"},
		{"after DST, asked in UTC, 06:59Z", time.Date(2026, 3, 30, 6, 59, 0, 0, time.UTC), "dave"},
		{"after DST, asked in UTC, 07:00Z", time.Date(2026, 3, 30, 7, 0, 0, 0, time.UTC), "alice"},
		{"week after DST", at(2026, 4, 6, 9, 0), "dave"},
		// 2026-10-25 back to winter time.
		{"after winter time Monday 08:59 local", at(2026, 10, 26, 8, 59), "dave"},
		{"after winter time Monday 09:00 local", at(2026, 10, 26, 9, 0), "alice"},
		{"next year", at(2027, 1, 4, 9, 0), "alice"},
	})
}

func TestSubDayShifts(t *testing.T) {
	loc := berlin(t)
	at := func(m time.Month, d, h int) time.Time { return time.Date(2026, m, d, h, 0, 0, 0, loc) }
	utc := config.Schedule{TimeZone: "UTC", Layers: []config.Layer{{
		Start: "2026-01-05T00:00:00Z",
		Shift: config.Duration(8 * time.Hour),
		Users: []string{"a", "b", "c"},
	}}}
	runWho(t, utc, []whoCase{
		{"first shift", time.Date(2026, 1, 5, 7, 59, 0, 0, time.UTC), "a"},
		{"second shift", time.Date(2026, 1, 5, 8, 0, 0, 0, time.UTC), "b"},
		{"third shift", time.Date(2026, 1, 5, 16, 0, 0, 0, time.UTC), "c"},
		{"wraps around", time.Date(2026, 1, 6, 0, 0, 0, 0, time.UTC), "a"},
		{"asked in another zone", time.Date(2026, 1, 6, 9, 0, 0, 0, loc), "b"},
	})
	// A 12h shift divides the day: it hands over at 08:00 and 20:00 on the
	// wall clock across DST (the night of the spring-forward is 11 h long).
	berlinHalfDays := config.Schedule{TimeZone: "Europe/Berlin", Layers: []config.Layer{{
		Start: "2026-03-28T08:00",
		Shift: config.Duration(12 * time.Hour),
		Users: []string{"alice", "dave"},
	}}}
	runWho(t, berlinHalfDays, []whoCase{
		{"first", at(3, 28, 8), "alice"},
		{"second", at(3, 28, 20), "dave"},
		{"the night across the spring-forward ends at 08:00", at(3, 29, 7), "dave"},
		{"08:00 after the change", at(3, 29, 8), "alice"},
		{"20:00 after the change", at(3, 29, 20), "dave"},
	})
	// A 7h shift does not divide the day: it runs by elapsed time.
	sevens := config.Schedule{TimeZone: "Europe/Berlin", Layers: []config.Layer{{
		Start: "2026-03-28T08:00", Shift: config.Duration(7 * time.Hour), Users: []string{"a", "b", "c", "d", "e"},
	}}}
	runWho(t, sevens, []whoCase{
		{"four shifts, 28 h of elapsed time, 29 h by the clock", time.Date(2026, 3, 29, 13, 0, 0, 0, loc), "e"},
		{"just before", time.Date(2026, 3, 29, 12, 59, 0, 0, loc), "d"},
	})
}

func TestRestrictedLayer(t *testing.T) {
	loc := berlin(t)
	at := func(d, h, min int) time.Time { return time.Date(2026, 1, d, h, min, 0, 0, loc) }
	s := config.Schedule{TimeZone: "Europe/Berlin", Layers: []config.Layer{weekly(), nights()}}
	// 2026-01-12 is a Monday; dave has the base layer that week.
	runWho(t, s, []whoCase{
		{"first Monday evening, before nights start", at(5, 19, 59), "alice"},
		{"first night", at(5, 20, 0), "bob"},
		{"first night, early morning", at(6, 7, 59), "bob"},
		{"first morning, window ended", at(6, 8, 0), "alice"},
		{"Wednesday daytime: base layer", at(14, 12, 0), "dave"},
		{"Wednesday night", at(14, 21, 0), "carol"},
		{"Thursday early morning belongs to Wednesday's night", at(15, 7, 0), "carol"},
		{"Thursday 08:00: window ended", at(15, 8, 0), "dave"},
		{"Thursday night hands over", at(15, 20, 0), "bob"},
		{"Friday night", at(16, 20, 0), "carol"},
		{"Saturday 07:00 belongs to Friday's night", at(17, 7, 0), "carol"},
		{"Saturday 08:00: base layer", at(17, 8, 0), "dave"},
		{"Saturday 21:00: sat is not a window day", at(17, 21, 0), "dave"},
		{"Sunday 03:00 belongs to Saturday: inactive", at(18, 3, 0), "dave"},
		{"Monday 07:00 belongs to Sunday: inactive", at(19, 7, 0), "dave"},
		{"Monday 09:00: base layer hands over", at(19, 9, 0), "alice"},
		{"Monday night", at(19, 20, 0), "bob"},
	})
}

func TestRestrictionShapes(t *testing.T) {
	at := func(d, h, min int) time.Time { return time.Date(2026, 1, d, h, min, 0, 0, time.UTC) }
	layer := func(rs ...config.Restriction) config.Schedule {
		return config.Schedule{TimeZone: "UTC", Layers: []config.Layer{
			{Start: "2026-01-01T00:00:00Z", Shift: config.Duration(24 * time.Hour), Users: []string{"base"}},
			{Start: "2026-01-01T00:00:00Z", Shift: config.Duration(24 * time.Hour), Users: []string{"day"}, Restrictions: rs},
		}}
	}
	// 2026-01-10 is a Saturday, 2026-01-12 a Monday.
	runWho(t, layer(config.Restriction{Start: "09:00", End: "17:00"}), []whoCase{
		{"every day: before window", at(10, 8, 59), "base"},
		{"every day: window start", at(10, 9, 0), "day"},
		{"every day: last minute", at(10, 16, 59), "day"},
		{"every day: window end is exclusive", at(10, 17, 0), "base"},
	})
	runWho(t, layer(
		config.Restriction{Days: []string{"Monday"}, Start: "09:00", End: "12:00"},
		config.Restriction{Days: []string{"sat"}, Start: "13:00", End: "14:00"},
	), []whoCase{
		{"first restriction on its day", at(12, 10, 0), "day"},
		{"first restriction's hours on another day", at(10, 10, 0), "base"},
		{"second restriction on its day", at(10, 13, 30), "day"},
		{"second restriction's hours on Monday", at(12, 13, 30), "base"},
	})
	runWho(t, layer(config.Restriction{Days: []string{"sun"}, Start: "22:00", End: "06:00"}), []whoCase{
		{"Sunday late", at(11, 23, 0), "day"},
		{"Monday early belongs to Sunday", at(12, 5, 59), "day"},
		{"Sunday early belongs to Saturday", at(11, 5, 0), "base"},
	})
}

func TestOverrides(t *testing.T) {
	loc := berlin(t)
	at := func(m time.Month, d, h, min int) time.Time { return time.Date(2026, m, d, h, min, 0, 0, loc) }
	s := config.Schedule{
		TimeZone: "Europe/Berlin",
		Layers:   []config.Layer{weekly(), nights()},
		Overrides: []config.Override{
			{Start: "2026-01-14T10:00", End: "2026-01-14T22:00", User: "bob"},
			{Start: "2026-01-14 12:00", End: "2026-01-14 13:00", User: "erin"},
			{Start: "2026-01-01T00:00:00+01:00", End: "2026-01-02T00:00:00+01:00", User: "carol"},
		},
	}
	runWho(t, s, []whoCase{
		{"before the override", at(1, 14, 9, 59), "dave"},
		{"override wins over the base layer", at(1, 14, 10, 0), "bob"},
		{"later override wins over an earlier one", at(1, 14, 12, 30), "erin"},
		{"later override's end is exclusive", at(1, 14, 13, 0), "bob"},
		{"override wins over a restricted layer", at(1, 14, 21, 59), "bob"},
		{"override end is exclusive", at(1, 14, 22, 0), "carol"},
		{"override before any layer starts", at(1, 1, 12, 0), "carol"},
		{"override given in UTC", time.Date(2025, 12, 31, 23, 0, 0, 0, time.UTC), "carol"},
		{"nobody before layers start", at(1, 2, 12, 0), ""},
		{"nobody right before the first shift", at(1, 5, 8, 59), ""},
	})
}

func TestNobody(t *testing.T) {
	tests := []struct {
		name string
		s    config.Schedule
	}{
		{"no layers", config.Schedule{TimeZone: "UTC"}},
		{"layer starts later", config.Schedule{TimeZone: "UTC", Layers: []config.Layer{{Start: "2030-01-01T00:00:00Z", Shift: config.Duration(time.Hour), Users: []string{"a"}}}}},
		{"restricted layer outside its window", config.Schedule{TimeZone: "UTC", Layers: []config.Layer{{
			Start: "2020-01-01T00:00:00Z", Shift: config.Duration(time.Hour), Users: []string{"a"},
			Restrictions: []config.Restriction{{Start: "00:00", End: "00:01"}},
		}}}},
		{"layer without users", config.Schedule{TimeZone: "UTC", Layers: []config.Layer{{Start: "2020-01-01T00:00:00Z", Shift: config.Duration(time.Hour)}}}},
	}
	at := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := oncall.Who(tc.s, at)
			require.ErrorIs(t, err, oncall.ErrNobody)
		})
	}
}

func TestWhoErrors(t *testing.T) {
	ok := weekly()
	tests := []struct {
		name string
		s    config.Schedule
		want string
	}{
		{"bad time zone", config.Schedule{TimeZone: "Mars/Olympus", Layers: []config.Layer{ok}}, `schedule time zone "Mars/Olympus"`},
		{"bad layer start", config.Schedule{TimeZone: "UTC", Layers: []config.Layer{{Start: "soon", Shift: ok.Shift, Users: ok.Users}}}, "layer 0"},
		{"bad restriction clock", config.Schedule{TimeZone: "UTC", Layers: []config.Layer{{
			Start: ok.Start, Shift: ok.Shift, Users: ok.Users,
			Restrictions: []config.Restriction{{Start: "8pm", End: "08:00"}},
		}}}, "layer 0"},
		{"bad override", config.Schedule{TimeZone: "UTC", Layers: []config.Layer{ok}, Overrides: []config.Override{{Start: "x", End: "y", User: "a"}}}, "override 0 start"},
	}
	at := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := oncall.Who(tc.s, at)
			require.ErrorContains(t, err, tc.want)
			require.NotErrorIs(t, err, oncall.ErrNobody)
			require.Empty(t, got)
		})
	}
}

func TestShiftAtFindsTheHandoversAroundAMoment(t *testing.T) {
	loc := berlin(t)
	s := config.Schedule{TimeZone: "Europe/Berlin", Layers: []config.Layer{weekly(), nights()}}
	for _, tt := range []struct {
		name       string
		at         time.Time
		user, next string
		start, end time.Time
	}{
		{"a weekday afternoon: the weekly layer, until the night layer takes over",
			time.Date(2026, 1, 7, 15, 0, 0, 0, loc), "alice", "bob",
			time.Date(2026, 1, 7, 8, 0, 0, 0, loc), time.Date(2026, 1, 7, 20, 0, 0, 0, loc)},
		{"a weekday night", time.Date(2026, 1, 7, 23, 30, 0, 0, loc), "bob", "alice",
			time.Date(2026, 1, 7, 20, 0, 0, 0, loc), time.Date(2026, 1, 8, 8, 0, 0, 0, loc)},
		{"a weekend: the weekly layer alone until its Monday handover (no night shift starts on Sunday)",
			time.Date(2026, 1, 10, 12, 0, 0, 0, loc), "alice", "dave",
			time.Date(2026, 1, 10, 8, 0, 0, 0, loc), time.Date(2026, 1, 12, 9, 0, 0, 0, loc)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sh, err := oncall.ShiftAt(s, tt.at)
			require.NoError(t, err)
			require.Equal(t, tt.user, sh.User)
			require.Equal(t, tt.next, sh.Next)
			require.True(t, tt.start.Equal(sh.Start), "start %s, want %s", sh.Start.In(loc), tt.start)
			require.True(t, tt.end.Equal(sh.End), "end %s, want %s", sh.End.In(loc), tt.end)
		})
	}
}

func TestShiftsListAWeekInOrder(t *testing.T) {
	loc := berlin(t)
	s := config.Schedule{TimeZone: "Europe/Berlin", Layers: []config.Layer{weekly(), nights()}}
	from := time.Date(2026, 1, 12, 9, 0, 0, 0, loc) // a Monday handover
	shifts, err := oncall.Shifts(s, from, from.Add(7*24*time.Hour))
	require.NoError(t, err)
	// Five days split by five nights, then the weekend until Monday's handover.
	require.Len(t, shifts, 11)
	require.Equal(t, "alice", shifts[10].Next, "the next week is alice's")
	require.Equal(t, "dave", shifts[0].User)
	require.True(t, shifts[0].Start.Equal(from))
	for i := 1; i < len(shifts); i++ {
		require.True(t, shifts[i].Start.Equal(shifts[i-1].End), "shift %d starts as %d ends", i, i-1)
		require.Equal(t, shifts[i].User, shifts[i-1].Next)
	}
}

// 12 h and 8 h shifts hand over at the same wall-clock times before and
// after a DST change, in Berlin and in New York.
func TestSubDayShiftsKeepTheirWallClockHandoversAcrossDST(t *testing.T) {
	for _, tz := range []string{"Europe/Berlin", "America/New_York"} {
		loc, err := time.LoadLocation(tz)
		require.NoError(t, err)
		for _, tc := range []struct {
			shift     time.Duration
			handovers []int // hours of the day
		}{
			{12 * time.Hour, []int{8, 20}},
			{8 * time.Hour, []int{8, 16, 0}},
		} {
			s := config.Schedule{TimeZone: tz, Layers: []config.Layer{{
				Start: "2026-03-01T08:00", Shift: config.Duration(tc.shift), Users: []string{"a", "b", "c", "d", "e", "f", "g"},
			}}}
			// Days before, across and after both DST changes of 2026.
			for _, day := range []time.Time{
				time.Date(2026, 3, 2, 0, 0, 0, 0, loc), time.Date(2026, 3, 9, 0, 0, 0, 0, loc),
				time.Date(2026, 3, 30, 0, 0, 0, 0, loc), time.Date(2026, 4, 15, 0, 0, 0, 0, loc),
				time.Date(2026, 10, 26, 0, 0, 0, 0, loc), time.Date(2026, 11, 2, 0, 0, 0, 0, loc),
			} {
				for _, h := range tc.handovers {
					at := time.Date(day.Year(), day.Month(), day.Day(), h, 0, 0, 0, loc)
					before, err := oncall.Who(s, at.Add(-time.Minute))
					require.NoError(t, err)
					after, err := oncall.Who(s, at)
					require.NoError(t, err)
					require.NotEqual(t, before, after, "%s %s shifts hand over at %s", tz, tc.shift, at)
					sh, err := oncall.ShiftAt(s, at.Add(time.Minute))
					require.NoError(t, err)
					require.Equal(t, h, sh.Start.In(loc).Hour(), "%s %s shift starts on the hour it should", tz, tc.shift)
				}
			}
		}
	}
}
