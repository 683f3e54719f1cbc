package incident

import "time"

// AccessGrant is one grant a responder may get on an incident (from the
// config's access_grants, as the incident's policy carries it).
type AccessGrant struct {
	Name  string        `json:"name"`
	Kind  string        `json:"kind"`
	Org   string        `json:"org,omitempty"`
	Team  string        `json:"team,omitempty"`
	Roles []string      `json:"roles,omitempty"`
	Max   time.Duration `json:"max"`
}

// Earns says whether holding role earns the grant.
func (g AccessGrant) Earns(role string) bool {
	if len(g.Roles) == 0 {
		return true
	}
	for _, r := range g.Roles {
		if r == role {
			return true
		}
	}
	return false
}

// Describe names what the grant gives, for timelines.
func (g AccessGrant) Describe() string {
	if g.Org != "" && g.Team != "" {
		return g.Name + " (GitHub team " + g.Org + "/" + g.Team + ")"
	}
	return g.Name
}

// AccessRequest grants or revokes one grant for one person; the grant
// looks up their account (a GitHub login) in the config.
type AccessRequest struct {
	IncidentID string      `json:"incident_id"`
	Grant      AccessGrant `json:"grant"`
	User       string      `json:"user"`
	// Login is the account the grant went to: the revoke takes it from
	// that one, even if the config has changed since.
	Login string `json:"login,omitempty"`
}

// Access event kinds, reported by the grant's workflow to its incident.
const (
	AccessGranted = "granted"
	AccessRevoked = "revoked"
	AccessFailed  = "failed"
)

// AccessEvent is a grant's workflow telling its incident what it did.
type AccessEvent struct {
	Grant  string    `json:"grant"`
	User   string    `json:"user"`
	Kind   string    `json:"kind"`
	At     time.Time `json:"at"`
	Until  time.Time `json:"until,omitempty"`
	Reason string    `json:"reason,omitempty"`
}
