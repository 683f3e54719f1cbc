// Package notify holds what every notification channel shares: the page
// it delivers and the one thing a caller must know of a failure, whether
// trying again can help. Each channel is a package of its own beneath it
// (email, webhook), a real client of its provider's wire format.
package notify

import (
	"errors"
	"time"
)

// Page is one notification: what it is about and the key that names this
// delivery, so a retried send is recognised (a webhook's id, an email's
// Message-ID).
type Page struct {
	IncidentID     string `json:"incident_id"`
	Title          string `json:"title"`
	Severity       string `json:"severity"`
	Service        string `json:"service"`
	Text           string `json:"text"`
	IdempotencyKey string `json:"idempotency_key"`
}

// Error is a failed delivery, and whether it is worth retrying.
type Error struct {
	Err error
	// Permanent: retrying cannot help (a refused address, a 404).
	Permanent bool
	// RetryAfter is how long the provider asked to wait (a 429), or 0.
	RetryAfter time.Duration
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Permanent marks err as not worth retrying.
func Permanent(err error) error { return &Error{Err: err, Permanent: true} }

// RetryAfter marks err as worth retrying after d.
func RetryAfter(err error, d time.Duration) error { return &Error{Err: err, RetryAfter: d} }

// IsPermanent says whether err is marked permanent.
func IsPermanent(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Permanent
}

// RetryDelay is the wait the provider asked for, if any.
func RetryDelay(err error) time.Duration {
	var e *Error
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}
