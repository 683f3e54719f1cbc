package incident

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Bounds on what enters an incident's state. Temporal refuses any payload
// over 2 MB (a query answer, an Update result, a continue-as-new input), and
// an incident whose state crossed that line could no longer be read, acked
// or escalated. Every string and list that enters state is held to one of
// these, so the whole state stays far below that line whatever happens.
const (
	// MaxKey bounds dedup keys and aliases (Opsgenie allows 512).
	MaxKey = 512
	// MaxTitle bounds titles and alert summaries (PagerDuty cuts summaries at 1,024).
	MaxTitle = 1024
	// MaxText bounds what people write: notes, status updates and their fields.
	MaxText = 4000
	// MaxName bounds user, service, severity, role and integration names.
	MaxName = 128
	// MaxFingerprint bounds an alert's fingerprint.
	MaxFingerprint = 256
	// MaxLabels bounds how many labels an alert keeps, and MaxLabel each key and value.
	MaxLabels = 64
	MaxLabel  = 1024
	// MaxAlertsKept is how many distinct alerts an incident lists; older
	// ones are forgotten, and only counted.
	MaxAlertsKept = 50
	// MaxTimelineBytes and MaxTimelineEntries bound the timeline kept in
	// state; the oldest entries after the first are dropped, and counted.
	MaxTimelineBytes   = 256 << 10
	MaxTimelineEntries = 1000
	// MaxActionItems bounds the follow-ups of one incident.
	MaxActionItems = 100
	// MaxActionItemTitle is GitHub's limit on an issue title.
	MaxActionItemTitle = 256
)

// TooLong says which field is over which limit, in the API's words.
type TooLong struct {
	Field string
	Limit int
	Got   int
}

func (e *TooLong) Error() string {
	return fmt.Sprintf("%s: %d bytes is too long (at most %d)", e.Field, e.Got, e.Limit)
}

// CheckLen refuses s when it is longer than limit bytes.
func CheckLen(field, s string, limit int) error {
	if len(s) > limit {
		return &TooLong{Field: field, Limit: limit, Got: len(s)}
	}
	return nil
}

// Cut keeps s within limit bytes, on a character boundary, and says what was
// cut so nobody mistakes the rest for the whole.
func Cut(s string, limit int) string {
	if len(s) <= limit {
		return s
	}
	mark := fmt.Sprintf(" … [cut from %d bytes]", len(s))
	keep := limit - len(mark)
	if keep < 0 {
		keep = 0
	}
	for keep > 0 && !utf8.RuneStart(s[keep]) {
		keep--
	}
	return s[:keep] + mark
}

// CutID keeps an identifier within limit bytes; a long one keeps its start
// and a hash of the whole, so two long identifiers never become one.
func CutID(s string, limit int) string {
	if len(s) <= limit {
		return s
	}
	sum := sha256.Sum256([]byte(s))
	tail := "~" + hex.EncodeToString(sum[:8])
	keep := limit - len(tail)
	for keep > 0 && !utf8.RuneStart(s[keep]) {
		keep--
	}
	return s[:keep] + tail
}

// MaxRunbook bounds a runbook link.
const MaxRunbook = 1024

// RunbookURL keeps a runbook link that a responder can open: http(s),
// bounded, one line. Anything else is dropped, never refused: an alert
// is worth more than its link.
func RunbookURL(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > MaxRunbook || strings.ContainsAny(s, " \t\r\n") {
		return ""
	}
	if !strings.HasPrefix(s, "https://") && !strings.HasPrefix(s, "http://") {
		return ""
	}
	return s
}
