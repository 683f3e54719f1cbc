// Package shadow compares what incidentflow, running in shadow mode beside
// another pager, would have done with what that pager did: for each
// incident, who was paged and when, on each side. It is the evidence a
// team wants before switching: the same people, at about the same time,
// and no alert that reached the old pager but not this one.
package shadow

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Page is one person reached for an incident, or who would have been.
type Page struct {
	User string    `json:"user"`
	At   time.Time `json:"at"`
	Via  string    `json:"via,omitempty"`
}

// Incident is one incident as one side saw it.
type Incident struct {
	// Ref is the side's own identifier (incident ID, alert ID).
	Ref string `json:"ref"`
	// Key is the deduplication key both sides were sent: PagerDuty's
	// incident_key (Events v2 dedup_key), Opsgenie's alias, incidentflow's key.
	Key      string    `json:"key,omitempty"`
	Title    string    `json:"title"`
	OpenedAt time.Time `json:"opened_at"`
	Pages    []Page    `json:"pages"`
	// Shadow says the pages were only recorded (incidentflow in shadow mode).
	Shadow bool `json:"shadow,omitempty"`
}

// first is each user's first page, in order of time.
func (in Incident) first() map[string]Page {
	out := map[string]Page{}
	for _, p := range in.Pages {
		if q, ok := out[p.User]; !ok || p.At.Before(q.At) {
			out[p.User] = p
		}
	}
	return out
}

// Options tune the comparison.
type Options struct {
	// Tolerance is how far apart two first pages of one person may be and
	// still agree (default 2 minutes: notification rules and polling on the
	// other side make seconds meaningless).
	Tolerance time.Duration
	// MatchWindow is how far apart two incidents without a shared key may
	// open and still be taken for one when their titles match (default 10m).
	MatchWindow time.Duration
}

func (o Options) settled() Options {
	if o.Tolerance <= 0 {
		o.Tolerance = 2 * time.Minute
	}
	if o.MatchWindow <= 0 {
		o.MatchWindow = 10 * time.Minute
	}
	return o
}

// Verdict is how one person's paging compares.
type Verdict string

const (
	Same        Verdict = "same"
	Earlier     Verdict = "earlier"      // incidentflow would have paged them sooner
	Later       Verdict = "later"        // incidentflow would have paged them later
	OnlyTheirs  Verdict = "only_theirs"  // paged by the other system, not by incidentflow
	OnlyOurs    Verdict = "only_ours"    // incidentflow would have paged them; the other did not
	NotMatching Verdict = "not_matching" // an incident only one side had
)

// Person is one person's row in a compared incident.
type Person struct {
	User    string     `json:"user"`
	Theirs  *time.Time `json:"theirs,omitempty"`
	Ours    *time.Time `json:"ours,omitempty"`
	TheyVia string     `json:"their_via,omitempty"`
	OurVia  string     `json:"our_via,omitempty"`
	// Delta is ours minus theirs: positive when incidentflow is later.
	DeltaSeconds float64 `json:"delta_seconds,omitempty"`
	Verdict      Verdict `json:"verdict"`
}

// Comparison is one incident both sides had.
type Comparison struct {
	Key      string    `json:"key,omitempty"`
	Title    string    `json:"title"`
	Theirs   string    `json:"theirs"`
	Ours     string    `json:"ours"`
	OpenedAt time.Time `json:"opened_at"`
	// MatchedBy is "key", or "title" for incidents matched by title and time.
	MatchedBy string   `json:"matched_by"`
	People    []Person `json:"people"`
	Agree     bool     `json:"agree"`
}

// Report is the whole comparison.
type Report struct {
	Source    string       `json:"source"`
	Tolerance string       `json:"tolerance"`
	Compared  int          `json:"compared"`
	Agree     int          `json:"agree"`
	Incidents []Comparison `json:"incidents"`
	// OnlyTheirs are the other system's incidents with no incidentflow
	// incident: alerts that did not reach incidentflow, the gap to close
	// before switching.
	OnlyTheirs []Incident `json:"only_theirs"`
	// OnlyOurs are incidentflow's with none on the other side.
	OnlyOurs []Incident `json:"only_ours"`
	// Unmapped are the other system's people no incidentflow user matches
	// (by email): each shows as a disagreement until the config names them.
	Unmapped []string `json:"unmapped_users,omitempty"`
}

// Compare matches the two sides' incidents (by key, else by title opened
// within the match window) and compares each person's first page.
func Compare(source string, ours, theirs []Incident, opt Options) Report {
	opt = opt.settled()
	r := Report{Source: source, Tolerance: opt.Tolerance.String(), Incidents: []Comparison{}, OnlyTheirs: []Incident{}, OnlyOurs: []Incident{}}
	used := make([]bool, len(ours))
	byKey := map[string][]int{}
	for i, o := range ours {
		if o.Key != "" {
			byKey[o.Key] = append(byKey[o.Key], i)
		}
	}
	for _, t := range sortedByTime(theirs) {
		i, how := match(t, ours, used, byKey, opt.MatchWindow)
		if i < 0 {
			r.OnlyTheirs = append(r.OnlyTheirs, t)
			continue
		}
		used[i] = true
		c := comparePeople(t, ours[i], opt.Tolerance)
		c.MatchedBy = how
		r.Incidents = append(r.Incidents, c)
		r.Compared++
		if c.Agree {
			r.Agree++
		}
	}
	for i, o := range ours {
		if !used[i] {
			r.OnlyOurs = append(r.OnlyOurs, o)
		}
	}
	r.OnlyOurs = sortedByTime(r.OnlyOurs)
	return r
}

func sortedByTime(in []Incident) []Incident {
	out := slices.Clone(in)
	slices.SortStableFunc(out, func(a, b Incident) int { return a.OpenedAt.Compare(b.OpenedAt) })
	return out
}

// match finds ours for theirs: the same key opened nearest in time (a key
// can open several incidents over a period), else the same title within
// the window.
func match(t Incident, ours []Incident, used []bool, byKey map[string][]int, window time.Duration) (int, string) {
	best, bestGap := -1, time.Duration(0)
	consider := func(i int) {
		gap := ours[i].OpenedAt.Sub(t.OpenedAt).Abs()
		if !used[i] && (best < 0 || gap < bestGap) {
			best, bestGap = i, gap
		}
	}
	if t.Key != "" {
		for _, i := range byKey[t.Key] {
			consider(i)
		}
		if best >= 0 {
			return best, "key"
		}
	}
	title := normalTitle(t.Title)
	for i, o := range ours {
		if normalTitle(o.Title) == title && o.OpenedAt.Sub(t.OpenedAt).Abs() <= window {
			consider(i)
		}
	}
	if best >= 0 {
		return best, "title"
	}
	return -1, ""
}

// normalTitle drops what senders add around a title: PagerDuty's "[#123] "
// number, case and runs of spaces.
func normalTitle(s string) string {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "[#") {
		if _, rest, ok := strings.Cut(s, "] "); ok {
			s = rest
		}
	}
	return strings.ToLower(strings.Join(strings.Fields(s), " "))
}

func comparePeople(t, o Incident, tolerance time.Duration) Comparison {
	c := Comparison{Key: cmp.Or(o.Key, t.Key), Title: cmp.Or(o.Title, t.Title), Theirs: t.Ref, Ours: o.Ref, OpenedAt: t.OpenedAt, Agree: true}
	tf, of := t.first(), o.first()
	users := map[string]bool{}
	for u := range tf {
		users[u] = true
	}
	for u := range of {
		users[u] = true
	}
	for _, u := range sortedKeys(users) {
		p := Person{User: u}
		tp, inT := tf[u]
		op, inO := of[u]
		if inT {
			at := tp.At
			p.Theirs, p.TheyVia = &at, tp.Via
		}
		if inO {
			at := op.At
			p.Ours, p.OurVia = &at, op.Via
		}
		switch {
		case inT && inO:
			// Each side's delay from its own incident's opening: the two
			// systems' clocks and intake paths differ by the alert's
			// transit, which is not what is being compared.
			d := op.At.Sub(o.OpenedAt) - tp.At.Sub(t.OpenedAt)
			p.DeltaSeconds = d.Seconds()
			switch {
			case d.Abs() <= tolerance:
				p.Verdict = Same
			case d < 0:
				p.Verdict = Earlier
			default:
				p.Verdict = Later
			}
		case inT:
			p.Verdict = OnlyTheirs
		default:
			p.Verdict = OnlyOurs
		}
		if p.Verdict != Same {
			c.Agree = false
		}
		c.People = append(c.People, p)
	}
	// People first paged first.
	slices.SortStableFunc(c.People, func(a, b Person) int { return firstOf(a).Compare(firstOf(b)) })
	return c
}

func firstOf(p Person) time.Time {
	switch {
	case p.Theirs != nil && (p.Ours == nil || p.Theirs.Before(*p.Ours)):
		return *p.Theirs
	case p.Ours != nil:
		return *p.Ours
	}
	return time.Time{}
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// Markdown is the report as people read it.
func (r Report) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Shadow comparison with %s\n\n", r.Source)
	fmt.Fprintf(&b, "%d incidents on both sides; %d agree (the same people, first paged within %s of each other, counted from each side's own incident).\n", r.Compared, r.Agree, r.Tolerance)
	fmt.Fprintf(&b, "%d only in %s (alerts that did not reach incidentflow); %d only in incidentflow.\n", len(r.OnlyTheirs), r.Source, len(r.OnlyOurs))
	if len(r.Unmapped) > 0 {
		fmt.Fprintf(&b, "\n%s users with no incidentflow user of the same email: %s.\n", r.Source, strings.Join(r.Unmapped, ", "))
	}
	if len(r.Incidents) > 0 {
		b.WriteString("\n## Incidents on both sides\n")
	}
	for _, c := range r.Incidents {
		verdict := "agree"
		if !c.Agree {
			verdict = "differ"
		}
		fmt.Fprintf(&b, "\n### %s (%s)\n\n%s %s, incidentflow %s, matched by %s, opened %s.\n\n", c.Title, verdict, r.Source, c.Theirs, c.Ours, c.MatchedBy, c.OpenedAt.UTC().Format(time.RFC3339))
		fmt.Fprintf(&b, "| person | %s | incidentflow | difference | verdict |\n|---|---|---|---|---|\n", r.Source)
		for _, p := range c.People {
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", p.User, pageCell(p.Theirs, p.TheyVia), pageCell(p.Ours, p.OurVia), deltaCell(p), p.Verdict)
		}
	}
	for _, side := range []struct {
		title string
		list  []Incident
	}{{"Only in " + r.Source, r.OnlyTheirs}, {"Only in incidentflow", r.OnlyOurs}} {
		if len(side.list) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n## %s\n\n| opened | ref | key | title | paged |\n|---|---|---|---|---|\n", side.title)
		for _, in := range side.list {
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", in.OpenedAt.UTC().Format(time.RFC3339), in.Ref, in.Key, in.Title, strings.Join(sortedKeys(in.first()), ", "))
		}
	}
	return b.String()
}

func pageCell(at *time.Time, via string) string {
	if at == nil {
		return "-"
	}
	s := at.UTC().Format("2006-01-02 15:04:05")
	if via != "" {
		s += " by " + via
	}
	return s
}

func deltaCell(p Person) string {
	if p.Theirs == nil || p.Ours == nil {
		return "-"
	}
	d := time.Duration(p.DeltaSeconds * float64(time.Second)).Round(time.Second)
	if d > 0 {
		return "+" + d.String()
	}
	return d.String()
}
