package incident

import "time"

// Roles a major incident adds to those its severity requires: someone to
// stand in for the commander, someone to plan the next hours (shifts,
// handovers, who sleeps), and someone to speak with customers.
const (
	RoleDeputy   = "deputy"
	RolePlanning = "planning"
	RoleLiaison  = "liaison"
)

// MajorRoles are the roles a major incident needs filled, in the order
// they are asked for.
var MajorRoles = []string{RoleDeputy, RolePlanning, RoleLiaison}

// MajorPlan is the major-incident protocol as the config sets it
// (major_incident). It travels in the incident's Policy, so it is read
// once, when the incident opens, and replays as it was.
type MajorPlan struct {
	// After: an incident of one of Severities still open this long after
	// it opened becomes major by itself. 0 means only by command.
	After      time.Duration `json:"after,omitempty"`
	Severities []string      `json:"severities,omitempty"`
	// ServicesThreshold: linked incidents on this many services make the
	// parent major (0: off).
	ServicesThreshold int `json:"services_threshold,omitempty"`
	// ExecTargets are where executive briefs go: slack_channel:#x and
	// email:addr targets.
	ExecTargets []string `json:"exec_targets,omitempty"`
	// The executive brief is due ExecBriefFirst after the declaration,
	// then ExecBriefEvery after the last one.
	ExecBriefFirst time.Duration `json:"exec_brief_first"`
	ExecBriefEvery time.Duration `json:"exec_brief_every"`
	// The public statement is due PublicFirst after the declaration, then
	// PublicEvery after the last one.
	PublicFirst time.Duration `json:"public_first"`
	PublicEvery time.Duration `json:"public_every"`
	// RolesEvery reminds the commander of unfilled major roles.
	RolesEvery time.Duration `json:"roles_every"`
	// After resolution: the hot wash is due HotWashAfter, the post-mortem
	// PostmortemDue (instead of timings.postmortem_due).
	HotWashAfter  time.Duration `json:"hot_wash_after"`
	PostmortemDue time.Duration `json:"postmortem_due"`
}

// DefaultMajorPlan is the protocol of the seed documents: a P1 open more
// than an hour is major; an executive brief within 30 minutes, then
// hourly; a public statement within the hour, then every two hours; the
// missing roles reminded every 15 minutes; a hot wash within 24 hours and
// the post-mortem within 72.
func DefaultMajorPlan() MajorPlan {
	return MajorPlan{
		After:          time.Hour,
		Severities:     []string{"P1"},
		ExecBriefFirst: 30 * time.Minute,
		ExecBriefEvery: time.Hour,
		PublicFirst:    time.Hour,
		PublicEvery:    2 * time.Hour,
		RolesEvery:     15 * time.Minute,
		HotWashAfter:   24 * time.Hour,
		PostmortemDue:  72 * time.Hour,
	}
}

// WithDefaults fills every cadence left at zero from DefaultMajorPlan, so
// a plan read from an older policy still runs every deadline.
func (p MajorPlan) WithDefaults() MajorPlan {
	d := DefaultMajorPlan()
	for _, f := range []struct{ v, def *time.Duration }{
		{&p.ExecBriefFirst, &d.ExecBriefFirst}, {&p.ExecBriefEvery, &d.ExecBriefEvery},
		{&p.PublicFirst, &d.PublicFirst}, {&p.PublicEvery, &d.PublicEvery}, {&p.RolesEvery, &d.RolesEvery},
		{&p.HotWashAfter, &d.HotWashAfter}, {&p.PostmortemDue, &d.PostmortemDue},
	} {
		if *f.v <= 0 {
			*f.v = *f.def
		}
	}
	return p
}
