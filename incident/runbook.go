package incident

import (
	"regexp"
	"time"
)

// Runbook automation: steps defined in the config, each one HTTP call,
// that people run from an incident (config.RunbookStep has the call).

// Bounds on what runbook automation keeps in an incident's state.
const (
	// MaxRunbookSteps is how many steps one service may offer: one button
	// each on its incidents' cards (Slack takes 25 to an action block).
	MaxRunbookSteps = 10
	// MaxRunbookRuns bounds the runs one incident keeps, requests awaiting
	// approval included.
	MaxRunbookRuns = 50
	// MaxRunbookAllowed bounds a step's allowed list.
	MaxRunbookAllowed = 20
	// MaxRunbookTitle is a Slack button's longest text.
	MaxRunbookTitle = 75
	// MaxStepName bounds a step's name, which is in URLs and Slack action IDs.
	MaxStepName = 64
	// A step's output on the timeline: its first lines, within bytes.
	MaxRunbookOutputLines = 5
	MaxRunbookOutputBytes = 500
	// MaxRunbookTimeout bounds one call; DefaultRunbookTimeout applies
	// when a step sets none.
	MaxRunbookTimeout     = 5 * time.Minute
	DefaultRunbookTimeout = 30 * time.Second
)

var stepName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

// ValidStepName: lowercase letters, digits, '-' and '_', at most
// MaxStepName, so a name is safe in a URL path and a Slack action ID.
func ValidStepName(s string) bool { return stepName.MatchString(s) }

// RunbookStep is what an incident knows of a configured step: enough to
// offer it, to say what it calls, and to decide who may run it. Its
// headers, body and the URL's query stay in the worker's config: secrets
// come from the environment inside the activity, never through history.
type RunbookStep struct {
	Name   string `json:"name"`
	Title  string `json:"title"`
	Method string `json:"method"`
	// Target is the URL without its query or credentials.
	Target        string   `json:"target"`
	NeedsApproval bool     `json:"needs_approval,omitempty"`
	Allowed       []string `json:"allowed"`
	ExerciseOK    bool     `json:"exercise_ok,omitempty"`
	Timeout       Duration `json:"timeout"`
}

// RunbookStepsRequest asks which steps a service's incidents offer.
type RunbookStepsRequest struct {
	Service string `json:"service"`
}

// RunbookCallRequest runs one step of one incident: the activity reads the
// step from its config by name and fills the body from these fields.
type RunbookCallRequest struct {
	IncidentID string `json:"incident_id"`
	Key        string `json:"key"`
	Service    string `json:"service"`
	Severity   string `json:"severity"`
	Title      string `json:"title"`
	Step       string `json:"step"`
	Run        int    `json:"run"`
	// IdempotencyKey is sent as the Idempotency-Key header: the incident,
	// its opening and the run, so one run is one key whatever the retries.
	IdempotencyKey string `json:"idempotency_key"`
	Exercise       bool   `json:"exercise,omitempty"`
}

// RunbookCallResult is what the call answered. A non-2xx status is a
// result, not an error: the step was run and its endpoint said no.
type RunbookCallResult struct {
	// Request is "METHOD URL" without the URL's query or credentials.
	Request string `json:"request"`
	Status  int    `json:"status"`
	// StatusText is "503 Service Unavailable".
	StatusText string `json:"status_text"`
	// Output is the first lines of the answer's body, bounded.
	Output   string   `json:"output,omitempty"`
	Duration Duration `json:"duration"`
}

// OK says whether the endpoint accepted the call (2xx).
func (r RunbookCallResult) OK() bool { return r.Status >= 200 && r.Status < 300 }

// RunbookButton is one step as the incident's card offers it. Run is the
// run a click on it asks for or approves: a click the card has not caught
// up with is refused rather than taken for another run.
type RunbookButton struct {
	Step  string `json:"step"`
	Title string `json:"title"`
	Run   int    `json:"run"`
	// RequestedBy is set while run Run waits for someone to approve it.
	RequestedBy string `json:"requested_by,omitempty"`
	// Running is set while run Run's call is under way.
	Running bool `json:"running,omitempty"`
}
