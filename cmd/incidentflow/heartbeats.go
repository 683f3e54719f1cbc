package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/incidentflow/incidentflow/config"
	"github.com/incidentflow/incidentflow/incident"
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
			list, listErr := inc.Heartbeats(ctx)
			if *out == outputJSON {
				if err := writeJSON(cmd.OutOrStdout(), list); err != nil {
					return err
				}
				return listErr
			}
			tw := newTable(cmd.OutOrStdout())
			fmt.Fprintln(tw, "NAME\tSTATE\tLAST PING\tNEXT DUE\tEVERY\tSERVICE\tSEVERITY\tMANAGED BY")
			for _, h := range list {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", h.Name, h.State, localTimePtr(h.LastPing), localTimePtr(h.NextDue), h.Interval, h.Service, h.Severity, h.ManagedBy)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			return listErr
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
	cmd.AddCommand(ping, newHeartbeatAddCmd(), newHeartbeatSetCmd(), newHeartbeatDeleteCmd())
	return cmd
}

// heartbeatFlags are the settings `heartbeats add` and `set` take; only
// the flags given are sent, so `set --disable` changes nothing else.
type heartbeatFlags struct {
	interval, grace           time.Duration
	service, severity         string
	enable, disable, disabled bool
}

func (f *heartbeatFlags) register(cmd *cobra.Command, forAdd bool) {
	cmd.Flags().DurationVar(&f.interval, "interval", 0, "how often the job pings (1h, 24h)")
	cmd.Flags().DurationVar(&f.grace, "grace", 0, "how late a ping may be (default: a tenth of the interval)")
	cmd.Flags().StringVar(&f.service, "service", "", "the service whose incident a missed ping opens")
	cmd.Flags().StringVar(&f.severity, "severity", "", "its severity (default: the lowest that pages)")
	if forAdd {
		cmd.Flags().BoolVar(&f.disabled, "disabled", false, "create it switched off")
	} else {
		cmd.Flags().BoolVar(&f.enable, "enable", false, "switch it on (due an interval from now)")
		cmd.Flags().BoolVar(&f.disable, "disable", false, "switch it off: it never alerts until enabled")
		cmd.MarkFlagsMutuallyExclusive("enable", "disable")
	}
	_ = cmd.RegisterFlagCompletionFunc("service", completeFromConfig(func(cfg *config.Config) []string { return keysOf(cfg.Services) }))
	_ = cmd.RegisterFlagCompletionFunc("severity", completeFromConfig(func(cfg *config.Config) []string { return cfg.SeverityNames() }))
}

func (f *heartbeatFlags) change(cmd *cobra.Command) starter.HeartbeatChange {
	var c starter.HeartbeatChange
	set := cmd.Flags().Changed
	if set("interval") {
		d := config.Duration(f.interval)
		c.Interval = &d
	}
	if set("grace") {
		d := config.Duration(f.grace)
		c.Grace = &d
	}
	if set("service") {
		c.Service = &f.service
	}
	if set("severity") {
		c.Severity = &f.severity
	}
	switch {
	case f.disabled, f.disable:
		off := false
		c.Enabled = &off
	case f.enable:
		on := true
		c.Enabled = &on
	}
	return c
}

func newHeartbeatAddCmd() *cobra.Command {
	var (
		c  conn
		f  heartbeatFlags
		by string
	)
	cmd := &cobra.Command{
		Use:     "add NAME --interval D --service S",
		Short:   "Create a monitor kept in Temporal (config-file monitors are changed in the file)",
		Example: "  incidentflow heartbeats add nightly-export --interval 24h --grace 30m --service checkout --by alice",
		Args:    argsNamed("NAME"),
	}
	out := addOutputFlag(cmd)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		return withIncidents(cmd, c, resolveBy(cmd, &by), func(ctx context.Context, inc *starter.Incidents) error {
			v, err := inc.CreateHeartbeat(ctx, args[0], f.change(cmd), by)
			if err != nil {
				return err
			}
			return printHeartbeat(cmd, *out, v)
		})
	}
	c.addConfigFlag(cmd, "config file (default: INCIDENTFLOW_CONFIG, else the built-in demo)")
	c.addTemporalFlags(cmd)
	f.register(cmd, true)
	addByFlag(cmd, &by)
	addByCompletion(cmd)
	_ = cmd.MarkFlagRequired("interval")
	_ = cmd.MarkFlagRequired("service")
	return cmd
}

func newHeartbeatSetCmd() *cobra.Command {
	var (
		c  conn
		f  heartbeatFlags
		by string
	)
	cmd := &cobra.Command{
		Use:     "set NAME [--interval D] [--grace D] [--service S] [--severity P] [--enable|--disable]",
		Short:   "Change a monitor made with `heartbeats add`",
		Example: "  incidentflow heartbeats set nightly-export --disable --by alice",
		Args:    argsNamed("NAME"),
	}
	out := addOutputFlag(cmd)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		ch := f.change(cmd)
		if ch == (starter.HeartbeatChange{}) {
			return usagef("nothing to change: give --interval, --grace, --service, --severity, --enable or --disable")
		}
		return withIncidents(cmd, c, resolveBy(cmd, &by), func(ctx context.Context, inc *starter.Incidents) error {
			v, err := inc.ChangeHeartbeat(ctx, args[0], ch)
			if err != nil {
				return err
			}
			return printHeartbeat(cmd, *out, v)
		})
	}
	c.addConfigFlag(cmd, "config file (default: INCIDENTFLOW_CONFIG, else the built-in demo)")
	c.addTemporalFlags(cmd)
	f.register(cmd, false)
	addByFlag(cmd, &by)
	addByCompletion(cmd)
	return cmd
}

func newHeartbeatDeleteCmd() *cobra.Command {
	var (
		c  conn
		by string
	)
	cmd := &cobra.Command{
		Use:   "delete NAME",
		Short: "Stop and remove a monitor made with `heartbeats add` (an incident it opened stays open)",
		Args:  argsNamed("NAME"),
	}
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		return withIncidents(cmd, c, resolveBy(cmd, &by), func(ctx context.Context, inc *starter.Incidents) error {
			if err := inc.DeleteHeartbeat(ctx, args[0]); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "heartbeat %s deleted by %s\n", args[0], by)
			return nil
		})
	}
	c.addConfigFlag(cmd, "config file (default: INCIDENTFLOW_CONFIG, else the built-in demo)")
	c.addTemporalFlags(cmd)
	addByFlag(cmd, &by)
	addByCompletion(cmd)
	return cmd
}

func printHeartbeat(cmd *cobra.Command, out output, v incident.HeartbeatView) error {
	if out == outputJSON {
		return writeJSON(cmd.OutOrStdout(), v)
	}
	tw := newTable(cmd.OutOrStdout())
	fmt.Fprintln(tw, "NAME\tSTATE\tNEXT DUE\tEVERY\tGRACE\tSERVICE\tSEVERITY\tENABLED")
	fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%t\n", v.Name, v.State, localTimePtr(v.NextDue), v.Interval, v.Grace, v.Service, v.Severity, v.Enabled)
	return tw.Flush()
}
