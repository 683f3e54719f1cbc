package main

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/incidentflow/incidentflow/config"
	"github.com/incidentflow/incidentflow/oncall"
	"github.com/incidentflow/incidentflow/starter"
)

// newOncallCmd is `oncall`, and the parent of whatever manages schedules
// from the command line: run-time overrides (`oncall override
// add|list|delete`) belong under it as subcommands, added in newOncallCmd
// with AddCommand; `oncall` itself keeps answering who is on call.
func newOncallCmd() *cobra.Command {
	var (
		c        conn
		schedule string
		at       string
	)
	cmd := &cobra.Command{
		Use:     "oncall",
		Short:   "Who is on call, since and until when, and who is next",
		Long:    "Who is on call in every schedule (or --schedule), from the config file's layers and overrides.",
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
		cfg, _, err := loadConfig(c.configPath, true)
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
		list := whoIsOnCall(cfg, names, when)
		if *out == outputJSON {
			// The shape of GET /v1/oncall, so scripts can use either.
			return writeJSON(cmd.OutOrStdout(), map[string]any{"at": when.UTC(), "oncall": list})
		}
		return printOnCall(cmd.OutOrStdout(), list)
	}
	c.addConfigFlag(cmd, "config file (default: INCIDENTFLOW_CONFIG, else the built-in demo)")
	cmd.Flags().StringVar(&schedule, "schedule", "", "one schedule (default: all)")
	cmd.Flags().StringVar(&at, "at", "", "time, RFC 3339 (default: now)")
	_ = cmd.RegisterFlagCompletionFunc("schedule", completeFromConfig(func(cfg *config.Config) []string { return keysOf(cfg.Schedules) }))
	return cmd
}

func whoIsOnCall(cfg *config.Config, names []string, at time.Time) []starter.OnCall {
	out := make([]starter.OnCall, 0, len(names))
	for _, n := range names {
		sh, err := oncall.ShiftAt(cfg.Schedules[n], at)
		oc := starter.OnCall{Schedule: n, Shift: sh}
		if err != nil {
			oc.Error = err.Error()
		}
		out = append(out, oc)
	}
	return out
}
