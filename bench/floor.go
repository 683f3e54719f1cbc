package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/workflow"
)

// The raw Temporal floor every scenario runs beside itself: a trivial
// workflow started by SignalWithStart that runs one activity (its "page",
// delivered to the same kind of receiver as the incident's) and holds a
// timer, optionally paging once more when a second timer fires. It takes
// any number of signals (the storm floor) and stops on "stop".

const (
	floorWorkflowName = "BenchFloor"
	floorPageName     = "BenchFloorPage"
	floorSignal       = "alerts"
	floorStop         = "stop"
	// floorSignalsPerRun matches the incident's hand-over to a new run
	// after 5,000 signals (Temporal refuses signals past its limit).
	floorSignalsPerRun = 5000
)

type floorInput struct {
	// Page is where the activity delivers: an HTTP URL (a Slack-speaking
	// server's chat.postMessage), or the process's recorder when URL is "".
	URL, Token, Channel string
	// FireAt, when set, is when the second page is due.
	FireAt time.Time
	// Hold is how long the workflow stays open with its timer armed.
	Hold time.Duration
	// Continued: a later run after continue-as-new; it pages nothing.
	Continued bool
}

type floorPageRequest struct {
	URL, Token, Channel string
	ID                  string
	Step                int
}

func floorWorkflow(ctx workflow.Context, in floorInput) error {
	id := workflow.GetInfo(ctx).WorkflowExecution.ID
	if !in.Continued {
		workflow.Go(ctx, func(g workflow.Context) {
			actx := workflow.WithActivityOptions(g, workflow.ActivityOptions{StartToCloseTimeout: 30 * time.Second})
			req := floorPageRequest{URL: in.URL, Token: in.Token, Channel: in.Channel, ID: id, Step: 1}
			if err := workflow.ExecuteActivity(actx, floorPageName, req).Get(g, nil); err != nil {
				return
			}
			if in.FireAt.IsZero() {
				return
			}
			if wait := in.FireAt.Sub(workflow.Now(g)); wait > 0 {
				if err := workflow.NewTimer(g, wait).Get(g, nil); err != nil {
					return
				}
			}
			req.Step = 2
			_ = workflow.ExecuteActivity(actx, floorPageName, req).Get(g, nil)
		})
	}
	hold := in.Hold
	if hold <= 0 {
		hold = time.Hour
	}
	timer := workflow.NewTimer(ctx, hold)
	alerts := workflow.GetSignalChannel(ctx, floorSignal)
	stop := workflow.GetSignalChannel(ctx, floorStop)
	n := 0
	for done := false; !done; {
		sel := workflow.NewSelector(ctx)
		sel.AddReceive(alerts, func(c workflow.ReceiveChannel, _ bool) {
			var b json.RawMessage
			c.Receive(ctx, &b)
			n++
		})
		sel.AddReceive(stop, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, nil); done = true })
		sel.AddFuture(timer, func(workflow.Future) { done = true })
		sel.Select(ctx)
		if !done && (n >= floorSignalsPerRun || workflow.GetInfo(ctx).GetContinueAsNewSuggested()) {
			for {
				var b json.RawMessage
				if !alerts.ReceiveAsync(&b) {
					break
				}
			}
			in.Continued = true
			return workflow.NewContinueAsNewError(ctx, floorWorkflowName, in)
		}
	}
	return nil
}

// floorActivities delivers the floor's pages.
type floorActivities struct {
	rec   *pageRecorder
	httpc *http.Client
}

// Page posts to a Slack-speaking server as chat.postMessage does (form,
// bearer token, ok:true expected), or notes the page in the recorder.
func (f *floorActivities) Page(ctx context.Context, r floorPageRequest) error {
	if r.URL == "" {
		if f.rec != nil {
			f.rec.note(r.ID, r.Step, time.Now())
		}
		return nil
	}
	form := url.Values{"channel": {r.Channel}, "text": {fmt.Sprintf("page %s step %d", r.ID, r.Step)}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.URL, strings.NewReader(form.Encode()))
	if err != nil {
		return fmt.Errorf("floor page request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Bearer "+r.Token)
	c := f.httpc
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("floor page post: %w", err)
	}
	defer resp.Body.Close()
	var ans struct {
		OK    bool   `json:"ok"`
		Error string `json:"error"`
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if err := json.Unmarshal(body, &ans); err != nil || !ans.OK {
		return fmt.Errorf("floor page answered %d %s", resp.StatusCode, body)
	}
	return nil
}

// Post is the history floor's activity: nothing but its own events.
func (f *floorActivities) Post(context.Context, string) error { return nil }

func activityOptions(name string) activity.RegisterOptions {
	return activity.RegisterOptions{Name: name}
}

// startFloor is the floor's SignalWithStart: the same call the intake
// makes for a new incident, to the trivial workflow.
func (s *stack) startFloor(ctx context.Context, id string, in floorInput) error {
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	_, err := s.c.SignalWithStartWorkflow(cctx, id, floorSignal, map[string]string{"key": id},
		client.StartWorkflowOptions{ID: id, TaskQueue: s.floorQueue, WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE},
		floorWorkflowName, in)
	if err != nil {
		return fmt.Errorf("floor SignalWithStart %s: %w", id, err)
	}
	return nil
}

// stopFloors ends floor workflows so they hold nothing (cache, timers)
// during what is measured next.
func (s *stack) stopFloors(ctx context.Context, ids []string) {
	fanOut(16, len(ids), func(i int) {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		_ = s.c.SignalWorkflow(cctx, ids[i], "", floorStop, nil)
	})
}

// fanOut runs each(0..total-1) on workers goroutines, each taking the
// next number when done with its last (closed-loop senders).
func fanOut(workers, total int, each func(n int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for g := 0; g < workers; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := int(next.Add(1)) - 1; n < total; n = int(next.Add(1)) - 1 {
				each(n)
			}
		}()
	}
	wg.Wait()
}
