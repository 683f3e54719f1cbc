package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/google/go-github/v60/github"
	"github.com/slack-go/slack"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/contrib/envconfig"
	sdklog "go.temporal.io/sdk/log"

	"github.com/incidentflow/incidentflow/activities"
	"github.com/incidentflow/incidentflow/config"
	"github.com/incidentflow/incidentflow/notify/email"
	"github.com/incidentflow/incidentflow/notify/twilio"
	"github.com/incidentflow/incidentflow/starter"
)

func newLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// demoSource is what loadConfig calls the built-in demo config.
const demoSource = "built-in demo config"

// loadConfig reads --config, else INCIDENTFLOW_CONFIG; demo says whether
// the built-in demo config may stand in when neither is given.
func loadConfig(path string, demo bool) (*config.Config, string, error) {
	if path == "" {
		path = os.Getenv(config.EnvConfigFile)
	}
	if path == "" {
		if !demo {
			return nil, "", fmt.Errorf("no config: pass --config FILE or set %s", config.EnvConfigFile)
		}
		cfg, err := config.Demo()
		return cfg, demoSource, err
	}
	cfg, err := config.Load(path)
	return cfg, path, err
}

// temporalTarget is where a client connects, and what chose that
// address: a connection error is only useful if it says both.
type temporalTarget struct {
	opts client.Options
	from string
}

// where names the address and its source.
func (t temporalTarget) where() string {
	if t.from == "" {
		return fmt.Sprintf("Temporal at %s (the default address: nothing set another)", t.opts.HostPort)
	}
	return fmt.Sprintf("Temporal at %s (address from %s)", t.opts.HostPort, t.from)
}

// addressHint follows every connection error.
const addressHint = "set the address with --address HOST:PORT or TEMPORAL_ADDRESS=HOST:PORT (incidentflow dev prints the line to export)"

// temporalOptions layers the connection settings, strongest first: the
// --address and --namespace flags, the standard TEMPORAL_* variables and
// temporal.toml profile (through the SDK's envconfig, as the Temporal CLI
// reads them), then the config file's temporal section.
func temporalOptions(cfg *config.Config, source string, c conn, logger *slog.Logger) (temporalTarget, error) {
	prof, err := envconfig.LoadClientConfigProfile(envconfig.LoadClientConfigProfileOptions{})
	if err != nil {
		return temporalTarget{}, fmt.Errorf("temporal client settings (TEMPORAL_* variables, temporal.toml): %w", err)
	}
	// The profile's own TLS and API key, if any, go with its address; the
	// config file's are a fallback, not an override.
	profileTLS, profileKey := prof.TLS != nil, prof.APIKey != ""
	var t temporalTarget
	switch {
	case c.address != "":
		prof.Address, t.from = c.address, "--address"
	case os.Getenv("TEMPORAL_ADDRESS") != "":
		t.from = "TEMPORAL_ADDRESS"
	case prof.Address != "":
		t.from = "temporal.toml profile " + profileName()
	case cfg.Temporal.Address != "":
		prof.Address, t.from = cfg.Temporal.Address, "temporal.address in "+source
	default:
		prof.Address = client.DefaultHostPort
	}
	// A profile's "default" namespace is what `temporal config` writes when
	// nobody chose one, so it does not override the config file's.
	switch {
	case c.namespace != "":
		prof.Namespace = c.namespace
	case os.Getenv("TEMPORAL_NAMESPACE") == "" && (prof.Namespace == "" || prof.Namespace == "default"):
		prof.Namespace = cfg.Temporal.Namespace
	}
	t.opts, err = prof.ToClientOptions(envconfig.ToClientOptionsRequest{})
	if err != nil {
		return t, fmt.Errorf("temporal client settings (TEMPORAL_* variables, temporal.toml): %w", err)
	}
	tc := cfg.Temporal.TLS
	if !profileTLS && (tc.Enabled || tc.CertFile != "" || tc.CAFile != "") {
		tlsConf := &tls.Config{ServerName: tc.ServerName, MinVersion: tls.VersionTLS12}
		if tc.CertFile != "" {
			cert, err := tls.LoadX509KeyPair(tc.CertFile, tc.KeyFile)
			if err != nil {
				return t, fmt.Errorf("temporal.tls: load client certificate: %w", err)
			}
			tlsConf.Certificates = []tls.Certificate{cert}
		}
		if tc.CAFile != "" {
			pem, err := os.ReadFile(tc.CAFile)
			if err != nil {
				return t, fmt.Errorf("temporal.tls.ca_file: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return t, fmt.Errorf("temporal.tls.ca_file: no certificates in %s", tc.CAFile)
			}
			tlsConf.RootCAs = pool
		}
		t.opts.ConnectionOptions.TLS = tlsConf
	}
	if env := cfg.Temporal.APIKeyEnv; env != "" && !profileKey {
		key := os.Getenv(env)
		if key == "" {
			return t, fmt.Errorf("temporal.api_key_env: %s is empty", env)
		}
		t.opts.Credentials = client.NewAPIKeyStaticCredentials(key)
		if t.opts.ConnectionOptions.TLS == nil {
			t.opts.ConnectionOptions.TLS = &tls.Config{MinVersion: tls.VersionTLS12}
		}
	}
	t.opts.Logger = sdklog.NewStructuredLogger(logger)
	return t, nil
}

func profileName() string {
	name := os.Getenv("TEMPORAL_PROFILE")
	if name == "" {
		name = envconfig.DefaultConfigFileProfile
	}
	file := os.Getenv("TEMPORAL_CONFIG_FILE")
	if file == "" {
		file = envconfig.DefaultConfigFilePath()
	}
	return fmt.Sprintf("%q in %s", name, file)
}

// newSlackClient builds the one slack-go client of the process, or nil
// when no bot token is configured.
func newSlackClient(cfg *config.Config, logger *slog.Logger) *slack.Client {
	env := cfg.Slack.BotTokenEnv
	if env == "" {
		return nil
	}
	token := os.Getenv(env)
	if token == "" {
		logger.Warn("slack bot token variable is empty: Slack is off", "bot_token_env", env)
		return nil
	}
	opts := []slack.Option{slack.OptionHTTPClient(&http.Client{Timeout: 15 * time.Second})}
	if cfg.Slack.APIURL != "" {
		opts = append(opts, slack.OptionAPIURL(cfg.Slack.APIURL))
	}
	return slack.New(token, opts...)
}

// newGitHubClient builds the one go-github client of the process, or nil
// when no token is configured (post-mortems then live in the API only).
func newGitHubClient(cfg *config.Config, logger *slog.Logger) (*github.Client, error) {
	env := cfg.GitHub.TokenEnv
	if env == "" {
		return nil, nil
	}
	token := os.Getenv(env)
	if token == "" {
		logger.Warn("github token variable is empty: post-mortem issues are off", "token_env", env)
		return nil, nil
	}
	c := github.NewClient(&http.Client{Timeout: 30 * time.Second}).WithAuthToken(token)
	if cfg.GitHub.APIURL != "" {
		base, err := url.Parse(cfg.GitHub.APIURL)
		if err != nil {
			return nil, fmt.Errorf("github.api_url: %w", err)
		}
		c.BaseURL = base
	}
	return c, nil
}

// newActivities builds the activity struct with its clients, once. Slack
// is used when configured; the console pages whoever Slack cannot reach
// when alwaysConsole is set (dev), or everyone when nothing else is.
func newActivities(cfg *config.Config, sc *slack.Client, gc *github.Client, logger *slog.Logger, console io.Writer, alwaysConsole bool) *activities.Activities {
	var notifiers []activities.Notifier
	var slackActs *activities.Slack
	if sc != nil {
		slackActs = &activities.Slack{Client: sc}
		notifiers = append(notifiers, slackActs)
	}
	var emailActs *activities.Email
	if cfg.SMTP.Host != "" {
		emailActs = &activities.Email{Sender: &email.Sender{
			Host: cfg.SMTP.Host, Port: cfg.SMTP.Port, From: cfg.SMTP.From, StartTLS: cfg.SMTP.UseStartTLS(),
			Username: envOrEmpty(cfg.SMTP.UsernameEnv), Password: envOrEmpty(cfg.SMTP.PasswordEnv),
		}}
		notifiers = append(notifiers, emailActs)
	}
	if alwaysConsole || len(notifiers) == 0 {
		notifiers = append(notifiers, &activities.Console{Out: console})
	}
	acts := &activities.Activities{Config: cfg, Notifiers: notifiers, Slack: slackActs, Logger: logger,
		Email: emailActs, Webhooks: activities.NewWebhooks(cfg, os.Getenv), Chats: activities.NewChats(cfg, os.Getenv)}
	if t := cfg.Twilio; t.Configured() {
		acts.Twilio = &twilio.Sender{API: twilio.NewAPI(envOrEmpty(t.AccountSIDEnv), envOrEmpty(t.AuthTokenEnv), t.APIURL),
			From: t.From, CallbackURL: t.CallbackURL}
	}
	if gc != nil {
		acts.GitHub = &activities.GitHub{Client: gc}
	}
	return acts
}

// newIntake builds the HTTP intake; Slack users are looked up by email
// when a Slack client exists.
func newIntake(c client.Client, cfg *config.Config, sc *slack.Client, logger *slog.Logger, getenv func(string) string) http.Handler {
	inc := &starter.Incidents{Client: c, Config: cfg, TaskQueue: cfg.Temporal.TaskQueue}
	inc.StartHeartbeats(context.Background(), logger) // heartbeat monitors run from start-up, pinged or not
	inc.StartGauges(context.Background(), logger)     // /metrics reads gauges refreshed here, never Temporal per scrape
	srv := starter.NewServer(inc, logger, getenv)
	if sc != nil {
		srv.SlackUsers = sc
	}
	return srv.Handler()
}

// demoGetenv gives the demo config's API tokens (DEMO_ALICE_TOKEN ...)
// the values the README uses, demo-alice and so on, when their variables
// are unset: `dev` with the demo config only, which listens on 127.0.0.1.
func demoGetenv(source string) func(string) string {
	return func(name string) string {
		if v := os.Getenv(name); v != "" || source != demoSource {
			return v
		}
		if user, ok := strings.CutPrefix(name, "DEMO_"); ok {
			if user, ok := strings.CutSuffix(user, "_TOKEN"); ok {
				return "demo-" + strings.ToLower(user)
			}
		}
		return ""
	}
}

func envOrEmpty(name string) string {
	if name == "" {
		return ""
	}
	return os.Getenv(name)
}
