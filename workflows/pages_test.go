package workflows

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

// PageIn reads every wording a paged entry is written in, from the
// writers themselves, so a change to one breaks this test and not the
// shadow comparison in silence.
func TestPageInReadsWhatThePagersWrite(t *testing.T) {
	for _, c := range []struct {
		msg                string
		recipient, via     string
		shadow, understood bool
	}{
		{pagedText("alice", "slack", 1, "user:alice"), "alice", "slack", false, true},
		{pagedText("alice", "slack", 3, "schedule:primary"), "alice", "slack", false, true},
		{pagedText("bob", "sms", 0, "user:bob"), "bob", "sms", false, true},
		{fmt.Sprintf("would have paged %s by %s (%s; shadow mode: nothing sent)", "carol", viaName("sms"), "user:carol"), "carol", "sms", true, true},
		{fmt.Sprintf("would have paged %s by %s (%s; shadow mode: nothing sent)", "carol", viaName(""), "user:carol"), "carol", "", true, true},
		{fmt.Sprintf("would have paged %s (shadow mode: nothing sent)", "webhook:ops"), "webhook:ops", "", true, true},
		{"page to alice failed: no route", "", "", false, false},
	} {
		who, via, shadow, ok := PageIn(TimelineEntry{Kind: KindPaged, Message: c.msg})
		require.Equal(t, c.understood, ok, c.msg)
		require.Equal(t, c.recipient, who, c.msg)
		require.Equal(t, c.via, via, c.msg)
		require.Equal(t, c.shadow, shadow, c.msg)
	}
	_, _, _, ok := PageIn(TimelineEntry{Kind: KindNote, Message: "paged alice via slack (x)"})
	require.False(t, ok, "only paged entries are pages")
}
