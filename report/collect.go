package report

import (
	"context"
	"sync"
	"time"

	"github.com/incidentflow/incidentflow/workflows"
)

// Ref is an incident as the visibility store lists it: enough to read it,
// and to count it when it cannot be read.
type Ref struct {
	ID        string
	RunID     string
	Title     string
	Service   string
	Severity  string
	CreatedAt time.Time
}

// Source is where a report reads incidents (starter.Incidents.ReportSource).
type Source interface {
	// List gives the incidents opened in the period (on service, "" for
	// all), at most limit of them, newest first, and whether there were more.
	List(ctx context.Context, p Period, service string, limit int) ([]Ref, bool, error)
	// Incident reads one run's state.
	Incident(ctx context.Context, ref Ref) (*workflows.Incident, error)
	// Postmortem reads an incident's post-mortem.
	Postmortem(ctx context.Context, incidentID string) (*workflows.PostmortemState, error)
}

// MaxIncidents bounds what one period of a report reads: past it the
// report says it is truncated rather than taking minutes.
const MaxIncidents = 2000

// concurrency is how many queries a report has in flight: enough to read
// 2,000 incidents in seconds without crowding the workers' query handling.
const concurrency = 8

// Collect reads the period's and the previous period's incidents, and the
// post-mortems of the period's, then builds the report. An incident that
// does not answer its query is counted from the visibility store alone;
// only a failure to list fails the report.
func Collect(ctx context.Context, src Source, opts Options) (*Report, error) {
	cur, curMore, err := read(ctx, src, opts.Period, opts.Service, true)
	if err != nil {
		return nil, err
	}
	prev, _, err := read(ctx, src, opts.Period.Previous(), opts.Service, false)
	if err != nil {
		return nil, err
	}
	r := Build(opts, cur, prev)
	r.Truncated = curMore
	return r, nil
}

func read(ctx context.Context, src Source, p Period, service string, postmortems bool) ([]Record, bool, error) {
	refs, more, err := src.List(ctx, p, service, MaxIncidents)
	if err != nil {
		return nil, false, err
	}
	recs := make([]Record, len(refs))
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range min(concurrency, len(refs)) {
		wg.Go(func() {
			for i := range jobs {
				recs[i] = readOne(ctx, src, refs[i], postmortems)
			}
		})
	}
	for i := range refs {
		select {
		case jobs <- i:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
	}
	close(jobs)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	return recs, more, nil
}

func readOne(ctx context.Context, src Source, ref Ref, postmortems bool) Record {
	in, err := src.Incident(ctx, ref)
	if err != nil || in == nil {
		return Record{Unread: true, Incident: workflows.Incident{ID: ref.ID, Title: ref.Title, Service: ref.Service,
			Severity: ref.Severity, CreatedAt: ref.CreatedAt}}
	}
	rec := Record{Incident: *in}
	if postmortems && in.Postmortem != "" {
		// A post-mortem that does not answer leaves the incident's own items.
		if pm, err := src.Postmortem(ctx, in.ID); err == nil {
			rec.Postmortem = pm
		}
	}
	return rec
}
