package activities

import (
	"context"
	"time"

	"github.com/incidentflow/incidentflow/incident"
)

// SimilarSource finds past incidents like a new one (starter.SimilarFinder:
// visibility, and the post-mortems' memos).
type SimilarSource interface {
	Similar(ctx context.Context, req incident.SimilarRequest) ([]incident.SimilarIncident, error)
}

// similarTimeout bounds the look-up: it is a nicety on the card.
const similarTimeout = 10 * time.Second

// FindSimilar looks up past incidents like the one that opened. Without a
// source (no Temporal client to read visibility from) there are none.
func (a *Activities) FindSimilar(ctx context.Context, req incident.SimilarRequest) ([]incident.SimilarIncident, error) {
	if a.Similar == nil {
		return nil, nil
	}
	ctx, cancel := context.WithTimeout(ctx, similarTimeout)
	defer cancel()
	found, err := a.Similar.Similar(ctx, req)
	if err != nil {
		return nil, err
	}
	return incident.BoundSimilar(found), nil
}
