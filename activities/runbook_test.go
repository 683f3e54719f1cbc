package activities_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/incidentflow/incidentflow/activities"
	"github.com/incidentflow/incidentflow/config"
	"github.com/incidentflow/incidentflow/incident"
)

// call is one request the automation endpoint got.
type call struct {
	method, path, query, token, key, contentType, body string
}

type endpoint struct {
	*httptest.Server
	mu    sync.Mutex
	calls []call
}

func newEndpoint(t *testing.T, answer http.HandlerFunc) *endpoint {
	e := &endpoint{}
	e.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		e.mu.Lock()
		e.calls = append(e.calls, call{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Get("X-Token"), r.Header.Get("Idempotency-Key"), r.Header.Get("Content-Type"), string(b)})
		e.mu.Unlock()
		answer(w, r)
	}))
	t.Cleanup(e.Close)
	return e
}

func (e *endpoint) got() []call {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]call(nil), e.calls...)
}

const runbookSecret = "rb-s3cret-token"

func runbookActivities(url string, timeout time.Duration) *activities.Activities {
	step := config.RunbookStep{Title: "Restart checkout", URL: url + "/restart?sig=q-secret", Timeout: config.Duration(timeout),
		Headers: map[string]config.RunbookHeader{"X-Token": {ValueEnv: "RB_TEST_TOKEN"}},
		Body:    `{"incident": {{json .ID}}, "service": {{json .Service}}, "title": {{json .Title}}}`, Allowed: []string{"alice"}}
	return &activities.Activities{Config: &config.Config{Runbooks: map[string]config.RunbookStep{"restart": step}}}
}

func runbookRequest() incident.RunbookCallRequest {
	return incident.RunbookCallRequest{IncidentID: "incident-x", Key: "x", Service: "checkout", Severity: "P1", Title: `checkout "5xx"`,
		Step: "restart", Run: 1, IdempotencyKey: "incident-x/1700000000/runbook/restart/1"}
}

func TestRunRunbookStep(t *testing.T) {
	t.Setenv("RB_TEST_TOKEN", runbookSecret)
	many := strings.Repeat("line of output\n", 20)
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	for _, tc := range []struct {
		name    string
		answer  http.HandlerFunc
		url     string // default: the endpoint
		timeout time.Duration
		// heartbeat is what a lost earlier attempt recorded.
		heartbeat any
		unsetEnv  bool
		calls     int
		status    int
		output    string
		failure   string // the activity fails, not retryable, saying this
	}{
		{name: "answered: headers from env, idempotency key, body, output bounded",
			answer: func(w http.ResponseWriter, _ *http.Request) {
				fmt.Fprint(w, "restarted 3 pods with "+runbookSecret+"\n"+many)
			},
			calls: 1, status: 200, output: "restarted 3 pods with [redacted]\nline of output\nline of output\nline of output\nline of output…"},
		{name: "refused by the endpoint is a result",
			answer: func(w http.ResponseWriter, _ *http.Request) {
				http.Error(w, "deploy freeze in effect", http.StatusServiceUnavailable)
			},
			calls: 1, status: 503, output: "deploy freeze in effect"},
		{name: "a redirect is the answer, not followed",
			answer: func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, "https://elsewhere.example.com/", http.StatusFound)
			},
			calls: 1, status: 302},
		{name: "connection refused", url: closed.URL, failure: "connection refused"},
		{name: "timeout", timeout: time.Second, calls: 1, failure: "no answer within 1s (timeout)",
			answer: func(w http.ResponseWriter, r *http.Request) {
				select {
				case <-r.Context().Done():
				case <-time.After(5 * time.Second):
				}
			}},
		{name: "secret not set", unsetEnv: true, failure: "RB_TEST_TOKEN is not set in the worker's environment"},
		{name: "a retry after the answer came sends nothing",
			heartbeat: map[string]any{"sent": true, "result": map[string]any{"request": "POST x", "status": 200, "status_text": "200 OK", "output": "done before", "duration": "1s"}},
			status:    200, output: "done before"},
		{name: "a retry after the request may have gone sends nothing", heartbeat: map[string]any{"sent": true},
			failure: "not sent again (Idempotency-Key incident-x/1700000000/runbook/restart/1)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			answer := tc.answer
			if answer == nil {
				answer = func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "ok") }
			}
			e := newEndpoint(t, answer)
			url := e.URL
			if tc.url != "" {
				url = tc.url
			}
			if tc.unsetEnv {
				t.Setenv("RB_TEST_TOKEN", "")
			}
			var s testsuite.WorkflowTestSuite
			env := s.NewTestActivityEnvironment()
			acts := runbookActivities(url, tc.timeout)
			env.RegisterActivity(acts)
			if tc.heartbeat != nil {
				env.SetHeartbeatDetails(tc.heartbeat)
			}
			v, err := env.ExecuteActivity(acts.RunRunbookStep, runbookRequest())
			require.Len(t, e.got(), tc.calls)
			if tc.failure != "" {
				var appErr *temporal.ApplicationError
				require.True(t, errors.As(err, &appErr), "%v", err)
				require.True(t, appErr.NonRetryable(), "an outcome of the call is final")
				require.Contains(t, appErr.Message(), tc.failure)
				require.NotContains(t, err.Error(), "q-secret", "the URL's query stays out of errors")
				require.NotContains(t, err.Error(), runbookSecret)
				return
			}
			require.NoError(t, err)
			var res incident.RunbookCallResult
			require.NoError(t, v.Get(&res))
			require.Equal(t, tc.status, res.Status)
			require.Equal(t, tc.output, res.Output)
			require.LessOrEqual(t, len(res.Output), incident.MaxRunbookOutputBytes)
			if tc.calls == 0 {
				return
			}
			require.Equal(t, "POST "+e.URL+"/restart", res.Request, "no query on the timeline")
			c := e.got()[0]
			require.Equal(t, call{method: "POST", path: "/restart", query: "sig=q-secret", token: runbookSecret,
				key: "incident-x/1700000000/runbook/restart/1", contentType: "application/json",
				body: `{"incident": "incident-x", "service": "checkout", "title": "checkout \"5xx\""}`}, c)
		})
	}
}
