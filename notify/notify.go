// Package notify holds what every notification channel shares: the page
// it delivers and the one thing a caller must know of a failure, whether
// trying again can help. Each channel is a package of its own beneath it
// (email, webhook), a real client of its provider's wire format.
package notify

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
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

// CheckResponse says what an HTTP answer means for a delivery: 2xx done;
// 429 wait as told (Retry-After); 5xx and 408 try again; any other 4xx is
// a refusal that retrying cannot fix.
func CheckResponse(op string, resp *http.Response) error {
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	detail := strings.TrimSpace(string(snippet))
	switch code := resp.StatusCode; {
	case code >= 200 && code < 300:
		return nil
	case code == http.StatusTooManyRequests:
		return RetryAfter(fmt.Errorf("%s: 429 too many requests", op), retryAfter(resp.Header.Get("Retry-After")))
	case code >= 500 || code == http.StatusRequestTimeout:
		return fmt.Errorf("%s: %d %s", op, code, detail)
	default:
		return Permanent(fmt.Errorf("%s: %d %s", op, code, detail))
	}
}

func retryAfter(v string) time.Duration {
	if secs, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && secs > 0 {
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return time.Until(t)
	}
	return 0
}
