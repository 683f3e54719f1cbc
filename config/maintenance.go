package config

import (
	"fmt"
	"time"
)

// MaintenanceWindow in the config: planned ahead, in the file. Start and
// end are RFC 3339, or local times in UTC without an offset.
type MaintenanceWindow struct {
	Service string `yaml:"service"`
	Start   string `yaml:"start"`
	End     string `yaml:"end"`
	Reason  string `yaml:"reason"`
}

// Times parses the window's start and end.
func (m MaintenanceWindow) Times() (start, end time.Time, err error) {
	if start, err = ParseTime(m.Start, time.UTC); err != nil {
		return start, end, fmt.Errorf("start: %w", err)
	}
	if end, err = ParseTime(m.End, time.UTC); err != nil {
		return start, end, fmt.Errorf("end: %w", err)
	}
	return start, end, nil
}

func (c *Config) validateMaintenance(add func(key, format string, args ...any)) {
	for i, m := range c.Maintenance {
		key := fmt.Sprintf("maintenance[%d]", i)
		if _, ok := c.Services[m.Service]; m.Service != "" && !ok {
			add(key+".service", "%q is not a configured service (leave it out for every service)", m.Service)
		}
		if m.Reason == "" {
			add(key+".reason", "required: say why paging is held")
		}
		start, end, err := m.Times()
		switch {
		case err != nil:
			add(key, "%v", err)
		case !end.After(start):
			add(key+".end", "must be after start")
		}
	}
}
