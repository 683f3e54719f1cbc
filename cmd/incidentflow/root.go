package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/incidentflow/incidentflow/config"
)

const rootLong = `incidentflow: incident response as durable Temporal workflows.

--config may also come from INCIDENTFLOW_CONFIG; without either, every command
but worker and serve uses the built-in demo config (what dev runs).
Commands that talk to Temporal connect to --address, else TEMPORAL_ADDRESS,
else the temporal.toml profile (TEMPORAL_PROFILE, TEMPORAL_CONFIG_FILE), else
the config file's temporal.address, else localhost:7233; the namespace,
API key and TLS settings are taken in the same order.`

// Command groups, so `incidentflow --help` reads as a table of contents.
const (
	groupRun       = "run"
	groupIncidents = "incidents"
	groupOnCall    = "oncall"
)

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "incidentflow",
		Short: "Incident response as durable Temporal workflows",
		Long:  rootLong,
		// Errors are printed once, by run, with the command's path; a failed
		// action is not a reason to print the whole usage.
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddGroup(
		&cobra.Group{ID: groupRun, Title: "Run incidentflow:"},
		&cobra.Group{ID: groupIncidents, Title: "Incidents:"},
		&cobra.Group{ID: groupOnCall, Title: "On call:"},
	)
	root.AddCommand(
		newDevCmd(), newWorkerCmd(), newServeCmd(),
		newDeclareCmd(), newPageCmd(), newMajorCmd(), newRoleCmd(),
	)
	for _, a := range incidentActions {
		root.AddCommand(newActionCmd(a))
	}
	root.AddCommand(
		newListCmd(), newShowCmd(), newPostmortemCmd(), newBreachCmd(),
		newOncallCmd(), newMaintenanceCmd(), newHeartbeatsCmd(), newShadowCmd(),
		newConfigCmd(), newVersionCmd(), newImportCmd(),
	)
	root.AddCommand(newReportCmd())
	root.AddCommand(newMergeCmd(), newLinkCmd(), newUnlinkCmd())
	root.AddCommand(newRunbookCmd())
	return root
}

// usageError is a command line that was not understood (exit 2), as
// opposed to a command that ran and failed (exit 1).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

// argsNamed wants exactly the named positional arguments, and says which
// are missing by name rather than by count.
func argsNamed(names ...string) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		switch {
		case len(args) < len(names):
			return usagef("missing %s", strings.Join(names[len(args):], " "))
		case len(args) > len(names):
			return usagef("unexpected argument %q", args[len(names)])
		}
		return nil
	}
}

func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		if cmd.HasSubCommands() {
			return usagef("unknown command %q for %q", args[0], cmd.CommandPath())
		}
		return usagef("unexpected argument %q", args[0])
	}
	return nil
}

// conn holds the flags every command that reads the config shares, and
// the Temporal ones of the commands that connect.
type conn struct {
	configPath string
	address    string
	namespace  string
}

func (c *conn) addConfigFlag(cmd *cobra.Command, usage string) {
	cmd.Flags().StringVar(&c.configPath, "config", "", usage)
	_ = cmd.MarkFlagFilename("config", "yaml", "yml")
}

func (c *conn) addTemporalFlags(cmd *cobra.Command) {
	cmd.Flags().StringVar(&c.address, "address", "", "Temporal frontend host:port (overrides TEMPORAL_ADDRESS, the temporal.toml profile and temporal.address)")
	cmd.Flags().StringVar(&c.namespace, "namespace", "", "Temporal namespace (overrides TEMPORAL_NAMESPACE, the profile and temporal.namespace)")
}

// output is the --output flag of every read command.
type output string

const (
	outputTable output = "table"
	outputJSON  output = "json"
)

func (o *output) String() string { return string(*o) }
func (o *output) Type() string   { return "table|json" }
func (o *output) Set(v string) error {
	switch output(v) {
	case outputTable, outputJSON:
		*o = output(v)
		return nil
	}
	return fmt.Errorf("%q is not table or json", v)
}

func addOutputFlag(cmd *cobra.Command) *output {
	o := outputTable
	cmd.Flags().VarP(&o, "output", "o", "print a table or JSON")
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{"table", "json"}, cobra.ShellCompDirectiveNoFileComp))
	return &o
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func newTable(w io.Writer) *tabwriter.Writer { return tabwriter.NewWriter(w, 0, 4, 2, ' ', 0) }

// EnvUser names the configured user the CLI acts as when --by is not given.
const EnvUser = "INCIDENTFLOW_USER"

// addByFlag binds --by; the default is resolved against the config by
// actingUser, so help shows where it comes from instead of a guess.
func addByFlag(cmd *cobra.Command, by *string) {
	cmd.Flags().StringVar(by, "by", "", "configured user acting (default: "+EnvUser+", else $USER when that is a configured user)")
}

// actingUser answers who acts: --by, else INCIDENTFLOW_USER, else $USER,
// each only if it is a configured user. Taking an unconfigured $USER
// silently would put a stranger's name on the timeline, or fail later
// with a message that never mentions --by.
func actingUser(cfg *config.Config, by string, byGiven bool) (string, error) {
	known := func(name string) bool { _, ok := cfg.Users[name]; return ok }
	switch {
	case byGiven:
		if !known(by) {
			return "", fmt.Errorf("--by: %q is not a configured user (%s)", by, userList(cfg))
		}
		return by, nil
	case os.Getenv(EnvUser) != "":
		u := os.Getenv(EnvUser)
		if !known(u) {
			return "", fmt.Errorf("%s=%s is not a configured user; pass --by NAME (%s)", EnvUser, u, userList(cfg))
		}
		return u, nil
	case known(os.Getenv("USER")):
		return os.Getenv("USER"), nil
	}
	who := "$USER is not set"
	if u := os.Getenv("USER"); u != "" {
		who = fmt.Sprintf("$USER (%s) is not a configured user", u)
	}
	return "", fmt.Errorf("--by: who is acting? %s; pass --by NAME or set %s (%s)", who, EnvUser, userList(cfg))
}

// userList names at most ten configured users: enough to spot the right
// one without flooding the terminal for a big organisation.
func userList(cfg *config.Config) string {
	names := make([]string, 0, len(cfg.Users))
	for n := range cfg.Users {
		names = append(names, n)
	}
	if len(names) == 0 {
		return "no users are configured"
	}
	slices.Sort(names)
	const most = 10
	if len(names) > most {
		return fmt.Sprintf("configured users: %s and %d more", strings.Join(names[:most], ", "), len(names)-most)
	}
	return "configured users: " + strings.Join(names, ", ")
}

// completeFromConfig completes a flag from the config the command line
// names (or the environment's, or the demo's); completion must never fail
// loudly, so a config that does not load completes nothing.
func completeFromConfig(names func(*config.Config) []string) cobra.CompletionFunc {
	return func(cmd *cobra.Command, _ []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
		path, _ := cmd.Flags().GetString("config")
		cfg, _, err := loadConfig(path, true)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		out := names(cfg)
		slices.Sort(out)
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

func keysOf[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

type versionInfo struct {
	Module   string `json:"module"`
	Version  string `json:"version"`
	Revision string `json:"revision,omitempty"`
	Time     string `json:"time,omitempty"`
	Modified bool   `json:"modified,omitempty"`
	Go       string `json:"go"`
	Platform string `json:"platform"`
}

func buildVersion() versionInfo {
	v := versionInfo{Module: "github.com/incidentflow/incidentflow", Version: "(devel)", Go: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return v
	}
	if bi.Main.Version != "" {
		v.Version = bi.Main.Version
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			v.Revision = s.Value
		case "vcs.time":
			v.Time = s.Value
		case "vcs.modified":
			v.Modified = s.Value == "true"
		}
	}
	return v
}

func newVersionCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version, VCS revision and Go version",
		Args:  noArgs,
	}
	out := addOutputFlag(cmd)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		v := buildVersion()
		w := cmd.OutOrStdout()
		if *out == outputJSON {
			return writeJSON(w, v)
		}
		fmt.Fprintf(w, "incidentflow %s\n", v.Version)
		if v.Revision != "" {
			rev := v.Revision
			if v.Modified {
				rev += " (modified)"
			}
			fmt.Fprintf(w, "revision     %s %s\n", rev, v.Time)
		}
		fmt.Fprintf(w, "go           %s %s\n", v.Go, v.Platform)
		return nil
	}
	return cmd
}
