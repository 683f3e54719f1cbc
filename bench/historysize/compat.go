//go:build !historysize_6030088

package main

import (
	"context"
	"fmt"

	"github.com/incidentflow/incidentflow/incident"
	"github.com/incidentflow/incidentflow/starter"
	"github.com/incidentflow/incidentflow/workflows"
)

// What differs between this code and the code before small Update answers
// (commit 6030088, built with -tags historysize_6030088: compat_6030088.go).

const codeVersion = "current"

func statusUpdate(i int) workflows.StatusUpdate {
	return workflows.StatusUpdate{
		By: "alice", Stage: incident.StageIdentified, Message: fmt.Sprintf("update %d", i+1), Impact: "checkout degraded",
	}
}

// afterResolve: nothing to do; a P1 closes by itself at the end of its
// monitoring window, its post-mortem going on in a child workflow.
func afterResolve(context.Context, *starter.Incidents, string) error { return nil }
