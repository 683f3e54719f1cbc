package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"

	"github.com/incidentflow/incidentflow/config"
	"github.com/incidentflow/incidentflow/starter"
	"github.com/incidentflow/incidentflow/workflows"
)

// cliTimeout bounds one CLI round trip to Temporal.
const cliTimeout = 15 * time.Second

// dialTimeout is short: a CLI pointed at the wrong address should say so
// in seconds, not hang.
const dialTimeout = 5 * time.Second

func newConfigCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Check config files",
		Args:  noArgs,
		// Runnable, so that `config typo` is an unknown command, not help.
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "validate FILE",
		Short: "Check a config file; exit 1 with every problem listed, each naming its key",
		Args:  argsNamed("FILE"),
		ValidArgsFunction: func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
			return []cobra.Completion{"yaml", "yml"}, cobra.ShellCompDirectiveFilterFileExt
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return validateConfig(args[0], cmd.OutOrStdout())
		},
	})
	return cmd
}

func validateConfig(path string, stdout io.Writer) error {
	if _, err := config.Load(path); err != nil {
		var problems config.Problems
		if errors.As(err, &problems) {
			if err := problems.Report(stdout, path); err != nil {
				return err
			}
			return errors.New(problems.Summary(path))
		}
		return err
	}
	fmt.Fprintf(stdout, "%s: ok\n", path)
	return nil
}

// cliIncidents connects the CLI to Temporal through the same starter code
// the HTTP API uses. Unlike serve, it dials at once: a command that is
// going to fail should fail on the address, not on its first request.
func cliIncidents(ctx context.Context, c conn, cfg *config.Config, source string) (*starter.Incidents, func(), error) {
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	t, err := temporalOptions(cfg, source, c, logger)
	if err != nil {
		return nil, nil, err
	}
	dialCtx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	cl, err := client.DialContext(dialCtx, t.opts)
	if err != nil {
		return nil, nil, fmt.Errorf("cannot reach %s: %w\n%s", t.where(), err, addressHint)
	}
	return &starter.Incidents{Client: cl, Config: cfg, TaskQueue: cfg.Temporal.TaskQueue}, cl.Close, nil
}

// withIncidents loads the config, lets check refuse the command line
// before anything is dialed (a wrong --by needs no server to be wrong),
// then connects and runs fn with a deadline.
func withIncidents(cmd *cobra.Command, c conn, check func(*config.Config) error, fn func(context.Context, *starter.Incidents) error) error {
	cfg, source, err := loadConfig(c.configPath, true)
	if err != nil {
		return err
	}
	if check != nil {
		if err := check(cfg); err != nil {
			return err
		}
	}
	inc, done, err := cliIncidents(cmd.Context(), c, cfg, source)
	if err != nil {
		return err
	}
	defer done()
	ctx, cancel := context.WithTimeout(cmd.Context(), cliTimeout)
	defer cancel()
	return fn(ctx, inc)
}

// resolveBy turns the --by flag into the acting user, or fails naming it.
func resolveBy(cmd *cobra.Command, by *string) func(*config.Config) error {
	return func(cfg *config.Config) error {
		u, err := actingUser(cfg, *by, cmd.Flags().Changed("by"))
		*by = u
		return err
	}
}

func addByCompletion(cmd *cobra.Command) {
	_ = cmd.RegisterFlagCompletionFunc("by", completeFromConfig(func(cfg *config.Config) []string { return keysOf(cfg.Users) }))
}

const declareLong = `Start an incident by hand. Whoever declares it (--by) is recorded as its source.

Every declaration opens its own incident: its key is the time, the title and a
random part, so two declarations of the same title at the same moment are two
incidents, never one.

--exercise declares a game day: it runs the whole lifecycle, pages only the
users named by --participant (never the service's escalation policy), marks
everything it sends [EXERCISE], stays out of metrics, reports and the status
page, and ends with an evaluation (time to ack, to the first status update,
roles filled and when). Nobody is made commander: taking command is part of the
drill.`

func newDeclareCmd() *cobra.Command {
	var (
		c                        conn
		service, severity, title string
		by                       string
		exercise                 bool
		participants             []string
	)
	cmd := &cobra.Command{
		Use:     "declare --service S --severity P1 --title T",
		Short:   "Start an incident by hand",
		Long:    declareLong,
		GroupID: groupIncidents,
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// Told before connecting: neither needs Temporal to be wrong.
			switch {
			case exercise && len(participants) == 0:
				return fmt.Errorf("--participant is required with --exercise: an exercise pages only the users it names, never the real on-call")
			case !exercise && len(participants) > 0:
				return fmt.Errorf("--participant is only for an exercise: add --exercise")
			}
			return withIncidents(cmd, c, resolveBy(cmd, &by), func(ctx context.Context, inc *starter.Incidents) error {
				d := starter.Declaration{Service: service, Severity: severity, Title: title, By: by}
				var id string
				var err error
				if exercise {
					id, err = inc.DeclareExercise(ctx, d, participants)
				} else {
					id, err = inc.Declare(ctx, d)
				}
				if err != nil {
					return err
				}
				fmt.Fprintln(cmd.OutOrStdout(), id)
				return nil
			})
		},
	}
	c.addConfigFlag(cmd, "config file (default: INCIDENTFLOW_CONFIG, else the built-in demo)")
	c.addTemporalFlags(cmd)
	cmd.Flags().StringVar(&service, "service", "", "service (required)")
	cmd.Flags().StringVar(&severity, "severity", "", "severity, e.g. P1 (required)")
	cmd.Flags().StringVar(&title, "title", "", "title (required)")
	cmd.Flags().BoolVar(&exercise, "exercise", false, "declare a game day that pages only its participants")
	cmd.Flags().StringArrayVar(&participants, "participant", nil, "a configured user the exercise pages (repeat it; required with --exercise)")
	addByFlag(cmd, &by)
	for _, f := range []string{"service", "severity", "title"} {
		_ = cmd.MarkFlagRequired(f)
	}
	_ = cmd.RegisterFlagCompletionFunc("service", completeFromConfig(func(cfg *config.Config) []string { return keysOf(cfg.Services) }))
	_ = cmd.RegisterFlagCompletionFunc("severity", completeFromConfig(func(cfg *config.Config) []string { return cfg.SeverityNames() }))
	_ = cmd.RegisterFlagCompletionFunc("participant", completeFromConfig(func(cfg *config.Config) []string { return keysOf(cfg.Users) }))
	addByCompletion(cmd)
	return cmd
}

type incidentAction struct{ name, short string }

var incidentActions = []incidentAction{
	{"ack", "Acknowledge an incident: escalation stops; the first ack makes you commander"},
	{"resolve", "Resolve an incident: monitored for resolve_stable_for, then resolved"},
	{"escalate", "Page the next escalation step now"},
	{"reopen", "Reopen a resolved incident"},
	{"close", "Close a resolved incident"},
}

func newActionCmd(a incidentAction) *cobra.Command {
	var (
		c        conn
		by, note string
		toStep   int
	)
	cmd := &cobra.Command{
		Use:     a.name + " ID",
		Short:   a.short,
		GroupID: groupIncidents,
		Args:    argsNamed("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			id := workflows.NormalizeID(args[0])
			return withIncidents(cmd, c, resolveBy(cmd, &by), func(ctx context.Context, inc *starter.Incidents) error {
				// An Update, so a refusal (a step the policy lacks, a
				// closed incident) is said here rather than lost.
				st, err := inc.Act(ctx, id, a.name, workflows.ActionRequest{By: by, Note: note, ToStep: toStep})
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s: %s\n", st.ID, st.Status)
				return nil
			})
		},
	}
	c.addConfigFlag(cmd, "config file (default: INCIDENTFLOW_CONFIG, else the built-in demo)")
	c.addTemporalFlags(cmd)
	addByFlag(cmd, &by)
	cmd.Flags().StringVar(&note, "note", "", "note for the timeline")
	if a.name == "escalate" {
		cmd.Flags().IntVar(&toStep, "to-step", 0, "page this step (from 1) of the policy now, rather than the next")
	}
	addByCompletion(cmd)
	return cmd
}

func newListCmd() *cobra.Command {
	var (
		c            conn
		f            starter.Filter
		since, until string
		asJSON       bool
		withSimilar  bool
	)
	cmd := &cobra.Command{
		Use:     "list",
		Short:   "List incidents, newest first",
		Long:    "List incidents, newest first, filtered as GET /v1/incidents filters them; --cursor goes on where a list stopped.",
		GroupID: groupIncidents,
		Args:    noArgs,
	}
	out := addOutputFlag(cmd)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if f.Status != "" && !slices.Contains(starter.ListStatuses, f.Status) {
			return usagef("--status: unknown status %q (one of %s)", f.Status, strings.Join(starter.ListStatuses, ", "))
		}
		var err error
		if f.Since, err = starter.PointInTime("since", since); err != nil {
			return usagef("--%v", err)
		}
		if f.Until, err = starter.PointInTime("until", until); err != nil {
			return usagef("--%v", err)
		}
		if asJSON {
			*out = outputJSON
		}
		return withIncidents(cmd, c, nil, func(ctx context.Context, inc *starter.Incidents) error {
			page, err := inc.Search(ctx, f)
			if err != nil {
				return err
			}
			if withSimilar {
				page.Similar = inc.SimilarFor(ctx, page.Incidents)
			}
			if *out == outputJSON {
				return writeJSON(cmd.OutOrStdout(), page)
			}
			if err := printSummaries(cmd.OutOrStdout(), page.Incidents); err != nil {
				return err
			}
			printSimilar(cmd.OutOrStdout(), page)
			if page.Next != "" {
				fmt.Fprintf(cmd.ErrOrStderr(), "more: --cursor %s\n", page.Next)
			}
			return nil
		})
	}
	c.addConfigFlag(cmd, "config file (default: INCIDENTFLOW_CONFIG, else the built-in demo)")
	c.addTemporalFlags(cmd)
	cmd.Flags().StringVar(&f.Status, "status", "", "open, closed or an incident status ("+strings.Join(starter.ListStatuses, ", ")+")")
	cmd.Flags().StringVar(&f.Service, "service", "", "one service")
	cmd.Flags().StringVar(&f.Severity, "severity", "", "one severity")
	cmd.Flags().StringVar(&f.Commander, "commander", "", "one commander")
	cmd.Flags().StringVar(&since, "since", "", "opened since: RFC 3339, or a time ago (36h, 7d)")
	cmd.Flags().StringVar(&until, "until", "", "opened until: RFC 3339, or a time ago")
	cmd.Flags().StringVarP(&f.Text, "query", "q", "", "words in the title or ID")
	cmd.Flags().StringVar(&f.Cursor, "cursor", "", "go on where a list stopped")
	cmd.Flags().IntVar(&f.Limit, "limit", 200, "at most this many incidents")
	cmd.Flags().BoolVar(&withSimilar, "similar", false, "also show each incident's similar past incidents and their root causes")
	cmd.Flags().BoolVar(&asJSON, "json", false, "same as --output json")
	_ = cmd.Flags().MarkHidden("json") // the flag CLI had it; --output json says the same
	_ = cmd.RegisterFlagCompletionFunc("status", cobra.FixedCompletions(starter.ListStatuses, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("service", completeFromConfig(func(cfg *config.Config) []string { return keysOf(cfg.Services) }))
	_ = cmd.RegisterFlagCompletionFunc("severity", completeFromConfig(func(cfg *config.Config) []string { return cfg.SeverityNames() }))
	_ = cmd.RegisterFlagCompletionFunc("commander", completeFromConfig(func(cfg *config.Config) []string { return keysOf(cfg.Users) }))
	return cmd
}

func newShowCmd() *cobra.Command {
	var c conn
	cmd := &cobra.Command{
		Use:     "show ID",
		Short:   "Show an incident, timeline included",
		GroupID: groupIncidents,
		Args:    argsNamed("ID"),
	}
	out := addOutputFlag(cmd)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		return withIncidents(cmd, c, nil, func(ctx context.Context, inc *starter.Incidents) error {
			st, err := inc.Get(ctx, workflows.NormalizeID(args[0]))
			if err != nil {
				return err
			}
			if *out == outputJSON {
				return writeJSON(cmd.OutOrStdout(), st)
			}
			return printIncident(cmd.OutOrStdout(), st)
		})
	}
	c.addConfigFlag(cmd, "config file (default: INCIDENTFLOW_CONFIG, else the built-in demo)")
	c.addTemporalFlags(cmd)
	return cmd
}

const postmortemLong = `Show an incident's post-mortem (--markdown: its draft), or act on it:
  done          the write-up is done
  close-item N  action item N is done
  drop-item N   action item N will not be done (--note says why)`

func newPostmortemCmd() *cobra.Command {
	var (
		c                   conn
		by, note, rootCause string
		markdown            bool
	)
	cmd := &cobra.Command{
		Use:     "postmortem ID [done | close-item N | drop-item N]",
		Short:   "Show or act on an incident's post-mortem",
		Long:    postmortemLong,
		GroupID: groupIncidents,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usagef("missing ID")
			}
			switch verb := args[1:]; {
			case len(verb) == 0, len(verb) == 1 && verb[0] == "done":
			case len(verb) == 2 && (verb[0] == "close-item" || verb[0] == "drop-item"):
				if _, err := strconv.Atoi(verb[1]); err != nil {
					return usagef("%s: %q is not an action item number", verb[0], verb[1])
				}
			case len(verb) == 1 && (verb[0] == "close-item" || verb[0] == "drop-item"):
				return usagef("%s: missing action item number", verb[0])
			default:
				return usagef("unknown post-mortem action %q (done, close-item N, drop-item N)", strings.Join(verb, " "))
			}
			return nil
		},
		ValidArgsFunction: func(_ *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
			if len(args) == 1 {
				return []cobra.Completion{"done", "close-item", "drop-item"}, cobra.ShellCompDirectiveNoFileComp
			}
			return nil, cobra.ShellCompDirectiveNoFileComp
		},
	}
	out := addOutputFlag(cmd)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		id := workflows.NormalizeID(args[0])
		w := cmd.OutOrStdout()
		emit := func(st *workflows.PostmortemState) error {
			if *out == outputJSON {
				st.Draft = ""
				return writeJSON(w, st)
			}
			return printPostmortem(w, st)
		}
		if len(args) == 1 {
			return withIncidents(cmd, c, nil, func(ctx context.Context, inc *starter.Incidents) error {
				st, err := inc.Postmortem(ctx, id)
				if err != nil {
					return err
				}
				if markdown {
					_, err = io.WriteString(w, st.Draft)
					return err
				}
				return emit(st)
			})
		}
		return withIncidents(cmd, c, resolveBy(cmd, &by), func(ctx context.Context, inc *starter.Incidents) error {
			var (
				st  *workflows.PostmortemState
				err error
			)
			if args[1] == "done" {
				st, err = inc.ActOnPostmortem(ctx, id, workflows.UpdatePostmortemComplete, workflows.CompleteRequest{By: by, Note: note, RootCause: rootCause})
			} else {
				n, _ := strconv.Atoi(args[2]) // checked by Args
				update := workflows.UpdateCloseActionItem
				if args[1] == "drop-item" {
					update = workflows.UpdateDropActionItem
				}
				st, err = inc.ActOnPostmortem(ctx, id, update, workflows.ActionItemChange{By: by, Item: n, Note: note})
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
	cmd.Flags().StringVar(&note, "note", "", "note (required to drop an item: why)")
	cmd.Flags().StringVar(&rootCause, "root-cause", "", "with done: the root cause in a sentence (reports and similar incidents show it)")
	cmd.Flags().BoolVar(&markdown, "markdown", false, "print the draft as Markdown")
	addByCompletion(cmd)
	return cmd
}

// printSimilar lists, under the table, the past incidents each listed one
// resembles, with what their post-mortems found.
func printSimilar(w io.Writer, page starter.Page) {
	if len(page.Similar) == 0 {
		return
	}
	fmt.Fprintln(w, "\nSeen before:")
	for _, s := range page.Incidents {
		for _, p := range page.Similar[s.ID] {
			line := fmt.Sprintf("  %s ~ %s (%s, %s)", s.ID, p.ID, p.CreatedAt.Local().Format("2006-01-02"), p.Why)
			if p.RootCause != "" {
				line += ": " + p.RootCause
			}
			fmt.Fprintln(w, line)
		}
	}
}
