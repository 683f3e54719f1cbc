package incident

import "time"

// PostmortemPlan is the config a post-mortem follows, read when it starts.
type PostmortemPlan struct {
	// Repo is the service's github_repo, else github.default_repo.
	Repo string `json:"repo,omitempty"`
	// GitHub: a GitHub client is configured.
	GitHub       bool            `json:"github"`
	Due          time.Duration   `json:"due"`
	Reminders    []time.Duration `json:"reminders"`
	CheckEvery   time.Duration   `json:"check_every"`
	OverdueEvery time.Duration   `json:"overdue_every"`
	// Announce is told when the post-mortem is overdue; Channel is the
	// service's channel, for reminders when there is no commander.
	Announce            string   `json:"announce,omitempty"`
	Channel             string   `json:"channel,omitempty"`
	Users               []string `json:"users,omitempty"`
	ContinueAsNewEvents int      `json:"continue_as_new_events,omitempty"`
	Warning             string   `json:"warning,omitempty"`
}

// PostmortemPlanRequest asks the worker's config for a post-mortem's plan.
type PostmortemPlanRequest struct {
	Service string `json:"service"`
}

// GitHubIssue is what a workflow keeps of an issue.
type GitHubIssue struct {
	Repo   string `json:"repo"`
	Number int    `json:"number"`
	URL    string `json:"url"`
	State  string `json:"state"`
}

// IssueRequest opens one issue. Marker, hidden in the body, makes it
// idempotent: an issue carrying it is returned instead of a new one.
// Labels[0] must name the incident: the lookup lists issues by it, which
// is consistent where GitHub's search index lags.
type IssueRequest struct {
	Repo   string   `json:"repo"`
	Title  string   `json:"title"`
	Body   string   `json:"body"`
	Labels []string `json:"labels"`
	Marker string   `json:"marker"`
}

// IssueUpdate adds labels to an issue and may change its state.
type IssueUpdate struct {
	Repo      string   `json:"repo"`
	Number    int      `json:"number"`
	AddLabels []string `json:"add_labels,omitempty"`
	// State "closed" or "open"; empty leaves it.
	State string `json:"state,omitempty"`
}

// IssueGone is the state IssueStates reports for an issue GitHub no longer
// has (deleted, or moved where the token cannot see it).
const IssueGone = "gone"

// IssueStatesRequest reads several issues' states.
type IssueStatesRequest struct {
	Issues []GitHubIssue `json:"issues"`
}

// SectionUpdate replaces the marked section Name of an issue's body with
// Content, leaving what people wrote elsewhere alone.
type SectionUpdate struct {
	Repo    string `json:"repo"`
	Number  int    `json:"number"`
	Name    string `json:"name"`
	Content string `json:"content"`
}

// SectionMarkers are the hidden comments around a kept-up-to-date section.
func SectionMarkers(name string) (begin, end string) {
	return "<!-- incidentflow:" + name + " -->", "<!-- /incidentflow:" + name + " -->"
}
