// Package webhook delivers pages as HTTP POSTs signed per Standard Webhooks
// (webhook-id, webhook-timestamp, webhook-signature: v1,base64(HMAC-SHA256
// of "id.timestamp.body")), so any receiver with a Standard Webhooks
// library can verify them.
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/incidentflow/incidentflow/notify"
)

// Sender posts to one configured webhook.
type Sender struct {
	Name string
	URL  string
	// Secret signs each request; "whsec_" + base64 as Standard Webhooks
	// issues them, or any other string used as it is.
	Secret string
	Client *http.Client
	// Now is the clock for the signature timestamp; tests pin it.
	Now func() time.Time
}

// Event is the body of a page delivery.
type Event struct {
	Type string `json:"type"`
	notify.Page
}

// EventPage is the type of a page.
const EventPage = "incident.page"

// Send posts the page. The webhook-id is the page's idempotency key, so a
// receiver that keeps the ids it has seen takes a retried delivery once.
func (s *Sender) Send(ctx context.Context, p notify.Page) error {
	body, err := json.Marshal(Event{Type: EventPage, Page: p})
	if err != nil {
		return notify.Permanent(fmt.Errorf("encode webhook %s: %w", s.Name, err))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL, bytes.NewReader(body))
	if err != nil {
		return notify.Permanent(fmt.Errorf("webhook %s: %w", s.Name, err))
	}
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	id, ts := p.IdempotencyKey, strconv.FormatInt(now().Unix(), 10)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "incidentflow")
	req.Header.Set("webhook-id", id)
	req.Header.Set("webhook-timestamp", ts)
	if s.Secret != "" {
		req.Header.Set("webhook-signature", Sign(s.Secret, id, ts, body))
	}
	client := s.Client
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("webhook %s: %w", s.Name, err)
	}
	defer resp.Body.Close()
	return notify.CheckResponse("webhook "+s.Name, resp)
}

// Sign is the Standard Webhooks signature of a delivery.
func Sign(secret, id, timestamp string, body []byte) string {
	mac := hmac.New(sha256.New, secretKey(secret))
	mac.Write([]byte(id + "." + timestamp + "."))
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

func secretKey(secret string) []byte {
	if b64, ok := strings.CutPrefix(secret, "whsec_"); ok {
		if key, err := base64.StdEncoding.DecodeString(b64); err == nil {
			return key
		}
	}
	return []byte(secret)
}
