package starter

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"go.temporal.io/api/workflowservice/v1"

	"github.com/incidentflow/incidentflow/incident"
	"github.com/incidentflow/incidentflow/workflows"
)

// Component states on the status page, best first.
const (
	StateOperational = "operational"
	StateMaintenance = "maintenance"
	StateDegraded    = "degraded"
	StateMajorOutage = "major_outage"
)

var stateRank = []string{StateOperational, StateMaintenance, StateDegraded, StateMajorOutage}

func worse(a, b string) string {
	if slices.Index(stateRank, b) > slices.Index(stateRank, a) {
		return b
	}
	return a
}

// StatusPage is what GET /status shows, and GET /status.json answers.
// It is public, so it carries only what customers may read: services,
// their state, and each incident's stage and latest status update. Never
// titles (alerts write them, with host names and internals), IDs (made of
// alert keys), notes, roles or anyone's name.
type StatusPage struct {
	Title       string             `json:"title"`
	Status      string             `json:"status"`
	Services    []StatusComponent  `json:"services"`
	Incidents   []StatusIncident   `json:"incidents"`
	Resolved    []StatusIncident   `json:"resolved"`
	UpdatedAt   time.Time          `json:"updated_at"`
	Stale       bool               `json:"stale,omitempty"`
	Maintenance []StatusMaintained `json:"maintenance,omitempty"`
}

// StatusComponent is one service and its state.
type StatusComponent struct {
	Name   string `json:"name"`
	Status string `json:"status"`
}

// StatusIncident is an incident as customers see it. Ref is an opaque
// reference, stable for the incident, so a reader can tell two apart.
type StatusIncident struct {
	Ref        string        `json:"ref"`
	Service    string        `json:"service"`
	Impact     string        `json:"impact"`
	Stage      string        `json:"stage"`
	StartedAt  time.Time     `json:"started_at"`
	ResolvedAt *time.Time    `json:"resolved_at,omitempty"`
	Update     *StatusUpdate `json:"update,omitempty"`
}

// StatusUpdate is the public part of a status update: not who wrote it,
// nor the internal "known"/"doing" notes.
type StatusUpdate struct {
	Stage      string    `json:"stage"`
	Message    string    `json:"message"`
	Impact     string    `json:"impact,omitempty"`
	Workaround string    `json:"workaround,omitempty"`
	ETA        string    `json:"eta,omitempty"`
	At         time.Time `json:"at,omitempty"`
}

// StatusMaintained is a service under maintenance, until when.
type StatusMaintained struct {
	Service string    `json:"service"`
	Until   time.Time `json:"until"`
}

// Bounds: the page is built from at most this much, whatever happens.
const (
	statusCacheFor      = 15 * time.Second
	statusTimeout       = 5 * time.Second
	statusQueryTimeout  = 2 * time.Second
	statusMaxOpen       = 200 // open incidents looked at for the states
	statusMaxShown      = 20  // incidents shown (and queried) per list
	statusResolvedSince = 7 * 24 * time.Hour
	statusConcurrency   = 4
)

// statusPage serves GET /status and /status.json from one cache: a burst
// of visitors during an outage, which is when they come, costs Temporal
// one refresh every statusCacheFor, never one per request.
type statusPage struct {
	s  *Server
	mu sync.Mutex
	// page is the last good page; built when it was made.
	page  *StatusPage
	built time.Time
}

func (s *Server) statusPage() *statusPage {
	for _, name := range s.cfg.StatusPage.Services {
		if _, ok := s.cfg.Services[name]; !ok {
			s.log.Warn("status_page lists a service that is not configured: it is left off the page", "service", name)
		}
	}
	return &statusPage{s: s}
}

func (sp *statusPage) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	page, err := sp.current(r.Context())
	if err != nil {
		sp.s.fail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", fmt.Sprintf("public, max-age=%d", int(statusCacheFor.Seconds())))
	if strings.HasSuffix(r.URL.Path, ".json") || strings.Contains(r.Header.Get("Accept"), "application/json") {
		writeJSON(w, http.StatusOK, page)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	w.WriteHeader(http.StatusOK)
	_ = statusTemplate.Execute(w, page)
}

// current is the cached page, refreshed when old. Requests that arrive
// during a refresh wait for it rather than starting their own. When
// Temporal does not answer, the last page is served marked stale.
func (sp *statusPage) current(ctx context.Context) (*StatusPage, error) {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if sp.page != nil && time.Since(sp.built) < statusCacheFor {
		return sp.page, nil
	}
	// Detached from the visitor: one who leaves must not fail the refresh
	// the others are waiting for.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), statusTimeout)
	defer cancel()
	page, err := sp.s.incidents.statusPage(ctx, time.Now().UTC())
	if err != nil {
		sp.s.log.Warn("status page refresh failed", "error", err)
		if sp.page == nil {
			return nil, err
		}
		stale := *sp.page
		stale.Stale = true
		return &stale, nil
	}
	sp.page, sp.built = page, time.Now()
	return page, nil
}

// statusPage builds the page from the visibility store, plus one state
// query per incident shown (for its stage and latest update).
func (in *Incidents) statusPage(ctx context.Context, now time.Time) (*StatusPage, error) {
	services := in.Config.StatusPageServices()
	page := &StatusPage{Title: in.Config.StatusPageTitle(), Status: StateOperational, UpdatedAt: now,
		Services: []StatusComponent{}, Incidents: []StatusIncident{}, Resolved: []StatusIncident{}}
	if len(services) == 0 {
		return page, nil
	}
	quoted := make([]string, len(services))
	for i, s := range services {
		quoted[i] = "'" + quoteless(s) + "'"
	}
	base := fmt.Sprintf("WorkflowType = '%s' AND %s IN (%s)", workflows.IncidentWorkflowName, workflows.SearchService.GetName(), strings.Join(quoted, ", "))
	open, err := in.listStatus(ctx, base+fmt.Sprintf(" AND ExecutionStatus = 'Running' AND %s IN ('%s', '%s', '%s')", workflows.SearchStatus.GetName(),
		incident.StatusTriggered, incident.StatusAcknowledged, incident.StatusMonitoring), statusMaxOpen)
	if err != nil {
		return nil, err
	}
	closed, err := in.listStatus(ctx, base+fmt.Sprintf(" AND ExecutionStatus = 'Completed' AND CloseTime >= '%s'", now.Add(-statusResolvedSince).Format(time.RFC3339)), statusMaxShown)
	if err != nil {
		return nil, err
	}
	// Resolved but still running: waiting to close (older incidents) or
	// for their post-mortem to start.
	resolving, err := in.listStatus(ctx, base+fmt.Sprintf(" AND ExecutionStatus = 'Running' AND %s = '%s'", workflows.SearchStatus.GetName(), incident.StatusResolved), statusMaxShown)
	if err != nil {
		return nil, err
	}

	state := map[string]string{}
	shown := open[:min(len(open), statusMaxShown)]
	views := in.statusViews(ctx, shown)
	for i, e := range open {
		var v *workflows.Incident
		if i < len(views) {
			v = views[i]
		}
		if v != nil && (v.Shadow || v.Exercise || !v.Status.Open()) {
			continue // a shadow incident or an exercise is a rehearsal; a resolved one moved on since the list
		}
		impact := in.impact(e.Severity, e.Status)
		state[e.Service] = worse(state[e.Service], impact)
		if i < len(shown) {
			page.Incidents = append(page.Incidents, publicIncident(e, v, impact))
		}
	}

	done := append(resolving, closed...)
	done = done[:min(len(done), statusMaxShown)]
	for i, v := range in.statusViews(ctx, done) {
		if v != nil && (v.Shadow || v.Exercise) {
			continue
		}
		pi := publicIncident(done[i], v, in.impact(done[i].Severity, ""))
		pi.Stage = string(incident.StageResolved)
		if pi.ResolvedAt == nil && done[i].ClosedAt != nil {
			pi.ResolvedAt = done[i].ClosedAt
		}
		if pi.ResolvedAt != nil && now.Sub(*pi.ResolvedAt) > statusResolvedSince {
			continue
		}
		page.Resolved = append(page.Resolved, pi)
	}
	slices.SortStableFunc(page.Resolved, func(a, b StatusIncident) int { return timeOr(b.ResolvedAt).Compare(timeOr(a.ResolvedAt)) })

	mctx, cancel := context.WithTimeout(ctx, statusQueryTimeout)
	defer cancel()
	if windows, err := in.MaintenanceWindows(mctx); err == nil {
		for _, m := range windows {
			for _, s := range services {
				if m.Covers(s, now) {
					page.Maintenance = append(page.Maintenance, StatusMaintained{Service: s, Until: m.End})
					if state[s] == "" {
						state[s] = StateMaintenance
					}
				}
			}
		}
	}
	for _, s := range services {
		st := cmpOr(state[s], StateOperational)
		page.Services = append(page.Services, StatusComponent{Name: s, Status: st})
		page.Status = worse(page.Status, st)
	}
	return page, nil
}

func timeOr(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}

// impact maps an open incident onto its service's state: the highest
// severity is a major outage, any other degrades it, and so does an
// incident being monitored after its fix.
func (in *Incidents) impact(severity, status string) string {
	names := in.Config.SeverityNames()
	if status != string(incident.StatusMonitoring) && len(names) > 0 && severity == names[0] {
		return StateMajorOutage
	}
	return StateDegraded
}

func (in *Incidents) listStatus(ctx context.Context, q string, limit int) ([]Summary, error) {
	var out []Summary
	var token []byte
	for len(out) < limit {
		resp, err := in.Client.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: q, NextPageToken: token, PageSize: int32(min(limit, 100))})
		if err != nil {
			return nil, in.explain(ctx, "", err)
		}
		for _, e := range resp.GetExecutions() {
			if _, exercise := e.GetMemo().GetFields()[workflows.MemoExercise]; exercise {
				// A game day never reaches customers, even unread.
				continue
			}
			if len(out) < limit {
				s := summaryOf(e)
				// Runs of one key are told apart by their start.
				s.ID = s.ID + "\x00" + e.GetExecution().GetRunId()
				out = append(out, s)
			}
		}
		if token = resp.GetNextPageToken(); len(token) == 0 {
			break
		}
	}
	return out, nil
}

// statusViews queries each incident's state; nil where it does not answer
// in time (the page then shows it without its update).
func (in *Incidents) statusViews(ctx context.Context, list []Summary) []*workflows.Incident {
	out := make([]*workflows.Incident, len(list))
	sem := make(chan struct{}, statusConcurrency)
	var wg sync.WaitGroup
	for i, s := range list {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			id, run, _ := strings.Cut(s.ID, "\x00")
			qctx, cancel := context.WithTimeout(ctx, statusQueryTimeout)
			defer cancel()
			v, err := in.Client.QueryWorkflow(qctx, id, run, workflows.QueryState)
			if err != nil {
				return
			}
			var st workflows.Incident
			if v.Get(&st) == nil {
				out[i] = &st
			}
		})
	}
	wg.Wait()
	return out
}

func publicIncident(s Summary, v *workflows.Incident, impact string) StatusIncident {
	sum := sha256.Sum256([]byte(s.ID))
	pi := StatusIncident{Ref: hex.EncodeToString(sum[:5]), Service: s.Service, Impact: impact,
		Stage: string(incident.StageInvestigating), StartedAt: s.CreatedAt}
	if v == nil {
		return pi
	}
	pi.StartedAt = v.CreatedAt
	if v.Stage != "" {
		pi.Stage = string(v.Stage)
	}
	pi.ResolvedAt = v.ResolvedAt
	// Only what the comms lead marked public reaches customers.
	if u := v.LastPublicUpdate; u != nil {
		pi.Update = &StatusUpdate{Stage: string(u.Stage), Message: u.Message, Impact: u.Impact, Workaround: u.Workaround, ETA: u.ETA, At: u.At}
	}
	return pi
}

var stateWords = map[string]string{
	StateOperational: "Operational", StateMaintenance: "Under maintenance",
	StateDegraded: "Degraded performance", StateMajorOutage: "Major outage",
}

var overallWords = map[string]string{
	StateOperational: "All systems operational", StateMaintenance: "Maintenance in progress",
	StateDegraded: "Some systems are degraded", StateMajorOutage: "Major outage",
}

// statusTemplate is the page: server-rendered, no script, nothing fetched,
// every value escaped by html/template. It reloads itself every minute.
var statusTemplate = template.Must(template.New("status").Funcs(template.FuncMap{
	"words":   func(s string) string { return stateWords[s] },
	"overall": func(s string) string { return overallWords[s] },
	"when":    func(t time.Time) string { return t.UTC().Format("Jan 2, 15:04 MST") },
	"title":   func(s string) string { return strings.ToUpper(s[:min(1, len(s))]) + s[min(1, len(s)):] },
}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="60"><title>{{.Title}}</title>
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem auto;max-width:48rem;padding:0 1rem;color:#1f2937}
.banner{padding:1rem;border-radius:.4rem;color:#fff;font-weight:600;margin:1rem 0}
.operational{background:#15803d}.maintenance{background:#2563eb}.degraded{background:#d97706}.major_outage{background:#b91c1c}
ul{list-style:none;padding:0} li{border-bottom:1px solid #e5e7eb;padding:.6rem 0}
.state{float:right;font-weight:600} .s-operational{color:#15803d}.s-maintenance{color:#2563eb}.s-degraded{color:#d97706}.s-major_outage{color:#b91c1c}
.muted{color:#6b7280;font-size:.9rem} .inc{border-left:4px solid #d97706;padding:.5rem 1rem;margin:1rem 0}
.inc.major_outage{border-color:#b91c1c}
</style></head><body>
<h1>{{.Title}}</h1>
<div class="banner {{.Status}}">{{overall .Status}}</div>
{{if .Stale}}<p class="muted">This page could not be refreshed just now; it shows the state at {{when .UpdatedAt}}.</p>{{end}}
{{if .Incidents}}<h2>Current incidents</h2>
{{range .Incidents}}<div class="inc {{.Impact}}">
<strong>{{words .Impact}}: {{.Service}}</strong> <span class="muted">({{title .Stage}}, since {{when .StartedAt}})</span>
{{with .Update}}<p>{{.Message}}</p>
{{if .Impact}}<p><em>Impact:</em> {{.Impact}}</p>{{end}}{{if .Workaround}}<p><em>Workaround:</em> {{.Workaround}}</p>{{end}}{{if .ETA}}<p><em>Next:</em> {{.ETA}}</p>{{end}}
{{if not .At.IsZero}}<p class="muted">Updated {{when .At}}</p>{{end}}{{else}}<p>We are investigating an issue affecting {{.Service}}.</p>{{end}}
</div>{{end}}{{end}}
<h2>Services</h2>
<ul>{{range .Services}}<li>{{.Name}} <span class="state s-{{.Status}}">{{words .Status}}</span></li>{{else}}<li class="muted">No services are listed.</li>{{end}}</ul>
{{if .Maintenance}}<h2>Maintenance</h2><ul>{{range .Maintenance}}<li>{{.Service}}: under maintenance until {{when .Until}}</li>{{end}}</ul>{{end}}
<h2>Past 7 days</h2>
{{if .Resolved}}<ul>{{range .Resolved}}<li><strong>{{.Service}}</strong>: {{words .Impact}}, resolved{{with .ResolvedAt}} {{when .}}{{end}}
<span class="muted">(started {{when .StartedAt}})</span>{{with .Update}}<br>{{.Message}}{{end}}</li>{{end}}</ul>
{{else}}<p class="muted">No incidents in the past 7 days.</p>{{end}}
<p class="muted">Updated {{when .UpdatedAt}}.</p>
</body></html>
`))
