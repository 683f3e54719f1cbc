// Command historysize measures the history a long incident leaves: a P1
// acknowledged at once, a status update every cadence period for a day
// (96 updates at 15m), then resolved. Updates are sent back to back, since
// on-time updates mean no reminder timer ever fires; the day's two one-off
// reminders (no-progress, handover) add a few events on top.
//
//	go run ./bench/historysize -updates 96
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"go.temporal.io/api/workflowservice/v1"

	"github.com/incidentflow/incidentflow/activities"
	"github.com/incidentflow/incidentflow/bench/inprocess"
	"github.com/incidentflow/incidentflow/config"
	"github.com/incidentflow/incidentflow/incident"
	"github.com/incidentflow/incidentflow/starter"
	"github.com/incidentflow/incidentflow/workflows"
)

const benchConfig = `
timings: {resolve_stable_for: 1s}
services: {checkout: {escalation_policy: p}}
escalation_policies: {p: {steps: [{delay: 0s, targets: [user:alice]}, {delay: 5m, targets: [user:bob]}]}}
users: {alice: {}, bob: {}}
`

type discard struct{}

func (discard) Name() string { return "discard" }
func (discard) NotifyUser(context.Context, string, config.User, activities.Message) (bool, error) {
	return true, nil
}
func (discard) NotifyChannel(context.Context, string, activities.Message) (bool, error) {
	return true, nil
}

func main() {
	updates := flag.Int("updates", 96, "status updates to post (96 = a day at P1's 15m cadence)")
	flag.Parse()
	if err := run(*updates); err != nil {
		fmt.Fprintln(os.Stderr, "historysize:", err)
		os.Exit(1)
	}
}

func run(updates int) error {
	ctx := context.Background()
	stack, err := inprocess.Start(ctx, benchConfig, discard{})
	if err != nil {
		return err
	}
	defer stack.Stop()
	c, inc := stack.Client, stack.Incidents

	id, err := inc.Declare(ctx, starter.Declaration{Service: "checkout", Severity: "P1", Title: "day-long P1", By: "alice"})
	if err != nil {
		return err
	}
	if _, err := inc.Act(ctx, id, workflows.UpdateAck, workflows.ActionRequest{By: "alice"}); err != nil {
		return err
	}
	start := time.Now()
	for i := 0; i < updates; i++ {
		if _, err := inc.Act(ctx, id, workflows.UpdateStatusUpdate, workflows.StatusUpdate{
			By: "alice", Stage: "identified", Message: fmt.Sprintf("update %d", i+1), Impact: "checkout degraded",
		}); err != nil {
			return fmt.Errorf("update %d: %w", i+1, err)
		}
	}
	perUpdate := time.Since(start) / time.Duration(updates)
	if _, err := inc.Act(ctx, id, workflows.UpdateResolve, workflows.ActionRequest{By: "alice"}); err != nil {
		return err
	}
	// A P1 waits in "resolved" for its post-mortem; close it by hand.
	for {
		st, err := inc.Get(ctx, id)
		if err != nil {
			return err
		}
		if st.Status == incident.StatusResolved {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if _, err := inc.Act(ctx, id, workflows.UpdateClose, workflows.ActionRequest{By: "alice"}); err != nil {
		return err
	}
	if err := c.GetWorkflow(ctx, id, "").Get(ctx, nil); err != nil {
		return fmt.Errorf("wait for the incident to close: %w", err)
	}
	// Count every run: continue-as-new makes several under one ID.
	resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: fmt.Sprintf("WorkflowId = '%s'", id)})
	if err != nil {
		return err
	}
	total, runs := 0, len(resp.GetExecutions())
	for _, e := range resp.GetExecutions() {
		it := c.GetWorkflowHistory(ctx, id, e.GetExecution().GetRunId(), false, 0)
		for it.HasNext() {
			if _, err := it.Next(); err != nil {
				return err
			}
			total++
		}
	}
	fmt.Printf("P1 incident, ack, %d status updates, resolve, 1s monitoring window, close: %d history events in %d run(s), %.1f events per update; %s per update round trip\n",
		updates, total, runs, float64(total)/float64(updates), perUpdate.Round(100*time.Microsecond))
	return nil
}
