package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/incidentflow/incidentflow/importer"
)

// newImportCmd is `import opsgenie|pagerduty`: an incidentflow config and a
// report of what did not map, from an export directory or the live API.
func newImportCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "import",
		Short: "Make a config from an Opsgenie or PagerDuty account (export directory or live API)",
		Args:  noArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(
		newImportSourceCmd("opsgenie", "Opsgenie", "https://api.opsgenie.com", importer.OpsgenieFiles, importer.Opsgenie),
		newImportSourceCmd("pagerduty", "PagerDuty", "https://api.pagerduty.com", importer.PagerDutyFiles, importer.PagerDuty),
	)
	return cmd
}

func newImportSourceCmd(use, title, apiURL string, files [][2]string, run func(context.Context, importer.Options) (*importer.Result, error)) *cobra.Command {
	var from, api, keyEnv, out, reportPath string
	var listing strings.Builder
	for _, f := range files {
		fmt.Fprintf(&listing, "  %-52s %s\n", f[0], f[1])
	}
	cmd := &cobra.Command{
		Use:   use + " (--from DIR | --api-url URL --api-key-env VAR)",
		Short: "Import users, schedules, escalations and services from " + title,
		Long: "Read " + title + "'s REST API answers, saved as files in --from DIR or fetched live from --api-url\n" +
			"(" + apiURL + ", paginated) with the key in the variable --api-key-env names, and write an\n" +
			"incidentflow config (--out, default stdout) and a Markdown report of everything that could not be\n" +
			"mapped exactly (--report, default stderr). The config is checked as `config validate` checks it.\n\n" +
			"Files in DIR, each the answer of the call beside it (a list's pages in one answer):\n" + listing.String(),
		Args: noArgs,
	}
	cmd.Flags().StringVar(&from, "from", "", "directory of saved API answers")
	cmd.Flags().StringVar(&api, "api-url", "", "fetch live from this API base URL (e.g. "+apiURL+")")
	cmd.Flags().StringVar(&keyEnv, "api-key-env", "", "environment variable holding the API key (with --api-url)")
	cmd.Flags().StringVar(&out, "out", "", "write the config here (default: stdout)")
	cmd.Flags().StringVar(&reportPath, "report", "", "write the Markdown report here (default: stderr)")
	_ = cmd.MarkFlagDirname("from")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		opts := importer.Options{Dir: from, APIURL: api, Now: time.Now()}
		switch {
		case from != "" && api != "":
			return usagef("--from and --api-url: give one")
		case from == "" && api == "":
			return usagef("--from DIR or --api-url URL is required")
		case api != "":
			if keyEnv == "" {
				return usagef("--api-url needs --api-key-env VAR, the variable holding the API key")
			}
			opts.APIKey = os.Getenv(keyEnv)
			if opts.APIKey == "" {
				return fmt.Errorf("--api-key-env: %s is not set", keyEnv)
			}
		default:
			if st, err := os.Stat(from); err != nil || !st.IsDir() {
				return fmt.Errorf("--from: %s is not a directory", from)
			}
		}
		res, err := run(cmd.Context(), opts)
		if err != nil {
			return err
		}
		if err := writeOut(out, res.Config, cmd.OutOrStdout().Write); err != nil {
			return err
		}
		return writeOut(reportPath, res.Report, cmd.ErrOrStderr().Write)
	}
	return cmd
}

func writeOut(path string, b []byte, std func([]byte) (int, error)) error {
	if path == "" {
		_, err := std(b)
		return err
	}
	return os.WriteFile(path, b, 0o644)
}
