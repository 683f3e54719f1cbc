package activities

import (
	"context"
	"fmt"
	"strings"

	"github.com/slack-go/slack"

	"github.com/incidentflow/incidentflow/incident"
)

const cardEvent = "incidentflow_card"

// UpsertCard posts the incident card or updates it in place.
func (a *Activities) UpsertCard(ctx context.Context, req incident.CardRequest) (incident.CardRef, error) {
	defer keepAlive(ctx)()
	if a.Slack == nil {
		return incident.CardRef{}, nonRetryable("SlackNotConfigured", "slack is not configured")
	}
	return a.Slack.UpsertCard(ctx, req)
}

// UpsertCard keeps one card per incident: with a ref it is chat.update; the
// first post looks in the channel's recent history for a card of this
// incident first, so a retry after Slack accepted the post never posts twice.
func (s *Slack) UpsertCard(ctx context.Context, req incident.CardRequest) (incident.CardRef, error) {
	id, err := s.channelID(ctx, req.Channel)
	if err != nil {
		return incident.CardRef{}, classifySlack(fmt.Sprintf("find channel %s", req.Channel), err)
	}
	req.Channel = id
	text, blocks := cardBlocks(req)
	ref := req.Ref
	if ref == nil {
		found, err := s.findCard(ctx, req.Channel, req.IncidentID)
		if err != nil {
			return incident.CardRef{}, classifySlack(fmt.Sprintf("look for the card of %s in %s", req.IncidentID, req.Channel), err)
		}
		ref = found
	}
	if err := s.pace(ctx, req.Channel, Chatter); err != nil {
		return incident.CardRef{}, err
	}
	if ref != nil {
		_, _, _, err := s.Client.UpdateMessageContext(ctx, ref.Channel, ref.TS, slack.MsgOptionText(text, false), slack.MsgOptionBlocks(blocks...))
		if err != nil {
			return incident.CardRef{}, classifySlack(fmt.Sprintf("update the card of %s", req.IncidentID), err)
		}
		return *ref, nil
	}
	channel, ts, err := s.Client.PostMessageContext(ctx, req.Channel,
		slack.MsgOptionText(text, false), slack.MsgOptionBlocks(blocks...),
		slack.MsgOptionMetadata(slack.SlackMetadata{EventType: cardEvent, EventPayload: map[string]any{"incident_id": req.IncidentID}}))
	if err != nil {
		return incident.CardRef{}, classifySlack(fmt.Sprintf("post the card of %s to %s", req.IncidentID, req.Channel), err)
	}
	return incident.CardRef{Channel: channel, TS: ts}, nil
}

// findCard looks through the channel's recent messages for this incident's
// card (channel is an ID: UpsertCard resolves names first).
func (s *Slack) findCard(ctx context.Context, channel, incidentID string) (*incident.CardRef, error) {
	id := channel
	if strings.HasPrefix(id, "#") {
		// No visible channel of that name: there is no history to look in.
		return nil, nil
	}
	hist, err := s.Client.GetConversationHistoryContext(ctx, &slack.GetConversationHistoryParameters{ChannelID: id, Limit: 100, IncludeAllMetadata: true})
	if err != nil {
		return nil, err
	}
	for _, m := range hist.Messages {
		if m.Metadata.EventType == cardEvent && m.Metadata.EventPayload["incident_id"] == incidentID {
			return &incident.CardRef{Channel: id, TS: m.Timestamp}, nil
		}
	}
	return nil, nil
}

// cardBlocks renders the card: what an on-call engineer needs at a glance,
// and the buttons to act.
func cardBlocks(req incident.CardRequest) (string, []slack.Block) {
	text := incident.ExerciseText(req.Exercise, fmt.Sprintf("[%s] %s: %s (%s)", req.Severity, req.IncidentID, req.Title, req.Status))
	roles := []string{}
	for _, r := range incident.Roles {
		if u := req.Roles[r]; u != "" {
			roles = append(roles, fmt.Sprintf("%s: %s", r, u))
		}
	}
	if len(roles) == 0 {
		roles = append(roles, "none yet")
	}
	next := "none"
	if req.NextUpdate != nil {
		next = fmt.Sprintf("<!date^%d^{time}|%s>", req.NextUpdate.Unix(), req.NextUpdate.UTC().Format("15:04 MST"))
	}
	last := req.LastUpdate
	if last == "" {
		last = "none yet"
	}
	field := func(k, v string) *slack.TextBlockObject {
		return slack.NewTextBlockObject(slack.MarkdownType, fmt.Sprintf("*%s*\n%s", k, v), false, false)
	}
	blocks := []slack.Block{
		slack.NewHeaderBlock(slack.NewTextBlockObject(slack.PlainTextType, truncate(incident.ExerciseText(req.Exercise, fmt.Sprintf("%s · %s", req.Severity, req.Title)), 150), false, false)),
		slack.NewSectionBlock(nil, []*slack.TextBlockObject{
			field("Status", string(req.Status)), field("Stage", string(req.Stage)),
			field("Roles", strings.Join(roles, "\n")), field("Alerts", fmt.Sprint(req.AlertCount)),
			field("Last update", truncate(last, 500)), field("Next update due", next),
		}, nil),
		slack.NewContextBlock("", slack.NewTextBlockObject(slack.MarkdownType, req.IncidentID, false, false)),
	}
	if req.Runbook != "" {
		blocks = append(blocks, slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, fmt.Sprintf("*Runbook*: <%s>", req.Runbook), false, false), nil, nil))
	}
	if len(req.Similar) > 0 {
		blocks = append(blocks, slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, similarText(req.Similar), false, false), nil, nil))
	}
	if req.Status != incident.StatusResolved && req.Status != incident.StatusClosed {
		blocks = append(blocks, actionButtons(req.IncidentID))
		if len(req.RunbookSteps) > 0 {
			blocks = append(blocks, runbookButtons(req.IncidentID, req.RunbookSteps))
		}
	}
	return text, blocks
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-1] + "…"
}

// similarText lists past incidents like this one, each with what made it
// similar, its root cause and its post-mortem when known.
func similarText(list []incident.SimilarIncident) string {
	var b strings.Builder
	b.WriteString("*Seen before*")
	for _, s := range list {
		fmt.Fprintf(&b, "\n• %s %s `%s` (%s, %s)", s.Severity, slackEscape(s.Title), s.ID, s.CreatedAt.UTC().Format("2006-01-02"), s.Why)
		if s.RootCause != "" {
			fmt.Fprintf(&b, ": root cause %s", slackEscape(s.RootCause))
		}
		if s.Postmortem != "" {
			fmt.Fprintf(&b, " · <%s|post-mortem>", s.Postmortem)
		}
	}
	return b.String()
}

// slackEscape keeps text that came from alerts and people from being read
// as Slack markup (a title with <!channel> would notify the channel).
var slackEscape = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace
