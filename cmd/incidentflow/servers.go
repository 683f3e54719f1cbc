package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"

	"github.com/incidentflow/incidentflow/config"
	"github.com/incidentflow/incidentflow/devserver"
	"github.com/incidentflow/incidentflow/metrics"
	"github.com/incidentflow/incidentflow/starter"
	"github.com/incidentflow/incidentflow/worker"
	"github.com/incidentflow/incidentflow/workflows"
)

func newDevCmd() *cobra.Command {
	var (
		c            conn
		db, httpAddr string
		temporalPort int
		uiPort       int
	)
	cmd := &cobra.Command{
		Use:     "dev",
		Short:   "Run everything in one process: embedded Temporal server and UI, worker, HTTP intake",
		GroupID: groupRun,
		Long: `Run an embedded Temporal server (on a SQLite file), the Temporal UI, a worker
and the HTTP intake in one process, with the search attributes registered.
Without --config (or INCIDENTFLOW_CONFIG) it runs the built-in demo config.
It prints where each part listens, and the TEMPORAL_ADDRESS line the other
commands need in another shell.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDev(cmd.Context(), devOptions{configPath: c.configPath, db: db, httpAddr: httpAddr, temporalPort: temporalPort, uiPort: uiPort}, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	c.addConfigFlag(cmd, "config file (default: INCIDENTFLOW_CONFIG, else the built-in demo)")
	cmd.Flags().StringVar(&db, "db", "./incidentflow-dev.db", "SQLite file for Temporal; :memory: keeps nothing")
	cmd.Flags().StringVar(&httpAddr, "http", "127.0.0.1:8080", "HTTP intake address")
	cmd.Flags().IntVar(&temporalPort, "temporal-port", 7233, "Temporal frontend port")
	cmd.Flags().IntVar(&uiPort, "ui-port", 8233, "Temporal UI port (0: no UI)")
	return cmd
}

type devOptions struct {
	configPath, db, httpAddr string
	temporalPort, uiPort     int
}

func runDev(ctx context.Context, o devOptions, stdout, stderr io.Writer) error {
	cfg, source, err := loadConfig(o.configPath, true)
	if err != nil {
		return err
	}
	logger := newLogger(stderr)
	for _, port := range []int{o.temporalPort, o.uiPort} {
		if port == 0 {
			continue
		}
		if err := portFree(port); err != nil {
			return err
		}
	}
	httpListener, err := net.Listen("tcp", o.httpAddr)
	if err != nil {
		return fmt.Errorf("--http %s: %w", o.httpAddr, err)
	}
	srv, err := devserver.Start(ctx, devserver.Options{
		IP: "127.0.0.1", Port: o.temporalPort, UIPort: o.uiPort, DBFile: o.db,
		Namespace: cfg.Temporal.Namespace, SearchAttributes: workflows.SearchAttributeNames(),
		Logger: logger, LogLevel: slog.LevelError,
	})
	if err != nil {
		httpListener.Close()
		return err
	}
	defer srv.Stop()

	opts := client.Options{HostPort: srv.FrontendAddress(), Namespace: srv.Namespace(), Logger: sdklog.NewStructuredLogger(slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))}
	starter.Instrument(&opts)
	starter.KnownNames(cfg)
	c, err := client.DialContext(ctx, opts)
	if err != nil {
		return fmt.Errorf("connect to embedded temporal: %w", err)
	}
	defer c.Close()
	sc := newSlackClient(cfg, logger)
	gc, err := newGitHubClient(cfg, logger)
	if err != nil {
		return err
	}
	w := worker.New(c, cfg.Temporal.TaskQueue, newActivities(cfg, sc, gc, logger, stdout, true))
	if err := w.Start(); err != nil {
		return fmt.Errorf("start worker: %w", err)
	}
	defer w.Stop()

	dbText := o.db
	if dbText == ":memory:" || dbText == "" {
		dbText = "in memory (nothing survives a restart)"
	}
	fmt.Fprintf(stdout, "incidentflow dev (%s)\n", source)
	fmt.Fprintf(stdout, "  %-16s %s  namespace %s, task queue %s\n", "Temporal server", srv.FrontendAddress(), srv.Namespace(), cfg.Temporal.TaskQueue)
	fmt.Fprintf(stdout, "  %-16s %s\n", "Temporal data", dbText)
	if ui := srv.UIAddress(); ui != "" {
		fmt.Fprintf(stdout, "  %-16s %s/namespaces/%s/workflows\n", "Temporal UI", ui, srv.Namespace())
	}
	fmt.Fprintf(stdout, "  %-16s http://%s  (POST /v1/alerts/alertmanager, GET /v1/incidents)\n", "HTTP intake", httpListener.Addr())
	// The other commands dial 7233 unless told: say how, for any port.
	fmt.Fprintf(stdout, "In another shell, for the CLI:\n  export TEMPORAL_ADDRESS=%s\n", srv.FrontendAddress())
	if srv.Namespace() != "default" {
		fmt.Fprintf(stdout, "  export TEMPORAL_NAMESPACE=%s\n", srv.Namespace())
	}
	if o.configPath != "" {
		fmt.Fprintf(stdout, "  export %s=%s\n", config.EnvConfigFile, o.configPath)
	}
	if source == demoSource {
		fmt.Fprintf(stdout, "API tokens of the demo users (dev only): demo-alice, demo-bob, demo-carol; Opsgenie key demo-opsgenie\n")
	}
	fmt.Fprintf(stdout, "Pages are printed below. Ctrl-C stops.\n")

	return serveHTTP(ctx, httpListener, newIntake(c, cfg, sc, logger, demoGetenv(source)), logger)
}

// connect does what worker and serve share: config, logger, client.
func connect(ctx context.Context, c conn, stderr io.Writer) (*config.Config, *slog.Logger, client.Client, temporalTarget, error) {
	cfg, source, err := loadConfig(c.configPath, false)
	if err != nil {
		return nil, nil, nil, temporalTarget{}, err
	}
	logger := newLogger(stderr)
	t, err := temporalOptions(cfg, source, c, logger)
	if err != nil {
		return nil, nil, nil, t, err
	}
	// Both of its callers (worker, serve) export metrics.
	starter.Instrument(&t.opts)
	starter.KnownNames(cfg)
	cl, err := dial(ctx, t)
	if err != nil {
		return nil, nil, nil, t, err
	}
	return cfg, logger, cl, t, nil
}

func newWorkerCmd() *cobra.Command {
	var (
		c             conn
		metricsListen string
	)
	cmd := &cobra.Command{
		Use:     "worker",
		Short:   "Run a worker against a Temporal cluster",
		GroupID: groupRun,
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runWorker(cmd.Context(), c, metricsListen, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	c.addConfigFlag(cmd, "config file (default: INCIDENTFLOW_CONFIG)")
	c.addTemporalFlags(cmd)
	cmd.Flags().StringVar(&metricsListen, "metrics-listen", "", "serve Prometheus GET /metrics on this address, e.g. 127.0.0.1:9464 (default: off)")
	return cmd
}

func newServeCmd() *cobra.Command {
	var c conn
	cmd := &cobra.Command{
		Use:     "serve",
		Short:   "Run the HTTP intake against a Temporal cluster",
		GroupID: groupRun,
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runServe(cmd.Context(), c, cmd.ErrOrStderr())
		},
	}
	c.addConfigFlag(cmd, "config file (default: INCIDENTFLOW_CONFIG)")
	c.addTemporalFlags(cmd)
	return cmd
}

func runWorker(ctx context.Context, cn conn, metricsListen string, console, stderr io.Writer) error {
	cfg, logger, c, t, err := connect(ctx, cn, stderr)
	if err != nil {
		return err
	}
	defer c.Close()
	if metricsListen != "" {
		// Pages are sent here, by the activities, so their metrics are
		// this process's to serve; serve's /metrics cannot see them.
		l, err := net.Listen("tcp", metricsListen)
		if err != nil {
			return fmt.Errorf("--metrics-listen %s: %w", metricsListen, err)
		}
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", metrics.Handler())
		go func() {
			if err := serveHTTP(ctx, l, mux, logger); err != nil {
				logger.Error("metrics listener stopped", "error", err)
			}
		}()
		logger.Info("serving metrics", "http", l.Addr().String()+"/metrics")
	}
	gc, err := newGitHubClient(cfg, logger)
	if err != nil {
		return err
	}
	w := worker.New(c, cfg.Temporal.TaskQueue, newActivities(cfg, newSlackClient(cfg, logger), gc, logger, console, false))
	if err := w.Start(); err != nil {
		return fmt.Errorf("start worker against %s: %w\n%s", t.where(), err, addressHint)
	}
	defer w.Stop()
	logger.Info("worker started", "task_queue", cfg.Temporal.TaskQueue, "namespace", t.opts.Namespace, "temporal", t.where())
	<-ctx.Done()
	return nil
}

func runServe(ctx context.Context, cn conn, stderr io.Writer) error {
	cfg, logger, c, t, err := connect(ctx, cn, stderr)
	if err != nil {
		return err
	}
	defer c.Close()
	l, err := net.Listen("tcp", cfg.HTTP.Listen)
	if err != nil {
		return fmt.Errorf("http.listen %s: %w", cfg.HTTP.Listen, err)
	}
	logger.Info("serving", "http", l.Addr().String(), "temporal", t.where())
	return serveHTTP(ctx, l, newIntake(c, cfg, newSlackClient(cfg, logger), logger, os.Getenv), logger)
}

// dial connects lazily so `serve` starts (and answers 503) while Temporal is down.
func dial(_ context.Context, t temporalTarget) (client.Client, error) {
	c, err := client.NewLazyClient(t.opts)
	if err != nil {
		return nil, fmt.Errorf("temporal client for %s: %w\n%s", t.where(), err, addressHint)
	}
	return c, nil
}

func serveHTTP(ctx context.Context, l net.Listener, h http.Handler, logger *slog.Logger) error {
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(l) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := hs.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func portFree(port int) error {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return fmt.Errorf("port %d is not free: %w", port, err)
	}
	return l.Close()
}
