package starter

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode"

	"go.temporal.io/api/workflowservice/v1"

	"github.com/incidentflow/incidentflow/incident"
	"github.com/incidentflow/incidentflow/workflows"
)

// Similar is a past incident like this one: responders opening an
// incident see what happened the last times, and what its post-mortem
// found.
type Similar struct {
	Summary
	// Why says what makes it similar: the same alert key, or the title.
	Why       string `json:"why"`
	RootCause string `json:"root_cause,omitempty"`
	// Postmortem is its post-mortem's document (the GitHub issue).
	Postmortem string `json:"postmortem_url,omitempty"`
}

// similarScan bounds how many of the service's past incidents are looked at.
const similarScan = 200

// Similar finds up to three past incidents of the same service with the
// same key or a near-identical title, newest first, with their
// post-mortems' findings, from visibility alone: reading each one's state
// would wake a worker per closed incident on every read. It never fails
// the incident's read: without visibility it finds none.
func (in *Incidents) Similar(ctx context.Context, st *workflows.Incident) []Similar {
	out, _ := in.similarTo(ctx, st.ID, st.Service, st.Title)
	return out
}

func (in *Incidents) similarTo(ctx context.Context, id, service, title string) ([]Similar, error) {
	page, err := in.Search(ctx, Filter{Service: service, Limit: similarScan})
	if err != nil {
		return []Similar{}, err
	}
	out := similarIn(page.Incidents, id, title)
	in.addFindings(ctx, out)
	return out, nil
}

// similarAtOpening is similarTo for an incident that is opening. Its
// earlier runs are read fresh, by ID; the service's other incidents come
// from a scan shared by every incident of the service opening within
// pastFresh of it. A flood of openings on one service would otherwise scan
// visibility once each: with a thousand open, that kept the server busy
// for minutes after the flood, and a title seen a second late costs
// nothing.
func (in *Incidents) similarAtOpening(ctx context.Context, id, service, title string) ([]Similar, error) {
	resp, err := in.Client.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
		Query:    fmt.Sprintf("WorkflowType = '%s' AND WorkflowId = '%s'", workflows.IncidentWorkflowName, quoteless(id)),
		PageSize: similarScan,
	})
	if err != nil {
		return []Similar{}, err
	}
	var past []Summary
	for _, e := range resp.GetExecutions() {
		past = append(past, summaryOf(e))
	}
	others, err := in.pastOf(ctx, service)
	if err != nil {
		return []Similar{}, err
	}
	for _, s := range others {
		if s.ID != id {
			past = append(past, s)
		}
	}
	out := similarIn(past, id, title)
	in.addFindings(ctx, out)
	return out, nil
}

// pastFresh is how long one scan of a service's incidents serves the
// incidents opening on it.
const pastFresh = 2 * time.Second

// pastScans shares scans of each service's incidents among openings.
type pastScans struct {
	mu sync.Mutex
	by map[string]*pastScan
}

type pastScan struct {
	// mu is held for the scan, so openings that come during it wait for
	// it rather than scan again.
	mu   sync.Mutex
	at   time.Time
	list []Summary
}

func (in *Incidents) pastOf(ctx context.Context, service string) ([]Summary, error) {
	in.past.mu.Lock()
	if in.past.by == nil {
		in.past.by = map[string]*pastScan{}
	}
	sc := in.past.by[service]
	if sc == nil {
		sc = &pastScan{}
		in.past.by[service] = sc // services come from the config: the map stays small
	}
	in.past.mu.Unlock()
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if !sc.at.IsZero() && time.Since(sc.at) < pastFresh {
		return sc.list, nil
	}
	page, err := in.Search(ctx, Filter{Service: service, Limit: similarScan})
	if err != nil {
		return nil, err
	}
	sc.at, sc.list = time.Now(), page.Incidents
	return sc.list, nil
}

// SimilarFor finds the similar incidents of each incident of a listing,
// by ID, reading each service's past incidents once.
func (in *Incidents) SimilarFor(ctx context.Context, list []Summary) map[string][]Similar {
	past := map[string][]Summary{}
	out := map[string][]Similar{}
	for _, s := range list {
		if _, done := out[s.ID]; done {
			continue // an older run of the same ID: the newest speaks for it
		}
		if _, ok := past[s.Service]; !ok {
			page, err := in.Search(ctx, Filter{Service: s.Service, Limit: similarScan})
			if err != nil {
				return out
			}
			past[s.Service] = page.Incidents
		}
		// Only incidents older than this one count as past for it.
		var before []Summary
		for _, p := range past[s.Service] {
			if p.CreatedAt.Before(s.CreatedAt) {
				before = append(before, p)
			}
		}
		if found := similarIn(before, s.ID, s.Title); len(found) > 0 {
			in.addFindings(ctx, found)
			out[s.ID] = found
		}
	}
	return out
}

// similarIn picks up to three of past like the incident id titled title:
// earlier runs of the same key first (the strongest likeness), then
// incidents with a near-identical title, in the order given (visibility
// lists open incidents first: one like it open now matters most).
func similarIn(past []Summary, id, title string) []Similar {
	words := titleWords(title)
	var sameKey, sameTitle []Similar
	for _, s := range past {
		switch {
		case s.ID == id && s.Running:
			// this one
		case s.ID == id:
			sameKey = append(sameKey, Similar{Summary: s, Why: "the same alert key"})
		case overlap(words, titleWords(s.Title)) >= 0.6:
			sameTitle = append(sameTitle, Similar{Summary: s, Why: "a near-identical title"})
		}
	}
	out := append(sameKey, sameTitle...)
	if len(out) > incident.MaxSimilar {
		out = out[:incident.MaxSimilar]
	}
	if out == nil {
		out = []Similar{}
	}
	return out
}

// addFindings fills in what each one's post-mortem found, from the memo a
// completed post-mortem writes; one that has none is left as it is.
func (in *Incidents) addFindings(ctx context.Context, list []Similar) {
	if len(list) == 0 {
		return
	}
	ids := make([]string, 0, len(list))
	for _, s := range list {
		ids = append(ids, "'"+quoteless(workflows.PostmortemID(s.ID))+"'")
	}
	resp, err := in.Client.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
		Query: fmt.Sprintf("WorkflowType = '%s' AND WorkflowId IN (%s)", workflows.PostmortemWorkflowName, strings.Join(ids, ", ")),
	})
	if err != nil {
		return
	}
	// Newest first: a key's latest post-mortem speaks for it.
	found := map[string]map[string]string{}
	for _, e := range resp.GetExecutions() {
		id := e.GetExecution().GetWorkflowId()
		if _, seen := found[id]; seen {
			continue
		}
		fields := e.GetMemo().GetFields()
		found[id] = map[string]string{
			workflows.MemoRootCause: payloadString(fields[workflows.MemoRootCause]), workflows.MemoPostmortemURL: payloadString(fields[workflows.MemoPostmortemURL]),
		}
	}
	for i := range list {
		if f, ok := found[workflows.PostmortemID(list[i].ID)]; ok {
			list[i].RootCause, list[i].Postmortem = f[workflows.MemoRootCause], f[workflows.MemoPostmortemURL]
		}
	}
}

// SimilarFinder is the activities' look-up of past incidents like a new
// one (activities.SimilarSource); worker.New wires it.
type SimilarFinder struct{ Incidents *Incidents }

// Similar answers up to three, for the incident's card.
func (f SimilarFinder) Similar(ctx context.Context, req incident.SimilarRequest) ([]incident.SimilarIncident, error) {
	list, err := f.Incidents.similarAtOpening(ctx, req.IncidentID, req.Service, req.Title)
	if err != nil {
		return nil, f.Incidents.explain(ctx, "", err)
	}
	out := make([]incident.SimilarIncident, 0, len(list))
	for _, s := range list {
		out = append(out, incident.SimilarIncident{ID: s.ID, Title: s.Title, Severity: s.Severity, Status: s.Status,
			CreatedAt: s.CreatedAt, Why: s.Why, RootCause: s.RootCause, Postmortem: s.Postmortem})
	}
	return out, nil
}

func titleWords(title string) map[string]bool {
	out := map[string]bool{}
	for _, w := range strings.FieldsFunc(strings.ToLower(title), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
		if len(w) > 2 {
			out[w] = true
		}
	}
	return out
}

// overlap is the share of words two titles have in common (Jaccard).
func overlap(a, b map[string]bool) float64 {
	if len(a) == 0 || len(b) == 0 {
		return 0
	}
	both := 0
	for w := range a {
		if b[w] {
			both++
		}
	}
	return float64(both) / float64(len(a)+len(b)-both)
}
