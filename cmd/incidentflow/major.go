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

// newMajorCmd is `major ID`: declare a major incident, as POST
// /v1/incidents/{id}/major and Slack's `/incident major` do; --brief sends
// a major incident's executive brief instead.
func newMajorCmd() *cobra.Command {
	var (
		c                  conn
		by, reason, brief  string
		stage, impact, eta string
	)
	cmd := &cobra.Command{
		Use:   "major ID",
		Short: "Declare a major incident (deputy, planning and liaison roles; executive and public cadences), or --brief the executives",
		Example: "  incidentflow major incident-db-1 --reason \"all regions down\" --by alice\n" +
			"  incidentflow major incident-db-1 --brief \"failover under way\" --eta 30m --by bob",
		GroupID: groupIncidents,
		Args:    argsNamed("ID"),
	}
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		id := workflows.NormalizeID(args[0])
		return withIncidents(cmd, c, resolveBy(cmd, &by), func(ctx context.Context, inc *starter.Incidents) error {
			if cmd.Flags().Changed("brief") {
				u := workflows.StatusUpdate{By: by, Audience: workflows.AudienceExec, Stage: incident.Stage(stage), Message: brief, Impact: impact, ETA: eta}
				st, err := inc.Act(ctx, id, workflows.UpdateStatusUpdate, u)
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s: executive brief %d sent to %s\n", st.ID, majorBriefs(st), majorTargets(st))
				return nil
			}
			st, err := inc.Act(ctx, id, workflows.UpdateMajor, workflows.MajorRequest{By: by, Reason: reason})
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "%s: major incident\n", st.ID)
			if m := st.Major; m != nil && m.NextExecBriefDue != nil {
				fmt.Fprintf(out, "  executive brief due %s (to %s)\n", m.NextExecBriefDue.UTC().Format("15:04 MST"), majorTargets(st))
				fmt.Fprintf(out, "  public statement due %s\n", m.NextPublicDue.UTC().Format("15:04 MST"))
				fmt.Fprintf(out, "  roles to fill: %s\n", strings.Join(m.RolesMissing, ", "))
			}
			return nil
		})
	}
	c.addConfigFlag(cmd, "config file (default: INCIDENTFLOW_CONFIG, else the built-in demo)")
	c.addTemporalFlags(cmd)
	addByFlag(cmd, &by)
	addByCompletion(cmd)
	cmd.Flags().StringVar(&reason, "reason", "", "why it is major, for the timeline and the executives")
	cmd.Flags().StringVar(&brief, "brief", "", "send this executive brief (the incident must be major)")
	cmd.Flags().StringVar(&stage, "stage", "", "with --brief: investigating, identified or monitoring (default: the incident's)")
	cmd.Flags().StringVar(&impact, "impact", "", "with --brief: who is affected and how")
	cmd.Flags().StringVar(&eta, "eta", "", "with --brief: when it should be fixed")
	cmd.MarkFlagsMutuallyExclusive("reason", "brief")
	return cmd
}

func majorBriefs(st *workflows.Incident) int {
	if st.Major == nil {
		return 0
	}
	return st.Major.ExecBriefs
}

func majorTargets(st *workflows.Incident) string {
	if st.Major == nil || len(st.Major.ExecTargets) == 0 {
		return "the incident's channel"
	}
	return strings.Join(st.Major.ExecTargets, ", ")
}
