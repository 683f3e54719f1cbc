// Package chat posts pages into Microsoft Teams and Mattermost channels
// through their incoming webhooks: an Adaptive Card for Teams (incoming
// webhook or Workflows URL), Slack-compatible attachments for Mattermost.
package chat

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/incidentflow/incidentflow/notify"
)

// Kind of chat service.
const (
	Teams      = "teams"
	Mattermost = "mattermost"
)

// Channel is one chat channel's incoming webhook.
type Channel struct {
	Kind, Name string
	URL        string
	Client     *http.Client
}

// Send posts the page into the channel.
func (c *Channel) Send(ctx context.Context, p notify.Page) error {
	var payload any
	switch c.Kind {
	case Teams:
		payload = teamsCard(p)
	case Mattermost:
		payload = mattermostPost(p)
	default:
		return notify.Permanent(fmt.Errorf("unknown chat kind %q", c.Kind))
	}
	body, err := json.Marshal(payload)
	if err != nil {
		return notify.Permanent(fmt.Errorf("encode %s %s: %w", c.Kind, c.Name, err))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.URL, bytes.NewReader(body))
	if err != nil {
		return notify.Permanent(fmt.Errorf("%s %s: %w", c.Kind, c.Name, err))
	}
	req.Header.Set("Content-Type", "application/json")
	client := c.Client
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", c.Kind, c.Name, err)
	}
	defer resp.Body.Close()
	return notify.CheckResponse(c.Kind+" "+c.Name, resp)
}

func title(p notify.Page) string {
	if p.Title == "" {
		return p.IncidentID
	}
	return fmt.Sprintf("[%s] %s", p.Severity, p.Title)
}

// teamsCard is a message carrying one Adaptive Card, as Teams' incoming
// webhooks and Workflows take it.
func teamsCard(p notify.Page) map[string]any {
	facts := []map[string]string{{"title": "Incident", "value": p.IncidentID}}
	if p.Service != "" {
		facts = append(facts, map[string]string{"title": "Service", "value": p.Service})
	}
	return map[string]any{
		"type": "message",
		"attachments": []map[string]any{{
			"contentType": "application/vnd.microsoft.card.adaptive",
			"content": map[string]any{
				"$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
				"type":    "AdaptiveCard",
				"version": "1.4",
				"body": []map[string]any{
					{"type": "TextBlock", "text": title(p), "weight": "Bolder", "size": "Medium", "wrap": true},
					{"type": "TextBlock", "text": p.Text, "wrap": true},
					{"type": "FactSet", "facts": facts},
				},
			},
		}},
	}
}

// mattermostPost uses the attachments Mattermost takes as Slack does.
func mattermostPost(p notify.Page) map[string]any {
	return map[string]any{
		"text": title(p),
		"attachments": []map[string]any{{
			"fallback": title(p) + ": " + p.Text,
			"color":    "#d00000",
			"title":    title(p),
			"text":     p.Text,
			"fields": []map[string]any{
				{"short": true, "title": "Incident", "value": p.IncidentID},
				{"short": true, "title": "Service", "value": p.Service},
			},
		}},
	}
}
