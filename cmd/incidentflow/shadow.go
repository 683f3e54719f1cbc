package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/incidentflow/incidentflow/shadow"
	"github.com/incidentflow/incidentflow/starter"
)

const shadowCompareLong = `Compare what incidentflow did, or in shadow mode would have done, with what
PagerDuty or Opsgenie did over the same period: for each incident both had
(matched by the key both were sent, else by title within 10 minutes), who was
paged and when on each side, and the incidents only one side had. An incident
only the other pager had is an alert that never reached incidentflow: fix its
routing before switching.

The export is the JSON those services' REST APIs return, saved in a directory:
  PagerDuty: users.json, incidents.json, log_entries.json (notify_log_entry)
  Opsgenie:  alerts.json, alert-recipients/<alert id>.json
A list saved in pages may be several files (incidents.json, incidents-2.json).
People are matched to the config's users by email.

Times are compared from each side's own incident opening, so the alert's
transit to either system is not counted; people agree when both sides paged
them within --tolerance of each other.`

func newShadowCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "shadow",
		Short:   "Shadow mode: compare with the pager incidentflow runs beside",
		GroupID: groupIncidents,
	}
	cmd.AddCommand(newShadowCompareCmd())
	return cmd
}

func newShadowCompareCmd() *cobra.Command {
	var (
		c                          conn
		pagerduty, opsgenie, since string
		tolerance                  time.Duration
	)
	cmd := &cobra.Command{
		Use:     "compare (--pagerduty DIR | --opsgenie DIR) [--since 168h]",
		Short:   "Who was paged, and when, by incidentflow and by PagerDuty or Opsgenie",
		Long:    shadowCompareLong,
		Example: "  incidentflow shadow compare --opsgenie ./opsgenie-export --since 168h",
		Args:    noArgs,
	}
	out := addOutputFlag(cmd)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		req := starter.ShadowRequest{
			ReportRequest: starter.ReportRequest{Since: since, Now: time.Now().UTC()},
			Options:       shadow.Options{Tolerance: tolerance},
		}
		switch {
		case pagerduty != "" && opsgenie == "":
			req.Source, req.Dir = "pagerduty", pagerduty
		case opsgenie != "" && pagerduty == "":
			req.Source, req.Dir = "opsgenie", opsgenie
		default:
			return usagef("give --pagerduty DIR or --opsgenie DIR")
		}
		cfg, source, err := loadConfig(c.configPath, true)
		if err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(cmd.Context(), reportTimeout)
		defer cancel()
		inc, done, err := cliIncidents(ctx, c, cfg, source)
		if err != nil {
			return err
		}
		defer done()
		rep, err := inc.ShadowCompare(ctx, req)
		if err != nil {
			return err
		}
		if *out == outputJSON {
			return writeJSON(cmd.OutOrStdout(), rep)
		}
		fmt.Fprint(cmd.OutOrStdout(), rep.Markdown())
		if rep.Unreadable > 0 {
			fmt.Fprintf(cmd.OutOrStdout(), "\n%d incidentflow incidents could not be read (no worker answered): their pages are missing above.\n", rep.Unreadable)
		}
		return nil
	}
	c.addConfigFlag(cmd, "config file (default: INCIDENTFLOW_CONFIG, else the built-in demo)")
	c.addTemporalFlags(cmd)
	cmd.Flags().StringVar(&pagerduty, "pagerduty", "", "directory of a PagerDuty export")
	cmd.Flags().StringVar(&opsgenie, "opsgenie", "", "directory of an Opsgenie export")
	cmd.Flags().StringVar(&since, "since", "168h", "the span ending now: a Go duration or days (7d), at most 366d")
	cmd.Flags().DurationVar(&tolerance, "tolerance", 2*time.Minute, "how far apart one person's first pages may be and agree")
	_ = cmd.MarkFlagDirname("pagerduty")
	_ = cmd.MarkFlagDirname("opsgenie")
	return cmd
}
