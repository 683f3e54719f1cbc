package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"

	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"

	"github.com/incidentflow/incidentflow/config"
	"github.com/incidentflow/incidentflow/devserver"
	"github.com/incidentflow/incidentflow/worker"
	"github.com/incidentflow/incidentflow/workflows"
)

func runDev(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("dev", flag.ContinueOnError)
	configPath := fs.String("config", "", "config file (default: INCIDENTFLOW_CONFIG, else the built-in demo)")
	db := fs.String("db", "./incidentflow-dev.db", "SQLite file for Temporal; :memory: keeps nothing")
	httpAddr := fs.String("http", "127.0.0.1:8080", "HTTP intake address")
	temporalPort := fs.Int("temporal-port", 7233, "Temporal frontend port")
	uiPort := fs.Int("ui-port", 8233, "Temporal UI port (0: no UI)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, source, err := loadConfig(*configPath, true)
	if err != nil {
		return err
	}
	logger := newLogger(stderr)
	for _, port := range []int{*temporalPort, *uiPort} {
		if port == 0 {
			continue
		}
		if err := portFree(port); err != nil {
			return err
		}
	}
	httpListener, err := net.Listen("tcp", *httpAddr)
	if err != nil {
		return fmt.Errorf("--http %s: %w", *httpAddr, err)
	}
	srv, err := devserver.Start(ctx, devserver.Options{
		IP: "127.0.0.1", Port: *temporalPort, UIPort: *uiPort, DBFile: *db,
		Namespace: cfg.Temporal.Namespace, SearchAttributes: workflows.SearchAttributeNames(),
		Logger: logger, LogLevel: slog.LevelError,
	})
	if err != nil {
		httpListener.Close()
		return err
	}
	defer srv.Stop()

	c, err := client.DialContext(ctx, client.Options{HostPort: srv.FrontendAddress(), Namespace: srv.Namespace(), Logger: sdklog.NewStructuredLogger(slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))})
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

	dbText := *db
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
	fmt.Fprintf(stdout, "Pages are printed below. Ctrl-C stops.\n")

	return serveHTTP(ctx, httpListener, newIntake(c, cfg, sc, logger), logger)
}

// connect does what worker and serve share: flags, config, logger, client.
func connect(ctx context.Context, name string, args []string, stderr io.Writer) (*config.Config, *slog.Logger, client.Client, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	configPath := fs.String("config", "", "config file (default: INCIDENTFLOW_CONFIG)")
	if err := fs.Parse(args); err != nil {
		return nil, nil, nil, err
	}
	cfg, _, err := loadConfig(*configPath, false)
	if err != nil {
		return nil, nil, nil, err
	}
	logger := newLogger(stderr)
	c, err := dial(ctx, cfg, logger)
	if err != nil {
		return nil, nil, nil, err
	}
	return cfg, logger, c, nil
}

func runWorker(ctx context.Context, args []string, stderr io.Writer) error {
	cfg, logger, c, err := connect(ctx, "worker", args, stderr)
	if err != nil {
		return err
	}
	defer c.Close()
	gc, err := newGitHubClient(cfg, logger)
	if err != nil {
		return err
	}
	w := worker.New(c, cfg.Temporal.TaskQueue, newActivities(cfg, newSlackClient(cfg, logger), gc, logger, os.Stdout, false))
	if err := w.Start(); err != nil {
		return fmt.Errorf("start worker: %w", err)
	}
	defer w.Stop()
	logger.Info("worker started", "task_queue", cfg.Temporal.TaskQueue, "namespace", cfg.Temporal.Namespace)
	<-ctx.Done()
	return nil
}

func runServe(ctx context.Context, args []string, stderr io.Writer) error {
	cfg, logger, c, err := connect(ctx, "serve", args, stderr)
	if err != nil {
		return err
	}
	defer c.Close()
	l, err := net.Listen("tcp", cfg.HTTP.Listen)
	if err != nil {
		return fmt.Errorf("http.listen %s: %w", cfg.HTTP.Listen, err)
	}
	logger.Info("serving", "http", l.Addr().String())
	return serveHTTP(ctx, l, newIntake(c, cfg, newSlackClient(cfg, logger), logger), logger)
}

// dial connects lazily so `serve` starts (and answers 503) while Temporal is down.
func dial(ctx context.Context, cfg *config.Config, logger *slog.Logger) (client.Client, error) {
	opts, err := temporalOptions(cfg, logger)
	if err != nil {
		return nil, err
	}
	c, err := client.NewLazyClient(opts)
	if err != nil {
		return nil, fmt.Errorf("temporal client for %s: %w", opts.HostPort, err)
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
