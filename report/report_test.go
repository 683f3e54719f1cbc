package report

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidentflow/incidentflow/incident"
	"github.com/incidentflow/incidentflow/workflows"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

var (
	month    = Period{From: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), Label: "2026-11"}
	severity = []string{"P1", "P2", "P3", "P4"}
	now      = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
)

// inc builds an incident view opened at day/hour of November, with times
// after opening (0: not happened).
type inc struct {
	id, key, title, service, sev string
	opened                       time.Time
	ack, mitigated, resolved     time.Duration
	alerts                       int
	status                       incident.Status
}

func (c inc) record() Record {
	at := func(d time.Duration) *time.Time {
		if d == 0 {
			return nil
		}
		t := c.opened.Add(d)
		return &t
	}
	st := c.status
	if st == "" {
		st = incident.StatusClosed
	}
	return Record{Incident: workflows.Incident{ID: c.id, Key: c.key, Title: c.title, Service: c.service, Severity: c.sev, Status: st,
		CreatedAt: c.opened, AcknowledgedAt: at(c.ack), MitigatedAt: at(c.mitigated), ResolvedAt: at(c.resolved), AlertCount: c.alerts}}
}

func nov(day, hour int) time.Time { return time.Date(2026, 11, day, hour, 0, 0, 0, time.UTC) }
func oct(day, hour int) time.Time { return time.Date(2026, 10, day, hour, 0, 0, 0, time.UTC) }

func records(cs ...inc) []Record {
	out := make([]Record, len(cs))
	for i, c := range cs {
		out[i] = c.record()
	}
	return out
}

func row(t *testing.T, r *Report, sev string) SeverityTotals {
	t.Helper()
	for _, row := range r.Totals {
		if row.Severity == sev {
			return row
		}
	}
	t.Fatalf("no row %s in %+v", sev, r.Totals)
	return SeverityTotals{}
}

func secs(f *float64) float64 {
	if f == nil {
		return -1
	}
	return *f
}

func TestTotalsBySeverityAgainstThePreviousPeriod(t *testing.T) {
	m := time.Minute
	cases := []struct {
		name      string
		cur, prev []inc
		sev       string
		count     int
		delta     int
		open      int
		mttaMean  float64
		mttaMed   float64
		mttmMean  float64
		mttrMean  float64
		mttrMed   float64
		mttaPct   float64 // -1: none
		mttrPct   float64
	}{
		{
			name: "two P1s against one",
			cur: []inc{
				{id: "a", sev: "P1", opened: nov(2, 10), ack: 2 * m, mitigated: 20 * m, resolved: 50 * m},
				{id: "b", sev: "P1", opened: nov(9, 10), ack: 6 * m, mitigated: 40 * m, resolved: 70 * m},
			},
			prev: []inc{{id: "p", sev: "P1", opened: oct(20, 1), ack: 8 * m, mitigated: 30 * m, resolved: 60 * m}},
			sev:  "P1", count: 2, delta: 1,
			mttaMean: 240, mttaMed: 240, mttmMean: 1800, mttrMean: 3600, mttrMed: 3600,
			mttaPct: -50, mttrPct: 0,
		},
		{
			name: "median of three, an open one without times",
			cur: []inc{
				{id: "a", sev: "P2", opened: nov(3, 1), ack: 1 * m, mitigated: 5 * m, resolved: 10 * m},
				{id: "b", sev: "P2", opened: nov(3, 2), ack: 3 * m, mitigated: 5 * m, resolved: 10 * m},
				{id: "c", sev: "P2", opened: nov(3, 3), ack: 11 * m, mitigated: 5 * m, resolved: 40 * m},
				{id: "d", sev: "P2", opened: nov(3, 4), status: incident.StatusTriggered},
			},
			sev: "P2", count: 4, delta: 4, open: 1,
			mttaMean: 300, mttaMed: 180, mttmMean: 300, mttrMean: 1200, mttrMed: 600,
			mttaPct: -1, mttrPct: -1,
		},
		{
			name: "outside the period is left out",
			cur: []inc{
				{id: "a", sev: "P3", opened: nov(30, 23), ack: 1 * m},
				{id: "late", sev: "P3", opened: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), ack: 9 * m},
			},
			prev: []inc{{id: "old", sev: "P3", opened: oct(1, 0), ack: 1 * m}}, // before the previous period too
			sev:  "P3", count: 1, delta: 1,
			mttaMean: 60, mttaMed: 60, mttmMean: -1, mttrMean: -1, mttrMed: -1,
			mttaPct: -1, mttrPct: -1,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := Build(Options{Period: month, Severities: severity, Now: now}, records(c.cur...), records(c.prev...))
			got := row(t, r, c.sev)
			require.Equal(t, c.count, got.Count)
			require.Equal(t, c.delta, got.Change.Count)
			require.Equal(t, c.open, got.Open)
			require.InDelta(t, c.mttaMean, secs(got.MTTA.MeanSeconds), 0.001)
			require.InDelta(t, c.mttaMed, secs(got.MTTA.MedianSeconds), 0.001)
			require.InDelta(t, c.mttmMean, secs(got.MTTM.MeanSeconds), 0.001)
			require.InDelta(t, c.mttrMean, secs(got.MTTR.MeanSeconds), 0.001)
			require.InDelta(t, c.mttrMed, secs(got.MTTR.MedianSeconds), 0.001)
			require.InDelta(t, c.mttaPct, secs(got.Change.MTTAPercent), 0.001)
			require.InDelta(t, c.mttrPct, secs(got.Change.MTTRPercent), 0.001)
			require.Equal(t, All, r.Totals[len(r.Totals)-1].Severity)
			require.Equal(t, len(c.cur)-countOutside(c.cur), r.Incidents)
		})
	}
}

func countOutside(cs []inc) int {
	n := 0
	for _, c := range cs {
		if !month.Contains(c.opened) {
			n++
		}
	}
	return n
}

func TestRecurringByKeyOrByServiceAndTitle(t *testing.T) {
	cases := []struct {
		name string
		in   []inc
		want []Recurring // By, Key, Service, Count only
	}{
		{"one of each: nothing recurs", []inc{
			{id: "1", key: "k1", title: "disk full", service: "db", opened: nov(1, 1)},
			{id: "2", key: "k2", title: "cpu high", service: "db", opened: nov(1, 2)},
		}, nil},
		{"the same key twice is said once, by key", []inc{
			{id: "1", key: "k1", title: "disk full", service: "db", opened: nov(1, 1)},
			{id: "2", key: "k1", title: "disk full", service: "db", opened: nov(5, 2)},
		}, []Recurring{{By: "key", Key: "k1", Service: "db", Count: 2}}},
		{"near-identical titles on one service", []inc{
			{id: "1", key: "a", title: "Disk 91% full on db-7", service: "db", opened: nov(1, 1)},
			{id: "2", key: "b", title: "disk 97% full on DB-12!", service: "db", opened: nov(2, 1)},
			{id: "3", key: "c", title: "disk 97% full on db-12", service: "web", opened: nov(3, 1)},
		}, []Recurring{{By: "title", Service: "db", Count: 2}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := Build(Options{Period: month, Severities: severity, Now: now}, records(c.in...), nil)
			var got []Recurring
			for _, rc := range r.Recurring {
				got = append(got, Recurring{By: rc.By, Key: rc.Key, Service: rc.Service, Count: rc.Count})
			}
			require.Equal(t, c.want, got)
		})
	}
}

func TestActionItemsFromPostmortemsAndIncidents(t *testing.T) {
	withPM := inc{id: "a", sev: "P1", opened: nov(2, 1), ack: time.Minute}.record()
	withPM.Incident.Postmortem = "postmortem-a"
	withPM.Postmortem = &workflows.PostmortemState{Status: workflows.PostmortemOverdue, ActionItems: []workflows.TrackedActionItem{
		{Number: 1, ActionItem: workflows.ActionItem{Title: "add alert", Owner: "bob", Due: "2026-11-20"}, State: workflows.ItemOpen},
		{Number: 2, ActionItem: workflows.ActionItem{Title: "runbook", Owner: "bob", Due: "2026-12-20"}, State: workflows.ItemOpen},
		{Number: 3, ActionItem: workflows.ActionItem{Title: "fix retry"}, State: workflows.ItemClosed},
		{Number: 4, ActionItem: workflows.ActionItem{Title: "rewrite"}, State: workflows.ItemDropped},
	}}
	// Items on an incident with no post-mortem are open by definition.
	plain := inc{id: "b", sev: "P3", opened: nov(3, 1)}.record()
	plain.Incident.ActionItems = []workflows.ActionItem{{Title: "tune threshold", Owner: "carol", Due: "2026-11-25"}}

	r := Build(Options{Period: month, Severities: severity, Now: now}, []Record{withPM, plain}, nil)
	a := r.ActionItems
	require.Equal(t, 5, a.Total)
	require.Equal(t, 1, a.Closed)
	require.Equal(t, 1, a.Dropped)
	require.Equal(t, 3, a.Open)
	require.Equal(t, 2, a.Overdue)
	require.InDelta(t, 0.4, a.CompletionRate, 0.0001)
	require.Equal(t, Postmortems{Total: 1, Overdue: 1}, r.Postmortems)
	require.Equal(t, []OverdueItem{{Incident: "a", Title: "add alert", Owner: "bob", Due: "2026-11-20"}, {Incident: "b", Title: "tune threshold", Owner: "carol", Due: "2026-11-25"}}, a.OverdueItems)

	empty := Build(Options{Period: month, Severities: severity, Now: now}, nil, nil)
	require.Equal(t, 1.0, empty.ActionItems.CompletionRate, "nothing to do is all done")
}

func TestNotableAndTopServices(t *testing.T) {
	h := time.Hour
	r := Build(Options{Period: month, Severities: severity, Now: now}, records(
		inc{id: "p1", sev: "P1", service: "checkout", opened: nov(2, 1), ack: time.Minute, mitigated: h, resolved: 2 * h, alerts: 1},
		inc{id: "long", sev: "P3", service: "search", opened: nov(4, 1), ack: time.Minute, mitigated: 9 * h, resolved: 10 * h, alerts: 1},
		inc{id: "noisy", sev: "P4", service: "search", opened: nov(5, 1), ack: time.Minute, mitigated: h / 2, resolved: h, alerts: 400},
		inc{id: "open", sev: "P3", service: "search", opened: nov(30, 9), status: incident.StatusAcknowledged, alerts: 1},
	), nil)
	why := map[string][]string{}
	for _, n := range r.Notable {
		why[n.ID] = n.Why
	}
	require.Equal(t, []string{"P1", "longest"}, why["p1"])
	require.Contains(t, why["long"], "longest")
	require.Contains(t, why["noisy"], "most alerts")
	require.Equal(t, "p1", r.Notable[0].ID, "the highest severity first")
	require.Empty(t, r.Notable[0].RootCause, "no post-mortem, no root cause")
	require.Equal(t, []ServiceImpact{{Service: "search", Count: 3, Open: 1, TimeToResolveSeconds: 11 * 3600}, {Service: "checkout", Count: 1, TimeToResolveSeconds: 2 * 3600}}, r.TopServices)
}

// A notable incident's post-mortem speaks for it: its root cause is in
// the review, in every form.
func TestNotableShowsTheRootCause(t *testing.T) {
	recs := records(inc{id: "p1", sev: "P1", service: "checkout", opened: nov(2, 1), ack: time.Minute, mitigated: time.Hour, resolved: 2 * time.Hour, alerts: 1})
	recs[0].Incident.Postmortem = "postmortem-p1"
	recs[0].Postmortem = &workflows.PostmortemState{Status: workflows.PostmortemCompleted, RootCause: "pool sized for normal load"}
	r := Build(Options{Period: month, Severities: severity, Now: now}, recs, nil)
	require.Equal(t, "pool sized for normal load", r.Notable[0].RootCause)
	for _, format := range []string{FormatMarkdown, FormatHTML} {
		var b strings.Builder
		require.NoError(t, Render(&b, r, format))
		require.Contains(t, b.String(), "root cause: pool sized for normal load", format)
	}
}

func TestNormalizeTitle(t *testing.T) {
	require.Equal(t, NormalizeTitle("Disk 91% full on db-7"), NormalizeTitle("disk 97% FULL on db-12!"))
	require.NotEqual(t, NormalizeTitle("disk full"), NormalizeTitle("cpu high"))
	require.Equal(t, "", NormalizeTitle("  !! "))
}

func TestFormatDuration(t *testing.T) {
	for secs, want := range map[float64]string{0: "0s", 45: "45s", 240: "4m", 3600: "1h", 3720: "1h2m", 90000: "25h0m", 3*86400 + 4*3600: "3d4h", 2 * 86400: "2d"} {
		if want == "25h0m" {
			want = "25h"
		}
		require.Equal(t, want, FormatDuration(secs), "%v", secs)
	}
}

// The Markdown of a known month, byte for byte (go test ./report -update
// rewrites it after a deliberate change).
func TestMarkdownGolden(t *testing.T) {
	r := goldenReport()
	var b bytes.Buffer
	require.NoError(t, Markdown(&b, r))
	golden(t, "month.md.golden", b.Bytes())
}

func goldenReport() *Report {
	m, h := time.Minute, time.Hour
	cur := records(
		inc{id: "incident-db-disk", key: "db-disk", title: "disk 91% full | db-7", service: "db", sev: "P1", opened: nov(2, 10), ack: 3 * m, mitigated: 40 * m, resolved: 70 * m, alerts: 12},
		inc{id: "incident-db-disk", key: "db-disk", title: "disk 95% full | db-7", service: "db", sev: "P2", opened: nov(16, 4), ack: 9 * m, mitigated: 2 * h, resolved: 2*h + 30*m, alerts: 3},
		inc{id: "incident-checkout-5xx", key: "checkout-5xx", title: "checkout *5xx* above 5%", service: "checkout", sev: "P2", opened: nov(20, 13), ack: 1 * m, mitigated: 15 * m, resolved: 45 * m, alerts: 250},
		inc{id: "incident-search-slow", key: "search-slow", title: "search slow", service: "search", sev: "P3", opened: nov(29, 8), ack: 20 * m, status: incident.StatusAcknowledged, alerts: 1},
	)
	// The disk alerts said when the disk began to fill: detected 4 and 10
	// minutes later; the others' senders did not say.
	for i, lag := range []time.Duration{4 * m, 10 * m} {
		started := cur[i].Incident.CreatedAt.Add(-lag)
		cur[i].Incident.ProblemStartedAt = &started
	}
	cur[0].Incident.LastUpdate = &workflows.StatusUpdate{Message: "old snapshots removed; disk at 60%"}
	cur[0].Incident.Postmortem = "postmortem-db-disk"
	cur[0].Postmortem = &workflows.PostmortemState{Status: workflows.PostmortemCompleted, ActionItems: []workflows.TrackedActionItem{
		{Number: 1, ActionItem: workflows.ActionItem{Title: "alert at 80%", Owner: "bob", Due: "2026-11-10"}, State: workflows.ItemOpen},
		{Number: 2, ActionItem: workflows.ActionItem{Title: "snapshot retention", Owner: "alice"}, State: workflows.ItemClosed},
	}}
	prev := records(
		inc{id: "incident-old", key: "old", title: "db failover", service: "db", sev: "P1", opened: oct(15, 2), ack: 6 * m, mitigated: h, resolved: 2 * h, alerts: 4},
		inc{id: "incident-old2", key: "old2", title: "checkout slow", service: "checkout", sev: "P2", opened: oct(25, 2), ack: 4 * m, mitigated: 30 * m, resolved: h, alerts: 2},
	)
	return Build(Options{Period: month, Severities: severity, Now: now}, cur, prev)
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.MkdirAll("testdata", 0o755))
		require.NoError(t, os.WriteFile(path, got, 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test ./report -update to write it")
	require.Equal(t, string(want), string(got))
}

// The HTML is one page that needs nothing else: no script, nothing
// fetched, and whatever a sender wrote is escaped.
func TestHTMLIsSelfContainedAndEscaped(t *testing.T) {
	r := goldenReport()
	r.Notable[0].Title = `<script>alert(1)</script>`
	var b bytes.Buffer
	require.NoError(t, HTML(&b, r))
	page := b.String()
	require.NotContains(t, page, "<script>")
	require.Contains(t, page, "&lt;script&gt;")
	require.Contains(t, page, "<svg")
	require.Contains(t, page, "<rect")
	require.Contains(t, page, "<polyline")
	for _, external := range []string{"src=", "href=", "@import", "url("} {
		require.NotContains(t, page, external)
	}
}

func TestJSONCarriesTheFigures(t *testing.T) {
	var b bytes.Buffer
	require.NoError(t, Render(&b, goldenReport(), FormatJSON))
	var out struct {
		Incidents int `json:"incidents"`
		Totals    []struct {
			Severity string `json:"severity"`
			Count    int    `json:"count"`
			MTTA     Stat   `json:"mtta"`
		} `json:"totals"`
	}
	require.NoError(t, json.Unmarshal(b.Bytes(), &out))
	require.Equal(t, 4, out.Incidents)
	require.Equal(t, "all", out.Totals[len(out.Totals)-1].Severity)
	require.NotNil(t, out.Totals[len(out.Totals)-1].MTTA.MeanSeconds)
	require.Error(t, Render(&b, goldenReport(), "pdf"))
}

// fakeSource answers from records; ids in broken do not answer.
type fakeSource struct {
	recs   []Record
	broken map[string]bool
}

func (f fakeSource) List(_ context.Context, p Period, service string, limit int) ([]Ref, bool, error) {
	var out []Ref
	for _, r := range f.recs {
		if p.Contains(r.Incident.CreatedAt) && (service == "" || r.Incident.Service == service) {
			out = append(out, Ref{ID: r.Incident.ID, RunID: r.Incident.CreatedAt.String(), Title: r.Incident.Title, Service: r.Incident.Service, Severity: r.Incident.Severity, CreatedAt: r.Incident.CreatedAt})
		}
	}
	more := len(out) > limit
	return out[:min(len(out), limit)], more, nil
}

func (f fakeSource) Incident(_ context.Context, ref Ref) (*workflows.Incident, error) {
	if f.broken[ref.ID] {
		return nil, errors.New("query timed out")
	}
	for _, r := range f.recs {
		if r.Incident.ID == ref.ID && r.Incident.CreatedAt.String() == ref.RunID {
			in := r.Incident
			return &in, nil
		}
	}
	return nil, errors.New("not found")
}

func (f fakeSource) Postmortem(_ context.Context, id string) (*workflows.PostmortemState, error) {
	for _, r := range f.recs {
		if r.Incident.ID == id && r.Postmortem != nil {
			return r.Postmortem, nil
		}
	}
	return nil, errors.New("no post-mortem")
}

func TestCollectReadsBothPeriodsAndCountsWhatDoesNotAnswer(t *testing.T) {
	g := goldenReport()
	_ = g
	cur := records(
		inc{id: "a", sev: "P1", service: "db", opened: nov(2, 1), ack: time.Minute},
		inc{id: "b", sev: "P2", service: "db", opened: nov(3, 1), ack: 3 * time.Minute},
		inc{id: "c", sev: "P2", service: "web", opened: nov(4, 1), ack: 5 * time.Minute},
		inc{id: "old", sev: "P2", service: "db", opened: oct(20, 1), ack: 7 * time.Minute},
	)
	src := fakeSource{recs: cur, broken: map[string]bool{"b": true}}
	r, err := Collect(context.Background(), src, Options{Period: month, Service: "db", Severities: severity, Now: now})
	require.NoError(t, err)
	require.Equal(t, 2, r.Incidents)
	require.Equal(t, 1, r.Unreadable)
	p2 := row(t, r, "P2")
	require.Equal(t, 1, p2.Count, "counted from visibility")
	require.Equal(t, 0, p2.MTTA.N, "but without times")
	require.Equal(t, 1, p2.Previous.Count)
	require.Contains(t, strings.Join(r.Notes, " "), "MTTD")
}
