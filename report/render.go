package report

import (
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"math"
	"strings"
	"time"
)

// Formats a report renders to.
const (
	FormatMarkdown = "md"
	FormatJSON     = "json"
	FormatHTML     = "html"
)

// Formats lists them, for flags and errors.
var Formats = []string{FormatMarkdown, FormatJSON, FormatHTML}

// Render writes the report in one of Formats.
func Render(w io.Writer, r *Report, format string) error {
	switch format {
	case FormatMarkdown:
		return Markdown(w, r)
	case FormatJSON:
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	case FormatHTML:
		return HTML(w, r)
	}
	return fmt.Errorf("format %q: one of %s", format, strings.Join(Formats, ", "))
}

// ContentType is the media type of a format.
func ContentType(format string) string {
	switch format {
	case FormatMarkdown:
		return "text/markdown; charset=utf-8"
	case FormatHTML:
		return "text/html; charset=utf-8"
	}
	return "application/json"
}

func day(t time.Time) string { return t.UTC().Format("2006-01-02") }

func minute(t time.Time) string { return t.UTC().Format("2006-01-02 15:04") }

func span(p Period) string { return day(p.From) + " to " + day(p.To.Add(-time.Nanosecond)) }

func statText(s *float64) string {
	if s == nil {
		return "-"
	}
	return FormatDuration(*s)
}

func percentText(p *float64) string {
	if p == nil {
		return "-"
	}
	return fmt.Sprintf("%+.0f%%", math.Round(*p))
}

func countChange(c Change, prev int) string {
	if prev == 0 {
		return fmt.Sprintf("%+d", c.Count)
	}
	return fmt.Sprintf("%+d (%+.0f%%)", c.Count, math.Round(float64(c.Count)/float64(prev)*100))
}

// cell keeps a table cell one cell: senders choose titles, and a "|" or a
// newline in one must not break the table.
func cell(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > 200 {
		s = string(r[:200]) + "…"
	}
	s = strings.ReplaceAll(s, `\`, `\\`)
	s = strings.ReplaceAll(s, "|", `\|`)
	for _, c := range []string{"*", "_", "`", "[", "]", "<", ">"} {
		s = strings.ReplaceAll(s, c, `\`+c)
	}
	return s
}

func durationText(n Notable) string {
	d := FormatDuration(n.DurationSeconds)
	if n.Open {
		return d + " (open)"
	}
	if n.DurationSeconds == 0 {
		return "-"
	}
	return d
}

func title(r *Report) string {
	t := r.Title + ": " + r.Period.Label
	if r.Service != "" {
		t += " (" + r.Service + ")"
	}
	return t
}

// Markdown writes the review as a Markdown document.
func Markdown(w io.Writer, r *Report) error {
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	p("# %s\n\n", cell(title(r)))
	all := r.Totals[len(r.Totals)-1]
	p("%s, %d incidents (previous period %s: %d).", span(r.Period), r.Incidents, span(r.Previous), all.Previous.Count)
	if r.Truncated {
		p(" Only the newest %d incidents were read.", MaxIncidents)
	}
	if r.Unreadable > 0 {
		p(" %d did not answer and have no times.", r.Unreadable)
	}
	p("\n\n## Totals by severity\n\n")
	p("| Severity | Incidents | vs previous | Open | MTTD mean | MTTD median | MTTA mean | MTTA median | MTTM mean | MTTM median | MTTR mean | MTTR median | MTTA vs previous | MTTR vs previous |\n")
	p("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, t := range r.Totals {
		name := cell(t.Severity)
		if t.Severity == All {
			name = "**all**"
		}
		p("| %s | %d | %s | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", name, t.Count, countChange(t.Change, t.Previous.Count), t.Open,
			statText(t.MTTD.MeanSeconds), statText(t.MTTD.MedianSeconds), statText(t.MTTA.MeanSeconds), statText(t.MTTA.MedianSeconds), statText(t.MTTM.MeanSeconds), statText(t.MTTM.MedianSeconds),
			statText(t.MTTR.MeanSeconds), statText(t.MTTR.MedianSeconds), percentText(t.Change.MTTAPercent), percentText(t.Change.MTTRPercent))
	}
	p("\n")
	for _, n := range r.Notes {
		p("%s\n", n)
	}
	p("\n## Top impacted services\n\n")
	if len(r.TopServices) == 0 {
		p("No incidents.\n")
	} else {
		p("| Service | Incidents | Open | Time to resolve (total) |\n|---|---:|---:|---:|\n")
		for _, s := range r.TopServices {
			p("| %s | %d | %d | %s |\n", cell(s.Service), s.Count, s.Open, FormatDuration(s.TimeToResolveSeconds))
		}
	}
	p("\n## Notable incidents\n\n")
	if len(r.Notable) == 0 {
		p("None.\n")
	} else {
		p("| Incident | Severity | Service | Opened | Duration | Alerts | Why | Post-mortem | Summary |\n|---|---|---|---|---:|---:|---|---|---|\n")
		for _, n := range r.Notable {
			pm := "-"
			if n.Postmortem != "" {
				pm = cell(n.PostmortemStatus)
				if pm == "" {
					pm = "started"
				}
				if n.RootCause != "" {
					pm += "; root cause: " + cell(n.RootCause)
				}
			}
			p("| %s: %s | %s | %s | %s | %s | %d | %s | %s | %s |\n", cell(n.ID), cell(n.Title), cell(n.Severity), cell(n.Service), minute(n.CreatedAt),
				durationText(n), n.Alerts, cell(strings.Join(n.Why, ", ")), pm, cell(n.Summary))
		}
	}
	a, pm := r.ActionItems, r.Postmortems
	p("\n## Action items\n\n")
	p("%d action items: %d closed, %d dropped, %d open (%d overdue). Completion rate %.0f%%.\n", a.Total, a.Closed, a.Dropped, a.Open, a.Overdue, a.CompletionRate*100)
	p("Post-mortems: %d (%d open, %d overdue, %d completed, %d finished).\n", pm.Total, pm.Open, pm.Overdue, pm.Completed, pm.Finished)
	if len(a.OverdueItems) > 0 {
		p("\n| Overdue item | Incident | Owner | Due |\n|---|---|---|---|\n")
		for _, it := range a.OverdueItems {
			p("| %s | %s | %s | %s |\n", cell(it.Title), cell(it.Incident), cell(it.Owner), cell(it.Due))
		}
	}
	p("\n## Recurring incidents\n\n")
	if len(r.Recurring) == 0 {
		p("None: no alert key or title came back in the period.\n")
	} else {
		p("| Times | Same | Service | Title | First | Last | Incidents |\n|---:|---|---|---|---|---|---|\n")
		for _, rc := range r.Recurring {
			same := "title"
			if rc.By == "key" {
				same = "key " + cell(rc.Key)
			}
			p("| %d | %s | %s | %s | %s | %s | %s |\n", rc.Count, same, cell(rc.Service), cell(rc.Title), minute(rc.First), minute(rc.Last), cell(strings.Join(rc.Incidents, ", ")))
		}
	}
	p("\n## Exercises\n\n")
	if len(r.Exercises) == 0 {
		p("None: no game day in the period.\n")
	} else {
		p("Not counted in any figure above.\n\n| Exercise | Severity | Service | Opened | Participants | Time to ack | Time to first update | Status |\n|---|---|---|---|---|---:|---:|---|\n")
		for _, e := range r.Exercises {
			p("| %s: %s | %s | %s | %s | %s | %s | %s | %s |\n", cell(e.ID), cell(e.Title), cell(e.Severity), cell(e.Service), minute(e.CreatedAt),
				cell(strings.Join(e.Participants, ", ")), statText(e.TimeToAckSeconds), statText(e.TimeToFirstUpdateSeconds), cell(e.Status))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// Chart geometry of the HTML form, in SVG user units.
const (
	chartW, chartH = 640, 180
	chartPad       = 24
)

type bar struct {
	X, Y, W, H float64
	Fill, Tip  string
}

type chart struct {
	Bars   []bar
	Labels []label
	Lines  []line
	Max    string
	Legend []legend
}

type label struct {
	X    float64
	Text string
}

type line struct {
	Points, Stroke, Name string
}

type legend struct{ Fill, Name string }

var palette = []string{"#b42318", "#dc6803", "#eaaa08", "#3b82f6", "#6b7280", "#7c3aed"}

// weeklyChart stacks each week's incidents by severity.
func weeklyChart(r *Report) chart {
	var c chart
	sevs := make([]string, 0, len(r.Totals))
	for _, t := range r.Totals {
		if t.Severity != All {
			sevs = append(sevs, t.Severity)
		}
	}
	for i, s := range sevs {
		c.Legend = append(c.Legend, legend{Fill: palette[i%len(palette)], Name: s})
	}
	most := 1
	for _, wk := range r.Weeks {
		n := 0
		for _, v := range wk.Counts {
			n += v
		}
		most = max(most, n)
	}
	c.Max = fmt.Sprint(most)
	if len(r.Weeks) == 0 {
		return c
	}
	slot := float64(chartW-2*chartPad) / float64(len(r.Weeks))
	plotH := float64(chartH - 2*chartPad)
	for i, wk := range r.Weeks {
		x := chartPad + float64(i)*slot
		y := float64(chartH - chartPad)
		for j, s := range sevs {
			n := wk.Counts[s]
			if n == 0 {
				continue
			}
			h := plotH * float64(n) / float64(most)
			y -= h
			c.Bars = append(c.Bars, bar{X: x + slot*0.15, Y: y, W: slot * 0.7, H: h, Fill: palette[j%len(palette)],
				Tip: fmt.Sprintf("week of %s: %d %s", day(wk.Start), n, s)})
		}
		c.Labels = append(c.Labels, label{X: x + slot/2, Text: wk.Start.UTC().Format("Jan 2")})
	}
	return c
}

// trendChart draws the weekly mean MTTA and MTTR, on one scale.
func trendChart(r *Report) chart {
	var c chart
	most := 0.0
	for _, wk := range r.Weeks {
		for _, v := range []*float64{wk.MTTAMean, wk.MTTRMean} {
			if v != nil {
				most = math.Max(most, *v)
			}
		}
	}
	if most == 0 || len(r.Weeks) == 0 {
		return c
	}
	c.Max = FormatDuration(most)
	slot := float64(chartW-2*chartPad) / float64(len(r.Weeks))
	plotH := float64(chartH - 2*chartPad)
	points := func(pick func(Week) *float64) string {
		var pts []string
		for i, wk := range r.Weeks {
			if v := pick(wk); v != nil {
				pts = append(pts, fmt.Sprintf("%.1f,%.1f", chartPad+float64(i)*slot+slot/2, float64(chartH-chartPad)-plotH**v/most))
			}
		}
		return strings.Join(pts, " ")
	}
	c.Lines = []line{
		{Points: points(func(w Week) *float64 { return w.MTTAMean }), Stroke: palette[3], Name: "MTTA"},
		{Points: points(func(w Week) *float64 { return w.MTTRMean }), Stroke: palette[0], Name: "MTTR"},
	}
	for _, l := range c.Lines {
		c.Legend = append(c.Legend, legend{Fill: l.Stroke, Name: l.Name})
	}
	for i, wk := range r.Weeks {
		c.Labels = append(c.Labels, label{X: chartPad + float64(i)*slot + slot/2, Text: wk.Start.UTC().Format("Jan 2")})
	}
	return c
}

var htmlTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
	"dur": FormatDuration, "stat": statText, "pct": percentText, "minute": minute, "span": span,
	"countChange": countChange, "durationText": durationText, "join": strings.Join,
	"rate": func(f float64) string { return fmt.Sprintf("%.0f%%", f*100) },
}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Heading}}</title>
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem auto;max-width:72rem;padding:0 1rem;color:#1f2937}
table{border-collapse:collapse;margin:.5rem 0 1.5rem;width:100%;font-size:.9rem}
th,td{border-bottom:1px solid #e5e7eb;padding:.35rem .5rem;text-align:left;vertical-align:top}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
.muted{color:#6b7280;font-size:.9rem} svg{max-width:100%;height:auto} .legend span{margin-right:1rem}
.swatch{display:inline-block;width:.8rem;height:.8rem;margin-right:.3rem;vertical-align:middle}
</style></head><body>
{{with .R}}
<h1>{{$.Heading}}</h1>
<p>{{span .Period}}: <strong>{{.Incidents}}</strong> incidents (previous period {{span .Previous}}: {{$.All.Previous.Count}}).
{{if .Truncated}}Only the newest incidents were read.{{end}}{{if .Unreadable}} {{.Unreadable}} did not answer and have no times.{{end}}</p>

<h2>Incidents per week</h2>
{{with $.Weekly}}<svg viewBox="0 0 640 180" role="img" aria-label="incidents per week by severity">
<line x1="24" y1="156" x2="616" y2="156" stroke="#9ca3af"/>
<text x="2" y="30" font-size="10" fill="#6b7280">{{.Max}}</text>
{{range .Bars}}<rect x="{{printf "%.1f" .X}}" y="{{printf "%.1f" .Y}}" width="{{printf "%.1f" .W}}" height="{{printf "%.1f" .H}}" fill="{{.Fill}}"><title>{{.Tip}}</title></rect>
{{end}}{{range .Labels}}<text x="{{printf "%.1f" .X}}" y="172" font-size="9" text-anchor="middle" fill="#6b7280">{{.Text}}</text>
{{end}}</svg>
<p class="legend">{{range .Legend}}<span><i class="swatch" style="background:{{.Fill}}"></i>{{.Name}}</span>{{end}}</p>{{end}}

{{with $.Trend}}{{if .Lines}}<h2>MTTA and MTTR by week</h2>
<svg viewBox="0 0 640 180" role="img" aria-label="mean MTTA and MTTR by week">
<line x1="24" y1="156" x2="616" y2="156" stroke="#9ca3af"/>
<text x="2" y="30" font-size="10" fill="#6b7280">{{.Max}}</text>
{{range .Lines}}<polyline points="{{.Points}}" fill="none" stroke="{{.Stroke}}" stroke-width="2"/>
{{end}}{{range .Labels}}<text x="{{printf "%.1f" .X}}" y="172" font-size="9" text-anchor="middle" fill="#6b7280">{{.Text}}</text>
{{end}}</svg>
<p class="legend">{{range .Legend}}<span><i class="swatch" style="background:{{.Fill}}"></i>{{.Name}}</span>{{end}}</p>{{end}}{{end}}

<h2>Totals by severity</h2>
<table><tr><th>Severity</th><th class="n">Incidents</th><th class="n">vs previous</th><th class="n">Open</th><th class="n">MTTD mean</th><th class="n">MTTD median</th><th class="n">MTTA mean</th><th class="n">MTTA median</th><th class="n">MTTM mean</th><th class="n">MTTM median</th><th class="n">MTTR mean</th><th class="n">MTTR median</th><th class="n">MTTA vs previous</th><th class="n">MTTR vs previous</th></tr>
{{range .Totals}}<tr><td>{{if eq .Severity "all"}}<strong>all</strong>{{else}}{{.Severity}}{{end}}</td><td class="n">{{.Count}}</td><td class="n">{{countChange .Change .Previous.Count}}</td><td class="n">{{.Open}}</td>
<td class="n">{{stat .MTTD.MeanSeconds}}</td><td class="n">{{stat .MTTD.MedianSeconds}}</td><td class="n">{{stat .MTTA.MeanSeconds}}</td><td class="n">{{stat .MTTA.MedianSeconds}}</td><td class="n">{{stat .MTTM.MeanSeconds}}</td><td class="n">{{stat .MTTM.MedianSeconds}}</td><td class="n">{{stat .MTTR.MeanSeconds}}</td><td class="n">{{stat .MTTR.MedianSeconds}}</td><td class="n">{{pct .Change.MTTAPercent}}</td><td class="n">{{pct .Change.MTTRPercent}}</td></tr>
{{end}}</table>
{{range .Notes}}<p class="muted">{{.}}</p>{{end}}

<h2>Top impacted services</h2>
{{if .TopServices}}<table><tr><th>Service</th><th class="n">Incidents</th><th class="n">Open</th><th class="n">Time to resolve (total)</th></tr>
{{range .TopServices}}<tr><td>{{.Service}}</td><td class="n">{{.Count}}</td><td class="n">{{.Open}}</td><td class="n">{{dur .TimeToResolveSeconds}}</td></tr>
{{end}}</table>{{else}}<p>No incidents.</p>{{end}}

<h2>Notable incidents</h2>
{{if .Notable}}<table><tr><th>Incident</th><th>Severity</th><th>Service</th><th>Opened</th><th class="n">Duration</th><th class="n">Alerts</th><th>Why</th><th>Post-mortem</th><th>Summary</th></tr>
{{range .Notable}}<tr><td><code>{{.ID}}</code><br>{{.Title}}</td><td>{{.Severity}}</td><td>{{.Service}}</td><td>{{minute .CreatedAt}}</td><td class="n">{{durationText .}}</td><td class="n">{{.Alerts}}</td><td>{{join .Why ", "}}</td><td>{{if .Postmortem}}{{or .PostmortemStatus "started"}}{{if .RootCause}}<br>root cause: {{.RootCause}}{{end}}{{else}}-{{end}}</td><td>{{.Summary}}</td></tr>
{{end}}</table>{{else}}<p>None.</p>{{end}}

<h2>Action items</h2>
{{with .ActionItems}}<p>{{.Total}} action items: {{.Closed}} closed, {{.Dropped}} dropped, {{.Open}} open ({{.Overdue}} overdue). Completion rate {{rate .CompletionRate}}.</p>{{end}}
{{with .Postmortems}}<p>Post-mortems: {{.Total}} ({{.Open}} open, {{.Overdue}} overdue, {{.Completed}} completed, {{.Finished}} finished).</p>{{end}}
{{if .ActionItems.OverdueItems}}<table><tr><th>Overdue item</th><th>Incident</th><th>Owner</th><th>Due</th></tr>
{{range .ActionItems.OverdueItems}}<tr><td>{{.Title}}</td><td><code>{{.Incident}}</code></td><td>{{.Owner}}</td><td>{{.Due}}</td></tr>
{{end}}</table>{{end}}

<h2>Recurring incidents</h2>
{{if .Recurring}}<table><tr><th class="n">Times</th><th>Same</th><th>Service</th><th>Title</th><th>First</th><th>Last</th><th>Incidents</th></tr>
{{range .Recurring}}<tr><td class="n">{{.Count}}</td><td>{{if eq .By "key"}}key <code>{{.Key}}</code>{{else}}title{{end}}</td><td>{{.Service}}</td><td>{{.Title}}</td><td>{{minute .First}}</td><td>{{minute .Last}}</td><td>{{join .Incidents ", "}}</td></tr>
{{end}}</table>{{else}}<p>None: no alert key or title came back in the period.</p>{{end}}

<h2>Exercises</h2>
{{if .Exercises}}<p>Not counted in any figure above.</p><table><tr><th>Exercise</th><th>Severity</th><th>Service</th><th>Opened</th><th>Participants</th><th class="n">Time to ack</th><th class="n">Time to first update</th><th>Status</th></tr>
{{range .Exercises}}<tr><td><code>{{.ID}}</code><br>{{.Title}}</td><td>{{.Severity}}</td><td>{{.Service}}</td><td>{{minute .CreatedAt}}</td><td>{{join .Participants ", "}}</td><td class="n">{{stat .TimeToAckSeconds}}</td><td class="n">{{stat .TimeToFirstUpdateSeconds}}</td><td>{{.Status}}</td></tr>
{{end}}</table>{{else}}<p>None: no game day in the period.</p>{{end}}
<p class="muted">Generated {{minute .GeneratedAt}} UTC by incidentflow.</p>
{{end}}
</body></html>
`))

// HTML writes the review as one self-contained page: inline CSS and SVG
// charts, no script and nothing fetched.
func HTML(w io.Writer, r *Report) error {
	return htmlTemplate.Execute(w, map[string]any{
		"R": r, "Heading": title(r), "All": r.Totals[len(r.Totals)-1], "Weekly": weeklyChart(r), "Trend": trendChart(r),
	})
}
