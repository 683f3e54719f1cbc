package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/incidentflow/incidentflow/starter"
	"github.com/incidentflow/incidentflow/workflows"
)

// newPageCmd is `page ID TARGET`: page someone now, outside the policy, as
// POST /v1/incidents/{id}/page and Slack's `/incident page` do.
func newPageCmd() *cobra.Command {
	var (
		c        conn
		by, note string
		next     bool
	)
	cmd := &cobra.Command{
		Use:     "page ID TARGET",
		Short:   "Page someone now: a user, or who is on call in a schedule (--next: after the current shift)",
		Example: "  incidentflow page incident-db-1 carol --by alice\n  incidentflow page incident-db-1 schedule:primary --next --by alice",
		GroupID: groupIncidents,
		Args:    argsNamed("ID", "TARGET"),
	}
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		id := workflows.NormalizeID(args[0])
		return withIncidents(cmd, c, resolveBy(cmd, &by), func(ctx context.Context, inc *starter.Incidents) error {
			req := workflows.PageSomeoneRequest{By: by, Target: args[1], Note: note}
			if next {
				if err := inc.NextOnCall(ctx, &req); err != nil {
					return err
				}
			}
			st, err := inc.Act(ctx, id, workflows.UpdatePage, req)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: paging %s\n", st.ID, req.Target)
			return nil
		})
	}
	c.addConfigFlag(cmd, "config file (default: INCIDENTFLOW_CONFIG, else the built-in demo)")
	c.addTemporalFlags(cmd)
	addByFlag(cmd, &by)
	addByCompletion(cmd)
	cmd.Flags().StringVar(&note, "note", "", "note for the timeline")
	cmd.Flags().BoolVar(&next, "next", false, "with schedule:NAME, page who is on call after the current shift")
	return cmd
}
