package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/incidentflow/incidentflow/incident"
	"github.com/incidentflow/incidentflow/starter"
	"github.com/incidentflow/incidentflow/workflows"
)

// The table forms are for people: local times, one line per row. Scripts
// take --output json, which is the HTTP API's JSON.

func localTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format(time.DateTime)
}

func localTimePtr(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return localTime(*t)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// oneLine keeps a multi-line message from breaking the table's columns.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func printSummaries(w io.Writer, list []starter.Summary) error {
	tw := newTable(w)
	fmt.Fprintln(tw, "ID\tSEVERITY\tSTATUS\tSERVICE\tCOMMANDER\tCREATED\tTITLE")
	for _, s := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.ID, s.Severity, s.Status, s.Service, orDash(s.Commander), localTime(s.CreatedAt), oneLine(s.Title))
	}
	return tw.Flush()
}

func printIncident(w io.Writer, in *workflows.Incident) error {
	tw := newTable(w)
	row := func(k, v string) { fmt.Fprintf(tw, "%s\t%s\n", k, v) }
	row("ID", in.ID)
	row("Title", oneLine(in.Title))
	row("Service", in.Service)
	row("Severity", in.Severity)
	row("Status", fmt.Sprintf("%s (stage %s)", in.Status, in.Stage))
	row("Commander", orDash(in.Commander))
	var roles []string
	for _, r := range slices.Sorted(maps.Keys(in.Roles)) {
		roles = append(roles, r+"="+in.Roles[r])
	}
	row("Roles", orDash(strings.Join(roles, ", ")))
	if len(in.MissingRoles) > 0 {
		row("Missing roles", strings.Join(in.MissingRoles, ", "))
	}
	row("Created", localTime(in.CreatedAt))
	ack := localTimePtr(in.AcknowledgedAt)
	if in.AcknowledgedBy != "" {
		ack += " by " + in.AcknowledgedBy
	}
	row("Acknowledged", ack)
	if in.MitigatedAt != nil {
		row("Mitigated", fmt.Sprintf("%s, monitoring until %s", localTimePtr(in.MitigatedAt), localTimePtr(in.MonitoringUntil)))
	}
	row("Resolved", localTimePtr(in.ResolvedAt))
	if in.MTTA != nil {
		row("MTTA", in.MTTA.String())
	}
	if in.MTTR != nil {
		row("MTTR", in.MTTR.String())
	}
	row("Alerts", fmt.Sprint(in.AlertCount))
	if e := in.Escalation; e.NextPageAt != nil {
		row("Next page", localTimePtr(e.NextPageAt))
	}
	if in.NextUpdateDue != nil {
		row("Next update due", localTimePtr(in.NextUpdateDue))
	}
	if in.Postmortem != "" {
		row("Post-mortem", in.Postmortem)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if err := printTimeline(w, in.Timeline, in.TimelineOmitted); err != nil {
		return err
	}
	if len(in.ActionItems) == 0 {
		return nil
	}
	fmt.Fprintln(w, "\nACTION ITEMS")
	tw = newTable(w)
	fmt.Fprintln(tw, "#\tTYPE\tOWNER\tDUE\tTITLE")
	for i, a := range in.ActionItems {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", i+1, a.Type, a.Owner, orDash(a.Due), oneLine(a.Title))
	}
	return tw.Flush()
}

func printTimeline(w io.Writer, timeline []workflows.TimelineEntry, omitted int) error {
	fmt.Fprintln(w, "\nTIMELINE")
	if omitted > 0 {
		fmt.Fprintf(w, "(%d older entries omitted)\n", omitted)
	}
	tw := newTable(w)
	fmt.Fprintln(tw, "AT\tKIND\tACTOR\tMESSAGE")
	for _, e := range timeline {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", localTime(e.At), e.Kind, orDash(e.Actor), oneLine(e.Message))
	}
	return tw.Flush()
}

func printPostmortem(w io.Writer, st *workflows.PostmortemState) error {
	tw := newTable(w)
	row := func(k, v string) { fmt.Fprintf(tw, "%s\t%s\n", k, v) }
	row("ID", st.ID)
	row("Incident", st.IncidentID)
	row("Status", string(st.Status))
	row("Commander", orDash(st.Commander))
	row("Resolved", localTime(st.ResolvedAt))
	row("Due", localTime(st.DueAt))
	done := localTimePtr(st.CompletedAt)
	if st.CompletedBy != "" {
		done += " by " + st.CompletedBy
	}
	row("Completed", done)
	if st.Issue != nil {
		row("Issue", st.Issue.URL)
	} else if st.IssueError != "" {
		row("Issue", "not opened: "+oneLine(st.IssueError))
	}
	row("Action items", fmt.Sprintf("%d of %d done (%.0f%%)", st.ItemsDone, st.ItemsTotal, 100*st.CompletionRate))
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(st.ActionItems) == 0 {
		return nil
	}
	fmt.Fprintln(w, "\nACTION ITEMS")
	tw = newTable(w)
	fmt.Fprintln(tw, "#\tSTATE\tTYPE\tOWNER\tDUE\tTITLE\tISSUE")
	for _, a := range st.ActionItems {
		issue := "-"
		if a.Issue != nil {
			issue = a.Issue.URL
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", a.Number, a.State, a.Type, a.Owner, orDash(a.Due), oneLine(a.Title), issue)
	}
	return tw.Flush()
}

func printOnCall(w io.Writer, list []starter.OnCall) error {
	tw := newTable(w)
	fmt.Fprintln(tw, "SCHEDULE\tON CALL\tSINCE\tUNTIL\tNEXT")
	for _, oc := range list {
		if oc.Error != "" {
			fmt.Fprintf(tw, "%s\t(%s)\t-\t-\t-\n", oc.Schedule, oc.Error)
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", oc.Schedule, oc.User, localTime(oc.Start), localTime(oc.End), orDash(oc.Next))
	}
	return tw.Flush()
}

func printOverrides(w io.Writer, list []incident.Override) error {
	tw := newTable(w)
	fmt.Fprintln(tw, "ID\tUSER\tSTART\tEND\tBY")
	for _, o := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", o.ID, o.User, localTime(o.Start), localTime(o.End), orDash(o.By))
	}
	return tw.Flush()
}
