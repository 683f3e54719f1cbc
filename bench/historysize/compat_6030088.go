//go:build historysize_6030088

package main

import (
	"context"
	"fmt"

	"github.com/incidentflow/incidentflow/starter"
	"github.com/incidentflow/incidentflow/workflows"
)

// For a before/after: at commit 6030088 every Update answered the whole
// incident state and the stage was a plain string. Copy this directory
// into a worktree of that commit and run
//
//	go run -tags historysize_6030088 ./bench/historysize -updates 24,96

const codeVersion = "6030088"

func statusUpdate(i int) workflows.StatusUpdate {
	return workflows.StatusUpdate{
		By: "alice", Stage: "identified", Message: fmt.Sprintf("update %d", i+1), Impact: "checkout degraded",
	}
}

// afterResolve: nothing to do; there too a P1 closed by itself at the end
// of its monitoring window and started its post-mortem child.
func afterResolve(context.Context, *starter.Incidents, string) error { return nil }
