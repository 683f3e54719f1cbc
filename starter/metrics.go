package starter

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/grpc"

	"github.com/incidentflow/incidentflow/config"
	"github.com/incidentflow/incidentflow/metrics"
	"github.com/incidentflow/incidentflow/workflows"
)

// Instrument makes a Temporal client's options report to /metrics: the
// SDK's own metrics, and incidents opened. Every process that dials
// Temporal for the intake or a worker (dev, serve, worker) calls it.
func Instrument(opts *client.Options) {
	opts.MetricsHandler = metrics.TemporalHandler()
	opts.ConnectionOptions.DialOptions = append(opts.ConnectionOptions.DialOptions, grpc.WithChainUnaryInterceptor(countOpened))
}

// KnownNames tells the metrics which services, severities and
// integrations are configured: only those become label values.
func KnownNames(cfg *config.Config) {
	var services, integrations []string
	for name := range cfg.Services {
		services = append(services, name)
	}
	for _, in := range cfg.Integrations {
		integrations = append(integrations, in.Name)
	}
	metrics.Known(services, cfg.SeverityNames(), integrations)
}

// countOpened counts an incident when Temporal says the start or
// signal-with-start began a new run: a duplicate alert joining an open
// incident signals the same run and is not counted. Only Temporal knows
// which happened, and the SDK's SignalWithStartWorkflow does not say, so
// the answer is read on the wire. The service and severity are the search
// attributes the start set (configured names: the intake checked them).
func countOpened(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	err := invoker(ctx, method, req, reply, cc, opts...)
	if err != nil {
		return err
	}
	switch r := req.(type) {
	case *workflowservice.SignalWithStartWorkflowExecutionRequest:
		if resp, ok := reply.(*workflowservice.SignalWithStartWorkflowExecutionResponse); ok && resp.GetStarted() {
			openedIncident(r.GetWorkflowType().GetName(), r.GetSearchAttributes(), r.GetMemo())
		}
	case *workflowservice.StartWorkflowExecutionRequest:
		if resp, ok := reply.(*workflowservice.StartWorkflowExecutionResponse); ok && resp.GetStarted() {
			openedIncident(r.GetWorkflowType().GetName(), r.GetSearchAttributes(), r.GetMemo())
		}
	}
	return nil
}

// openedIncident counts a real incident: a game day's (memo exercise) is
// practice, and would skew what the counters say about production.
func openedIncident(workflowType string, sa *commonpb.SearchAttributes, memo *commonpb.Memo) {
	if workflowType != workflows.IncidentWorkflowName || memo.GetFields()[workflows.MemoExercise] != nil {
		return
	}
	fields := sa.GetIndexedFields()
	metrics.Opened(payloadString(fields[workflows.SearchService.GetName()]), payloadString(fields[workflows.SearchSeverity.GetName()]))
}

// countAck counts an acknowledgement that an ack Update made. The first
// ack (the only ack entry on the timeline) also gives the time to ack;
// a later one (after an ack timeout re-paged) keeps the first's time.
func countAck(update string, st *workflows.Incident) {
	if update != workflows.UpdateAck || st == nil || st.Exercise {
		return
	}
	n := 0
	for _, e := range st.Timeline {
		if e.Kind == workflows.KindAck {
			n++
		}
	}
	var took time.Duration
	first := st.AcknowledgedAt != nil && !st.CreatedAt.IsZero() && n == 1
	if first {
		took = st.AcknowledgedAt.Sub(st.CreatedAt)
	}
	metrics.Ack(st.Severity, first, took)
}

// intakeKey holds, in a request's context, the integration the request
// turned out to come from.
type intakeKey struct{}

type intakeNote struct {
	mu          sync.Mutex
	integration string
}

// noteIntegration records which configured integration sent r, for its
// intake metric.
func noteIntegration(r *http.Request, name string) {
	if n, ok := r.Context().Value(intakeKey{}).(*intakeNote); ok {
		n.mu.Lock()
		n.integration = name
		n.mu.Unlock()
	}
}

// intake counts an alert intake's requests by result, and times them.
// The result is read from the status answered, so every way a handler
// can answer is counted the same.
func (s *Server) intake(kind string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		note := &intakeNote{}
		rec := &statusRecorder{ResponseWriter: w}
		h(rec, r.WithContext(context.WithValue(r.Context(), intakeKey{}, note)))
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		note.mu.Lock()
		integration := note.integration
		note.mu.Unlock()
		metrics.Intake(kind, integration, rec.status, time.Since(start))
	}
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the real writer.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// gaugeEvery is how often the gauges read from Temporal are refreshed: a
// scrape reads the last values and never queries Temporal itself.
const gaugeEvery = 30 * time.Second

// overdueEvery spaces the overdue scan, which queries each running
// post-mortem: overdue is a matter of days, and the scan costs a query per
// post-mortem, where the open count costs one count per status.
const overdueEvery = 5 * time.Minute

// maxOverdueScan bounds the post-mortems one overdue scan queries.
const maxOverdueScan = 500

// StartGauges refreshes the open incidents gauge every 30 seconds, and
// the overdue gauges every 5 minutes, until ctx ends.
func (in *Incidents) StartGauges(ctx context.Context, log *slog.Logger) {
	go func() {
		t := time.NewTicker(gaugeEvery)
		defer t.Stop()
		var lastOverdue time.Time
		for {
			in.RefreshOpen(ctx, log)
			if time.Since(lastOverdue) >= overdueEvery {
				in.RefreshOverdue(ctx, log)
				lastOverdue = time.Now()
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
}

// RefreshOpen counts running incidents per status (one visibility count
// each: Temporal groups counts by ExecutionStatus only).
func (in *Incidents) RefreshOpen(ctx context.Context, log *slog.Logger) {
	statuses := statusNames()
	counts := map[string]int{}
	for _, st := range statuses {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		resp, err := in.Client.CountWorkflow(cctx, &workflowservice.CountWorkflowExecutionsRequest{
			Query: openQuery(st),
		})
		cancel()
		if err != nil {
			metrics.RefreshFailed("open_incidents")
			log.Debug("could not count open incidents", "error", err)
			return
		}
		counts[st] = int(resp.GetCount())
	}
	metrics.SetOpen(statuses, counts)
}

func openQuery(status string) string {
	return "WorkflowType = '" + workflows.IncidentWorkflowName + "' AND ExecutionStatus = 'Running' AND " +
		workflows.SearchStatus.GetName() + " = '" + quoteless(status) + "'"
}

// RefreshOverdue queries the running post-mortems (no search attribute
// says a post-mortem is overdue or has overdue items, so each is asked)
// and counts the overdue ones and their overdue action items.
func (in *Incidents) RefreshOverdue(ctx context.Context, log *slog.Logger) {
	var ids []string
	var token []byte
	for len(ids) < maxOverdueScan {
		lctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		resp, err := in.Client.ListWorkflow(lctx, &workflowservice.ListWorkflowExecutionsRequest{
			Query:         "WorkflowType = '" + workflows.PostmortemWorkflowName + "' AND ExecutionStatus = 'Running'",
			PageSize:      100,
			NextPageToken: token,
		})
		cancel()
		if err != nil {
			metrics.RefreshFailed("overdue")
			log.Debug("could not list post-mortems", "error", err)
			return
		}
		for _, e := range resp.GetExecutions() {
			ids = append(ids, e.GetExecution().GetWorkflowId())
		}
		if token = resp.GetNextPageToken(); len(token) == 0 {
			break
		}
	}
	if len(ids) > maxOverdueScan {
		ids = ids[:maxOverdueScan]
	}
	today := time.Now().UTC().Format(time.DateOnly)
	postmortems, items := 0, 0
	for _, id := range ids {
		qctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		v, err := in.Client.QueryWorkflow(qctx, id, "", workflows.QueryState)
		var st workflows.PostmortemState
		if err == nil {
			err = v.Get(&st)
		}
		cancel()
		if err != nil {
			// One post-mortem that does not answer leaves the rest counted.
			metrics.RefreshFailed("overdue")
			continue
		}
		if st.Status == workflows.PostmortemOverdue {
			postmortems++
		}
		for _, it := range st.ActionItems {
			if it.State == workflows.ItemOpen && it.Due != "" && it.Due < today {
				items++
			}
		}
	}
	metrics.SetOverdue(postmortems, items)
}
