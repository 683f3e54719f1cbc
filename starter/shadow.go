package starter

import (
	"context"
	"fmt"
	"strings"

	"github.com/incidentflow/incidentflow/shadow"
)

// ShadowRequest is a comparison with another pager's export of the same
// period: its directory and which system wrote it.
type ShadowRequest struct {
	ReportRequest
	// Source is "pagerduty" or "opsgenie".
	Source  string
	Dir     string
	Options shadow.Options
}

// ShadowReport is the comparison, with how many of incidentflow's
// incidents could not be read (their pages are then missing from it).
type ShadowReport struct {
	shadow.Report
	Unreadable int `json:"unreadable,omitempty"`
}

// ShadowCompare compares what incidentflow did or would have done (shadow
// mode) with what the other pager did in the same period. The other side's
// people are named as the config's users by email.
func (in *Incidents) ShadowCompare(ctx context.Context, req ShadowRequest) (ShadowReport, error) {
	p, err := req.period()
	if err != nil {
		return ShadowReport{}, err
	}
	var theirs []shadow.Incident
	switch req.Source {
	case "pagerduty":
		theirs, err = shadow.LoadPagerDuty(req.Dir)
	case "opsgenie":
		theirs, err = shadow.LoadOpsgenie(req.Dir)
	default:
		return ShadowReport{}, &BadRequest{Field: "source", Msg: fmt.Sprintf("%q is not pagerduty or opsgenie", req.Source)}
	}
	if err != nil {
		return ShadowReport{}, fmt.Errorf("read the %s export: %w", req.Source, err)
	}
	inPeriod := theirs[:0]
	for _, t := range theirs {
		if p.Contains(t.OpenedAt) {
			inPeriod = append(inPeriod, t)
		}
	}
	byEmail := map[string]string{}
	for name, u := range in.Config.Users {
		if u.Email != "" {
			byEmail[strings.ToLower(u.Email)] = name
		}
	}
	mapped, unmapped := shadow.MapUsers(inPeriod, byEmail)
	// This deployment's incidents only: another's (a staging install on the
	// same namespace) have no worker here, and each would cost a timeout.
	src := reportSource{in: in, where: fmt.Sprintf("TaskQueue = '%s'", quoteless(in.TaskQueue))}
	ours, unreadable, err := shadow.Ours(ctx, src, p, "")
	if err != nil {
		return ShadowReport{}, in.explain(ctx, "", err)
	}
	rep := shadow.Compare(req.Source, ours, mapped, req.Options)
	rep.Unmapped = unmapped
	return ShadowReport{Report: rep, Unreadable: unreadable}, nil
}
