// Package fakegithub is a local HTTP server speaking the parts of GitHub's
// REST API incidentflow uses (issues: list, create, get, edit, add labels;
// team memberships: add, remove), with GitHub's
// JSON shapes, 404s, and rate-limit answers, for the real go-github client.
package fakegithub

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Issue as stored.
type Issue struct {
	Number int
	Title  string
	Body   string
	Labels []string
	State  string
}

// Server holds repos and their issues.
type Server struct {
	Token string
	srv   *httptest.Server

	mu       sync.Mutex
	repos    map[string][]*Issue
	creates  int
	failures []failure
	// Writes records every creating or editing request, for pacing checks.
	writes []Write
	// members are team memberships, "org/team" -> logins.
	members map[string]map[string]bool
}

// Write is one mutating request as GitHub saw it.
type Write struct {
	At     time.Time
	Method string
	Path   string
}

type failure struct {
	method, suffix string
	kind           string
}

// New serves the given repos ("owner/name"); any other repo is a 404.
func New(token string, repos ...string) *Server {
	s := &Server{Token: token, repos: map[string][]*Issue{}}
	for _, r := range repos {
		s.repos[r] = nil
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.handle))
	return s
}

// APIURL is the REST base for go-github (ends in /).
func (s *Server) APIURL() string { return s.srv.URL + "/" }

func (s *Server) Close() { s.srv.Close() }

// SecondaryRateLimitNext makes the next request whose path ends in suffix
// answer 403 "secondary rate limit" with Retry-After: 1.
func (s *Server) SecondaryRateLimitNext(method, suffix string) { s.inject(method, suffix, "secondary") }

// FailAfterCreateNext makes the next issue creation succeed at GitHub but
// answer 502, as when the connection drops after GitHub acted.
func (s *Server) FailAfterCreateNext() { s.inject(http.MethodPost, "/issues", "after-create") }

func (s *Server) inject(method, suffix, kind string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures = append(s.failures, failure{method, suffix, kind})
}

// Issues returns a repo's issues.
func (s *Server) Issues(repo string) []Issue {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Issue
	for _, is := range s.repos[repo] {
		out = append(out, *is)
	}
	return out
}

// Writes returns the mutating requests seen so far.
func (s *Server) Writes() []Write {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Write(nil), s.writes...)
}

// EditBody changes an issue's body, as a person would on GitHub.
func (s *Server) EditBody(repo string, number int, body string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, is := range s.repos[repo] {
		if is.Number == number {
			is.Body = body
		}
	}
}

// DeleteIssue removes an issue, as an admin can on GitHub: it then answers 404.
func (s *Server) DeleteIssue(repo string, number int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	kept := s.repos[repo][:0]
	for _, is := range s.repos[repo] {
		if is.Number != number {
			kept = append(kept, is)
		}
	}
	s.repos[repo] = kept
}

// Close an issue, as a person would on GitHub.
func (s *Server) CloseIssue(repo string, number int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, is := range s.repos[repo] {
		if is.Number == number {
			is.State = "closed"
		}
	}
}

func (s *Server) handle(w http.ResponseWriter, r *http.Request) {
	auth := r.Header.Get("Authorization")
	if auth != "Bearer "+s.Token && auth != "token "+s.Token {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.Method != http.MethodGet {
		s.writes = append(s.writes, Write{At: time.Now(), Method: r.Method, Path: r.URL.Path})
	}
	afterCreate := false
	for i, f := range s.failures {
		if f.method == r.Method && strings.HasSuffix(r.URL.Path, f.suffix) {
			s.failures = append(s.failures[:i], s.failures[i+1:]...)
			if f.kind == "secondary" {
				w.Header().Set("Retry-After", "1")
				writeJSON(w, http.StatusForbidden, map[string]any{
					"message":           "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
					"documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits",
				})
				return
			}
			afterCreate = true
			break
		}
	}
	// /orgs/{org}/teams/{team_slug}/memberships/{username}
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(parts) == 6 && parts[0] == "orgs" && parts[2] == "teams" && parts[4] == "memberships" {
		s.membership(w, r, parts[1]+"/"+parts[3], parts[5])
		return
	}
	// /repos/{owner}/{repo}/issues[/{number}[/labels]]
	if len(parts) < 4 || parts[0] != "repos" || parts[3] != "issues" {
		writeJSON(w, http.StatusNotFound, map[string]any{"message": "Not Found"})
		return
	}
	repo := parts[1] + "/" + parts[2]
	issues, ok := s.repos[repo]
	if !ok {
		writeJSON(w, http.StatusNotFound, map[string]any{"message": "Not Found", "documentation_url": "https://docs.github.com/rest/issues/issues"})
		return
	}
	switch {
	case r.Method == http.MethodGet && len(parts) == 4:
		want := strings.Split(r.URL.Query().Get("labels"), ",")
		var out []map[string]any
		for _, is := range issues {
			if hasAll(is.Labels, want) {
				out = append(out, s.render(repo, is))
			}
		}
		if out == nil {
			out = []map[string]any{}
		}
		writeJSON(w, http.StatusOK, out)
	case r.Method == http.MethodPost && len(parts) == 4:
		var req struct {
			Title  string   `json:"title"`
			Body   string   `json:"body"`
			Labels []string `json:"labels"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Title == "" {
			writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"message": "Validation Failed"})
			return
		}
		s.creates++
		is := &Issue{Number: len(issues) + 1, Title: req.Title, Body: req.Body, Labels: req.Labels, State: "open"}
		s.repos[repo] = append(issues, is)
		if afterCreate {
			writeJSON(w, http.StatusBadGateway, map[string]any{"message": "Server Error"})
			return
		}
		writeJSON(w, http.StatusCreated, s.render(repo, is))
	case len(parts) >= 5:
		n, _ := strconv.Atoi(parts[4])
		var is *Issue
		for _, candidate := range issues {
			if candidate.Number == n {
				is = candidate
			}
		}
		if is == nil {
			writeJSON(w, http.StatusNotFound, map[string]any{"message": "Not Found"})
			return
		}
		switch {
		case r.Method == http.MethodGet && len(parts) == 5:
			writeJSON(w, http.StatusOK, s.render(repo, is))
		case r.Method == http.MethodPatch && len(parts) == 5:
			var req struct {
				Title *string `json:"title"`
				Body  *string `json:"body"`
				State *string `json:"state"`
			}
			if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
				writeJSON(w, http.StatusBadRequest, map[string]any{"message": "Problems parsing JSON"})
				return
			}
			if req.State != nil && *req.State != "open" && *req.State != "closed" {
				writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"message": "Validation Failed"})
				return
			}
			if req.Title != nil {
				is.Title = *req.Title
			}
			if req.Body != nil {
				is.Body = *req.Body
			}
			if req.State != nil {
				is.State = *req.State
			}
			writeJSON(w, http.StatusOK, s.render(repo, is))
		case r.Method == http.MethodPost && len(parts) == 6 && parts[5] == "labels":
			var labels []string
			if err := json.NewDecoder(r.Body).Decode(&labels); err != nil {
				writeJSON(w, http.StatusBadRequest, map[string]any{"message": "Problems parsing JSON"})
				return
			}
			for _, l := range labels {
				if !hasAll(is.Labels, []string{l}) {
					is.Labels = append(is.Labels, l)
				}
			}
			out := []map[string]any{}
			for _, l := range is.Labels {
				out = append(out, map[string]any{"name": l})
			}
			writeJSON(w, http.StatusOK, out)
		default:
			writeJSON(w, http.StatusNotFound, map[string]any{"message": "Not Found"})
		}
	default:
		writeJSON(w, http.StatusNotFound, map[string]any{"message": "Not Found"})
	}
}

func (s *Server) render(repo string, is *Issue) map[string]any {
	labels := []map[string]any{}
	for _, l := range is.Labels {
		labels = append(labels, map[string]any{"name": l})
	}
	return map[string]any{
		"number": is.Number, "title": is.Title, "body": is.Body, "state": is.State, "labels": labels,
		"html_url": fmt.Sprintf("https://github.example/%s/issues/%d", repo, is.Number),
	}
}

func hasAll(have, want []string) bool {
	for _, w := range want {
		if w == "" {
			continue
		}
		found := false
		for _, h := range have {
			if h == w {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// AddTeam makes an organisation's team exist ("org/team-slug").
func (s *Server) AddTeam(team string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.members == nil {
		s.members = map[string]map[string]bool{}
	}
	s.members[team] = map[string]bool{}
}

// Members lists a team's members.
func (s *Server) Members(team string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for login := range s.members[team] {
		out = append(out, login)
	}
	return out
}

// membership answers GitHub's team membership calls: PUT adds (active,
// as a member), DELETE removes (204; 404 when not a member), GET reads.
func (s *Server) membership(w http.ResponseWriter, r *http.Request, team, login string) {
	members, ok := s.members[team]
	if !ok {
		writeJSON(w, http.StatusNotFound, map[string]any{"message": "Not Found", "documentation_url": "https://docs.github.com/rest/teams/members"})
		return
	}
	switch r.Method {
	case http.MethodPut:
		members[login] = true
		writeJSON(w, http.StatusOK, map[string]any{"url": s.srv.URL + r.URL.Path, "role": "member", "state": "active"})
	case http.MethodDelete:
		if !members[login] {
			writeJSON(w, http.StatusNotFound, map[string]any{"message": "Not Found"})
			return
		}
		delete(members, login)
		w.WriteHeader(http.StatusNoContent)
	case http.MethodGet:
		if !members[login] {
			writeJSON(w, http.StatusNotFound, map[string]any{"message": "Not Found"})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"role": "member", "state": "active"})
	default:
		writeJSON(w, http.StatusMethodNotAllowed, map[string]any{"message": "Method Not Allowed"})
	}
}
