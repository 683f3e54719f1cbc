package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/incidentflow/incidentflow/starter"
	"github.com/incidentflow/incidentflow/workflows"
)

const mergeLong = `Merge incident ID, a duplicate, into the incident --into.

Its alerts and its last timeline entries go to --into, whose timeline says so;
ID resolves and closes naming --into, and later alerts on ID's key join --into
instead of opening ID again. Both must be open, and --into must not itself have
been merged away.`

const linkLong = `Link incident ID as a child of the incident --parent.

The parent lists its children with their status and stage, which each child
reports as it changes; the child names its parent. A parent holds at most 50
children. unlink ID takes a child from under its parent.`

// linkedCmd is one of merge, link and unlink: ID, --by, --note and, for
// merge and link, the other incident (flag).
func linkedCmd(use, short, long, flag, flagHelp string, run func(ctx context.Context, inc *starter.Incidents, id, other, by, note string) (*workflows.Incident, error), done func(cmd *cobra.Command, id, other string, st *workflows.Incident)) *cobra.Command {
	var (
		c               conn
		by, note, other string
	)
	cmd := &cobra.Command{
		Use:     use,
		Short:   short,
		Long:    long,
		GroupID: groupIncidents,
		Args:    argsNamed("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if flag != "" && other == "" {
				return usagef("--%s is required: %s", flag, flagHelp)
			}
			id := workflows.NormalizeID(args[0])
			return withIncidents(cmd, c, resolveBy(cmd, &by), func(ctx context.Context, inc *starter.Incidents) error {
				st, err := run(ctx, inc, id, other, by, note)
				if err != nil {
					return err
				}
				done(cmd, id, other, st)
				return nil
			})
		},
	}
	c.addConfigFlag(cmd, "config file (default: INCIDENTFLOW_CONFIG, else the built-in demo)")
	c.addTemporalFlags(cmd)
	addByFlag(cmd, &by)
	cmd.Flags().StringVar(&note, "note", "", "note for the timeline")
	if flag != "" {
		cmd.Flags().StringVar(&other, flag, "", flagHelp)
	}
	addByCompletion(cmd)
	return cmd
}

func newMergeCmd() *cobra.Command {
	return linkedCmd("merge ID --into ID", "Merge a duplicate incident into another", mergeLong, "into", "the incident kept",
		func(ctx context.Context, inc *starter.Incidents, id, into, by, note string) (*workflows.Incident, error) {
			return inc.Merge(ctx, id, starter.MergeRequest{By: by, Into: into, Note: note})
		},
		func(cmd *cobra.Command, id, _ string, st *workflows.Incident) {
			fmt.Fprintf(cmd.OutOrStdout(), "%s: %s, merged into %s\n", id, st.Status, st.MergedInto)
		})
}

func newLinkCmd() *cobra.Command {
	return linkedCmd("link ID --parent ID", "Link an incident as a child of another", linkLong, "parent", "the parent incident",
		func(ctx context.Context, inc *starter.Incidents, id, parent, by, note string) (*workflows.Incident, error) {
			return inc.Link(ctx, id, starter.LinkRequest{By: by, Parent: parent, Note: note})
		},
		func(cmd *cobra.Command, id, _ string, parent *workflows.Incident) {
			fmt.Fprintf(cmd.OutOrStdout(), "%s: child of %s, which has %d\n", id, parent.ID, len(parent.Children))
			for _, c := range parent.Children {
				fmt.Fprintf(cmd.OutOrStdout(), "  %s\t%s\t%s\t%s\n", c.ID, c.Status, c.Stage, c.Title)
			}
		})
}

func newUnlinkCmd() *cobra.Command {
	return linkedCmd("unlink ID", "Take an incident from under its parent", linkLong, "", "",
		func(ctx context.Context, inc *starter.Incidents, id, _, by, note string) (*workflows.Incident, error) {
			return inc.Unlink(ctx, id, starter.UnlinkRequest{By: by, Note: note})
		},
		func(cmd *cobra.Command, id, _ string, _ *workflows.Incident) {
			fmt.Fprintf(cmd.OutOrStdout(), "%s: no parent\n", id)
		})
}
