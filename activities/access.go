package activities

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/google/go-github/v60/github"
	"go.temporal.io/sdk/temporal"

	"github.com/incidentflow/incidentflow/config"
	"github.com/incidentflow/incidentflow/incident"
)

// GrantAccess gives a responder a grant: for github_team, membership of
// the team (as a plain member), answering the login it went to. Adding
// someone already in it changes nothing, so a retry is harmless.
func (a *Activities) GrantAccess(ctx context.Context, req incident.AccessRequest) (string, error) {
	login, err := a.accessAccount(req)
	if err != nil {
		return "", err
	}
	_, _, err = a.GitHub.Client.Teams.AddTeamMembershipBySlug(ctx, req.Grant.Org, req.Grant.Team, login,
		&github.TeamAddTeamMembershipOptions{Role: "member"})
	if err != nil {
		return "", classifyGitHub(fmt.Sprintf("add %s to %s/%s", login, req.Grant.Org, req.Grant.Team), err)
	}
	return login, nil
}

// RevokeAccess takes a grant back. Someone no longer in the team (removed
// by hand, or by an earlier try of this one) is what was wanted: done.
// Any other failure is retried: the revoke must happen.
func (a *Activities) RevokeAccess(ctx context.Context, req incident.AccessRequest) error {
	login := req.Login
	if login == "" {
		var err error
		if login, err = a.accessAccount(req); err != nil {
			return err
		}
	} else if a.GitHub == nil || a.GitHub.Client == nil {
		return temporal.NewApplicationError("GitHub is not configured (github.token_env): the membership stays until it is", "GitHubNotConfigured")
	}
	_, err := a.GitHub.Client.Teams.RemoveTeamMembershipBySlug(ctx, req.Grant.Org, req.Grant.Team, login)
	var er *github.ErrorResponse
	if errors.As(err, &er) && er.Response != nil && er.Response.StatusCode == http.StatusNotFound {
		return nil
	}
	if err != nil {
		return classifyGitHub(fmt.Sprintf("remove %s from %s/%s", login, req.Grant.Org, req.Grant.Team), err)
	}
	return nil
}

// accessAccount is the responder's account for the grant's kind, from the
// config.
func (a *Activities) accessAccount(req incident.AccessRequest) (string, error) {
	if req.Grant.Kind != config.AccessGitHubTeam {
		return "", temporal.NewNonRetryableApplicationError(fmt.Sprintf("grant %s: kind %q is not one this version can give", req.Grant.Name, req.Grant.Kind), "AccessKind", nil)
	}
	if a.GitHub == nil || a.GitHub.Client == nil {
		return "", temporal.NewNonRetryableApplicationError("GitHub is not configured (github.token_env): team membership cannot be changed", "GitHubNotConfigured", nil)
	}
	login := a.Config.Users[req.User].GitHub
	if login == "" {
		return "", temporal.NewNonRetryableApplicationError(fmt.Sprintf("%s has no GitHub login (users.%s.github)", req.User, req.User), "NoGitHubLogin", nil)
	}
	return login, nil
}
