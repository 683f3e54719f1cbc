package activities

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-github/v60/github"
	"go.temporal.io/sdk/temporal"
)

// GitHub opens and tracks issues (post-mortems, action items) through the
// real go-github client, built once with the token and github.api_url.
type GitHub struct {
	Client *github.Client
}

// IssueRequest opens one issue. Marker, hidden in the body, makes the call
// idempotent: an issue carrying it is returned instead of opening another.
// Labels must include one naming the incident: it narrows the lookup to a
// consistent list call (GitHub's search index lags by seconds to minutes).
type IssueRequest struct {
	Repo   string   `json:"repo"`
	Title  string   `json:"title"`
	Body   string   `json:"body"`
	Labels []string `json:"labels"`
	Marker string   `json:"marker"`
}

// Issue is what the workflow keeps of an issue.
type Issue struct {
	Number int    `json:"number"`
	URL    string `json:"url"`
	State  string `json:"state"`
}

func markerComment(marker string) string { return "<!-- incidentflow:" + marker + " -->" }

// OpenIssue returns the issue carrying req.Marker, opening it if there is none.
func (g *GitHub) OpenIssue(ctx context.Context, req IssueRequest) (Issue, error) {
	owner, repo, ok := strings.Cut(req.Repo, "/")
	if !ok || req.Marker == "" || len(req.Labels) == 0 {
		return Issue{}, temporal.NewNonRetryableApplicationError(fmt.Sprintf("issue request for %q needs owner/repo, a marker and a label", req.Repo), "BadIssueRequest", nil)
	}
	existing, err := g.findByMarker(ctx, owner, repo, req.Labels[0], req.Marker)
	if err != nil {
		return Issue{}, classifyGitHub(fmt.Sprintf("look for %s in %s", req.Marker, req.Repo), err)
	}
	if existing != nil {
		return *existing, nil
	}
	labels := append([]string(nil), req.Labels...)
	created, _, err := g.Client.Issues.Create(ctx, owner, repo, &github.IssueRequest{
		Title:  github.String(req.Title),
		Body:   github.String(req.Body + "\n\n" + markerComment(req.Marker)),
		Labels: &labels,
	})
	if err != nil {
		return Issue{}, classifyGitHub(fmt.Sprintf("create issue %q in %s", req.Title, req.Repo), err)
	}
	return toIssue(created), nil
}

func (g *GitHub) findByMarker(ctx context.Context, owner, repo, label, marker string) (*Issue, error) {
	opts := &github.IssueListByRepoOptions{State: "all", Labels: []string{label}, ListOptions: github.ListOptions{PerPage: 100}}
	for {
		issues, resp, err := g.Client.Issues.ListByRepo(ctx, owner, repo, opts)
		if err != nil {
			return nil, err
		}
		for _, is := range issues {
			if strings.Contains(is.GetBody(), markerComment(marker)) {
				found := toIssue(is)
				return &found, nil
			}
		}
		if resp.NextPage == 0 {
			return nil, nil
		}
		opts.Page = resp.NextPage
	}
}

// IssueState reads an issue's state (open or closed), for tracking.
func (g *GitHub) IssueState(ctx context.Context, repoName string, number int) (Issue, error) {
	owner, repo, _ := strings.Cut(repoName, "/")
	is, _, err := g.Client.Issues.Get(ctx, owner, repo, number)
	if err != nil {
		return Issue{}, classifyGitHub(fmt.Sprintf("read %s#%d", repoName, number), err)
	}
	return toIssue(is), nil
}

func toIssue(is *github.Issue) Issue {
	return Issue{Number: is.GetNumber(), URL: is.GetHTMLURL(), State: is.GetState()}
}

// classifyGitHub maps GitHub's answers onto Temporal retry semantics: rate
// limits wait as long as GitHub says, a missing repo or bad credentials
// stop at once, anything else retries with backoff.
func classifyGitHub(op string, err error) error {
	var abuse *github.AbuseRateLimitError
	if errors.As(err, &abuse) {
		wait := time.Minute
		if abuse.RetryAfter != nil {
			wait = *abuse.RetryAfter
		}
		return rateLimited(op, "secondary rate limit", wait, err)
	}
	var rl *github.RateLimitError
	if errors.As(err, &rl) {
		wait := time.Until(rl.Rate.Reset.Time)
		if wait < time.Second {
			wait = time.Second
		}
		return rateLimited(op, "rate limit exhausted", wait, err)
	}
	var er *github.ErrorResponse
	if errors.As(err, &er) && er.Response != nil {
		switch er.Response.StatusCode {
		case http.StatusTooManyRequests:
			wait := time.Minute
			if s, err := strconv.Atoi(er.Response.Header.Get("Retry-After")); err == nil {
				wait = time.Duration(s) * time.Second
			}
			return rateLimited(op, "429", wait, err)
		case http.StatusNotFound, http.StatusUnauthorized, http.StatusForbidden, http.StatusGone, http.StatusUnprocessableEntity:
			return temporal.NewNonRetryableApplicationError(fmt.Sprintf("%s: GitHub answered %d: %s", op, er.Response.StatusCode, er.Message), "GitHubPermanent", err)
		}
	}
	return fmt.Errorf("%s: %w", op, err)
}

func rateLimited(op, what string, wait time.Duration, cause error) error {
	return temporal.NewApplicationErrorWithOptions(fmt.Sprintf("%s: GitHub %s, retry in %s", op, what, wait), "GitHubRateLimited",
		temporal.ApplicationErrorOptions{NextRetryDelay: wait, Cause: cause})
}
