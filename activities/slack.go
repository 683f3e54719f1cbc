package activities

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"
	"go.temporal.io/sdk/temporal"

	"github.com/incidentflow/incidentflow/config"
)

// Slack pages by DM (conversations.open + chat.postMessage) and posts to
// channels, through the real slack-go client built once with the bot token.
type Slack struct {
	Client *slack.Client
	// MinInterval spaces posts to one channel (Slack allows about one
	// message per second per channel); 0 means one second.
	MinInterval time.Duration

	paceOnce sync.Once
	pacer    pacer

	// channelIDs caches "#name" -> channel ID: a post is looked for by
	// its key in the channel's history, which needs the ID.
	idsMu      sync.Mutex
	channelIDs map[string]string

	digests digests
}

// channelID is the ID of a channel given as "#name" (or already as an ID).
// It returns the name itself when no channel of that name is visible, and
// the post then goes by name as before, without the retry lookup.
func (s *Slack) channelID(ctx context.Context, channel string) (string, error) {
	name, ok := strings.CutPrefix(channel, "#")
	if !ok {
		return channel, nil
	}
	s.idsMu.Lock()
	id, cached := s.channelIDs[name]
	s.idsMu.Unlock()
	if cached {
		return id, nil
	}
	ch, err := s.channelByName(ctx, name)
	if err != nil || ch == nil {
		return channel, err
	}
	s.idsMu.Lock()
	if s.channelIDs == nil {
		s.channelIDs = map[string]string{}
	}
	s.channelIDs[name] = ch.ID
	s.idsMu.Unlock()
	return ch.ID, nil
}

// pace waits for the channel's next free slot in this process, so bursts
// (reminders, updates and card edits at once) do not earn 429s; pages go
// first.
func (s *Slack) pace(ctx context.Context, channel string, prio Priority) error {
	s.paceOnce.Do(func() {
		s.pacer.gap = s.MinInterval
		if s.pacer.gap == 0 {
			s.pacer.gap = time.Second
		}
	})
	return s.pacer.wait(ctx, channel, prio)
}

func (s *Slack) Name() string { return "slack" }

func (s *Slack) NotifyUser(ctx context.Context, name string, u config.User, m Message) (bool, error) {
	n, err := s.PageUser(ctx, name, u, m)
	return n > 0, err
}

// PageUser DMs a person. A page (m.Urgent) that finds others for the same
// person waiting for the DM's next slot goes out with them as one digest;
// it answers how many incidents the message listed (0: no Slack ID).
func (s *Slack) PageUser(ctx context.Context, name string, u config.User, m Message) (int, error) {
	if u.SlackID == "" {
		return 0, nil
	}
	ch, _, _, err := s.Client.OpenConversationContext(ctx, &slack.OpenConversationParameters{Users: []string{u.SlackID}, ReturnIM: true})
	if err != nil {
		return 0, classifySlack(fmt.Sprintf("open DM with %s", name), err)
	}
	n := 1
	if m.Urgent {
		n, err = s.page(ctx, ch.ID, m)
	} else {
		err = s.post(ctx, ch.ID, m)
	}
	if err != nil {
		return 0, classifySlack(fmt.Sprintf("DM %s", name), err)
	}
	return n, nil
}

// page posts m to a DM, folded into a digest with the pages that queue
// behind the same slot.
func (s *Slack) page(ctx context.Context, dm string, m Message) (int, error) {
	if m.IdempotencyKey != "" {
		done, err := s.delivered(ctx, dm, m.IdempotencyKey)
		if err != nil || done {
			return 1, err
		}
	}
	dg, lead := s.digests.join(dm, m)
	if !lead {
		return dg.wait(ctx)
	}
	err := s.pace(ctx, dm, Urgent)
	pages := s.digests.seal(dm, dg)
	if err == nil {
		err = s.send(ctx, dm, pages)
	}
	dg.finish(err)
	return len(pages), err
}

func (s *Slack) NotifyChannel(ctx context.Context, channel string, m Message) (bool, error) {
	if channel == "" || !isSlackChannel(channel) {
		return false, nil
	}
	if err := s.post(ctx, channel, m); err != nil {
		return false, classifySlack(fmt.Sprintf("post to %s", channel), err)
	}
	return true, nil
}

// Button action IDs on pages (and, later, incident cards); the intake's
// /slack/interactions maps them onto the workflow's Updates.
const (
	ActionAck       = "incident_ack"
	ActionResolve   = "incident_resolve"
	ActionEscalate  = "incident_escalate"
	ActionCommander = "incident_commander"
)

// pageBlocks renders pages: each one's text and the buttons to act on it,
// under a heading when a digest lists several.
func pageBlocks(pages []Message) []slack.Block {
	section := func(text string) slack.Block {
		return slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, text, false, false), nil, nil)
	}
	var blocks []slack.Block
	if len(pages) > 1 {
		blocks = append(blocks, section(fmt.Sprintf("*%d incidents are paging you*", len(pages))))
	}
	for i, p := range pages {
		buttons := actionButtons(p.IncidentID)
		if i > 0 {
			// Block IDs must be unique within a message.
			buttons.BlockID = fmt.Sprintf("incident_actions_%d", i)
		}
		blocks = append(blocks, section(p.Text), buttons)
	}
	return blocks
}

// actionButtons are the same on pages and cards.
func actionButtons(incidentID string) *slack.ActionBlock {
	button := func(id, label, style string) *slack.ButtonBlockElement {
		b := slack.NewButtonBlockElement(id, incidentID, slack.NewTextBlockObject(slack.PlainTextType, label, false, false))
		if style != "" {
			b.Style = slack.Style(style)
		}
		return b
	}
	return slack.NewActionBlock("incident_actions",
		button(ActionAck, "Acknowledge", "primary"),
		button(ActionResolve, "Resolve", ""),
		button(ActionEscalate, "Escalate", "danger"),
		button(ActionCommander, "I'll be commander", ""),
	)
}

func (s *Slack) post(ctx context.Context, channel string, m Message) error {
	channel, err := s.channelID(ctx, channel)
	if err != nil {
		return err
	}
	if m.IdempotencyKey != "" && config.IsSlackChannelID(channel) {
		// A retry after Slack accepted the post (and the answer was lost)
		// finds it here instead of paging twice.
		done, err := s.delivered(ctx, channel, m.IdempotencyKey)
		if err != nil {
			return err
		}
		if done {
			return nil
		}
	}
	prio := Chatter
	if m.Urgent {
		prio = Urgent
	}
	if err := s.pace(ctx, channel, prio); err != nil {
		return err
	}
	return s.send(ctx, channel, []Message{m})
}

// send posts one message carrying pages (one, or a digest of several)
// now; the caller has waited for the slot.
func (s *Slack) send(ctx context.Context, channel string, pages []Message) error {
	first := pages[0]
	opts := []slack.MsgOption{slack.MsgOptionText(digestText(pages), false)}
	if first.Buttons && first.IncidentID != "" {
		opts = append(opts, slack.MsgOptionBlocks(pageBlocks(pages)...))
	}
	// The keys travel with the message so a later lookup can tell a
	// retried delivery from a new one.
	payload := map[string]any{"incident_id": first.IncidentID, "idempotency_key": first.IdempotencyKey}
	if len(pages) > 1 {
		keys := make([]string, len(pages))
		for i, p := range pages {
			keys[i] = p.IdempotencyKey
		}
		payload["idempotency_keys"] = keys
	}
	_, _, err := s.Client.PostMessageContext(ctx, channel, append(opts,
		slack.MsgOptionMetadata(slack.SlackMetadata{EventType: "incidentflow_notification", EventPayload: payload}),
	)...)
	return err
}

// delivered looks for the key in the channel's recent messages' metadata.
func (s *Slack) delivered(ctx context.Context, channel, key string) (bool, error) {
	hist, err := s.Client.GetConversationHistoryContext(ctx, &slack.GetConversationHistoryParameters{ChannelID: channel, Limit: 50, IncludeAllMetadata: true})
	if err != nil {
		return false, err
	}
	for _, msg := range hist.Messages {
		if msg.Metadata.EventPayload["idempotency_key"] == key {
			return true, nil
		}
		// A digest carries every page's key.
		keys, _ := msg.Metadata.EventPayload["idempotency_keys"].([]any)
		if slices.Contains(keys, any(key)) {
			return true, nil
		}
	}
	return false, nil
}

func isSlackChannel(c string) bool {
	return len(c) > 1 && (c[0] == '#' || c[0] == 'C' || c[0] == 'G' || c[0] == 'D')
}

// permanentSlackErrors will not go away by retrying.
var permanentSlackErrors = map[string]bool{
	"channel_not_found": true, "not_in_channel": true, "is_archived": true,
	"invalid_auth": true, "not_authed": true, "account_inactive": true,
	"token_revoked": true, "token_expired": true, "missing_scope": true,
	"user_not_found": true, "users_not_found": true, "cannot_dm_bot": true,
	"user_disabled": true, "invalid_arguments": true, "msg_too_long": true,
	"no_text": true, "restricted_action": true, "ekm_access_denied": true,
}

// classifySlack maps Slack's answers onto Temporal retry semantics: 429 waits
// exactly as long as Slack said, permanent errors stop retrying at once.
func classifySlack(op string, err error) error {
	var rl *slack.RateLimitedError
	if errors.As(err, &rl) {
		return temporal.NewApplicationErrorWithOptions(fmt.Sprintf("%s: rate limited by Slack", op), "SlackRateLimited",
			temporal.ApplicationErrorOptions{NextRetryDelay: rl.RetryAfter, Cause: err})
	}
	var se slack.SlackErrorResponse
	if errors.As(err, &se) && permanentSlackErrors[se.Err] {
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf("%s: slack says %s", op, se.Err), "SlackPermanent", err)
	}
	return fmt.Errorf("%s: %w", op, err)
}
