package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/protobuf/proto"

	"github.com/incidentflow/incidentflow/incident"
	"github.com/incidentflow/incidentflow/starter"
	"github.com/incidentflow/incidentflow/workflows"
)

// A simulated incident-day (bench/historysize's method, by severity): the
// incident is declared, acknowledged, takes the status updates its
// severity asks for in 24 hours (24h / update_every: P1 96, P2 48, P3 12,
// none for a severity without a cadence) as HTTP sends them (the Update,
// then the state query), is resolved, and closes by itself once its
// monitoring window (1 s here) passes. Events and bytes (proto.Size of
// every event) are summed over every run of the incident's workflow ID;
// its post-mortem child is not counted. The floor: a trivial workflow
// taking the same Updates, each answering a tiny struct and running one
// no-op activity, as a status update posts itself.

const (
	historyFloorWorkflowName = "BenchHistoryFloor"
	historyFloorPostName     = "BenchHistoryFloorPost"
	historyFloorUpdate       = "post"
	historyFloorFinish       = "finish"
)

type historyDay struct {
	Severity    string `json:"severity"`
	Updates     int    `json:"updates"`
	Events      int    `json:"events"`
	Bytes       int64  `json:"bytes"`
	Runs        int    `json:"runs"`
	Closed      bool   `json:"closed"`
	FloorEvents int    `json:"floor_events"`
	FloorBytes  int64  `json:"floor_bytes"`
}

func runHistory(ctx context.Context, o *options) ([]figure, any, error) {
	s, err := startStack(ctx, stackOptions{configYAML: configYAML([][]time.Duration{{5 * time.Minute}}, false), notifier: discardNotifier{}, temporal: o.temporal})
	if err != nil {
		return nil, nil, err
	}
	defer s.stop()
	var figs []figure
	var days []historyDay
	for _, sev := range strings.Split(o.historyDays, ",") {
		sev = strings.TrimSpace(sev)
		plan, ok := s.cfg.Severities[sev]
		if !ok {
			return nil, nil, fmt.Errorf("-history-severities: unknown severity %q", sev)
		}
		updates := 0
		if every := time.Duration(plan.UpdateEvery); every > 0 {
			updates = int(24 * time.Hour / every)
		}
		day, err := incidentDay(ctx, s, sev, updates)
		if err != nil {
			return nil, nil, fmt.Errorf("%s day: %w", sev, err)
		}
		// The floor takes two Updates more, standing for the ack and the resolve.
		if day.FloorEvents, day.FloorBytes, err = floorDay(ctx, s, fmt.Sprintf("floor-history-%s-%s", s.run, sev), updates+2); err != nil {
			return nil, nil, fmt.Errorf("%s floor day: %w", sev, err)
		}
		logf("history %s: %d updates: %d events, %d B in %d run(s) (closed %v); floor %d events, %d B",
			sev, updates, day.Events, day.Bytes, day.Runs, day.Closed, day.FloorEvents, day.FloorBytes)
		days = append(days, day)
		name := fmt.Sprintf("%s day (%d updates)", sev, updates)
		ev := fig("history", name+": events", "events", float64(day.Events)).withFloor(float64(day.FloorEvents))
		if !day.Closed {
			ev = ev.note("the incident had not closed 30 s after its resolve; measured as it stood")
		}
		figs = append(figs, ev, fig("history", name+": bytes", "KB", float64(day.Bytes)/1000).withFloor(float64(day.FloorBytes)/1000))
	}
	return figs, days, nil
}

func incidentDay(ctx context.Context, s *stack, sev string, updates int) (historyDay, error) {
	day := historyDay{Severity: sev, Updates: updates}
	id, err := s.inc.Declare(ctx, starter.Declaration{Service: serviceName(0), Severity: sev, Title: "a day of " + sev, By: userName(0)})
	if err != nil {
		return day, fmt.Errorf("declare: %w", err)
	}
	by := workflows.ActionRequest{By: userName(0)}
	if _, err := s.inc.Act(ctx, id, workflows.UpdateAck, by); err != nil {
		return day, fmt.Errorf("ack: %w", err)
	}
	for i := 0; i < updates; i++ {
		u := workflows.StatusUpdate{By: userName(0), Stage: incident.StageIdentified, Message: fmt.Sprintf("update %d", i+1), Impact: "checkout degraded"}
		if _, err := s.inc.Act(ctx, id, workflows.UpdateStatusUpdate, u); err != nil {
			return day, fmt.Errorf("update %d: %w", i+1, err)
		}
	}
	if _, err := s.inc.Act(ctx, id, workflows.UpdateResolve, by); err != nil {
		return day, fmt.Errorf("resolve: %w", err)
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	day.Closed = s.c.GetWorkflow(wctx, id, "").Get(wctx, nil) == nil
	cancel()
	day.Events, day.Bytes, day.Runs, err = historySize(ctx, s.c, id)
	return day, err
}

// historySize sums every run of the workflow ID, following continue-as-new
// back from the last run.
func historySize(ctx context.Context, c client.Client, id string) (events int, bytes int64, runs int, err error) {
	d, err := c.DescribeWorkflowExecution(ctx, id, "")
	if err != nil {
		return 0, 0, 0, fmt.Errorf("describe %s: %w", id, err)
	}
	runID := d.GetWorkflowExecutionInfo().GetExecution().GetRunId()
	for runID != "" {
		var first *historypb.HistoryEvent
		it := c.GetWorkflowHistory(ctx, id, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for it.HasNext() {
			e, err := it.Next()
			if err != nil {
				return 0, 0, 0, fmt.Errorf("history of %s/%s: %w", id, runID, err)
			}
			if first == nil {
				first = e
			}
			events++
			bytes += int64(proto.Size(e))
		}
		runs++
		runID = first.GetWorkflowExecutionStartedEventAttributes().GetContinuedExecutionRunId()
	}
	return events, bytes, runs, nil
}

type historyFloorResult struct {
	Seq int `json:"seq"`
}

// historyFloorWorkflow takes Updates until finish, each answering its
// sequence number and running one activity beside the handler, as a
// status update posts itself.
func historyFloorWorkflow(ctx workflow.Context) (int, error) {
	n, pending, done := 0, 0, false
	err := workflow.SetUpdateHandler(ctx, historyFloorUpdate, func(ctx workflow.Context, _ json.RawMessage) (historyFloorResult, error) {
		n++
		pending++
		actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 30 * time.Second})
		f := workflow.ExecuteActivity(actx, historyFloorPostName, fmt.Sprintf("update %d", n))
		workflow.Go(ctx, func(g workflow.Context) {
			_ = f.Get(g, nil)
			pending--
		})
		return historyFloorResult{Seq: n}, nil
	})
	if err != nil {
		return 0, fmt.Errorf("register update: %w", err)
	}
	if err := workflow.SetQueryHandler(ctx, "seq", func() (int, error) { return n, nil }); err != nil {
		return 0, fmt.Errorf("register query: %w", err)
	}
	if err := workflow.SetUpdateHandler(ctx, historyFloorFinish, func(workflow.Context) error { done = true; return nil }); err != nil {
		return 0, fmt.Errorf("register finish: %w", err)
	}
	if err := workflow.Await(ctx, func() bool { return done && pending == 0 && workflow.AllHandlersFinished(ctx) }); err != nil {
		return 0, err
	}
	return n, nil
}

func floorDay(ctx context.Context, s *stack, id string, updates int) (int, int64, error) {
	run, err := s.c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: s.floorQueue}, historyFloorWorkflowName)
	if err != nil {
		return 0, 0, fmt.Errorf("start: %w", err)
	}
	update := func(name string, args ...any) error {
		h, err := s.c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{WorkflowID: id, UpdateName: name, Args: args, WaitForStage: client.WorkflowUpdateStageCompleted})
		if err != nil {
			return err
		}
		return h.Get(ctx, nil)
	}
	for i := 0; i < updates; i++ {
		u := workflows.StatusUpdate{By: userName(0), Stage: incident.StageIdentified, Message: fmt.Sprintf("update %d", i+1), Impact: "checkout degraded"}
		if err := update(historyFloorUpdate, u); err != nil {
			return 0, 0, fmt.Errorf("update %d: %w", i+1, err)
		}
		if _, err := s.c.QueryWorkflow(ctx, id, "", "seq"); err != nil {
			return 0, 0, fmt.Errorf("query %d: %w", i+1, err)
		}
	}
	if err := update(historyFloorFinish); err != nil {
		return 0, 0, fmt.Errorf("finish: %w", err)
	}
	if err := run.Get(ctx, nil); err != nil {
		return 0, 0, fmt.Errorf("wait for the floor: %w", err)
	}
	ev, b, _, err := historySize(ctx, s.c, id)
	return ev, b, err
}
