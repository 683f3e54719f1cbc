package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/incidentflow/incidentflow/config"
	"github.com/incidentflow/incidentflow/oncall"
	"github.com/incidentflow/incidentflow/starter"
	"github.com/incidentflow/incidentflow/workflows"
)

func runConfig(args []string, stdout io.Writer) error {
	if len(args) != 2 || args[0] != "validate" {
		return errors.New("usage: incidentflow config validate FILE")
	}
	if _, err := config.Load(args[1]); err != nil {
		var problems config.Problems
		if errors.As(err, &problems) {
			for _, p := range problems {
				fmt.Fprintf(stdout, "%s: %s\n", args[1], p)
			}
			return fmt.Errorf("%d problem(s) in %s", len(problems), args[1])
		}
		return err
	}
	fmt.Fprintf(stdout, "%s: ok\n", args[1])
	return nil
}

// cliIncidents connects the CLI to Temporal through the same starter code
// the HTTP API uses.
func cliIncidents(ctx context.Context, configPath string) (*starter.Incidents, func(), error) {
	cfg, _, err := loadConfig(configPath, true)
	if err != nil {
		return nil, nil, err
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	c, err := dial(ctx, cfg, logger)
	if err != nil {
		return nil, nil, err
	}
	return &starter.Incidents{Client: c, Config: cfg, TaskQueue: cfg.Temporal.TaskQueue}, c.Close, nil
}

func runDeclare(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("declare", flag.ContinueOnError)
	configPath := fs.String("config", "", "config file")
	service := fs.String("service", "", "service (required)")
	severity := fs.String("severity", "", "severity, e.g. P1 (required)")
	title := fs.String("title", "", "title (required)")
	by := fs.String("by", os.Getenv("USER"), "who declares it")
	if err := fs.Parse(args); err != nil {
		return err
	}
	inc, done, err := cliIncidents(ctx, *configPath)
	if err != nil {
		return err
	}
	defer done()
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	id, err := inc.Declare(ctx, starter.Declaration{Service: *service, Severity: *severity, Title: *title, By: *by})
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, id)
	return nil
}

func runAction(ctx context.Context, action string, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet(action, flag.ContinueOnError)
	configPath := fs.String("config", "", "config file")
	by := fs.String("by", os.Getenv("USER"), "configured user acting")
	note := fs.String("note", "", "note for the timeline")
	id, rest := splitID(args)
	if err := fs.Parse(rest); err != nil {
		return err
	}
	if id == "" && fs.NArg() == 1 {
		id = fs.Arg(0)
	}
	if id == "" {
		return fmt.Errorf("usage: incidentflow %s ID [--by USER] [--note TEXT]", action)
	}
	inc, done, err := cliIncidents(ctx, *configPath)
	if err != nil {
		return err
	}
	defer done()
	if _, ok := inc.Config.Users[*by]; !ok {
		return fmt.Errorf("--by: unknown user %q", *by)
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	id = workflows.NormalizeID(id)
	req := workflows.ActionRequest{By: *by, Note: *note}
	if action == "escalate" {
		if err := inc.Signal(ctx, id, workflows.SignalEscalate, req); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s: escalation requested\n", id)
		return nil
	}
	st, err := inc.Act(ctx, id, action, req)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: %s\n", st.ID, st.Status)
	return nil
}

// splitID lets the ID come before the flags, as people type it.
func splitID(args []string) (string, []string) {
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		return args[0], args[1:]
	}
	return "", args
}

func runList(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("list", flag.ContinueOnError)
	configPath := fs.String("config", "", "config file")
	status := fs.String("status", "", "open, closed, triggered, acknowledged or resolved")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *status != "" && !slices.Contains(starter.ListStatuses, *status) {
		return fmt.Errorf("--status: unknown status %q", *status)
	}
	inc, done, err := cliIncidents(ctx, *configPath)
	if err != nil {
		return err
	}
	defer done()
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	list, err := inc.List(ctx, *status, 200)
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(list)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSEVERITY\tSTATUS\tSERVICE\tCOMMANDER\tCREATED\tTITLE")
	for _, s := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.ID, s.Severity, s.Status, s.Service, s.Commander, s.CreatedAt.Local().Format(time.DateTime), s.Title)
	}
	return tw.Flush()
}

func runShow(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("show", flag.ContinueOnError)
	configPath := fs.String("config", "", "config file")
	id, rest := splitID(args)
	if err := fs.Parse(rest); err != nil {
		return err
	}
	if id == "" {
		return errors.New("usage: incidentflow show ID")
	}
	inc, done, err := cliIncidents(ctx, *configPath)
	if err != nil {
		return err
	}
	defer done()
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	st, err := inc.Get(ctx, workflows.NormalizeID(id))
	if err != nil {
		return err
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(st)
}

func runOncall(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("oncall", flag.ContinueOnError)
	configPath := fs.String("config", "", "config file")
	schedule := fs.String("schedule", "", "one schedule (default: all)")
	at := fs.String("at", "", "time (RFC 3339; default: now)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, _, err := loadConfig(*configPath, true)
	if err != nil {
		return err
	}
	when := time.Now()
	if *at != "" {
		if when, err = time.Parse(time.RFC3339, *at); err != nil {
			return fmt.Errorf("--at: %q is not RFC 3339", *at)
		}
	}
	names := []string{*schedule}
	if *schedule == "" {
		names = names[:0]
		for n := range cfg.Schedules {
			names = append(names, n)
		}
		slices.Sort(names)
	} else if _, ok := cfg.Schedules[*schedule]; !ok {
		return fmt.Errorf("--schedule: unknown schedule %q", *schedule)
	}
	for _, n := range names {
		who, err := oncall.Who(cfg.Schedules[n], when)
		if err != nil {
			who = "(" + err.Error() + ")"
		}
		fmt.Fprintf(stdout, "%s\t%s\n", n, who)
	}
	return nil
}

// runPostmortem shows an incident's post-mortem, or acts on it: done
// (written up), close-item N or drop-item N.
func runPostmortem(ctx context.Context, args []string, stdout io.Writer) error {
	const use = "usage: incidentflow postmortem ID [done|close-item N|drop-item N] [--by USER] [--note TEXT] [--markdown]"
	id, rest := splitID(args)
	var verb, item string
	if len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
		verb, rest = rest[0], rest[1:]
		if verb == "close-item" || verb == "drop-item" {
			if len(rest) == 0 {
				return errors.New(use)
			}
			item, rest = rest[0], rest[1:]
		}
	}
	fs := flag.NewFlagSet("postmortem", flag.ContinueOnError)
	configPath := fs.String("config", "", "config file")
	by := fs.String("by", os.Getenv("USER"), "configured user acting")
	note := fs.String("note", "", "note (required to drop an item: why)")
	markdown := fs.Bool("markdown", false, "print the draft as Markdown")
	if err := fs.Parse(rest); err != nil {
		return err
	}
	if id == "" {
		return errors.New(use)
	}
	inc, done, err := cliIncidents(ctx, *configPath)
	if err != nil {
		return err
	}
	defer done()
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	id = workflows.NormalizeID(id)
	var st *workflows.PostmortemState
	switch verb {
	case "":
		st, err = inc.Postmortem(ctx, id)
		if err == nil && *markdown {
			_, err = io.WriteString(stdout, st.Draft)
			return err
		}
	case "done", "close-item", "drop-item":
		if _, ok := inc.Config.Users[*by]; !ok {
			return fmt.Errorf("--by: unknown user %q", *by)
		}
		if verb == "done" {
			st, err = inc.ActOnPostmortem(ctx, id, workflows.UpdatePostmortemComplete, workflows.CompleteRequest{By: *by, Note: *note})
			break
		}
		n, convErr := strconv.Atoi(item)
		if convErr != nil {
			return fmt.Errorf("%s: %q is not an action item number", verb, item)
		}
		update := workflows.UpdateCloseActionItem
		if verb == "drop-item" {
			update = workflows.UpdateDropActionItem
		}
		st, err = inc.ActOnPostmortem(ctx, id, update, workflows.ActionItemChange{By: *by, Item: n, Note: *note})
	default:
		return errors.New(use)
	}
	if err != nil {
		return err
	}
	st.Draft = ""
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(st)
}
