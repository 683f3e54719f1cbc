package activities_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-github/v60/github"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/incidentflow/incidentflow/activities"
	"github.com/incidentflow/incidentflow/incident"
	"github.com/incidentflow/incidentflow/internal/fakegithub"
)

func newGitHub(t *testing.T) (*fakegithub.Server, *activities.GitHub) {
	fake := fakegithub.New("ghp_test", "acme/checkout")
	t.Cleanup(fake.Close)
	c := github.NewClient(nil).WithAuthToken("ghp_test")
	base, err := url.Parse(fake.APIURL())
	require.NoError(t, err)
	c.BaseURL = base
	return fake, &activities.GitHub{Client: c, WriteGap: time.Millisecond}
}

func actionItem() incident.IssueRequest {
	return incident.IssueRequest{
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

func TestUpdateIssueAddsLabelsAndClosesIdempotently(t *testing.T) {
	fake, gh := newGitHub(t)
	is, err := gh.OpenIssue(context.Background(), actionItem())
	require.NoError(t, err)
	for range 2 { // a retry changes nothing more
		require.NoError(t, gh.UpdateIssue(context.Background(), incident.IssueUpdate{Repo: "acme/checkout", Number: is.Number, AddLabels: []string{"overdue"}}))
	}
	require.Equal(t, []string{"incident-x", "action-item", "detect", "overdue"}, fake.Issues("acme/checkout")[0].Labels)
	require.NoError(t, gh.UpdateIssue(context.Background(), incident.IssueUpdate{Repo: "acme/checkout", Number: is.Number, State: "closed"}))
	require.Equal(t, "closed", fake.Issues("acme/checkout")[0].State)

	err = gh.UpdateIssue(context.Background(), incident.IssueUpdate{Repo: "acme/checkout", Number: 99, AddLabels: []string{"overdue"}})
	appErr, ok := err.(*temporal.ApplicationError)
	require.True(t, ok, "%T %v", err, err)
	require.True(t, appErr.NonRetryable(), "a missing issue is not retried")
}

func TestSyncSectionKeepsWhatPeopleWrote(t *testing.T) {
	fake, gh := newGitHub(t)
	begin, end := incident.SectionMarkers("action-items")
	req := actionItem()
	req.Body = "## Root cause\n\n_to do_\n\n## Action items\n\n" + begin + "\n_None yet._\n" + end + "\n\n## Lessons learned\n"
	is, err := gh.OpenIssue(context.Background(), req)
	require.NoError(t, err)
	edited := strings.Replace(fake.Issues("acme/checkout")[0].Body, "_to do_", "A pool of 10 connections met 400 requests/s.", 1)
	fake.EditBody("acme/checkout", is.Number, edited)

	sync := incident.SectionUpdate{Repo: "acme/checkout", Number: is.Number, Name: "action-items", Content: "| 1 | detect | [acme/checkout#2](u) |\n"}
	require.NoError(t, gh.SyncSection(context.Background(), sync))
	body := fake.Issues("acme/checkout")[0].Body
	require.Contains(t, body, "A pool of 10 connections met 400 requests/s.", "the person's edit stays")
	require.Contains(t, body, begin+"\n| 1 | detect | [acme/checkout#2](u) |\n"+end)
	require.NotContains(t, body, "_None yet._")
	require.Contains(t, body, "<!-- incidentflow:incident-x/action/1 -->", "the idempotency marker stays")

	writes := len(fake.Writes())
	require.NoError(t, gh.SyncSection(context.Background(), sync))
	require.Len(t, fake.Writes(), writes, "an unchanged section is not written again")
}

func TestReplaceSection(t *testing.T) {
	begin, end := incident.SectionMarkers("s")
	for _, tc := range []struct{ name, body, want string }{
		{"replaces between markers", "a\n" + begin + "\nold\n" + end + "\nz", "a\n" + begin + "\nnew\n" + end + "\nz"},
		{"appends when markers were deleted", "a person rewrote it all\n", "a person rewrote it all\n\n" + begin + "\nnew\n" + end + "\n"},
		{"appends when only the end is left", end + " then " + "text", end + " then text\n\n" + begin + "\nnew\n" + end + "\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, activities.ReplaceSection(tc.body, "s", "new\n"))
		})
	}
}

func TestWritesAreSpaced(t *testing.T) {
	fake, gh := newGitHub(t)
	gh.WriteGap = 50 * time.Millisecond
	for i := range 3 {
		req := actionItem()
		req.Marker = fmt.Sprintf("incident-x/action/%d", i)
		_, err := gh.OpenIssue(context.Background(), req)
		require.NoError(t, err)
	}
	w := fake.Writes()
	require.Len(t, w, 3)
	for i := 1; i < len(w); i++ {
		require.GreaterOrEqual(t, w[i].At.Sub(w[i-1].At), 45*time.Millisecond, "write %d came too soon after the one before", i)
	}
}
