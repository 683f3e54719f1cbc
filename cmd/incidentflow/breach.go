package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/incidentflow/incidentflow/incident"
	"github.com/incidentflow/incidentflow/starter"
	"github.com/incidentflow/incidentflow/workflows"
)

const breachLong = `Mark an incident a personal-data breach, tick its checklist, or show it.

A personal-data breach must be reported to the regulator within 72 hours of
becoming aware of it (GDPR Art. 33). "breach ID" records when the team became
aware (--aware-at, an RFC 3339 time or how long ago such as 30h; default now)
and starts the deadline: reminders to the incident's commander and the privacy
contact (privacy.contact) at 24h, 48h and 66h (privacy.reminders), and an
escalation to them and the announce channel if the deadline (privacy.deadline)
passes. The deadline runs in its own workflow, breach-<key>, which outlives the
incident.

"breach ID ITEM" ticks one item of the checklist: regulator_notified (which
stops the reminders), users_notified, records_kept. When all three are ticked,
the breach is done. "breach ID status" shows where it stands.`

func newBreachCmd() *cobra.Command {
	var (
		c        conn
		by, note string
		awareAt  string
	)
	verbs := append([]string{"status"}, incident.BreachItems...)
	cmd := &cobra.Command{
		Use:     "breach ID [status | " + strings.Join(incident.BreachItems, " | ") + "]",
		Short:   "Mark an incident a personal-data breach (GDPR Art. 33 deadline), or tick its checklist",
		Long:    breachLong,
		GroupID: groupIncidents,
		Args: func(_ *cobra.Command, args []string) error {
			switch {
			case len(args) == 0:
				return usagef("missing ID")
			case len(args) > 2:
				return usagef("unexpected argument %q", args[2])
			case len(args) == 2 && !slices.Contains(verbs, args[1]):
				return usagef("unknown breach action %q (%s)", args[1], strings.Join(verbs, ", "))
			}
			return nil
		},
		ValidArgsFunction: func(_ *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
			if len(args) == 1 {
				return verbs, cobra.ShellCompDirectiveNoFileComp
			}
			return nil, cobra.ShellCompDirectiveNoFileComp
		},
	}
	out := addOutputFlag(cmd)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		id := workflows.NormalizeID(args[0])
		w := cmd.OutOrStdout()
		emit := func(st *workflows.BreachState) error {
			if *out == outputJSON {
				return writeJSON(w, st)
			}
			_, err := fmt.Fprintln(w, starter.BreachSummary(st))
			return err
		}
		verb := ""
		if len(args) == 2 {
			verb = args[1]
		}
		if verb != "" && awareAt != "" {
			return usagef("--aware-at is only for declaring the breach (breach ID)")
		}
		var aware time.Time
		if awareAt != "" {
			var err error
			if aware, err = starter.PointInTime("--aware-at", awareAt); err != nil {
				return err
			}
		}
		if verb == "status" {
			return withIncidents(cmd, c, nil, func(ctx context.Context, inc *starter.Incidents) error {
				st, err := inc.Breach(ctx, id)
				if err != nil {
					return err
				}
				return emit(st)
			})
		}
		return withIncidents(cmd, c, resolveBy(cmd, &by), func(ctx context.Context, inc *starter.Incidents) error {
			var (
				st  *workflows.BreachState
				err error
			)
			if verb == "" {
				st, err = inc.DeclareBreach(ctx, id, starter.BreachDeclaration{By: by, AwareAt: aware, Note: note})
			} else {
				st, err = inc.CheckBreach(ctx, id, workflows.BreachCheckRequest{By: by, Item: verb, Note: note})
			}
			if err != nil {
				return err
			}
			return emit(st)
		})
	}
	c.addConfigFlag(cmd, "config file (default: INCIDENTFLOW_CONFIG, else the built-in demo)")
	c.addTemporalFlags(cmd)
	addByFlag(cmd, &by)
	cmd.Flags().StringVar(&awareAt, "aware-at", "", "when the team became aware: RFC 3339, or how long ago (30h); default now")
	cmd.Flags().StringVar(&note, "note", "", "note for the timeline (the reference of the notification, why users need not be told, ...)")
	addByCompletion(cmd)
	return cmd
}
