package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/incidentflow/incidentflow/starter"
	"github.com/incidentflow/incidentflow/workflows"
)

const runbookLong = `Run an automated runbook step of an incident, or list them.

With STEP it asks for the step (as the card's button does): a step that needs
approval runs when a second person, allowed and not the one who asked, asks too;
the first request is recorded as awaiting approval. --run N says which run of the
step this is about (the next one, or the one awaiting approval), so a repeated
command is refused instead of asking again. Without STEP it lists the steps the
incident offers, where each stands, and every run.`

func newRunbookCmd() *cobra.Command {
	var (
		c   conn
		by  string
		run int
	)
	cmd := &cobra.Command{
		Use:     "runbook ID [STEP]",
		Short:   "Run an automated runbook step, or list them",
		Long:    runbookLong,
		GroupID: groupIncidents,
		Args: func(_ *cobra.Command, args []string) error {
			switch {
			case len(args) == 0:
				return usagef("missing ID")
			case len(args) > 2:
				return usagef("unexpected argument %q", args[2])
			}
			return nil
		},
	}
	out := addOutputFlag(cmd)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		id := workflows.NormalizeID(args[0])
		if len(args) == 1 {
			return withIncidents(cmd, c, nil, func(ctx context.Context, inc *starter.Incidents) error {
				rb, err := inc.Runbook(ctx, id)
				if err != nil {
					return err
				}
				if *out == outputJSON {
					return writeJSON(cmd.OutOrStdout(), rb)
				}
				return printRunbook(cmd, rb)
			})
		}
		if run < 0 {
			return usagef("--run: %d: runs count from 1", run)
		}
		return withIncidents(cmd, c, resolveBy(cmd, &by), func(ctx context.Context, inc *starter.Incidents) error {
			res, err := inc.RunStep(ctx, id, workflows.RunbookRequest{By: by, Step: args[1], Run: run})
			if err != nil {
				return err
			}
			if *out == outputJSON {
				return writeJSON(cmd.OutOrStdout(), res)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: %s run %d %s: %s\n", res.IncidentID, res.Run.Step, res.Run.Run, res.Run.Status, res.Message)
			return nil
		})
	}
	c.addConfigFlag(cmd, "config file (default: INCIDENTFLOW_CONFIG, else the built-in demo)")
	c.addTemporalFlags(cmd)
	addByFlag(cmd, &by)
	cmd.Flags().IntVar(&run, "run", 0, "the run of the step this is about: the next, or the one awaiting approval")
	addByCompletion(cmd)
	return cmd
}

func printRunbook(cmd *cobra.Command, rb *workflows.Runbook) error {
	w := newTable(cmd.OutOrStdout())
	if len(rb.Steps) == 0 {
		fmt.Fprintf(cmd.OutOrStdout(), "%s offers no runbook steps (service %s)\n", rb.ID, rb.Service)
		return nil
	}
	fmt.Fprintln(w, "STEP\tTITLE\tCALLS\tAPPROVAL\tALLOWED\tSTATE")
	for _, s := range rb.Steps {
		approval := "-"
		if s.NeedsApproval {
			approval = "second person"
		}
		state := s.State
		switch {
		case s.Refused != "":
			state = "refused: " + s.Refused
		case s.RequestedBy != "":
			state = fmt.Sprintf("run %d awaiting approval (asked by %s)", s.Run, s.RequestedBy)
		case s.State != "available":
			state = fmt.Sprintf("run %d %s", s.Run, s.State)
		}
		fmt.Fprintf(w, "%s\t%s\t%s %s\t%s\t%s\t%s\n", s.Name, s.Title, s.Method, s.Target, approval, strings.Join(s.Allowed, ","), state)
	}
	if len(rb.Runs) > 0 {
		fmt.Fprintln(w, "\nSTEP\tRUN\tSTATUS\tASKED BY\tAPPROVED BY\tHTTP\tERROR")
		for _, r := range rb.Runs {
			http := "-"
			if r.HTTPStatus != 0 {
				http = fmt.Sprint(r.HTTPStatus)
			}
			fmt.Fprintf(w, "%s\t%d\t%s\t%s\t%s\t%s\t%s\n", r.Step, r.Run, r.Status, r.RequestedBy, orDash(r.ApprovedBy), http, orDash(r.Error))
		}
	}
	return w.Flush()
}
