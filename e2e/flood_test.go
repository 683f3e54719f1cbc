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
// pace of one post a second to her DM: every one reaches her within two
// minutes, once. (Pacing that kept the slots of attempts that had given
// up paged 31 of 100 in 332 s, then nobody.)
func TestHundredIncidentsPagingOnePersonAllReachHer(t *testing.T) {
	if testing.Short() {
		t.Skip("takes about 100 s: Slack allows one post a second to a channel")
	}
	h := newHarnessPaced(t, time.Second, func(c *config.Config) {
		// Nobody acks: step 2 would page bob much later, out of the picture.
		c.EscalationPolicies["primary"].Steps[1].Delay = ptr(config.Duration(time.Hour))
	})
	const incidents = 100
	start := time.Now()
	var wg sync.WaitGroup
	codes := make(chan int, incidents)
	for g := 0; g < 10; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := g * 10; i < (g+1)*10; i++ {
				body := fmt.Sprintf(`{"key":"flood-%d-%s","title":"flood %d","severity":"warning"}`, i, t.Name(), i)
				code, _ := h.post("/v1/alerts", []byte(body), genericToken)
				codes <- code
			}
		}(g)
	}
	wg.Wait()
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
	t.Logf("%d incidents paged alice in %s", incidents, time.Since(start).Round(time.Second))
	for i, n := range paged() {
		require.Equal(t, 1, n, "incident %s paged alice once", i)
	}
}

func ptr[T any](v T) *T { return &v }
