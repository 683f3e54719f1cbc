// Command incidentflow runs the incident-response engine: `dev` for one
// self-contained process, `worker` and `serve` for production, and a CLI
// for responders.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	_ "time/tzdata" // schedules name IANA zones; containers often lack zoneinfo
)

const usage = `incidentflow: incident response as durable Temporal workflows

Usage:
  incidentflow dev [--config F] [--db F] [--http ADDR] [--temporal-port N] [--ui-port N]
  incidentflow worker [--config F]
  incidentflow serve [--config F]
  incidentflow declare --service S --severity P1 --title T [--by USER]
  incidentflow ack|resolve|escalate|reopen|close ID [--by USER] [--note TEXT]
  incidentflow list [--status open]
  incidentflow show ID
  incidentflow postmortem ID [--markdown]
  incidentflow postmortem ID done|close-item N|drop-item N [--by USER] [--note TEXT]
  incidentflow oncall [--schedule S] [--at RFC3339]
  incidentflow config validate FILE

--config may also come from INCIDENTFLOW_CONFIG. Temporal connection settings
come from the config file's temporal section, overridden by the standard
TEMPORAL_* variables and temporal.toml profiles.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stdout, usage)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cmd, rest := args[0], args[1:]
	var err error
	switch cmd {
	case "dev":
		err = runDev(ctx, rest, stdout, stderr)
	case "worker":
		err = runWorker(ctx, rest, stderr)
	case "serve":
		err = runServe(ctx, rest, stderr)
	case "config":
		err = runConfig(rest, stdout)
	case "declare":
		err = runDeclare(ctx, rest, stdout)
	case "ack", "resolve", "escalate", "reopen", "close":
		err = runAction(ctx, cmd, rest, stdout)
	case "list":
		err = runList(ctx, rest, stdout)
	case "postmortem":
		err = runPostmortem(ctx, rest, stdout)
	case "show":
		err = runShow(ctx, rest, stdout)
	case "oncall":
		err = runOncall(rest, stdout)
	default:
		fmt.Fprintf(stderr, "incidentflow: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintf(stderr, "incidentflow %s: %v\n", cmd, err)
		return 1
	}
	return 0
}
