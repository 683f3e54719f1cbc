// Package email delivers pages over SMTP with go-mail: STARTTLS by
// default, authentication when a user name is set.
package email

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/wneessen/go-mail"

	"github.com/incidentflow/incidentflow/incident"
	"github.com/incidentflow/incidentflow/notify"
)

// Sender sends through one SMTP server.
type Sender struct {
	Host     string
	Port     int
	From     string
	Username string
	Password string
	// StartTLS requires STARTTLS before anything is sent (config's
	// default); false sends in the clear, for a relay on the same host.
	StartTLS bool
	Timeout  time.Duration
}

// Send mails the page to one address. Its Message-ID is made from the
// idempotency key, so mail clients and archives see a retried delivery as
// the same message.
func (s *Sender) Send(ctx context.Context, to string, p notify.Page) error {
	m := mail.NewMsg()
	if err := m.From(s.From); err != nil {
		return notify.Permanent(fmt.Errorf("email from %q: %w", s.From, err))
	}
	if err := m.To(to); err != nil {
		return notify.Permanent(fmt.Errorf("email to %q: %w", to, err))
	}
	m.Subject(subject(p))
	m.SetBodyString(mail.TypeTextPlain, p.Text+"\n\nIncident "+p.IncidentID+" on "+p.Service+".\n")
	m.SetMessageIDWithValue(messageID(p.IdempotencyKey))
	m.SetGenHeader("X-Incidentflow-Incident", p.IncidentID)
	// Pages outrank newsletters in the inbox that gets them.
	m.SetImportance(mail.ImportanceUrgent)

	opts := []mail.Option{mail.WithPort(s.Port), mail.WithTimeout(s.timeout())}
	if s.StartTLS {
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory))
	} else {
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
	}
	if s.Username != "" {
		auth := mail.SMTPAuthPlain
		if !s.StartTLS {
			auth = mail.SMTPAuthPlainNoEnc
		}
		opts = append(opts, mail.WithSMTPAuth(auth), mail.WithUsername(s.Username), mail.WithPassword(s.Password))
	}
	c, err := mail.NewClient(s.Host, opts...)
	if err != nil {
		return notify.Permanent(fmt.Errorf("smtp client for %s: %w", s.Host, err))
	}
	if err := c.DialAndSendWithContext(ctx, m); err != nil {
		return classify(fmt.Errorf("email %s via %s: %w", to, s.Host, err))
	}
	return nil
}

// classify: the server's 5xx refusals are permanent, its 4xx and a
// connection that failed are worth another try.
func classify(err error) error {
	var sendErr *mail.SendError
	if errors.As(err, &sendErr) && !sendErr.IsTemp() && sendErr.ErrorCode() >= 500 {
		return notify.Permanent(err)
	}
	return err
}

func (s *Sender) timeout() time.Duration {
	if s.Timeout > 0 {
		return s.Timeout
	}
	return 15 * time.Second
}

func messageID(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:16]) + "@incidentflow"
}

// subject is "[P1] incident-x: title" for a page, or the first line of the
// text for a message without a title (a reminder).
func subject(p notify.Page) string {
	if p.Title != "" {
		return fmt.Sprintf("[%s] %s: %s", p.Severity, p.IncidentID, p.Title)
	}
	line, _, _ := strings.Cut(p.Text, "\n")
	return incident.Cut(line, 200)
}
