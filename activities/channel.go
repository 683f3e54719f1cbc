package activities

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/slack-go/slack"
	"go.temporal.io/sdk/temporal"

	"github.com/incidentflow/incidentflow/incident"
)

// Slack's rules: lowercase letters, digits, hyphens and underscores, at most 80.
const maxChannelName = 80

// ChannelName is `inc-YYYYMMDD-<slug>-<hash>`: the hash of the incident ID
// keeps two incidents with the same title apart, and makes the name the
// same on every retry.
func ChannelName(incidentID, title string, openedAt time.Time) string {
	return channelName("inc-", incidentID, title, openedAt)
}

// ExerciseChannelName is ChannelName for a game day, `exercise-YYYYMMDD-...`:
// whoever scans the channel list sees at once it is no real incident.
func ExerciseChannelName(incidentID, title string, openedAt time.Time) string {
	return channelName("exercise-", incidentID, title, openedAt)
}

func channelName(kind, incidentID, title string, openedAt time.Time) string {
	sum := sha256.Sum256([]byte(incidentID))
	suffix := "-" + hex.EncodeToString(sum[:2])
	prefix := kind + openedAt.UTC().Format("20060102") + "-"
	slug := incident.Slug(title, "_", maxChannelName-len(prefix)-len(suffix)-3)
	if slug == "" {
		slug = "incident"
	}
	return prefix + slug + suffix
}

func purposeMarker(incidentID string) string { return "incidentflow:" + incidentID }

// OpenChannel creates the channel (or finds the one an earlier attempt
// created), sets topic and purpose, invites people and links it in the
// announce channel. A same-named channel that is not this incident's gets a
// numeric suffix.
func (s *Slack) OpenChannel(ctx context.Context, req incident.ChannelRequest, inviteIDs []string, announce string) (incident.SlackChannel, error) {
	base := ChannelName(req.IncidentID, req.Title, req.OpenedAt)
	if req.Exercise {
		base = ExerciseChannelName(req.IncidentID, req.Title, req.OpenedAt)
		// Named from the bare title; the topic, purpose and link carry the mark.
		req.Title = incident.ExerciseText(true, req.Title)
	}
	var ch *slack.Channel
	for attempt := 1; ch == nil; attempt++ {
		name := base
		if attempt > 1 {
			name = fmt.Sprintf("%s-%d", base, attempt)
		}
		if attempt > 9 {
			return incident.SlackChannel{}, temporal.NewNonRetryableApplicationError(fmt.Sprintf("create slack channel %q: nine names taken", base), "SlackChannelNames", nil)
		}
		created, err := s.Client.CreateConversationContext(ctx, slack.CreateConversationParams{ChannelName: name})
		var se slack.SlackErrorResponse
		switch {
		case err == nil:
			ch = created
		case errors.As(err, &se) && se.Err == "name_taken":
			existing, err := s.channelByName(ctx, name)
			if err != nil {
				return incident.SlackChannel{}, classifySlack(fmt.Sprintf("find slack channel %q", name), err)
			}
			if existing != nil && strings.Contains(existing.Purpose.Value, purposeMarker(req.IncidentID)) {
				ch = existing // an earlier attempt of ours made it
			}
		default:
			return incident.SlackChannel{}, classifySlack(fmt.Sprintf("create slack channel %q", name), err)
		}
	}
	if _, err := s.Client.SetPurposeOfConversationContext(ctx, ch.ID, fmt.Sprintf("%s (%s)", req.Title, purposeMarker(req.IncidentID))); err != nil {
		return incident.SlackChannel{}, classifySlack(fmt.Sprintf("set purpose of %s", ch.Name), err)
	}
	topic := fmt.Sprintf("%s · %s · commander: %s", req.Severity, req.Title, orNobody(req.Commander))
	if _, err := s.Client.SetTopicOfConversationContext(ctx, ch.ID, topic); err != nil {
		return incident.SlackChannel{}, classifySlack(fmt.Sprintf("set topic of %s", ch.Name), err)
	}
	if len(inviteIDs) > 0 {
		_, err := s.Client.InviteUsersToConversationContext(ctx, ch.ID, inviteIDs...)
		var se slack.SlackErrorResponse
		// Someone already in the channel is not a failure of the invite.
		if err != nil && !(errors.As(err, &se) && se.Err == "already_in_channel") {
			return incident.SlackChannel{}, classifySlack(fmt.Sprintf("invite responders to %s", ch.Name), err)
		}
	}
	if announce != "" {
		m := Message{IncidentID: req.IncidentID, IdempotencyKey: req.IncidentID + "/channel-link",
			Text: fmt.Sprintf("%s incident %s: %s. Join <#%s>.", req.Severity, req.IncidentID, req.Title, ch.ID)}
		if err := s.post(ctx, announce, m); err != nil {
			return incident.SlackChannel{}, classifySlack(fmt.Sprintf("link %s in %s", ch.Name, announce), err)
		}
	}
	return incident.SlackChannel{ID: ch.ID, Name: ch.Name}, nil
}

func (s *Slack) channelByName(ctx context.Context, name string) (*slack.Channel, error) {
	params := &slack.GetConversationsParameters{ExcludeArchived: true, Limit: 1000, Types: []string{"public_channel"}}
	for {
		chans, cursor, err := s.Client.GetConversationsContext(ctx, params)
		if err != nil {
			return nil, err
		}
		for i := range chans {
			if chans[i].Name == name {
				return &chans[i], nil
			}
		}
		if cursor == "" {
			return nil, nil
		}
		params.Cursor = cursor
	}
}

func orNobody(s string) string {
	if s == "" {
		return "unassigned"
	}
	return s
}

// Invite brings Slack users into a channel; those already there are fine.
func (s *Slack) Invite(ctx context.Context, channel string, slackIDs []string) error {
	_, err := s.Client.InviteUsersToConversationContext(ctx, channel, slackIDs...)
	var se slack.SlackErrorResponse
	if err != nil && !(errors.As(err, &se) && se.Err == "already_in_channel") {
		return classifySlack(fmt.Sprintf("invite %s to %s", strings.Join(slackIDs, ","), channel), err)
	}
	return nil
}
