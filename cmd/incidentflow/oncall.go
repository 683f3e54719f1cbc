package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/incidentflow/incidentflow/config"
	"github.com/incidentflow/incidentflow/incident"
	"github.com/incidentflow/incidentflow/starter"
	"github.com/incidentflow/incidentflow/workflows"
)

// newOncallCmd is `oncall`: who is on call, and under it `oncall override
// add|list|delete` for the run-time overrides.
func newOncallCmd() *cobra.Command {
	var (
		c        conn
		schedule string
		at       string
	)
	cmd := &cobra.Command{
		Use:   "oncall",
		Short: "Who is on call, since and until when, and who is next",
		Long: "Who is on call in every schedule (or --schedule): the config's layers and overrides, and the run-time\n" +
			"overrides held in Temporal (the config's alone, with a warning, when Temporal cannot be reached).",
		GroupID: groupOnCall,
		Args:    noArgs,
	}
	out := addOutputFlag(cmd)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		when := time.Now()
		if at != "" {
			t, err := time.Parse(time.RFC3339, at)
			if err != nil {
				return usagef("--at: %q is not RFC 3339 (2026-11-24T09:00:00Z)", at)
			}
			when = t
		}
		cfg, source, err := loadConfig(c.configPath, true)
		if err != nil {
			return err
		}
		names := []string{schedule}
		if schedule == "" {
			names = keysOf(cfg.Schedules)
			slices.Sort(names)
		} else if _, ok := cfg.Schedules[schedule]; !ok {
			known := keysOf(cfg.Schedules)
			slices.Sort(known)
			return fmt.Errorf("--schedule: unknown schedule %q (one of %s)", schedule, strings.Join(known, ", "))
		}
		list := whoIsOnCall(cmd, c, cfg, source, names, when)
		if *out == outputJSON {
			// The shape of GET /v1/oncall, so scripts can use either.
			return writeJSON(cmd.OutOrStdout(), map[string]any{"at": when.UTC(), "oncall": list})
		}
		return printOnCall(cmd.OutOrStdout(), list)
	}
	c.addConfigFlag(cmd, "config file (default: INCIDENTFLOW_CONFIG, else the built-in demo)")
	cmd.Flags().StringVar(&schedule, "schedule", "", "one schedule (default: all)")
	cmd.Flags().StringVar(&at, "at", "", "time, RFC 3339 (default: now)")
	c.addTemporalFlags(cmd)
	_ = cmd.RegisterFlagCompletionFunc("schedule", completeSchedules)
	cmd.AddCommand(newOverrideCmd())
	return cmd
}

var completeSchedules = completeFromConfig(func(cfg *config.Config) []string { return keysOf(cfg.Schedules) })

// whoIsOnCall answers with the run-time overrides when Temporal answers,
// else from the config alone: who is on call matters most when things are
// down.
func whoIsOnCall(cmd *cobra.Command, c conn, cfg *config.Config, source string, names []string, at time.Time) []starter.OnCall {
	inc := &starter.Incidents{Config: cfg}
	live, done, err := cliIncidents(cmd.Context(), c, cfg, source)
	if err != nil {
		fmt.Fprintf(cmd.ErrOrStderr(), "warning: from the config alone, without run-time overrides: %v\n", strings.SplitN(err.Error(), "\n", 2)[0])
	} else {
		defer done()
		inc = live
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), cliTimeout)
	defer cancel()
	return inc.OnCall(ctx, names, at)
}

// newOverrideCmd is `oncall override add|list|delete`: "I'm covering Bob
// tonight", held by the schedule's workflow as the HTTP API and Slack do.
func newOverrideCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "override",
		Short: "Run-time overrides: someone covers a schedule for a while",
		Long: "Run-time overrides put someone on call over every layer, from a start to an end, without a deploy.\n" +
			"They live in the schedule's workflow in Temporal; the next page uses them.",
	}
	cmd.AddCommand(newOverrideAddCmd(), newOverrideListCmd(), newOverrideDeleteCmd())
	return cmd
}

func newOverrideAddCmd() *cobra.Command {
	var (
		c                  conn
		schedule, user, by string
		start, end         string
		span               time.Duration
	)
	cmd := &cobra.Command{
		Use:     "add --schedule S --user U (--for 12h | --start T --end T)",
		Short:   "Put someone on call for a while",
		Example: "  incidentflow oncall override add --schedule primary --user bob --for 12h\n  incidentflow oncall override add --schedule primary --user bob --start 2026-11-24T20:00 --end 2026-11-25T08:00",
		Args:    noArgs,
	}
	out := addOutputFlag(cmd)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		return withIncidents(cmd, c, resolveBy(cmd, &by), func(ctx context.Context, inc *starter.Incidents) error {
			sched, ok := inc.Config.Schedules[schedule]
			if !ok {
				return fmt.Errorf("--schedule: unknown schedule %q (one of %s)", schedule, strings.Join(sortedKeys(inc.Config.Schedules), ", "))
			}
			if user == "" {
				user = by
			}
			req := workflows.OverrideRequest{User: user, By: by}
			switch {
			case span > 0 && start == "" && end == "":
				req.Start = time.Now()
				req.End = req.Start.Add(span)
			case span == 0 && start != "" && end != "":
				loc, err := time.LoadLocation(sched.TimeZone)
				if err != nil {
					return err
				}
				if req.Start, err = config.ParseTime(start, loc); err != nil {
					return usagef("--start: %v", err)
				}
				if req.End, err = config.ParseTime(end, loc); err != nil {
					return usagef("--end: %v", err)
				}
			default:
				return usagef("give --for, or both --start and --end")
			}
			o, err := inc.AddOverride(ctx, schedule, req)
			if err != nil {
				return err
			}
			if *out == outputJSON {
				return writeJSON(cmd.OutOrStdout(), o)
			}
			return printOverrides(cmd.OutOrStdout(), []incident.Override{o})
		})
	}
	c.addConfigFlag(cmd, "config file (default: INCIDENTFLOW_CONFIG, else the built-in demo)")
	c.addTemporalFlags(cmd)
	cmd.Flags().StringVar(&schedule, "schedule", "", "schedule (required)")
	cmd.Flags().StringVar(&user, "user", "", "who covers (default: --by)")
	cmd.Flags().DurationVar(&span, "for", 0, "from now, for this long (12h)")
	cmd.Flags().StringVar(&start, "start", "", "start: RFC 3339, or 2026-11-24T20:00 in the schedule's time zone")
	cmd.Flags().StringVar(&end, "end", "", "end, as --start")
	addByFlag(cmd, &by)
	addByCompletion(cmd)
	_ = cmd.MarkFlagRequired("schedule")
	_ = cmd.RegisterFlagCompletionFunc("schedule", completeSchedules)
	_ = cmd.RegisterFlagCompletionFunc("user", completeFromConfig(func(cfg *config.Config) []string { return keysOf(cfg.Users) }))
	return cmd
}

func newOverrideListCmd() *cobra.Command {
	var (
		c        conn
		schedule string
	)
	cmd := &cobra.Command{
		Use:   "list --schedule S",
		Short: "The run-time overrides of a schedule that have not ended",
		Args:  noArgs,
	}
	out := addOutputFlag(cmd)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		return withIncidents(cmd, c, nil, func(ctx context.Context, inc *starter.Incidents) error {
			list, err := inc.Overrides(ctx, schedule)
			if err != nil {
				return err
			}
			if *out == outputJSON {
				return writeJSON(cmd.OutOrStdout(), list)
			}
			return printOverrides(cmd.OutOrStdout(), list)
		})
	}
	c.addConfigFlag(cmd, "config file (default: INCIDENTFLOW_CONFIG, else the built-in demo)")
	c.addTemporalFlags(cmd)
	cmd.Flags().StringVar(&schedule, "schedule", "", "schedule (required)")
	_ = cmd.MarkFlagRequired("schedule")
	_ = cmd.RegisterFlagCompletionFunc("schedule", completeSchedules)
	return cmd
}

func newOverrideDeleteCmd() *cobra.Command {
	var (
		c            conn
		schedule, by string
	)
	cmd := &cobra.Command{
		Use:   "delete --schedule S ID",
		Short: "Remove a run-time override",
		Args:  argsNamed("ID"),
	}
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		return withIncidents(cmd, c, resolveBy(cmd, &by), func(ctx context.Context, inc *starter.Incidents) error {
			o, err := inc.RemoveOverride(ctx, schedule, args[0], by)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "removed %s: %s from %s to %s\n", o.ID, o.User, localTime(o.Start), localTime(o.End))
			return nil
		})
	}
	c.addConfigFlag(cmd, "config file (default: INCIDENTFLOW_CONFIG, else the built-in demo)")
	c.addTemporalFlags(cmd)
	cmd.Flags().StringVar(&schedule, "schedule", "", "schedule (required)")
	addByFlag(cmd, &by)
	addByCompletion(cmd)
	_ = cmd.MarkFlagRequired("schedule")
	_ = cmd.RegisterFlagCompletionFunc("schedule", completeSchedules)
	return cmd
}

func sortedKeys[V any](m map[string]V) []string {
	out := keysOf(m)
	slices.Sort(out)
	return out
}
