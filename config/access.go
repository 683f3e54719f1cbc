package config

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// AccessGrant gives responders what they need while they respond and
// takes it back afterwards: when someone takes a role on an incident of
// one of Services, they get it, and lose it when the incident closes or
// after Max, whichever comes first. Kind says what is granted; for now
// github_team (membership of Org's Team, through the GitHub token).
type AccessGrant struct {
	Kind     string   `yaml:"kind"`
	Org      string   `yaml:"org"`
	Team     string   `yaml:"team"`
	Services []string `yaml:"services"`
	// Roles that earn it (default: any role, commander included).
	Roles []string `yaml:"roles"`
	Max   Duration `yaml:"max"`
}

// Access grant kinds.
const AccessGitHubTeam = "github_team"

// Bounds on a grant's life: at least a second (Temporal's timer floor;
// tests use seconds), at most a week, 8 hours by default.
const (
	MinAccessMax     = time.Second
	MaxAccessMax     = 7 * 24 * time.Hour
	DefaultAccessMax = 8 * time.Hour
)

func (c *Config) validateAccessGrants(add func(key, format string, args ...any)) {
	for _, name := range sortedKeys(c.AccessGrants) {
		g := c.AccessGrants[name]
		key := "access_grants." + name
		if !heartbeatName.MatchString(name) {
			add(key, "%q is not a grant name: 1 to 64 letters, digits, '.', '-' or '_'", cut(name, 100))
		}
		switch g.Kind {
		case AccessGitHubTeam:
			if g.Org == "" {
				add(key+".org", "required: the GitHub organisation")
			}
			if g.Team == "" {
				add(key+".team", "required: the team's slug")
			}
			if c.GitHub.TokenEnv == "" {
				add(key, "a github_team grant needs github.token_env: the token adds and removes team members")
			}
		case "":
			add(key+".kind", "required: %s", AccessGitHubTeam)
		default:
			add(key+".kind", "%q is not a kind of grant (%s)", cut(g.Kind, 100), AccessGitHubTeam)
		}
		if len(g.Services) == 0 {
			add(key+".services", "required: the services whose incidents grant it")
		}
		for i, s := range g.Services {
			if _, ok := c.Services[s]; !ok {
				add(fmt.Sprintf("%s.services[%d]", key, i), "unknown service %q (one of %s)", cut(s, 100), strings.Join(sortedKeys(c.Services), ", "))
			}
		}
		for i, r := range g.Roles {
			if !slices.Contains(roleNames, r) {
				add(fmt.Sprintf("%s.roles[%d]", key, i), "unknown role %q (one of %s)", cut(r, 100), strings.Join(roleNames, ", "))
			}
		}
		switch m := g.Max.D(); {
		case m == 0:
			g.Max = Duration(DefaultAccessMax)
		case m < MinAccessMax || m > MaxAccessMax:
			add(key+".max", "%s must be from 1s to 168h", m)
		}
		c.AccessGrants[name] = g
	}
}

// AccessGrantsFor lists the grants an incident of service may give, by name.
func (c *Config) AccessGrantsFor(service string) []string {
	var out []string
	for _, name := range sortedKeys(c.AccessGrants) {
		if slices.Contains(c.AccessGrants[name].Services, service) {
			out = append(out, name)
		}
	}
	return out
}
