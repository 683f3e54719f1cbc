package importer

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/incidentflow/incidentflow/oncall"
)

// The equivalence check: who the source says is on call, worked out here
// from the fixture with the source's own rules (written independently of
// the importer and of package oncall), against oncall.Who on the imported
// schedule, every hour of two weeks that cross Europe's (25 October) and
// the United States' (1 November) daylight-saving changes.
var (
	checkFrom = time.Date(2026, 10, 20, 0, 0, 0, 0, time.UTC)
	checkTo   = time.Date(2026, 11, 3, 0, 0, 0, 0, time.UTC)
)

func readFixture(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", path))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// wallDays counts the hand-overs of a rotation whose turns are whole days,
// by the calendar in loc: the turn changes at start's time of day, whatever
// the offset that day.
func wallDays(start, t time.Time, loc *time.Location) int {
	s, u := start.In(loc), t.In(loc)
	sd := time.Date(s.Year(), s.Month(), s.Day(), 0, 0, 0, 0, time.UTC)
	ud := time.Date(u.Year(), u.Month(), u.Day(), 0, 0, 0, 0, time.UTC)
	days := int(ud.Sub(sd).Hours() / 24)
	sc := s.Hour()*3600 + s.Minute()*60 + s.Second()
	uc := u.Hour()*3600 + u.Minute()*60 + u.Second()
	if uc < sc {
		days--
	}
	return days
}

func localPart(email string) string { name, _, _ := strings.Cut(email, "@"); return name }

// opsgenieOnCall is Opsgenie's answer for a schedule: an override's user,
// else everyone whose rotation has them on call (rotations add up).
func opsgenieOnCall(t *testing.T, scheduleID string) func(time.Time) []string {
	var schedules struct {
		Data []struct {
			ID        string `json:"id"`
			Timezone  string `json:"timezone"`
			Rotations []struct {
				StartDate    string `json:"startDate"`
				Type         string `json:"type"`
				Length       int    `json:"length"`
				Participants []struct {
					Type     string `json:"type"`
					Username string `json:"username"`
				} `json:"participants"`
				TimeRestriction *struct {
					Type        string `json:"type"`
					Restriction struct {
						StartHour, StartMin, EndHour, EndMin int
					} `json:"restriction"`
					Restrictions []struct {
						StartDay, EndDay                     string
						StartHour, StartMin, EndHour, EndMin int
					} `json:"restrictions"`
				} `json:"timeRestriction"`
			} `json:"rotations"`
		} `json:"data"`
	}
	readFixture(t, "opsgenie/schedules.json", &schedules)
	var overrides struct {
		Data []struct {
			User struct {
				Username string `json:"username"`
			} `json:"user"`
			StartDate, EndDate string
		} `json:"data"`
	}
	readFixture(t, "opsgenie/schedules/"+scheduleID+"/overrides.json", &overrides)
	i := -1
	for k, s := range schedules.Data {
		if s.ID == scheduleID {
			i = k
		}
	}
	if i < 0 {
		t.Fatalf("no schedule %s", scheduleID)
	}
	s := schedules.Data[i]
	loc, err := time.LoadLocation(s.Timezone)
	if err != nil {
		t.Fatal(err)
	}
	mondayFirst := map[string]int{"monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3, "friday": 4, "saturday": 5, "sunday": 6}
	const weekMin = 7 * 24 * 60
	return func(at time.Time) []string {
		for _, o := range overrides.Data {
			start, _ := time.Parse(time.RFC3339, o.StartDate)
			end, _ := time.Parse(time.RFC3339, o.EndDate)
			if !at.Before(start) && at.Before(end) {
				return []string{localPart(o.User.Username)}
			}
		}
		local := at.In(loc)
		minOfDay := local.Hour()*60 + local.Minute()
		minOfWeek := ((int(local.Weekday())+6)%7)*1440 + minOfDay
		var out []string
		for _, r := range s.Rotations {
			start, _ := time.Parse(time.RFC3339, r.StartDate)
			if at.Before(start) {
				continue
			}
			if tr := r.TimeRestriction; tr != nil {
				in := false
				switch tr.Type {
				case "time-of-day":
					from := tr.Restriction.StartHour*60 + tr.Restriction.StartMin
					to := tr.Restriction.EndHour*60 + tr.Restriction.EndMin
					if from < to {
						in = minOfDay >= from && minOfDay < to
					} else {
						in = minOfDay >= from || minOfDay < to
					}
				case "weekday-and-time-of-day":
					for _, x := range tr.Restrictions {
						from := mondayFirst[x.StartDay]*1440 + x.StartHour*60 + x.StartMin
						to := mondayFirst[x.EndDay]*1440 + x.EndHour*60 + x.EndMin
						if (minOfWeek-from+weekMin)%weekMin < (to-from+weekMin)%weekMin {
							in = true
						}
					}
				}
				if !in {
					continue
				}
			}
			var turn int
			switch r.Type {
			case "daily":
				turn = wallDays(start, at, loc) / r.Length
			case "weekly":
				turn = wallDays(start, at, loc) / (7 * r.Length)
			case "hourly":
				turn = int(at.Sub(start).Hours()) / r.Length
			}
			p := r.Participants[turn%len(r.Participants)]
			out = append(out, localPart(p.Username))
		}
		return out
	}
}

func TestOpsgenieFollowTheSunEquivalence(t *testing.T) {
	res := importFixture(t, "opsgenie", Opsgenie)
	sched := res.Parsed.Schedules["platform-followthesun"]
	source := opsgenieOnCall(t, "s-fts")
	berlin, _ := time.LoadLocation("Europe/Berlin")
	var differ []time.Time
	for at := checkFrom; !at.After(checkTo); at = at.Add(time.Hour) {
		want := source(at)
		got, err := oncall.Who(sched, at)
		switch {
		case len(want) == 0:
			if !errors.Is(err, oncall.ErrNobody) {
				t.Errorf("%s: Opsgenie has nobody on call, incidentflow says %q (%v)", at.Format(time.RFC3339), got, err)
			}
		case err != nil:
			t.Errorf("%s: %v", at.Format(time.RFC3339), err)
		case len(want) == 1:
			if got != want[0] {
				t.Errorf("%s (%s Berlin): Opsgenie says %s, incidentflow says %s", at.Format(time.RFC3339), at.In(berlin).Format("Mon 15:04"), want[0], got)
			}
		default:
			// Opsgenie notifies everyone on call; incidentflow the later rotation's.
			if got != want[len(want)-1] {
				t.Errorf("%s: Opsgenie notifies %v, incidentflow says %s (want the later rotation's, %s)", at.Format(time.RFC3339), want, got, want[len(want)-1])
			}
			differ = append(differ, at)
		}
	}
	// The hours where the answers differ are exactly the daily 19:00-20:00
	// Berlin hand-over hour the report names, one a day, through both
	// daylight-saving changes.
	var expected []time.Time
	for at := checkFrom; !at.After(checkTo); at = at.Add(time.Hour) {
		if at.In(berlin).Hour() == 19 {
			expected = append(expected, at)
		}
	}
	if !slices.Equal(differ, expected) || len(differ) != 14 {
		t.Errorf("hours where Opsgenie notifies two people:\n got %v\nwant %v", differ, expected)
	}
	const line = "schedule `platform-followthesun`: rotations \"emea\" and \"amer\" are both on call daily 19:00–20:00 (schedule time)"
	if !strings.Contains(string(res.Report), line) {
		t.Errorf("the report does not name the overlap (%q):\n%s", line, res.Report)
	}
}

// pagerdutyOnCall is PagerDuty's answer for a schedule: an override's
// user, else the first layer as the API lists them (highest first) whose
// restrictions have it on call at the time.
func pagerdutyOnCall(t *testing.T, scheduleID string) func(time.Time) string {
	var doc struct {
		Schedule struct {
			TimeZone string `json:"time_zone"`
			Layers   []struct {
				Start                     string `json:"start"`
				RotationVirtualStart      string `json:"rotation_virtual_start"`
				RotationTurnLengthSeconds int    `json:"rotation_turn_length_seconds"`
				Users                     []struct {
					User struct {
						ID string `json:"id"`
					} `json:"user"`
				} `json:"users"`
				Restrictions []struct {
					Type            string `json:"type"`
					StartTimeOfDay  string `json:"start_time_of_day"`
					DurationSeconds int    `json:"duration_seconds"`
					StartDayOfWeek  int    `json:"start_day_of_week"`
				} `json:"restrictions"`
			} `json:"schedule_layers"`
		} `json:"schedule"`
	}
	readFixture(t, "pagerduty/schedules/"+scheduleID+".json", &doc)
	var overrides struct {
		Overrides []struct {
			Start, End string
			User       struct {
				ID string `json:"id"`
			} `json:"user"`
		} `json:"overrides"`
	}
	readFixture(t, "pagerduty/schedules/"+scheduleID+"/overrides.json", &overrides)
	var users struct {
		Users []struct {
			ID, Email string
		} `json:"users"`
	}
	readFixture(t, "pagerduty/users.json", &users)
	name := map[string]string{}
	for _, u := range users.Users {
		name[u.ID] = localPart(u.Email)
	}
	loc, err := time.LoadLocation(doc.Schedule.TimeZone)
	if err != nil {
		t.Fatal(err)
	}
	return func(at time.Time) string {
		for _, o := range overrides.Overrides {
			start, _ := time.Parse(time.RFC3339, o.Start)
			end, _ := time.Parse(time.RFC3339, o.End)
			if !at.Before(start) && at.Before(end) {
				return name[o.User.ID]
			}
		}
		local := at.In(loc)
		for _, l := range doc.Schedule.Layers {
			start, _ := time.Parse(time.RFC3339, l.Start)
			if at.Before(start) {
				continue
			}
			on := len(l.Restrictions) == 0
			for _, r := range l.Restrictions {
				hms, _ := time.Parse("15:04:05", r.StartTimeOfDay)
				// A window opens at its wall-clock time and lasts its
				// duration on the wall clock, so it closes at the same
				// time of day whatever a daylight-saving change did.
				window := func(y int, m time.Month, d int) bool {
					from := time.Date(y, m, d, hms.Hour(), hms.Minute(), hms.Second(), 0, loc)
					to := time.Date(y, m, d, hms.Hour(), hms.Minute(), hms.Second()+r.DurationSeconds, 0, loc)
					return !at.Before(from) && at.Before(to)
				}
				switch r.Type {
				case "daily_restriction":
					for back := 0; back <= 1; back++ {
						if window(local.Year(), local.Month(), local.Day()-back) {
							on = true
						}
					}
				case "weekly_restriction":
					isoToday := (int(local.Weekday())+6)%7 + 1
					back := (isoToday - r.StartDayOfWeek + 7) % 7
					for _, b := range []int{back, back + 7} {
						if window(local.Year(), local.Month(), local.Day()-b) {
							on = true
						}
					}
				}
			}
			if !on {
				continue
			}
			vstart, _ := time.Parse(time.RFC3339, l.RotationVirtualStart)
			var turn int
			if l.RotationTurnLengthSeconds%86400 == 0 {
				turn = wallDays(vstart, at, loc) / (l.RotationTurnLengthSeconds / 86400)
			} else {
				turn = int(at.Sub(vstart).Seconds()) / l.RotationTurnLengthSeconds
			}
			return name[l.Users[turn%len(l.Users)].User.ID]
		}
		return ""
	}
}

func TestPagerDutyFollowTheSunEquivalence(t *testing.T) {
	res := importFixture(t, "pagerduty", PagerDuty)
	sched := res.Parsed.Schedules["follow-the-sun"]
	source := pagerdutyOnCall(t, "PFTS")
	ny, _ := time.LoadLocation("America/New_York")
	seen := map[string]bool{}
	for at := checkFrom; !at.After(checkTo); at = at.Add(time.Hour) {
		want := source(at)
		got, err := oncall.Who(sched, at)
		if want == "" {
			if !errors.Is(err, oncall.ErrNobody) {
				t.Errorf("%s: PagerDuty has nobody on call, incidentflow says %q (%v)", at.Format(time.RFC3339), got, err)
			}
			continue
		}
		if err != nil || got != want {
			t.Errorf("%s (%s New York): PagerDuty says %s, incidentflow says %s (%v)", at.Format(time.RFC3339), at.In(ny).Format("Mon 15:04"), want, got, err)
		}
		seen[want] = true
	}
	// Every layer and the override must have had a turn, or the check
	// proves less than it seems to.
	for _, u := range []string{"alice", "bob", "carol", "dave", "erin", "frank"} {
		if !seen[u] {
			t.Errorf("%s is never on call in the two weeks checked", u)
		}
	}
	if strings.Contains(string(res.Report), "schedule `follow-the-sun`") {
		t.Errorf("the report names a difference in follow-the-sun, which agrees everywhere:\n%s", res.Report)
	}
}
