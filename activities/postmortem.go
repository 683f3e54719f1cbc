package activities

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/google/go-github/v60/github"

	"github.com/incidentflow/incidentflow/config"
	"github.com/incidentflow/incidentflow/incident"
)

// PostmortemPlan reads the post-mortem settings for a service: where its
// issues go, when it is due, how often GitHub is checked.
func (a *Activities) PostmortemPlan(ctx context.Context, req incident.PostmortemPlanRequest) (incident.PostmortemPlan, error) {
	cfg := a.Config
	t := cfg.Timings
	plan := incident.PostmortemPlan{
		Repo:                cfg.GitHub.DefaultRepo,
		GitHub:              a.GitHub != nil,
		Due:                 t.PostmortemDue.D(),
		CheckEvery:          t.PostmortemCheckEvery.D(),
		OverdueEvery:        t.PostmortemOverdueEvery.D(),
		Announce:            cfg.Slack.AnnounceChannelTarget(),
		Channel:             cfg.Slack.AnnounceChannelTarget(),
		ContinueAsNewEvents: cfg.History.ContinueAsNewEvents,
	}
	for _, r := range t.PostmortemReminders {
		plan.Reminders = append(plan.Reminders, r.D())
	}
	for name := range cfg.Users {
		plan.Users = append(plan.Users, name)
	}
	slices.Sort(plan.Users)
	if svc, ok := cfg.Services[req.Service]; ok {
		if svc.GitHubRepo != "" {
			plan.Repo = svc.GitHubRepo
		}
		if svc.SlackChannel != "" {
			plan.Channel = config.TargetSlackChannel + ":" + svc.SlackChannel
		}
	}
	if plan.GitHub && plan.Repo == "" {
		plan.Warning = fmt.Sprintf("service %q has no github_repo and github.default_repo is not set: no GitHub issues", req.Service)
	}
	return plan, nil
}

func (a *Activities) github() (*GitHub, error) {
	if a.GitHub == nil {
		return nil, nonRetryable("GitHubNotConfigured", "github is not configured (github.token_env)")
	}
	return a.GitHub, nil
}

// OpenIssue opens a post-mortem or action-item issue exactly once.
func (a *Activities) OpenIssue(ctx context.Context, req incident.IssueRequest) (incident.GitHubIssue, error) {
	g, err := a.github()
	if err != nil {
		return incident.GitHubIssue{}, err
	}
	is, err := g.OpenIssue(ctx, req)
	if err == nil {
		a.logger().Info("github issue", "repo", req.Repo, "number", is.Number, "marker", req.Marker)
	}
	return is, err
}

// UpdateIssue labels an issue and may close it.
func (a *Activities) UpdateIssue(ctx context.Context, req incident.IssueUpdate) error {
	g, err := a.github()
	if err != nil {
		return err
	}
	return g.UpdateIssue(ctx, req)
}

// SyncIssueSection keeps the action-item links of a post-mortem issue current.
func (a *Activities) SyncIssueSection(ctx context.Context, req incident.SectionUpdate) error {
	g, err := a.github()
	if err != nil {
		return err
	}
	return g.SyncSection(ctx, req)
}

// IssueStates reads the state of each issue; one that cannot be read fails
// the whole call so the check is retried rather than half applied.
func (a *Activities) IssueStates(ctx context.Context, req incident.IssueStatesRequest) ([]incident.GitHubIssue, error) {
	g, err := a.github()
	if err != nil {
		return nil, err
	}
	out := make([]incident.GitHubIssue, 0, len(req.Issues))
	for _, is := range req.Issues {
		got, err := g.IssueState(ctx, is.Repo, is.Number)
		if gone(err) {
			// One deleted or transferred issue must not stop the others
			// from being tracked: it is reported, not failed on.
			is.State = incident.IssueGone
			out = append(out, is)
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, got)
	}
	return out, nil
}

// gone: GitHub says the issue is not there (404) or was deleted (410).
func gone(err error) bool {
	var ghErr *github.ErrorResponse
	return errors.As(err, &ghErr) && ghErr.Response != nil &&
		(ghErr.Response.StatusCode == http.StatusNotFound || ghErr.Response.StatusCode == http.StatusGone)
}
