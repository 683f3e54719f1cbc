package activities

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/go-github/v60/github"
	"go.temporal.io/sdk/temporal"

	"github.com/incidentflow/incidentflow/incident"
)

// GitHub opens and tracks issues (post-mortems, action items) through the
// real go-github client, built once with the token and github.api_url.
type GitHub struct {
	Client *github.Client
	// WriteGap spaces creating and editing requests: GitHub asks for at
	// least a second between them, or answers with its secondary rate limit.
	// Zero means one second; tests set it lower.
	WriteGap time.Duration

	mu        sync.Mutex
	nextWrite time.Time
}

// pace waits for the next free write slot of this process.
func (g *GitHub) pace(ctx context.Context) error {
	gap := g.WriteGap
	if gap <= 0 {
		gap = time.Second
	}
	g.mu.Lock()
	now := time.Now()
	at := g.nextWrite
	if at.Before(now) {
		at = now
	}
	g.nextWrite = at.Add(gap)
	g.mu.Unlock()
	if wait := time.Until(at); wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	return nil
}

func markerComment(marker string) string { return "<!-- incidentflow:" + marker + " -->" }

func splitRepo(full string) (owner, repo string, err error) {
	owner, repo, ok := strings.Cut(full, "/")
	if !ok || owner == "" || repo == "" {
		return "", "", nonRetryable("BadRepo", "repo %q is not owner/name", full)
	}
	return owner, repo, nil
}

// OpenIssue returns the issue carrying req.Marker, opening it if there is none.
func (g *GitHub) OpenIssue(ctx context.Context, req incident.IssueRequest) (incident.GitHubIssue, error) {
	owner, repo, err := splitRepo(req.Repo)
	if err != nil {
		return incident.GitHubIssue{}, err
	}
	if req.Marker == "" || len(req.Labels) == 0 {
		return incident.GitHubIssue{}, nonRetryable("BadIssueRequest", "issue request for %q needs a marker and a label", req.Repo)
	}
	existing, err := g.findByMarker(ctx, owner, repo, req.Labels[0], req.Marker)
	if err != nil {
		return incident.GitHubIssue{}, classifyGitHub(fmt.Sprintf("look for %s in %s", req.Marker, req.Repo), err)
	}
	if existing != nil {
		return *existing, nil
	}
	if err := g.pace(ctx); err != nil {
		return incident.GitHubIssue{}, err
	}
	labels := append([]string(nil), req.Labels...)
	created, _, err := g.Client.Issues.Create(ctx, owner, repo, &github.IssueRequest{
		Title:  github.String(req.Title),
		Body:   github.String(req.Body + "\n\n" + markerComment(req.Marker)),
		Labels: &labels,
	})
	if err != nil {
		return incident.GitHubIssue{}, classifyGitHub(fmt.Sprintf("create issue %q in %s", req.Title, req.Repo), err)
	}
	return toIssue(req.Repo, created), nil
}

func (g *GitHub) findByMarker(ctx context.Context, owner, repo, label, marker string) (*incident.GitHubIssue, error) {
	opts := &github.IssueListByRepoOptions{State: "all", Labels: []string{label}, ListOptions: github.ListOptions{PerPage: 100}}
	for {
		issues, resp, err := g.Client.Issues.ListByRepo(ctx, owner, repo, opts)
		if err != nil {
			return nil, err
		}
		for _, is := range issues {
			if strings.Contains(is.GetBody(), markerComment(marker)) {
				found := toIssue(owner+"/"+repo, is)
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
func (g *GitHub) IssueState(ctx context.Context, repoName string, number int) (incident.GitHubIssue, error) {
	owner, repo, err := splitRepo(repoName)
	if err != nil {
		return incident.GitHubIssue{}, err
	}
	is, _, err := g.Client.Issues.Get(ctx, owner, repo, number)
	if err != nil {
		return incident.GitHubIssue{}, classifyGitHub(fmt.Sprintf("read %s#%d", repoName, number), err)
	}
	return toIssue(repoName, is), nil
}

// UpdateIssue adds labels and sets the state. Adding a label it already
// has and closing a closed issue change nothing, so retries are safe.
func (g *GitHub) UpdateIssue(ctx context.Context, req incident.IssueUpdate) error {
	owner, repo, err := splitRepo(req.Repo)
	if err != nil {
		return err
	}
	if len(req.AddLabels) > 0 {
		if err := g.pace(ctx); err != nil {
			return err
		}
		if _, _, err := g.Client.Issues.AddLabelsToIssue(ctx, owner, repo, req.Number, req.AddLabels); err != nil {
			return classifyGitHub(fmt.Sprintf("label %s#%d %s", req.Repo, req.Number, strings.Join(req.AddLabels, ",")), err)
		}
	}
	if req.State != "" {
		if err := g.pace(ctx); err != nil {
			return err
		}
		if _, _, err := g.Client.Issues.Edit(ctx, owner, repo, req.Number, &github.IssueRequest{State: github.String(req.State)}); err != nil {
			return classifyGitHub(fmt.Sprintf("set %s#%d %s", req.Repo, req.Number, req.State), err)
		}
	}
	return nil
}

// SyncSection rewrites the marked section of an issue's body and leaves
// the rest, which people edit, as it is. A body whose markers were removed
// gets the section appended again.
func (g *GitHub) SyncSection(ctx context.Context, req incident.SectionUpdate) error {
	owner, repo, err := splitRepo(req.Repo)
	if err != nil {
		return err
	}
	is, _, err := g.Client.Issues.Get(ctx, owner, repo, req.Number)
	if err != nil {
		return classifyGitHub(fmt.Sprintf("read %s#%d", req.Repo, req.Number), err)
	}
	body := ReplaceSection(is.GetBody(), req.Name, req.Content)
	if body == is.GetBody() {
		return nil
	}
	if err := g.pace(ctx); err != nil {
		return err
	}
	if _, _, err := g.Client.Issues.Edit(ctx, owner, repo, req.Number, &github.IssueRequest{Body: github.String(body)}); err != nil {
		return classifyGitHub(fmt.Sprintf("update %s#%d", req.Repo, req.Number), err)
	}
	return nil
}

// ReplaceSection puts content between the section's markers in body.
func ReplaceSection(body, name, content string) string {
	begin, end := incident.SectionMarkers(name)
	i := strings.Index(body, begin)
	j := strings.Index(body, end)
	if i < 0 || j < i {
		return strings.TrimRight(body, "\n") + "\n\n" + begin + "\n" + content + end + "\n"
	}
	return body[:i+len(begin)] + "\n" + content + body[j:]
}

func toIssue(repo string, is *github.Issue) incident.GitHubIssue {
	return incident.GitHubIssue{Repo: repo, Number: is.GetNumber(), URL: is.GetHTMLURL(), State: is.GetState()}
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
