package activities

import (
	"context"
	"errors"
	"strings"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/incidentflow/incidentflow/config"
	"github.com/incidentflow/incidentflow/incident"
	"github.com/incidentflow/incidentflow/metrics"
)

// pageTry is one page's delivery as metrics see it: the channel it was
// meant for, and the notifier tried last when the person's first channel
// that reaches them is used, so a failure is counted against the channel
// that failed.
type pageTry struct {
	planned string
	tried   string
	// exercise: a game day's page, which the figures must not include.
	exercise bool
}

type pageTryKey struct{}

// startPage begins counting a page for escalation step: the step is
// counted once per page, on its first attempt, not on Temporal's retries.
// An exercise's page is not counted at all: a game day would otherwise
// show up as paging load and delivery failures in the real figures.
func startPage(ctx context.Context, step int, planned string, exercise bool) (context.Context, *pageTry) {
	if !exercise && (!activity.IsActivity(ctx) || activity.GetInfo(ctx).Attempt <= 1) {
		metrics.Escalation(step)
	}
	p := &pageTry{planned: planned, exercise: exercise}
	return context.WithValue(ctx, pageTryKey{}, p), p
}

// tried notes the notifier a page is handed to.
func tried(ctx context.Context, notifier string) {
	if p, ok := ctx.Value(pageTryKey{}).(*pageTry); ok {
		p.tried = notifier
	}
}

// count counts the attempt's outcome. An attempt cancelled by the ack is
// neither delivered nor failed, and is not counted.
func (p *pageTry) count(res incident.PageResult, err error) {
	if p.exercise {
		return
	}
	if err == nil {
		metrics.Page(res.Channel, metrics.Delivered)
		return
	}
	if errors.Is(err, context.Canceled) {
		return
	}
	channel := p.tried
	if channel == "" {
		channel = p.planned
	}
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) && appErr.NonRetryable() {
		metrics.Page(channel, metrics.Refused)
		return
	}
	metrics.Page(channel, metrics.Failed)
}

// plannedChannel is the channel a target or notification method names;
// "" when it is the person's first channel that reaches them.
func plannedChannel(targetOrVia string) string {
	kind, _, _ := strings.Cut(targetOrVia, ":")
	switch kind {
	case config.TargetSlackChannel:
		return "slack"
	case config.TargetUser, config.TargetSchedule:
		return ""
	}
	return kind
}
