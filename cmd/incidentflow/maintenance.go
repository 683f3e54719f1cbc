package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/incidentflow/incidentflow/config"
	"github.com/incidentflow/incidentflow/incident"
	"github.com/incidentflow/incidentflow/starter"
	"github.com/incidentflow/incidentflow/workflows"
)

// newMaintenanceCmd is `maintenance add|list|end`: hold paging while
// planned work runs, as POST /v1/maintenance and Slack do.
func newMaintenanceCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "maintenance",
		Short:   "Maintenance windows: hold paging for a service while planned work runs",
		GroupID: groupOnCall,
	}
	cmd.AddCommand(newMaintenanceAddCmd(), newMaintenanceListCmd(), newMaintenanceEndCmd())
	return cmd
}

func newMaintenanceAddCmd() *cobra.Command {
	var (
		c                               conn
		service, reason, by, start, end string
		span                            time.Duration
	)
	cmd := &cobra.Command{
		Use:     "add (--for 2h | --start T --end T) --reason R [--service S]",
		Short:   "Plan a window (every service unless --service)",
		Example: "  incidentflow maintenance add --service checkout --for 2h --reason \"database upgrade\" --by alice",
		Args:    noArgs,
	}
	out := addOutputFlag(cmd)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		req := workflows.MaintenanceRequest{Service: service, Reason: reason}
		switch {
		case span > 0 && start == "" && end == "":
			req.Start = time.Now()
			req.End = req.Start.Add(span)
		case span == 0 && start != "" && end != "":
			var err error
			if req.Start, err = config.ParseTime(start, time.UTC); err != nil {
				return usagef("--start: %v", err)
			}
			if req.End, err = config.ParseTime(end, time.UTC); err != nil {
				return usagef("--end: %v", err)
			}
		default:
			return usagef("give --for, or both --start and --end")
		}
		return withIncidents(cmd, c, resolveBy(cmd, &by), func(ctx context.Context, inc *starter.Incidents) error {
			req.By = by
			m, err := inc.AddMaintenance(ctx, req)
			if err != nil {
				return err
			}
			if *out == outputJSON {
				return writeJSON(cmd.OutOrStdout(), m)
			}
			return printWindows(cmd, []incident.MaintenanceWindow{m})
		})
	}
	c.addConfigFlag(cmd, "config file (default: INCIDENTFLOW_CONFIG, else the built-in demo)")
	c.addTemporalFlags(cmd)
	cmd.Flags().StringVar(&service, "service", "", "one service (default: every service)")
	cmd.Flags().DurationVar(&span, "for", 0, "from now, for this long (2h)")
	cmd.Flags().StringVar(&start, "start", "", "start: RFC 3339, or UTC without an offset")
	cmd.Flags().StringVar(&end, "end", "", "end, as --start")
	cmd.Flags().StringVar(&reason, "reason", "", "why paging is held (required)")
	addByFlag(cmd, &by)
	addByCompletion(cmd)
	_ = cmd.MarkFlagRequired("reason")
	_ = cmd.RegisterFlagCompletionFunc("service", completeFromConfig(func(cfg *config.Config) []string { return keysOf(cfg.Services) }))
	return cmd
}

func newMaintenanceListCmd() *cobra.Command {
	var c conn
	cmd := &cobra.Command{Use: "list", Short: "The windows still to end: the config's and the run-time ones", Args: noArgs}
	out := addOutputFlag(cmd)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		return withIncidents(cmd, c, nil, func(ctx context.Context, inc *starter.Incidents) error {
			list, err := inc.MaintenanceWindows(ctx)
			if err != nil {
				return err
			}
			if *out == outputJSON {
				return writeJSON(cmd.OutOrStdout(), list)
			}
			return printWindows(cmd, list)
		})
	}
	c.addConfigFlag(cmd, "config file (default: INCIDENTFLOW_CONFIG, else the built-in demo)")
	c.addTemporalFlags(cmd)
	return cmd
}

func newMaintenanceEndCmd() *cobra.Command {
	var c conn
	var by string
	cmd := &cobra.Command{Use: "end ID", Short: "End a run-time window now", Args: argsNamed("ID")}
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		return withIncidents(cmd, c, resolveBy(cmd, &by), func(ctx context.Context, inc *starter.Incidents) error {
			m, err := inc.RemoveMaintenance(ctx, args[0], by)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "ended %s (%s): held incidents page within five minutes if they still fire\n", m.ID, orDash(m.Service))
			return nil
		})
	}
	c.addConfigFlag(cmd, "config file (default: INCIDENTFLOW_CONFIG, else the built-in demo)")
	c.addTemporalFlags(cmd)
	addByFlag(cmd, &by)
	addByCompletion(cmd)
	return cmd
}

func printWindows(cmd *cobra.Command, list []incident.MaintenanceWindow) error {
	tw := newTable(cmd.OutOrStdout())
	fmt.Fprintln(tw, "ID\tSERVICE\tSTART\tEND\tBY\tREASON")
	for _, m := range list {
		service := m.Service
		if service == "" {
			service = "(every service)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", orDash(m.ID), service, localTime(m.Start), localTime(m.End), orDash(m.By), oneLine(m.Reason))
	}
	return tw.Flush()
}
