package procs

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// outage is what an outageProxy answers in place of the service behind it.
type outage int

const (
	serviceUp outage = iota
	// serviceDegrading is an outage's first seconds: reads are answered,
	// writes are done but answered 500, so a caller cannot tell whether its
	// page or issue exists.
	serviceDegrading
	// serviceErrors is a provider's bad minute: 500 to every request.
	serviceErrors
	// serviceThrottled is its recovery: 429 with Retry-After to every request.
	serviceThrottled
)

func (o outage) String() string {
	switch o {
	case serviceDegrading:
		return "acted, then 500"
	case serviceErrors:
		return "500"
	case serviceThrottled:
		return "429"
	}
	return "up"
}

// outageProxy stands in front of a fake (Slack, GitHub) and takes it down
// on command for every caller at once, as a provider's outage does; the
// fake behind it records only what got through.
type outageProxy struct {
	srv        *httptest.Server
	retryAfter int
	// write tells a request that changes something from a read.
	write func(*http.Request) bool

	mu      sync.Mutex
	mode    outage
	refused map[outage]int
	// lost counts, by path, the writes done whose answer was a 500.
	lost map[string]int
}

// newOutageProxy proxies to base (a fake's URL); retryAfter is the seconds
// its 429s ask callers to wait.
func newOutageProxy(t *testing.T, base string, retryAfter int, write func(*http.Request) bool) *outageProxy {
	t.Helper()
	target, err := url.Parse(base)
	require.NoError(t, err)
	target.Path = ""
	p := &outageProxy{retryAfter: retryAfter, write: write, refused: map[outage]int{}, lost: map[string]int{}}
	forward := httputil.NewSingleHostReverseProxy(target)
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		mode := p.mode
		if mode == serviceDegrading && !p.write(r) {
			mode = serviceUp
		}
		if mode != serviceUp {
			p.refused[mode]++
		}
		p.mu.Unlock()
		switch mode {
		case serviceDegrading:
			done := httptest.NewRecorder()
			forward.ServeHTTP(done, r)
			p.mu.Lock()
			p.lost[r.Method+" "+r.URL.Path]++
			p.mu.Unlock()
			w.WriteHeader(http.StatusInternalServerError)
		case serviceErrors:
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusInternalServerError)
			fmt.Fprint(w, `{"message":"Server Error"}`)
		case serviceThrottled:
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Retry-After", strconv.Itoa(p.retryAfter))
			w.WriteHeader(http.StatusTooManyRequests)
			fmt.Fprint(w, `{"ok":false,"error":"ratelimited","message":"API rate limit exceeded"}`)
		default:
			forward.ServeHTTP(w, r)
		}
	}))
	t.Cleanup(p.srv.Close)
	return p
}

// url is the proxy's address with the path of the fake's base URL.
func (p *outageProxy) url(base string) string {
	u, _ := url.Parse(base)
	return p.srv.URL + u.Path
}

func (p *outageProxy) set(mode outage) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mode = mode
}

// refusedBy answers how many requests were refused in mode.
func (p *outageProxy) refusedBy(mode outage) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.refused[mode]
}

// lostAnswers answers how many writes to paths ending in suffix were done
// but answered 500.
func (p *outageProxy) lostAnswers(suffix string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for path, c := range p.lost {
		if strings.HasSuffix(path, suffix) {
			n += c
		}
	}
	return n
}
