//go:build historysize_6030088

package main

import (
	"context"
	"fmt"
	"time"

	"github.com/incidentflow/incidentflow/starter"
	"github.com/incidentflow/incidentflow/workflows"
)

// For a before/after: at commit 6030088 every Update answered the whole
// incident state, and a resolved P1 waited for `close`. Copy this
// directory into a worktree of that commit and run
// go run -tags historysize_6030088 ./bench/historysize -updates 24,96

const codeVersion = "6030088"

func statusUpdate(i int) workflows.StatusUpdate {
	return workflows.StatusUpdate{
		By: "alice", Stage: "identified", Message: fmt.Sprintf("update %d", i+1), Impact: "checkout degraded",
	}
}

// afterResolve closes the incident by hand once its monitoring window ends.
func afterResolve(ctx context.Context, inc *starter.Incidents, id string) error {
	for {
		st, err := inc.Get(ctx, id)
		if err != nil {
			return err
		}
		if st.Status == workflows.StatusResolved {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	_, err := inc.Act(ctx, id, workflows.UpdateClose, workflows.ActionRequest{By: "alice"})
	return err
}
