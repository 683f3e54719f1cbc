package workflows

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// PageIn reads every wording a paged entry is written in, from the
// writers themselves, so a change to one breaks this test and not the
// shadow comparison in silence.
func TestPageInReadsWhatThePagersWrite(t *testing.T) {
	recorded := time.Date(2026, 11, 24, 12, 5, 0, 0, time.UTC)
	sent := recorded.Add(-4 * time.Minute)
	for _, c := range []struct {
		msg                string
		recipient, via     string
		shadow, understood bool
	}{
		{pagedText("alice", "slack", 1, "user:alice"), "alice", "slack", false, true},
		{pagedText("alice", "slack", 3, "schedule:primary"), "alice", "slack", false, true},
		{pagedText("bob", "sms", 0, "user:bob"), "bob", "sms", false, true},
		{fmt.Sprintf("would have paged %s by %s at %s (%s; shadow mode: nothing sent)", "carol", viaName("sms"), sent.Format(time.RFC3339), "user:carol"), "carol", "sms", true, true},
		{fmt.Sprintf("would have paged %s by %s at %s (%s; shadow mode: nothing sent)", "carol", viaName(""), sent.Format(time.RFC3339), "user:carol"), "carol", "", true, true},
		{fmt.Sprintf("would have paged %s (shadow mode: nothing sent)", "webhook:ops"), "webhook:ops", "", true, true},
		{"page to alice failed: no route", "", "", false, false},
	} {
		p, ok := PageIn(TimelineEntry{Kind: KindPaged, Message: c.msg, At: recorded})
		require.Equal(t, c.understood, ok, c.msg)
		require.Equal(t, c.recipient, p.Recipient, c.msg)
		require.Equal(t, c.via, p.Via, c.msg)
		require.Equal(t, c.shadow, p.Shadow, c.msg)
		if ok {
			want := recorded
			if strings.Contains(c.msg, " at ") {
				want = sent
			}
			require.True(t, want.Equal(p.At), "%s: at %s", c.msg, p.At)
		}
	}
	_, ok := PageIn(TimelineEntry{Kind: KindNote, Message: "paged alice via slack (x)"})
	require.False(t, ok, "only paged entries are pages")
}
