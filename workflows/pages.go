package workflows

import "regexp"

// The paged entries' wording is written by pagedText and the shadow
// branches of page and pagePerson; PageIn reads it back, here beside
// them, so readers (the shadow comparison) never parse prose of their own.
var (
	pagedEntry      = regexp.MustCompile(`^paged (\S+) via ([^,( ]+)`)
	wouldPagedEntry = regexp.MustCompile(`^would have paged (\S+?)(?: by (.+?))? \(`)
)

// PageIn says whom a paged entry reached, or in shadow mode would have,
// and by which channel ("" when a shadow page named no channel).
func PageIn(e TimelineEntry) (recipient, via string, shadow, ok bool) {
	if e.Kind != KindPaged {
		return "", "", false, false
	}
	if m := pagedEntry.FindStringSubmatch(e.Message); m != nil {
		return m[1], m[2], false, true
	}
	if m := wouldPagedEntry.FindStringSubmatch(e.Message); m != nil {
		if m[2] == viaName("") {
			m[2] = ""
		}
		return m[1], m[2], true, true
	}
	return "", "", false, false
}
