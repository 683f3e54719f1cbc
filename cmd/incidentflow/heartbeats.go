package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/incidentflow/incidentflow/starter"
)

// newHeartbeatsCmd is `heartbeats`: every monitor, its state and last
// ping, as GET /v1/heartbeats answers; `heartbeats ping NAME` pings one.
func newHeartbeatsCmd() *cobra.Command {
	var c conn
	cmd := &cobra.Command{
		Use:     "heartbeats",
		Short:   "Heartbeat monitors: state, last ping, next due",
		GroupID: groupOnCall,
		Args:    noArgs,
	}
	out := addOutputFlag(cmd)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		return withIncidents(cmd, c, nil, func(ctx context.Context, inc *starter.Incidents) error {
			list := inc.Heartbeats(ctx)
			if *out == outputJSON {
				return writeJSON(cmd.OutOrStdout(), list)
			}
			tw := newTable(cmd.OutOrStdout())
			fmt.Fprintln(tw, "NAME\tSTATE\tLAST PING\tNEXT DUE\tEVERY\tSERVICE\tSEVERITY")
			for _, h := range list {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", h.Name, h.State, localTimePtr(h.LastPing), localTimePtr(h.NextDue), h.Interval, h.Service, h.Severity)
			}
			return tw.Flush()
		})
	}
	c.addConfigFlag(cmd, "config file (default: INCIDENTFLOW_CONFIG, else the built-in demo)")
	c.addTemporalFlags(cmd)

	var pc conn
	ping := &cobra.Command{Use: "ping NAME", Short: "Ping a heartbeat monitor (as a job does after each run)", Args: argsNamed("NAME")}
	ping.RunE = func(cmd *cobra.Command, args []string) error {
		return withIncidents(cmd, pc, nil, func(ctx context.Context, inc *starter.Incidents) error {
			pong, err := inc.Ping(ctx, args[0], "cli")
			if err != nil {
				return err
			}
			return writeJSON(cmd.OutOrStdout(), pong)
		})
	}
	pc.addConfigFlag(ping, "config file (default: INCIDENTFLOW_CONFIG, else the built-in demo)")
	pc.addTemporalFlags(ping)
	cmd.AddCommand(ping)
	return cmd
}
