package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/incidentflow/incidentflow/incident"
)

// Learning from past incidents: when an incident opens, up to three like
// it (same service, and the same key or a near-identical title) are looked
// up once and shown on its card with their root cause and post-mortem, so
// the responder opening it reads what happened last time.
const (
	similarChange = "similar-v1"
	// postmortemMemoChange: a completed post-mortem writes its findings
	// into its workflow's memo, where similar-incident look-ups read them
	// from visibility without waking a worker per past incident.
	postmortemMemoChange = "postmortem-memo-v1"

	// MemoRootCause and MemoPostmortemURL are the post-mortem workflow's
	// memo keys for its findings.
	MemoRootCause     = "root_cause"
	MemoPostmortemURL = "postmortem_url"
)

// findSimilar looks past incidents up beside the main loop: paging never
// waits on it, and a failed look-up only leaves the card without them.
func (w *incidentWorkflow) findSimilar(ctx workflow.Context) {
	if workflow.GetVersion(ctx, similarChange, workflow.DefaultVersion, 1) < 1 {
		return
	}
	req := incident.SimilarRequest{IncidentID: w.st.ID, Key: w.st.Key, Service: w.st.Service, Title: w.st.Title}
	var found []incident.SimilarIncident
	// Tried twice at most: past incidents help the responder, and a card
	// without them is better than minutes of retries.
	opts := workflow.ActivityOptions{
		StartToCloseTimeout: 15 * time.Second, Summary: "find similar past incidents",
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, MaximumAttempts: 2},
	}
	w.loop.beside(ctx, opts, a.FindSimilar, req, &found, func(gctx workflow.Context, err error) {
		if err != nil || len(found) == 0 {
			return
		}
		w.st.Similar = incident.BoundSimilar(found)
	})
}

// publishFindings writes a completed post-mortem's root cause and link
// into its memo.
func (p *postmortem) publishFindings(ctx workflow.Context) {
	if workflow.GetVersion(ctx, postmortemMemoChange, workflow.DefaultVersion, 1) < 1 {
		return
	}
	memo := map[string]any{MemoRootCause: incident.Cut(p.st.RootCause, incident.MaxSimilarText)}
	if p.st.Issue != nil && p.st.Issue.URL != "" {
		memo[MemoPostmortemURL] = p.st.Issue.URL
	}
	if err := workflow.UpsertMemo(ctx, memo); err != nil {
		p.record(ctx, KindWarning, "", "could not note the root cause for similar incidents: "+errorMessage(err))
	}
}
