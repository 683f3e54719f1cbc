package incident

import "time"

// MaintenanceWindow holds paging for a service (every service when Service
// is empty) from Start to End: alerts inside it are recorded on their
// incidents, and whatever still fires when it ends pages as usual.
type MaintenanceWindow struct {
	ID        string    `json:"id"`
	Service   string    `json:"service,omitempty"`
	Start     time.Time `json:"start"`
	End       time.Time `json:"end"`
	Reason    string    `json:"reason"`
	By        string    `json:"by,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// Covers says whether the window holds paging for service at t.
func (m MaintenanceWindow) Covers(service string, t time.Time) bool {
	return (m.Service == "" || m.Service == service) && !t.Before(m.Start) && t.Before(m.End)
}

// EntryID and Ends let a workflow keep windows until they end.
func (m MaintenanceWindow) EntryID() string { return m.ID }
func (m MaintenanceWindow) Ends() time.Time { return m.End }

// EntryID and Ends let a schedule's workflow keep overrides until they end.
func (o Override) EntryID() string { return o.ID }
func (o Override) Ends() time.Time { return o.End }

// MaintenanceHold is what holds an incident's paging now: the latest end
// of the windows covering its service, and why. Zero when none does.
type MaintenanceHold struct {
	Until  time.Time `json:"until,omitzero"`
	Reason string    `json:"reason,omitempty"`
}

// Holds says whether the hold keeps paging back at t.
func (h MaintenanceHold) Holds(t time.Time) bool { return h.Until.After(t) }

// HoldFor is the hold the windows put on service at t.
func HoldFor(windows []MaintenanceWindow, service string, t time.Time) MaintenanceHold {
	var h MaintenanceHold
	for _, w := range windows {
		if w.Covers(service, t) && w.End.After(h.Until) {
			h = MaintenanceHold{Until: w.End, Reason: w.Reason}
		}
	}
	return h
}

// MaintenanceRequest asks what holds a service's paging now.
type MaintenanceRequest struct {
	Service string `json:"service"`
}

// Bounds on maintenance windows.
const (
	MaxMaintenanceWindows = 500
	MaxMaintenanceSpan    = 31 * 24 * time.Hour
	MaintenanceWorkflowID = "maintenance"
	QueryMaintenance      = "windows"
)
