package incident

import "time"

// SimilarRequest asks for past incidents like one that just opened.
type SimilarRequest struct {
	IncidentID string `json:"incident_id"`
	Key        string `json:"key"`
	Service    string `json:"service"`
	Title      string `json:"title"`
}

// SimilarIncident is a past incident like this one, as its card shows it:
// what it was, why it matches, and what its post-mortem found.
type SimilarIncident struct {
	ID        string    `json:"id"`
	Title     string    `json:"title"`
	Severity  string    `json:"severity"`
	Status    string    `json:"status"`
	CreatedAt time.Time `json:"created_at"`
	// Why: "the same alert key" or "a near-identical title".
	Why       string `json:"why"`
	RootCause string `json:"root_cause,omitempty"`
	// Postmortem is the post-mortem's document (its GitHub issue).
	Postmortem string `json:"postmortem_url,omitempty"`
}

// MaxSimilar similar incidents are kept; MaxSimilarText bounds each of
// their free-text fields in an incident's state.
const (
	MaxSimilar     = 3
	MaxSimilarText = 300
)

// BoundSimilar keeps at most MaxSimilar, each field bounded: they enter
// the incident's state.
func BoundSimilar(in []SimilarIncident) []SimilarIncident {
	out := make([]SimilarIncident, 0, min(len(in), MaxSimilar))
	for _, s := range in[:min(len(in), MaxSimilar)] {
		s.ID = CutID(s.ID, MaxKey)
		s.Title = Cut(s.Title, MaxSimilarText)
		s.Severity, s.Status = Cut(s.Severity, MaxName), Cut(s.Status, MaxName)
		s.Why = Cut(s.Why, MaxName)
		s.RootCause = Cut(s.RootCause, MaxSimilarText)
		if len(s.Postmortem) > MaxSimilarText {
			s.Postmortem = "" // a cut link leads nowhere
		}
		out = append(out, s)
	}
	return out
}
