// Package inprocess starts the whole system in one process for benchmarks:
// the embedded Temporal server (in memory), a client, a worker whose pages
// go to the given notifier, and the starter's operations.
package inprocess

import (
	"context"
	"fmt"
	"log/slog"

	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/incidentflow/incidentflow/activities"
	"github.com/incidentflow/incidentflow/config"
	"github.com/incidentflow/incidentflow/devserver"
	"github.com/incidentflow/incidentflow/starter"
	"github.com/incidentflow/incidentflow/worker"
	"github.com/incidentflow/incidentflow/workflows"
)

// Stack is a running system; Stop it when done.
type Stack struct {
	Config    *config.Config
	Client    client.Client
	Incidents *starter.Incidents
	Logger    *slog.Logger

	srv    *devserver.Server
	worker sdkworker.Worker
}

// Start parses configYAML and brings everything up.
func Start(ctx context.Context, configYAML string, notifier activities.Notifier) (*Stack, error) {
	cfg, err := config.Parse([]byte(configYAML))
	if err != nil {
		return nil, fmt.Errorf("bench config: %w", err)
	}
	quiet := slog.New(slog.DiscardHandler)
	srv, err := devserver.Start(ctx, devserver.Options{SearchAttributes: workflows.SearchAttributeNames(), Logger: quiet, LogLevel: slog.LevelError})
	if err != nil {
		return nil, err
	}
	c, err := client.Dial(client.Options{HostPort: srv.FrontendAddress(), Logger: sdklog.NewStructuredLogger(quiet)})
	if err != nil {
		srv.Stop()
		return nil, fmt.Errorf("dial embedded temporal: %w", err)
	}
	w := worker.New(c, cfg.Temporal.TaskQueue, &activities.Activities{Config: cfg, Notifiers: []activities.Notifier{notifier}, Logger: quiet})
	if err := w.Start(); err != nil {
		c.Close()
		srv.Stop()
		return nil, fmt.Errorf("start worker: %w", err)
	}
	return &Stack{
		Config: cfg, Client: c, Logger: quiet, srv: srv, worker: w,
		Incidents: &starter.Incidents{Client: c, Config: cfg, TaskQueue: cfg.Temporal.TaskQueue},
	}, nil
}

// Stop stops worker, client and server.
func (s *Stack) Stop() {
	s.worker.Stop()
	s.Client.Close()
	s.srv.Stop()
}
