package shadow

import (
	"context"
	"fmt"

	"github.com/incidentflow/incidentflow/report"
	"github.com/incidentflow/incidentflow/workflows"
)

// MaxIncidents bounds one comparison's reads of incidentflow's incidents,
// as a report's.
const MaxIncidents = report.MaxIncidents

// Ours reads incidentflow's incidents opened in the period, with the pages
// their timelines record (sent, or in shadow mode would have been).
// Incidents that cannot be read are counted in unreadable, not guessed at.
func Ours(ctx context.Context, src report.Source, p report.Period, service string) (ours []Incident, unreadable int, err error) {
	refs, more, err := src.List(ctx, p, service, MaxIncidents)
	if err != nil {
		return nil, 0, fmt.Errorf("list incidents: %w", err)
	}
	if more {
		return nil, 0, fmt.Errorf("more than %d incidents in the period: compare a shorter one", MaxIncidents)
	}
	for _, ref := range refs {
		st, err := src.Incident(ctx, ref)
		if err != nil {
			unreadable++
			continue
		}
		ours = append(ours, fromState(st))
	}
	return ours, unreadable, nil
}

func fromState(st *workflows.Incident) Incident {
	in := Incident{Ref: st.ID, Key: st.Key, Title: st.Title, OpenedAt: st.CreatedAt, Pages: []Page{}, Shadow: st.Shadow}
	for _, e := range st.Timeline {
		if p, ok := workflows.PageIn(e); ok {
			in.Pages = append(in.Pages, Page{User: p.Recipient, At: p.At, Via: p.Via})
		}
	}
	return in
}
