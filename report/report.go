// Package report builds the incident review (the monthly review of the
// seed documents): totals and response times by severity against the
// previous period, the services hit hardest, notable and recurring
// incidents, and where the post-mortems' action items stand. Build is pure
// (hand it incidents, get figures); Collect reads them from Temporal
// through a Source; Markdown, HTML and JSON render the result.
package report

import (
	"cmp"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/incidentflow/incidentflow/incident"
	"github.com/incidentflow/incidentflow/workflows"
)

// Period is a half-open span of time [From, To).
type Period struct {
	From  time.Time `json:"from"`
	To    time.Time `json:"to"`
	Label string    `json:"label"`
}

// Contains says whether t falls in the period.
func (p Period) Contains(t time.Time) bool { return !t.Before(p.From) && t.Before(p.To) }

// Previous is the period of the same length just before p.
func (p Period) Previous() Period {
	d := p.To.Sub(p.From)
	return Period{From: p.From.Add(-d), To: p.From, Label: "previous " + FormatDuration(d.Seconds())}
}

// Month is the calendar month "2026-11", in UTC.
func Month(s string) (Period, error) {
	t, err := time.Parse("2006-01", s)
	if err != nil {
		return Period{}, fmt.Errorf("%q is not a month (2026-11)", incident.Cut(s, incident.MaxName))
	}
	from := t.UTC()
	p := Period{From: from, To: from.AddDate(0, 1, 0), Label: from.Format("2006-01")}
	return p, nil
}

// Since is the period of length d ending now.
func Since(d time.Duration, now time.Time) Period {
	return Period{From: now.Add(-d), To: now, Label: "last " + FormatDuration(d.Seconds())}
}

// Record is one incident as read: its view and, when it has one, its
// post-mortem. Unread is set when only the visibility store answered
// (the incident's query failed): its times are then unknown.
type Record struct {
	Incident   workflows.Incident
	Postmortem *workflows.PostmortemState
	Unread     bool
}

// Options say what the report covers.
type Options struct {
	Period  Period
	Service string
	// Severities are the configured levels, highest first: the first is
	// what "notable" always includes.
	Severities []string
	Now        time.Time
}

// Report is the review, as JSON and as what the renderers show.
type Report struct {
	Title       string    `json:"title"`
	Period      Period    `json:"period"`
	Previous    Period    `json:"previous"`
	Service     string    `json:"service,omitempty"`
	GeneratedAt time.Time `json:"generated_at"`
	Incidents   int       `json:"incidents"`
	// Truncated: more incidents were opened in the period than a report
	// reads (MaxIncidents); the figures cover the newest.
	Truncated bool `json:"truncated,omitempty"`
	// Unreadable incidents are counted but have no times.
	Unreadable  int              `json:"unreadable,omitempty"`
	Totals      []SeverityTotals `json:"totals"`
	TopServices []ServiceImpact  `json:"top_services"`
	Notable     []Notable        `json:"notable"`
	ActionItems ActionItems      `json:"action_items"`
	Postmortems Postmortems      `json:"postmortems"`
	Recurring   []Recurring      `json:"recurring"`
	Weeks       []Week           `json:"weeks"`
	// Exercises are the period's game days, apart from every figure.
	Exercises []Exercise `json:"exercises"`
	Notes     []string   `json:"notes"`
}

// Stat is a mean and a median over the N incidents that have the time.
type Stat struct {
	N             int      `json:"n"`
	MeanSeconds   *float64 `json:"mean_seconds"`
	MedianSeconds *float64 `json:"median_seconds"`
}

// Figures are one severity's count and response times.
type Figures struct {
	Count int `json:"count"`
	// MTTD: the problem's start (the first alert's startsAt) to opening,
	// over the incidents whose alerts said when it started.
	MTTD Stat `json:"mttd"`
	MTTA Stat `json:"mtta"`
	MTTM Stat `json:"mttm"`
	MTTR Stat `json:"mttr"`
}

// SeverityTotals is a row of the totals table; Severity "all" sums them.
type SeverityTotals struct {
	Severity string `json:"severity"`
	Figures
	Open     int     `json:"open"`
	Previous Figures `json:"previous"`
	Change   Change  `json:"change"`
}

// Change is the current period against the previous: the count's
// difference, and each mean's change in percent (nil when either side
// has none).
type Change struct {
	Count       int      `json:"count"`
	MTTDPercent *float64 `json:"mttd_percent"`
	MTTAPercent *float64 `json:"mtta_percent"`
	MTTMPercent *float64 `json:"mttm_percent"`
	MTTRPercent *float64 `json:"mttr_percent"`
}

// ServiceImpact is a service by how often and how long it was hit.
type ServiceImpact struct {
	Service string `json:"service"`
	Count   int    `json:"count"`
	Open    int    `json:"open"`
	// TimeToResolveSeconds adds up opened-to-resolved of its resolved incidents.
	TimeToResolveSeconds float64 `json:"time_to_resolve_seconds"`
}

// Notable is an incident worth reading about, and why.
type Notable struct {
	ID        string          `json:"id"`
	Title     string          `json:"title"`
	Service   string          `json:"service"`
	Severity  string          `json:"severity"`
	Status    incident.Status `json:"status"`
	CreatedAt time.Time       `json:"created_at"`
	// DurationSeconds runs to resolution, or to now while Open.
	DurationSeconds float64 `json:"duration_seconds"`
	Open            bool    `json:"open,omitempty"`
	Alerts          int     `json:"alerts"`
	// Summary is the last status update's message.
	Summary          string   `json:"summary,omitempty"`
	Postmortem       string   `json:"postmortem,omitempty"`
	PostmortemStatus string   `json:"postmortem_status,omitempty"`
	RootCause        string   `json:"root_cause,omitempty"`
	Why              []string `json:"why"`
}

// ActionItems is where follow-ups stand: closed and dropped are done
// (the post-mortem's completion rate counts both); overdue are open items
// past their due date.
type ActionItems struct {
	Total          int           `json:"total"`
	Closed         int           `json:"closed"`
	Dropped        int           `json:"dropped"`
	Open           int           `json:"open"`
	Overdue        int           `json:"overdue"`
	CompletionRate float64       `json:"completion_rate"`
	OverdueItems   []OverdueItem `json:"overdue_items"`
}

// OverdueItem is an open action item past its due date.
type OverdueItem struct {
	Incident string `json:"incident"`
	Title    string `json:"title"`
	Owner    string `json:"owner"`
	Due      string `json:"due"`
}

// Postmortems counts the period's post-mortems by status.
type Postmortems struct {
	Total     int `json:"total"`
	Open      int `json:"open"`
	Overdue   int `json:"overdue"`
	Completed int `json:"completed"`
	Finished  int `json:"finished"`
}

// Recurring is one alert key, or one service's title, seen more than once.
type Recurring struct {
	By        string    `json:"by"` // "key" or "title"
	Key       string    `json:"key,omitempty"`
	Service   string    `json:"service"`
	Title     string    `json:"title"`
	Count     int       `json:"count"`
	First     time.Time `json:"first"`
	Last      time.Time `json:"last"`
	Incidents []string  `json:"incidents"`
}

// Week is one week of the period (the last may be shorter): incidents by
// severity and the mean response times of those opened in it.
type Week struct {
	Start    time.Time      `json:"start"`
	Counts   map[string]int `json:"counts"`
	MTTAMean *float64       `json:"mtta_mean_seconds"`
	MTTRMean *float64       `json:"mttr_mean_seconds"`
}

// Bounds of what a report lists, so its size does not grow with a month.
const (
	maxTopServices   = 10
	maxNotableTop    = 20 // of the highest severity
	maxNotableOthers = 5  // longest, most alerts
	maxOverdueItems  = 50
	maxRecurring     = 20
	maxRecurringIDs  = 20
	// minRecurrence is how many times the same thing must happen to recur.
	minRecurrence = 2
	// All names the row of the totals that sums every severity.
	All = "all"
)

// NoteTimes says what the columns measure.
const NoteTimes = "MTTD: the problem's start (the first alert's startsAt or timestamp) to opened, over incidents whose alerts said. MTTA: opened to first acknowledgement. MTTM: opened to mitigation (a person or the alerts resolved it and monitoring began). MTTR: opened to resolved (after the monitoring window)."

// Build makes the report from the incidents opened in the period (cur)
// and in the previous one (prev). Records outside their period are left out.
func Build(opts Options, cur, prev []Record) *Report {
	prevPeriod := opts.Period.Previous()
	cur, exercises := withoutExercises(within(cur, opts.Period))
	prev, _ = withoutExercises(within(prev, prevPeriod))
	r := &Report{
		Title: "Incident review", Period: opts.Period, Previous: prevPeriod, Service: opts.Service,
		GeneratedAt: opts.Now, Incidents: len(cur), Exercises: exerciseRows(exercises),
		Notes: []string{NoteTimes, NoteExercises},
	}
	for _, rec := range cur {
		if rec.Unread {
			r.Unreadable++
		}
	}
	r.Totals = totals(opts.Severities, cur, prev)
	r.TopServices = topServices(cur)
	r.Notable = notable(opts, cur)
	r.ActionItems, r.Postmortems = actionItems(opts.Now, cur)
	r.Recurring = recurring(cur)
	r.Weeks = weeks(opts.Period, opts.Severities, cur)
	return r
}

func within(recs []Record, p Period) []Record {
	out := make([]Record, 0, len(recs))
	for _, r := range recs {
		if p.Contains(r.Incident.CreatedAt) {
			out = append(out, r)
		}
	}
	slices.SortStableFunc(out, func(a, b Record) int {
		return cmp.Or(a.Incident.CreatedAt.Compare(b.Incident.CreatedAt), cmp.Compare(a.Incident.ID, b.Incident.ID))
	})
	return out
}

// times are the incident's response times in seconds (nil: not yet, or unknown).
func times(in workflows.Incident) (mtta, mttm, mttr *float64) {
	sec := func(t *time.Time) *float64 {
		if t == nil || in.CreatedAt.IsZero() {
			return nil
		}
		s := t.Sub(in.CreatedAt).Seconds()
		return &s
	}
	return sec(in.AcknowledgedAt), sec(in.MitigatedAt), sec(in.ResolvedAt)
}

// detection is the incident's time to detect in seconds, nil when its
// alerts never said when the problem started.
func detection(in workflows.Incident) *float64 {
	if in.ProblemStartedAt == nil || in.CreatedAt.IsZero() {
		return nil
	}
	s := in.CreatedAt.Sub(*in.ProblemStartedAt).Seconds()
	return &s
}

func figures(recs []Record) Figures {
	var d, a, m, r []float64
	for _, rec := range recs {
		mtta, mttm, mttr := times(rec.Incident)
		d = appendSome(d, detection(rec.Incident))
		a, m, r = appendSome(a, mtta), appendSome(m, mttm), appendSome(r, mttr)
	}
	return Figures{Count: len(recs), MTTD: stat(d), MTTA: stat(a), MTTM: stat(m), MTTR: stat(r)}
}

func appendSome(xs []float64, x *float64) []float64 {
	if x != nil {
		xs = append(xs, *x)
	}
	return xs
}

func stat(xs []float64) Stat {
	s := Stat{N: len(xs)}
	if len(xs) == 0 {
		return s
	}
	sorted := slices.Clone(xs)
	slices.Sort(sorted)
	sum := 0.0
	for _, x := range sorted {
		sum += x
	}
	mean := sum / float64(len(sorted))
	median := sorted[len(sorted)/2]
	if len(sorted)%2 == 0 {
		median = (sorted[len(sorted)/2-1] + sorted[len(sorted)/2]) / 2
	}
	s.MeanSeconds, s.MedianSeconds = &mean, &median
	return s
}

func percent(cur, prev Stat) *float64 {
	if cur.MeanSeconds == nil || prev.MeanSeconds == nil || *prev.MeanSeconds == 0 {
		return nil
	}
	p := (*cur.MeanSeconds - *prev.MeanSeconds) / *prev.MeanSeconds * 100
	return &p
}

// severityOrder is the configured levels, highest first, then any other
// level the incidents carry (a level since removed from the config).
func severityOrder(configured []string, recs ...[]Record) []string {
	order := slices.Clone(configured)
	var extra []string
	for _, rs := range recs {
		for _, r := range rs {
			if s := r.Incident.Severity; !slices.Contains(order, s) && !slices.Contains(extra, s) {
				extra = append(extra, s)
			}
		}
	}
	slices.Sort(extra)
	return append(order, extra...)
}

func totals(severities []string, cur, prev []Record) []SeverityTotals {
	row := func(name string, c, p []Record) SeverityTotals {
		t := SeverityTotals{Severity: name, Figures: figures(c), Previous: figures(p)}
		for _, rec := range c {
			if !rec.Unread && rec.Incident.Status.Open() {
				t.Open++
			}
		}
		t.Change = Change{Count: t.Count - t.Previous.Count, MTTDPercent: percent(t.MTTD, t.Previous.MTTD),
			MTTAPercent: percent(t.MTTA, t.Previous.MTTA), MTTMPercent: percent(t.MTTM, t.Previous.MTTM), MTTRPercent: percent(t.MTTR, t.Previous.MTTR)}
		return t
	}
	bySeverity := func(recs []Record, sev string) []Record {
		var out []Record
		for _, r := range recs {
			if r.Incident.Severity == sev {
				out = append(out, r)
			}
		}
		return out
	}
	out := []SeverityTotals{}
	for _, sev := range severityOrder(severities, cur, prev) {
		out = append(out, row(sev, bySeverity(cur, sev), bySeverity(prev, sev)))
	}
	return append(out, row(All, cur, prev))
}

func topServices(cur []Record) []ServiceImpact {
	by := map[string]*ServiceImpact{}
	for _, rec := range cur {
		in := rec.Incident
		s := by[in.Service]
		if s == nil {
			s = &ServiceImpact{Service: in.Service}
			by[in.Service] = s
		}
		s.Count++
		if !rec.Unread && in.Status.Open() {
			s.Open++
		}
		if _, _, mttr := times(in); mttr != nil {
			s.TimeToResolveSeconds += *mttr
		}
	}
	out := make([]ServiceImpact, 0, len(by))
	for _, s := range by {
		out = append(out, *s)
	}
	slices.SortFunc(out, func(a, b ServiceImpact) int {
		return cmp.Or(-cmp.Compare(a.Count, b.Count), -cmp.Compare(a.TimeToResolveSeconds, b.TimeToResolveSeconds), cmp.Compare(a.Service, b.Service))
	})
	return out[:min(len(out), maxTopServices)]
}

// duration is opened to resolved, or to now while the incident is open.
func duration(rec Record, now time.Time) (float64, bool) {
	in := rec.Incident
	if in.ResolvedAt != nil {
		return in.ResolvedAt.Sub(in.CreatedAt).Seconds(), false
	}
	if rec.Unread || !in.Status.Open() {
		return 0, false
	}
	return now.Sub(in.CreatedAt).Seconds(), true
}

func notable(opts Options, cur []Record) []Notable {
	picked := map[string]*Notable{}
	var order []string
	pick := func(rec Record, why string) {
		in := rec.Incident
		key := in.ID + "@" + in.CreatedAt.String()
		if n, ok := picked[key]; ok {
			n.Why = append(n.Why, why)
			return
		}
		d, open := duration(rec, opts.Now)
		n := &Notable{ID: in.ID, Title: in.Title, Service: in.Service, Severity: in.Severity, Status: in.Status,
			CreatedAt: in.CreatedAt, DurationSeconds: d, Open: open, Alerts: in.AlertCount, Postmortem: in.Postmortem, Why: []string{why}}
		if in.LastUpdate != nil {
			n.Summary = in.LastUpdate.Message
		}
		if rec.Postmortem != nil {
			n.PostmortemStatus = string(rec.Postmortem.Status)
			n.RootCause = rec.Postmortem.RootCause
		}
		picked[key] = n
		order = append(order, key)
	}
	top := ""
	if len(opts.Severities) > 0 {
		top = opts.Severities[0]
		n := 0
		for _, rec := range cur {
			if rec.Incident.Severity == top && n < maxNotableTop {
				pick(rec, top)
				n++
			}
		}
	}
	readable := make([]Record, 0, len(cur))
	for _, rec := range cur {
		if !rec.Unread {
			readable = append(readable, rec)
		}
	}
	byDuration := slices.Clone(readable)
	slices.SortStableFunc(byDuration, func(a, b Record) int {
		da, _ := duration(a, opts.Now)
		db, _ := duration(b, opts.Now)
		return -cmp.Compare(da, db)
	})
	for _, rec := range byDuration[:min(len(byDuration), maxNotableOthers)] {
		if d, _ := duration(rec, opts.Now); d > 0 {
			pick(rec, "longest")
		}
	}
	byAlerts := slices.Clone(readable)
	slices.SortStableFunc(byAlerts, func(a, b Record) int { return -cmp.Compare(a.Incident.AlertCount, b.Incident.AlertCount) })
	for _, rec := range byAlerts[:min(len(byAlerts), maxNotableOthers)] {
		if rec.Incident.AlertCount > 1 {
			pick(rec, "most alerts")
		}
	}
	rank := func(sev string) int {
		if i := slices.Index(opts.Severities, sev); i >= 0 {
			return i
		}
		return len(opts.Severities)
	}
	out := make([]Notable, 0, len(order))
	for _, k := range order {
		out = append(out, *picked[k])
	}
	slices.SortStableFunc(out, func(a, b Notable) int {
		return cmp.Or(cmp.Compare(rank(a.Severity), rank(b.Severity)), -cmp.Compare(a.DurationSeconds, b.DurationSeconds))
	})
	return out
}

func actionItems(now time.Time, cur []Record) (ActionItems, Postmortems) {
	today := now.UTC().Format(time.DateOnly)
	a := ActionItems{OverdueItems: []OverdueItem{}}
	var pm Postmortems
	count := func(incidentID, state string, it workflows.ActionItem) {
		a.Total++
		switch state {
		case workflows.ItemClosed:
			a.Closed++
			return
		case workflows.ItemDropped:
			a.Dropped++
			return
		}
		a.Open++
		if it.Due != "" && it.Due < today {
			a.Overdue++
			if len(a.OverdueItems) < maxOverdueItems {
				a.OverdueItems = append(a.OverdueItems, OverdueItem{Incident: incidentID, Title: it.Title, Owner: it.Owner, Due: it.Due})
			}
		}
	}
	for _, rec := range cur {
		if p := rec.Postmortem; p != nil {
			pm.Total++
			switch p.Status {
			case workflows.PostmortemOpen:
				pm.Open++
			case workflows.PostmortemOverdue:
				pm.Overdue++
			case workflows.PostmortemCompleted:
				pm.Completed++
			case workflows.PostmortemFinished:
				pm.Finished++
			}
			// The post-mortem took over the incident's items and tracks them.
			for _, it := range p.ActionItems {
				count(rec.Incident.ID, it.State, it.ActionItem)
			}
			continue
		}
		for _, it := range rec.Incident.ActionItems {
			count(rec.Incident.ID, workflows.ItemOpen, it)
		}
	}
	if a.Total == 0 {
		a.CompletionRate = 1
	} else {
		a.CompletionRate = float64(a.Closed+a.Dropped) / float64(a.Total)
	}
	return a, pm
}

var (
	digits      = regexp.MustCompile(`[0-9]+`)
	punctuation = regexp.MustCompile(`[^\p{L}\p{N}#]+`)
)

// NormalizeTitle makes near-identical titles equal: case, numbers (hosts,
// percentages, counts) and punctuation do not tell incidents apart.
func NormalizeTitle(title string) string {
	t := strings.ToLower(title)
	t = digits.ReplaceAllString(t, "#")
	return strings.TrimSpace(punctuation.ReplaceAllString(t, " "))
}

func recurring(cur []Record) []Recurring {
	type group struct {
		r   Recurring
		ids []string
	}
	groups := map[string]*group{}
	var order []string
	add := func(gk, by, key string, in workflows.Incident) {
		g := groups[gk]
		if g == nil {
			g = &group{r: Recurring{By: by, Key: key, Service: in.Service, Title: in.Title, First: in.CreatedAt}}
			groups[gk] = g
			order = append(order, gk)
		}
		g.r.Count++
		g.r.Last = in.CreatedAt
		g.ids = append(g.ids, in.ID)
	}
	for _, rec := range cur { // oldest first (within sorted them)
		in := rec.Incident
		if in.Key != "" {
			add("key\x00"+in.Key, "key", in.Key, in)
		}
		if t := NormalizeTitle(in.Title); t != "" {
			add("title\x00"+in.Service+"\x00"+t, "title", "", in)
		}
	}
	var out []Recurring
	seen := map[string]bool{}
	for _, gk := range order {
		g := groups[gk]
		if g.r.Count < minRecurrence {
			continue
		}
		// A key that recurs usually recurs with its title: say it once.
		members := strings.Join(g.ids, "\x00")
		if seen[members] {
			continue
		}
		seen[members] = true
		g.r.Incidents = g.ids[:min(len(g.ids), maxRecurringIDs)]
		out = append(out, g.r)
	}
	slices.SortStableFunc(out, func(a, b Recurring) int { return -cmp.Compare(a.Count, b.Count) })
	return out[:min(len(out), maxRecurring)]
}

// maxWeeks bounds the chart of a long --since.
const maxWeeks = 60

func weeks(p Period, severities []string, cur []Record) []Week {
	const week = 7 * 24 * time.Hour
	var out []Week
	for start := p.From; start.Before(p.To) && len(out) < maxWeeks; start = start.Add(week) {
		out = append(out, Week{Start: start, Counts: map[string]int{}})
	}
	if len(out) == 0 {
		return []Week{}
	}
	var mtta, mttr = make([][]float64, len(out)), make([][]float64, len(out))
	for _, rec := range cur {
		i := int(rec.Incident.CreatedAt.Sub(p.From) / week)
		if i < 0 || i >= len(out) {
			continue
		}
		out[i].Counts[rec.Incident.Severity]++
		a, _, r := times(rec.Incident)
		mtta[i], mttr[i] = appendSome(mtta[i], a), appendSome(mttr[i], r)
	}
	for i := range out {
		out[i].MTTAMean, out[i].MTTRMean = stat(mtta[i]).MeanSeconds, stat(mttr[i]).MeanSeconds
	}
	return out
}

// FormatDuration writes seconds as people do: "45s", "4m", "1h2m", "3d4h".
func FormatDuration(secs float64) string {
	d := time.Duration(secs * float64(time.Second)).Round(time.Second)
	if d < time.Minute {
		return d.String()
	}
	if d >= 48*time.Hour {
		days := d / (24 * time.Hour)
		rest := (d - days*24*time.Hour).Round(time.Hour)
		if rest == 0 {
			return fmt.Sprintf("%dd", days)
		}
		return fmt.Sprintf("%dd%dh", days, rest/time.Hour)
	}
	s := strings.TrimSuffix(d.Round(time.Minute).String(), "0s")
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
