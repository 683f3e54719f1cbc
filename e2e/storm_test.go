package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/incidentflow/incidentflow/workflows"
)

// 5,000 alerts on one key from 16 senders: every accepted alert is counted,
// the first page goes within 2 s of the first alert, and the incident can
// be read throughout.
func TestStormOnOneKeyLosesNothingAndPagesAtOnce(t *testing.T) {
	slow(t)
	h := newHarness(t)
	key := "storm-" + t.Name()
	id := workflows.IncidentID(key)
	body := []byte(fmt.Sprintf(`{"key":%q,"title":"storm","severity":"critical"}`, key))
	start := time.Now()
	var accepted, refused atomic.Int64
	var wg sync.WaitGroup
	for s := 0; s < 16; s++ {
		wg.Add(1)
		go func(s int) {
			defer wg.Done()
			for i := s; i < 5000; i += 16 {
				if code, _ := h.post("/v1/alerts", body, genericToken); code == http.StatusAccepted {
					accepted.Add(1)
				} else {
					// assert, not require: this runs on a sender's goroutine.
					assert.Equal(t, http.StatusServiceUnavailable, code, "anything not accepted is a 503 to retry")
					refused.Add(1)
				}
			}
		}(s)
	}
	// Read it while the storm goes on.
	stormDone := make(chan struct{})
	var reads, failedReads atomic.Int64
	go func() {
		for {
			select {
			case <-stormDone:
				return
			case <-time.After(100 * time.Millisecond):
			}
			resp, err := http.Get(h.api.URL + "/v1/incidents/" + id)
			if err == nil {
				if resp.StatusCode == http.StatusOK {
					reads.Add(1)
				} else if resp.StatusCode != http.StatusNotFound {
					failedReads.Add(1)
				}
				resp.Body.Close()
			}
		}
	}()
	waitFor(t, "the first page", 10*time.Second, func() bool { return len(h.slack.Messages(aliceDM)) >= 1 })
	firstPage := h.slack.Messages(aliceDM)[0].At.Sub(start)
	wg.Wait()
	close(stormDone)
	took := time.Since(start)
	t.Logf("5000 alerts in %s (%.0f/s): %d accepted, %d refused; first page after %s; %d reads ok, %d failed",
		took.Round(time.Millisecond), 5000/took.Seconds(), accepted.Load(), refused.Load(), firstPage.Round(time.Millisecond), reads.Load(), failedReads.Load())
	require.Less(t, firstPage, 2*time.Second, "the first page does not wait for the storm")
	waitFor(t, "every accepted alert counted", 20*time.Second, func() bool { return int64(h.incident(id).AlertCount) >= accepted.Load() })
	require.Equal(t, accepted.Load(), int64(h.incident(id).AlertCount), "each accepted alert counted once")
	require.Zero(t, failedReads.Load(), "the incident could be read throughout")
	require.Len(t, h.slack.Messages(aliceDM), 1, "a storm pages once")
	_, _ = h.post("/v1/incidents/"+id+"/resolve", []byte(`{"by":"alice"}`), aliceToken)
}

// One Alertmanager webhook of 2,000 distinct alerts: one 2xx, each alert
// counted once (a retry-storm of 503s used to count them again and again).
func TestAlertmanagerGroupOfTwoThousandIsOneAcceptedDelivery(t *testing.T) {
	slow(t)
	h := newHarness(t)
	groupKey := "big-group-" + t.Name()
	alerts := make([]map[string]any, 2000)
	for i := range alerts {
		alerts[i] = map[string]any{"status": "firing", "fingerprint": fmt.Sprintf("fp-%04d", i),
			"labels":      map[string]string{"alertname": "DiskFull", "instance": fmt.Sprintf("db-%d", i)},
			"annotations": map[string]string{"summary": fmt.Sprintf("disk full on db-%d", i)}}
	}
	body, err := json.Marshal(map[string]any{"version": "4", "groupKey": groupKey, "status": "firing", "receiver": "incidentflow",
		"commonLabels": map[string]string{"alertname": "DiskFull", "severity": "critical"}, "alerts": alerts})
	require.NoError(t, err)
	start := time.Now()
	code, resp := h.post("/v1/alerts/alertmanager", body, promToken)
	require.Equal(t, http.StatusAccepted, code, resp)
	t.Logf("2000 alerts accepted in %s", time.Since(start).Round(time.Millisecond))
	id := resp["incident_id"].(string)
	waitFor(t, "2000 alerts counted", 20*time.Second, func() bool { return h.incident(id).AlertCount == 2000 })
	st := h.incident(id)
	require.Equal(t, 2000, st.AlertCount)
	require.Equal(t, 2000-len(st.Alerts), st.AlertsForgotten, "the most recent listed, the rest counted")
	_, _ = h.post("/v1/incidents/"+id+"/resolve", []byte(`{"by":"alice"}`), aliceToken)
}

// Slack stores a post but the answer is lost: the update posted to
// "#incidents" (a channel named, not an ID) still appears once, as the
// retry finds it by its key in the channel's history. (Posts to a channel
// by name were not looked for, and appeared once per retry.)
func TestLostSlackAnswersPostOnceInAChannelGivenByName(t *testing.T) {
	h := newHarness(t)
	key := "lost-answers-" + t.Name()
	code, body := h.post("/v1/alerts", []byte(fmt.Sprintf(`{"key":%q,"title":"disk filling","severity":"warning"}`, key)), genericToken)
	require.Equal(t, http.StatusAccepted, code, body)
	id := body["incident_id"].(string)
	waitFor(t, "the page", 10*time.Second, func() bool { return len(h.slack.Messages(aliceDM)) == 1 })
	waitFor(t, "the card in #incidents", 10*time.Second, func() bool { return len(h.slack.Messages("#incidents")) == 1 })
	code, body = h.post("/v1/incidents/"+id+"/ack", []byte(`{"by":"alice"}`), aliceToken)
	require.Equal(t, http.StatusOK, code, body)
	h.slack.LoseNextResponse("chat.postMessage")
	historyBefore := len(h.slack.Calls("conversations.history"))
	code, body = h.post("/v1/incidents/"+id+"/status-updates", []byte(`{"by":"alice","stage":"identified","message":"disk at 99% on db-1"}`), aliceToken)
	require.Equal(t, http.StatusOK, code, body)
	updates := func() int {
		n := 0
		for _, m := range h.slack.Messages("#incidents") {
			if strings.Contains(m.Form.Get("text"), "disk at 99% on db-1") {
				n++
			}
		}
		return n
	}
	defer func() {
		if t.Failed() {
			for _, c := range h.slack.Calls("") {
				t.Logf("%s %s %.60s", c.Method, c.Form.Get("channel"), c.Form.Get("text"))
			}
			for _, e := range h.incident(id).Timeline {
				t.Logf("%s %s", e.Kind, e.Message)
			}
		}
	}()
	waitFor(t, "the update in #incidents", 10*time.Second, func() bool { return updates() >= 1 })
	// The first attempt looked, posted and lost the answer; the retry looks again.
	waitFor(t, "the retry", 10*time.Second, func() bool { return len(h.slack.Calls("conversations.history")) >= historyBefore+2 })
	time.Sleep(2 * time.Second)
	require.Equal(t, 1, updates(), "posted once, though Slack's answer was lost")
	_, _ = h.post("/v1/incidents/"+id+"/resolve", []byte(`{"by":"alice"}`), aliceToken)
}
