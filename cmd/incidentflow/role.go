package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/incidentflow/incidentflow/incident"
	"github.com/incidentflow/incidentflow/starter"
	"github.com/incidentflow/incidentflow/workflows"
)

// newRoleCmd is `role ID ROLE USER`: give someone a role on an incident,
// as /incident role and POST /v1/incidents/{id}/roles do. Roles may earn
// access grants (access_grants), which the incident gives and takes back.
func newRoleCmd() *cobra.Command {
	var (
		c        conn
		by, note string
	)
	cmd := &cobra.Command{
		Use:     "role ID ROLE USER",
		Short:   "Give someone a role on an incident (" + strings.Join(incident.Roles, ", ") + ")",
		Example: "  incidentflow role incident-db-1 comms carol --note \"takes the customer updates\" --by alice",
		GroupID: groupIncidents,
		Args:    argsNamed("ID", "ROLE", "USER"),
		ValidArgsFunction: func(_ *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
			if len(args) == 1 {
				return incident.Roles, cobra.ShellCompDirectiveNoFileComp
			}
			return nil, cobra.ShellCompDirectiveNoFileComp
		},
	}
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		id := workflows.NormalizeID(args[0])
		return withIncidents(cmd, c, resolveBy(cmd, &by), func(ctx context.Context, inc *starter.Incidents) error {
			st, err := inc.Act(ctx, id, workflows.UpdateAssignRole, workflows.RoleRequest{By: by, Role: args[1], User: args[2], Note: note})
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: %s is %s\n", st.ID, args[2], args[1])
			return nil
		})
	}
	c.addConfigFlag(cmd, "config file (default: INCIDENTFLOW_CONFIG, else the built-in demo)")
	c.addTemporalFlags(cmd)
	addByFlag(cmd, &by)
	addByCompletion(cmd)
	cmd.Flags().StringVar(&note, "note", "", "a handover note for the timeline")
	return cmd
}
