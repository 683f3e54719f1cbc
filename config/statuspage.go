package config

import (
	"fmt"
	"slices"
)

// StatusPage is the public status page (GET /status): its title and the
// services it shows, in that order. Without services it shows every
// configured service.
type StatusPage struct {
	Title    string   `yaml:"title"`
	Services []string `yaml:"services"`
}

// Bounds of the status page's config: the page is public and rendered on
// every cache refresh.
const (
	maxStatusPageTitle    = 200
	maxStatusPageServices = 100
)

// StatusPageTitle is the page's title, "Status" when none is configured.
func (c *Config) StatusPageTitle() string {
	if c.StatusPage.Title == "" {
		return "Status"
	}
	return c.StatusPage.Title
}

// StatusPageServices are the services the page shows: those listed that
// are configured, else every configured service, sorted.
func (c *Config) StatusPageServices() []string {
	var out []string
	if len(c.StatusPage.Services) == 0 {
		for name := range c.Services {
			out = append(out, name)
		}
		slices.Sort(out)
		return out[:min(len(out), maxStatusPageServices)]
	}
	for _, name := range c.StatusPage.Services {
		if _, ok := c.Services[name]; ok && !slices.Contains(out, name) && len(out) < maxStatusPageServices {
			out = append(out, name)
		}
	}
	return out
}

// ValidateStatusPage reports what is wrong with status_page, each problem
// naming its key, through add (as Validate's other checks do).
func (c *Config) ValidateStatusPage(add func(key, format string, args ...any)) {
	sp := c.StatusPage
	if len(sp.Title) > maxStatusPageTitle {
		add("status_page.title", "%d bytes is over %d", len(sp.Title), maxStatusPageTitle)
	}
	if len(sp.Services) > maxStatusPageServices {
		add("status_page.services", "%d services is over %d", len(sp.Services), maxStatusPageServices)
	}
	seen := map[string]bool{}
	for i, name := range sp.Services {
		key := fmt.Sprintf("status_page.services[%d]", i)
		switch {
		case seen[name]:
			add(key, "%q is listed twice", name)
		case !c.hasService(name):
			add(key, "unknown service %q", name)
		}
		seen[name] = true
	}
}

func (c *Config) hasService(name string) bool {
	_, ok := c.Services[name]
	return ok
}
