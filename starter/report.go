package starter

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/api/workflowservice/v1"

	"github.com/incidentflow/incidentflow/incident"
	"github.com/incidentflow/incidentflow/report"
	"github.com/incidentflow/incidentflow/workflows"
)

// ReportSource lets a report read incidents from Temporal.
func (in *Incidents) ReportSource() report.Source { return reportSource{in: in} }

// reportSource reads incidents for reports; where, when set, narrows the
// visibility query further.
type reportSource struct {
	in    *Incidents
	where string
}

// List reads the visibility store itself rather than through Search: a
// report needs each run's ID, since an alert key that opens a new incident
// after the last resolved reuses its workflow ID, and querying by ID alone
// would read the newest run every time. Runs that continued as new are
// left out: the run they handed over to carries their whole state.
func (s reportSource) List(ctx context.Context, p report.Period, service string, limit int) ([]report.Ref, bool, error) {
	q, err := s.in.visibilityQuery(Filter{Service: service, Since: p.From})
	if err != nil {
		return nil, false, err
	}
	// To the nanosecond: an incident opened in the request's last second counts.
	q += fmt.Sprintf(" AND StartTime < '%s' AND ExecutionStatus != 'ContinuedAsNew'", p.To.UTC().Format(time.RFC3339Nano))
	if s.where != "" {
		q += " AND " + s.where
	}
	var out []report.Ref
	var token []byte
	for {
		resp, err := s.in.Client.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: q, NextPageToken: token, PageSize: 500})
		if err != nil {
			return nil, false, s.in.explain(ctx, "", err)
		}
		for _, e := range resp.GetExecutions() {
			if len(out) == limit {
				return out, true, nil
			}
			sum := summaryOf(e)
			out = append(out, report.Ref{ID: sum.ID, RunID: e.GetExecution().GetRunId(), Title: sum.Title,
				Service: sum.Service, Severity: sum.Severity, CreatedAt: sum.CreatedAt})
		}
		if token = resp.GetNextPageToken(); len(token) == 0 {
			return out, false, nil
		}
	}
}

// reportQueryTimeout bounds one incident's query, so one that does not
// answer costs the report seconds and is counted as unreadable.
const reportQueryTimeout = 5 * time.Second

func (s reportSource) Incident(ctx context.Context, ref report.Ref) (*workflows.Incident, error) {
	ctx, cancel := context.WithTimeout(ctx, reportQueryTimeout)
	defer cancel()
	v, err := s.in.Client.QueryWorkflow(ctx, ref.ID, ref.RunID, workflows.QueryState)
	if err != nil {
		return nil, err
	}
	var st workflows.Incident
	if err := v.Get(&st); err != nil {
		return nil, fmt.Errorf("decode state of %s: %w", ref.ID, err)
	}
	return &st, nil
}

func (s reportSource) Postmortem(ctx context.Context, incidentID string) (*workflows.PostmortemState, error) {
	ctx, cancel := context.WithTimeout(ctx, reportQueryTimeout)
	defer cancel()
	return s.in.Postmortem(ctx, incidentID)
}

// ReportRequest is what a report covers, as the CLI and the API take it.
type ReportRequest struct {
	Month   string
	Since   string
	Service string
	Now     time.Time
}

// Report builds the incident review.
func (in *Incidents) Report(ctx context.Context, req ReportRequest) (*report.Report, error) {
	p, err := req.period()
	if err != nil {
		return nil, err
	}
	if req.Service != "" {
		if _, ok := in.Config.Services[req.Service]; !ok {
			return nil, &BadRequest{Field: "service", Msg: fmt.Sprintf("unknown service %q", incident.Cut(req.Service, incident.MaxName))}
		}
	}
	return report.Collect(ctx, in.ReportSource(), report.Options{Period: p, Service: req.Service, Severities: in.Config.SeverityNames(), Now: req.Now})
}

// maxReportSpan bounds --since: a report reads every incident of its span
// and of the one before.
const maxReportSpan = 366 * 24 * time.Hour

func (req ReportRequest) period() (report.Period, error) {
	if req.Month != "" && req.Since != "" {
		return report.Period{}, &BadRequest{Field: "month", Msg: "give month or since, not both"}
	}
	if req.Month != "" {
		p, err := report.Month(req.Month)
		if err != nil {
			return report.Period{}, &BadRequest{Field: "month", Msg: err.Error()}
		}
		return p, nil
	}
	since := cmpOr(req.Since, "720h")
	d, err := time.ParseDuration(since)
	if days, ok := strings.CutSuffix(since, "d"); ok {
		var n int
		if n, err = strconv.Atoi(days); err == nil {
			d = time.Duration(n) * 24 * time.Hour
		}
	}
	if err != nil || d <= 0 || d > maxReportSpan {
		return report.Period{}, &BadRequest{Field: "since", Msg: fmt.Sprintf("%q is not a span from 1s to 366d (720h, 30d)", incident.Cut(since, incident.MaxName))}
	}
	return report.Since(d, req.Now), nil
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// reportParams are what GET /v1/report takes.
var reportParams = []string{"month", "since", "service", "format"}

// reportTimeout bounds a report over HTTP: up to 4,000 queries, eight at a time.
const reportTimeout = 2 * time.Minute

// getReport answers GET /v1/report. One report is built at a time per
// intake: each reads thousands of incidents, and a dashboard refreshing
// in several tabs must not multiply that.
func (s *Server) getReport(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	for k := range q {
		if !slices.Contains(reportParams, k) {
			s.fail(w, r, &BadRequest{Field: incident.Cut(k, incident.MaxName), Msg: "unknown parameter (one of " + strings.Join(reportParams, ", ") + ")"})
			return
		}
	}
	format := reportFormat(q, r.Header.Get("Accept"))
	if !slices.Contains(report.Formats, format) {
		s.fail(w, r, &BadRequest{Field: "format", Msg: fmt.Sprintf("%q: one of %s", incident.Cut(format, incident.MaxName), strings.Join(report.Formats, ", "))})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), reportTimeout)
	defer cancel()
	select {
	case reportSlot <- struct{}{}:
		defer func() { <-reportSlot }()
	case <-ctx.Done():
		s.fail(w, r, &Unavailable{Err: fmt.Errorf("another report is being built")})
		return
	}
	rep, err := s.incidents.Report(ctx, ReportRequest{Month: q.Get("month"), Since: q.Get("since"), Service: q.Get("service"), Now: time.Now().UTC()})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", report.ContentType(format))
	w.WriteHeader(http.StatusOK)
	_ = report.Render(w, rep, format)
}

var reportSlot = make(chan struct{}, 1)

// reportFormat is ?format=, else what Accept asks for, else JSON.
func reportFormat(q url.Values, accept string) string {
	if f := q.Get("format"); f != "" {
		if f == "markdown" {
			return report.FormatMarkdown
		}
		return f
	}
	switch {
	case strings.Contains(accept, "text/html"):
		return report.FormatHTML
	case strings.Contains(accept, "text/markdown"):
		return report.FormatMarkdown
	}
	return report.FormatJSON
}
