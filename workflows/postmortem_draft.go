package workflows

import (
	"fmt"
	"strings"
	"time"

	"github.com/incidentflow/incidentflow/incident"
)

// RenderPostmortem is the blameless post-mortem draft: what the incident
// already knows filled in, the analysis left for people to write.
func RenderPostmortem(p *PostmortemState) string {
	inc := &p.Incident
	var b strings.Builder
	b.WriteString(fmt.Sprintf("# Post-mortem: %s\n\n", inc.Title))
	b.WriteString("_Blameless: describe what happened and why the system allowed it, not who is at fault._\n\n")
	b.WriteString(fmt.Sprintf("**Due:** %s\n\n", p.DueAt.UTC().Format("2006-01-02 15:04 MST")))

	b.WriteString("## Summary\n\n")
	b.WriteString("| | |\n|---|---|\n")
	row := func(k, v string) { b.WriteString(fmt.Sprintf("| %s | %s |\n", k, cell(v))) }
	row("Incident", inc.ID)
	row("Date", inc.CreatedAt.UTC().Format("2006-01-02"))
	row("Severity", inc.Severity)
	row("Services", inc.Service)
	row("Started", inc.CreatedAt.UTC().Format(time.RFC3339))
	if inc.AcknowledgedAt != nil {
		row("Acknowledged", fmt.Sprintf("%s by %s (MTTA %s)", inc.AcknowledgedAt.UTC().Format(time.RFC3339), firstNonEmpty(inc.AcknowledgedBy, inc.Commander, "-"), inc.AcknowledgedAt.Sub(inc.CreatedAt).Round(time.Second)))
	}
	if inc.MitigatedAt != nil {
		row("Mitigated", fmt.Sprintf("%s (MTTR %s)", inc.MitigatedAt.UTC().Format(time.RFC3339), inc.MitigatedAt.Sub(inc.CreatedAt).Round(time.Second)))
	}
	row("Resolved", p.ResolvedAt.UTC().Format(time.RFC3339))
	row("Duration", p.ResolvedAt.Sub(inc.CreatedAt).Round(time.Second).String())
	row("Commander", firstNonEmpty(inc.Commander, "-"))
	for _, role := range incident.Roles[1:] {
		if u := inc.Roles[role]; u != "" {
			row(strings.ToUpper(role[:1])+role[1:]+" lead", u)
		}
	}
	row("Alerts", fmt.Sprintf("%d (%d distinct)", inc.AlertCount, len(inc.Alerts)))
	impact := "_To be written: who was affected, how, and for how long._"
	if inc.LastUpdate != nil && inc.LastUpdate.Impact != "" {
		impact = inc.LastUpdate.Impact
	}
	b.WriteString("\n### Customer impact\n\n" + impact + "\n\n")

	b.WriteString("## Timeline\n\nAll times UTC, from the incident's own record.\n\n")
	b.WriteString("| Time | Who | Event |\n|---|---|---|\n")
	for _, e := range inc.Timeline {
		b.WriteString(fmt.Sprintf("| %s | %s | %s |\n", e.At.UTC().Format("2006-01-02 15:04:05"), cell(firstNonEmpty(e.Actor, "-")), cell(e.Message)))
	}

	for _, s := range []struct{ title, prompt string }{
		{"Root cause", "What in the system made this possible?"},
		{"Contributing factors", "What made it worse, slower to detect, or harder to fix?"},
		{"Five whys", "1. Why?\n2. Why?\n3. Why?\n4. Why?\n5. Why?"},
		{"What went well", ""},
		{"What went poorly", ""},
		{"Where we got lucky", ""},
	} {
		b.WriteString(fmt.Sprintf("\n## %s\n\n", s.title))
		if s.prompt != "" {
			b.WriteString(s.prompt + "\n")
		}
	}
	b.WriteString("\n## Action items\n\n")
	b.WriteString("Each item is its own issue, labelled `action-item`; incidentflow keeps this list in step and tracks them to closure.\n\n")
	begin, end := incident.SectionMarkers(ActionItemsSection)
	b.WriteString(begin + "\n" + ActionItemsMarkdown(p.ActionItems) + end + "\n")
	b.WriteString("\n## Lessons learned\n\n")
	return b.String()
}

// ActionItemsMarkdown is the action-items table of the post-mortem issue.
func ActionItemsMarkdown(items []TrackedActionItem) string {
	if len(items) == 0 {
		return "_None yet. Add them with `/incident action` or `POST /v1/incidents/{id}/action-items`._\n"
	}
	var b strings.Builder
	b.WriteString("| # | Type | Item | Owner | Due | Issue | State |\n|---|---|---|---|---|---|---|\n")
	for _, it := range items {
		issue := "-"
		if it.Issue != nil {
			issue = fmt.Sprintf("[%s#%d](%s)", it.Issue.Repo, it.Issue.Number, it.Issue.URL)
		} else if it.Error != "" {
			issue = "not opened: " + it.Error
		}
		b.WriteString(fmt.Sprintf("| %d | %s | %s | %s | %s | %s | %s |\n", it.Number, it.Type, cell(it.Title), cell(it.Owner), firstNonEmpty(it.Due, "-"), cell(issue), it.State))
	}
	return b.String()
}

// ActionItemBody is the body of an action item's own issue.
func ActionItemBody(p *PostmortemState, it TrackedActionItem) string {
	var b strings.Builder
	b.WriteString(fmt.Sprintf("Action item %d from the post-mortem of %s incident `%s`: %s\n\n", it.Number, p.Incident.Severity, p.IncidentID, p.Incident.Title))
	b.WriteString(fmt.Sprintf("- **Type:** %s (%s)\n", it.Type, actionTypeMeaning(it.Type)))
	b.WriteString(fmt.Sprintf("- **Owner:** %s\n", it.Owner))
	b.WriteString(fmt.Sprintf("- **Due:** %s\n", firstNonEmpty(it.Due, "not set")))
	b.WriteString(fmt.Sprintf("- **Service:** %s\n", p.Incident.Service))
	if p.Issue != nil {
		b.WriteString(fmt.Sprintf("- **Post-mortem:** %s#%d\n", p.Issue.Repo, p.Issue.Number))
	}
	b.WriteString(fmt.Sprintf("- **Added by:** %s at %s\n", it.AddedBy, it.AddedAt.UTC().Format(time.RFC3339)))
	b.WriteString("\nClose this issue when the work is done; the post-mortem tracks it.\n")
	return b.String()
}

func actionTypeMeaning(t string) string {
	switch t {
	case "prevent":
		return "stop it happening again"
	case "detect":
		return "notice it sooner"
	case "respond":
		return "recover faster"
	}
	return t
}

// cell keeps a value inside one Markdown table cell.
func cell(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	s = strings.ReplaceAll(s, "\r", "")
	return strings.ReplaceAll(s, "\n", "<br>")
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if strings.TrimSpace(s) != "" {
			return s
		}
	}
	return ""
}
