package webhook

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidentflow/incidentflow/notify"
)

// verify checks a request as a Standard Webhooks receiver does.
func verify(t *testing.T, key []byte, r *http.Request, body []byte) {
	t.Helper()
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(r.Header.Get("webhook-id") + "." + r.Header.Get("webhook-timestamp") + "." + string(body)))
	want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
	require.Equal(t, want, r.Header.Get("webhook-signature"))
}

func TestSendSignsAsStandardWebhooks(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	var got Event
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		verify(t, key, r, body)
		require.Equal(t, "incident-db/g0/r1/s2/webhook:ops", r.Header.Get("webhook-id"))
		require.Equal(t, "1795500000", r.Header.Get("webhook-timestamp"))
		require.NoError(t, json.Unmarshal(body, &got))
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	s := &Sender{Name: "ops", URL: srv.URL, Secret: "whsec_" + base64.StdEncoding.EncodeToString(key),
		Now: func() time.Time { return time.Unix(1795500000, 0) }}
	page := notify.Page{IncidentID: "incident-db", Title: "db down", Severity: "P1", Service: "db", Text: "[P1] db down", IdempotencyKey: "incident-db/g0/r1/s2/webhook:ops"}
	require.NoError(t, s.Send(context.Background(), page))
	require.Equal(t, Event{Type: EventPage, Page: page}, got)
}

func TestSendSaysWhetherToRetry(t *testing.T) {
	for _, tc := range []struct {
		name       string
		status     int
		retryAfter string
		permanent  bool
		wait       time.Duration
	}{
		{"rate limited waits as told", http.StatusTooManyRequests, "7", false, 7 * time.Second},
		{"a server error is retried", http.StatusBadGateway, "", false, 0},
		{"a timeout is retried", http.StatusRequestTimeout, "", false, 0},
		{"a missing endpoint is not", http.StatusNotFound, "", true, 0},
		{"a refused signature is not", http.StatusUnauthorized, "", true, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tc.retryAfter != "" {
					w.Header().Set("Retry-After", tc.retryAfter)
				}
				w.WriteHeader(tc.status)
			}))
			defer srv.Close()
			err := (&Sender{Name: "ops", URL: srv.URL}).Send(context.Background(), notify.Page{IdempotencyKey: "k"})
			require.Error(t, err)
			require.Equal(t, tc.permanent, notify.IsPermanent(err), err)
			require.Equal(t, tc.wait, notify.RetryDelay(err))
		})
	}
}
