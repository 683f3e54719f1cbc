package main

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/incidentflow/incidentflow/config"
	"github.com/incidentflow/incidentflow/report"
	"github.com/incidentflow/incidentflow/starter"
)

const reportLong = `The incident review: incidents opened in the period by severity, with mean
and median MTTA, MTTM and MTTR against the previous period of the same length;
the services hit hardest; notable incidents (the highest severity, the longest,
the noisiest); where the post-mortems' action items stand; and what recurred
(the same alert key, or the same service and near-identical title).

The period is --month (a calendar month, UTC) or --since (a span ending now,
720h by default; 30d also reads). At most 2,000 incidents per period are read;
the report says when it stopped there. GET /v1/report answers the same.`

// reportTimeout is longer than the other commands': a month can be
// thousands of incidents, each read with its own query.
const reportTimeout = 3 * time.Minute

func newReportCmd() *cobra.Command {
	var (
		c                     conn
		since, month, service string
		format                string
	)
	cmd := &cobra.Command{
		Use:     "report [--since 720h | --month 2026-11] [--service S] [--format md|json|html]",
		Short:   "The incident review: counts, MTTA/MTTM/MTTR, top services, action items, recurring incidents",
		Long:    reportLong,
		GroupID: groupIncidents,
		Args:    noArgs,
	}
	out := addOutputFlag(cmd)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if !cmd.Flags().Changed("format") && *out == outputJSON {
			format = report.FormatJSON
		}
		if format == "markdown" {
			format = report.FormatMarkdown
		}
		if !slices.Contains(report.Formats, format) {
			return usagef("--format: %q is not one of %s", format, strings.Join(report.Formats, ", "))
		}
		if month != "" && cmd.Flags().Changed("since") {
			return usagef("--month and --since: give one")
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
		req := starter.ReportRequest{Month: month, Service: service, Now: time.Now().UTC()}
		if month == "" {
			req.Since = since
		}
		rep, err := inc.Report(ctx, req)
		if err != nil {
			return err
		}
		return report.Render(cmd.OutOrStdout(), rep, format)
	}
	c.addConfigFlag(cmd, "config file (default: INCIDENTFLOW_CONFIG, else the built-in demo)")
	c.addTemporalFlags(cmd)
	cmd.Flags().StringVar(&since, "since", "720h", "the span ending now: a Go duration or days (30d), at most 366d")
	cmd.Flags().StringVar(&month, "month", "", "a calendar month, UTC: 2026-11")
	cmd.Flags().StringVar(&service, "service", "", "one service")
	cmd.Flags().StringVar(&format, "format", report.FormatMarkdown, "md, json or html (--output json means json)")
	_ = cmd.RegisterFlagCompletionFunc("format", cobra.FixedCompletions(report.Formats, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("service", completeFromConfig(func(cfg *config.Config) []string { return keysOf(cfg.Services) }))
	return cmd
}
