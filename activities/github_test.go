package activities_test

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/google/go-github/v60/github"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/incidentflow/incidentflow/activities"
	"github.com/incidentflow/incidentflow/internal/fakegithub"
)

func newGitHub(t *testing.T) (*fakegithub.Server, *activities.GitHub) {
	fake := fakegithub.New("ghp_test", "acme/checkout")
	t.Cleanup(fake.Close)
	c := github.NewClient(nil).WithAuthToken("ghp_test")
	base, err := url.Parse(fake.APIURL())
	require.NoError(t, err)
	c.BaseURL = base
	return fake, &activities.GitHub{Client: c}
}

func actionItem() activities.IssueRequest {
	return activities.IssueRequest{
		Repo: "acme/checkout", Title: "Alert on connection pool saturation", Body: "From incident-x.",
		Labels: []string{"incident-x", "action-item", "detect"}, Marker: "incident-x/action/1",
	}
}

func TestOpenIssueIsIdempotent(t *testing.T) {
	fake, gh := newGitHub(t)
	first, err := gh.OpenIssue(context.Background(), actionItem())
	require.NoError(t, err)
	again, err := gh.OpenIssue(context.Background(), actionItem())
	require.NoError(t, err)
	require.Equal(t, first, again)
	issues := fake.Issues("acme/checkout")
	require.Len(t, issues, 1)
	require.Equal(t, []string{"incident-x", "action-item", "detect"}, issues[0].Labels)
	require.Contains(t, issues[0].Body, "<!-- incidentflow:incident-x/action/1 -->")

	other := actionItem()
	other.Marker, other.Title = "incident-x/action/2", "Runbook for pool exhaustion"
	_, err = gh.OpenIssue(context.Background(), other)
	require.NoError(t, err)
	require.Len(t, fake.Issues("acme/checkout"), 2, "a different marker is a different issue")
}

func TestOpenIssueRetriedAfterGitHubCreatedItOpensOne(t *testing.T) {
	fake, gh := newGitHub(t)
	fake.FailAfterCreateNext()
	_, err := gh.OpenIssue(context.Background(), actionItem())
	require.Error(t, err, "the first attempt saw a 502")
	appErr, isApp := err.(*temporal.ApplicationError)
	require.False(t, isApp && appErr.NonRetryable(), "a 502 is retried")
	is, err := gh.OpenIssue(context.Background(), actionItem())
	require.NoError(t, err)
	require.Equal(t, 1, is.Number)
	require.Len(t, fake.Issues("acme/checkout"), 1, "the retry found the issue GitHub had created")
}

func TestGitHubErrorsMapToRetrySemantics(t *testing.T) {
	fake, gh := newGitHub(t)
	fake.SecondaryRateLimitNext("GET", "/issues")
	_, err := gh.OpenIssue(context.Background(), actionItem())
	appErr, ok := err.(*temporal.ApplicationError)
	require.True(t, ok, "%T %v", err, err)
	require.False(t, appErr.NonRetryable())
	require.Equal(t, "1s", appErr.NextRetryDelay().String(), "wait as GitHub's Retry-After says")
	// go-github itself refuses to call again before then; Temporal waits.
	time.Sleep(appErr.NextRetryDelay())
	_, err = gh.OpenIssue(context.Background(), actionItem())
	require.NoError(t, err, "and then it goes through")

	missing := actionItem()
	missing.Repo = "acme/nope"
	_, err = gh.OpenIssue(context.Background(), missing)
	appErr, ok = err.(*temporal.ApplicationError)
	require.True(t, ok, "%T %v", err, err)
	require.True(t, appErr.NonRetryable(), "a missing repo never appears by retrying")
	require.Contains(t, appErr.Error(), "404")

	fake.CloseIssue("acme/checkout", 1)
	st, err := gh.IssueState(context.Background(), "acme/checkout", 1)
	require.NoError(t, err)
	require.Equal(t, "closed", st.State)
}
