package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidentflow/incidentflow/config"
)

// A hundred incidents opened together, all paging alice, at Slack's own
// pace of one post a second to her DM: every one reaches her, once, in a
// few digests rather than a hundred messages. (Pacing that kept the slots
// of attempts that had given up paged 31 of 100 in 332 s, then nobody; one
// message per page took 99 s.)
func TestHundredIncidentsPagingOnePersonAllReachHer(t *testing.T) {
	slow(t)
	h := newHarnessPaced(t, time.Second, func(c *config.Config) {
		// Nobody acks: step 2 would page bob much later, out of the picture.
		c.EscalationPolicies["primary"].Steps[1].Delay = ptr(config.Duration(time.Hour))
	})
	const incidents = 100
	start := time.Now()
	var wg sync.WaitGroup
	codes := make(chan int, incidents)
	ids := make(chan string, incidents)
	for g := 0; g < 10; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := g * 10; i < (g+1)*10; i++ {
				body := fmt.Sprintf(`{"key":"flood-%d-%s","title":"flood %d","severity":"warning"}`, i, t.Name(), i)
				code, resp := h.post("/v1/alerts", []byte(body), genericToken)
				codes <- code
				ids <- fmt.Sprint(resp["incident_id"])
			}
		}(g)
	}
	wg.Wait()
	accepted := time.Since(start)
	close(codes)
	for c := range codes {
		require.Equal(t, http.StatusAccepted, c)
	}
	paged := func() map[string]int {
		seen := map[string]int{}
		for _, m := range h.slack.Messages(aliceDM) {
			for i := 0; i < incidents; i++ {
				if strings.Contains(m.Form.Get("text"), fmt.Sprintf(": flood %d ", i)) {
					seen[fmt.Sprint(i)]++
				}
			}
		}
		return seen
	}
	waitFor(t, "every incident paging alice", 2*time.Minute, func() bool { return len(paged()) == incidents })
	msgs := len(h.slack.Messages(aliceDM))
	t.Logf("%d incidents accepted in %s, all paged alice in %s, in %d messages", incidents, accepted.Round(time.Millisecond), time.Since(start).Round(time.Second), msgs)
	for i, n := range paged() {
		require.Equal(t, 1, n, "incident %s paged alice once", i)
	}
	// Pages arrive as fast as a hundred new workflows get through their
	// first tasks (a few a second here, under the race detector; fewer on
	// a busy machine), so each slot folds in whatever came since the last:
	// 20 messages on an idle machine, more when the workflows come slower.
	require.Less(t, msgs, incidents*3/4, "her pager is not a firehose")
	digests := 0
	for _, m := range h.slack.Messages(aliceDM) {
		if strings.Contains(m.Form.Get("text"), "incidents are paging you") {
			digests++
		}
	}
	require.Positive(t, digests, "pages that queued together went as one")

	close(ids)
	inDigest := 0
	for id := range ids {
		waitFor(t, "paged on the timeline of "+id, 10*time.Second, func() bool {
			for _, e := range h.incident(id).Timeline {
				if strings.HasPrefix(e.Message, "paged alice via slack") {
					if strings.Contains(e.Message, "in one message with") {
						inDigest++
					}
					return true
				}
			}
			return false
		})
	}
	require.Greater(t, inDigest, incidents/2, "the timeline says the page went in a digest")
}

func ptr[T any](v T) *T { return &v }
