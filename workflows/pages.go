package workflows

import (
	"regexp"
	"time"
)

// The paged entries' wording is written by pagedText and the shadow
// branches of page and pagePerson; PageIn reads it back, here beside
// them, so readers (the shadow comparison) never parse prose of their own.
var (
	pagedEntry      = regexp.MustCompile(`^paged (\S+) via ([^,( ]+)`)
	wouldPagedEntry = regexp.MustCompile(`^would have paged (\S+?)(?: by (.+?))?(?: at (\S+))? \(`)
)

// Page is one page a timeline entry records.
type Page struct {
	Recipient string
	// Via is the channel ("" when a shadow page named none).
	Via string
	// At is when it went out, or in shadow mode would have: the entry's
	// own time unless the entry says otherwise (a person's rules are
	// recorded when they are done).
	At     time.Time
	Shadow bool
}

// PageIn reads whom a paged entry reached, or in shadow mode would have,
// by which channel and when.
func PageIn(e TimelineEntry) (Page, bool) {
	if e.Kind != KindPaged {
		return Page{}, false
	}
	if m := pagedEntry.FindStringSubmatch(e.Message); m != nil {
		return Page{Recipient: m[1], Via: m[2], At: e.At}, true
	}
	if m := wouldPagedEntry.FindStringSubmatch(e.Message); m != nil {
		p := Page{Recipient: m[1], Via: m[2], At: e.At, Shadow: true}
		if p.Via == viaName("") {
			p.Via = ""
		}
		if at, err := time.Parse(time.RFC3339, m[3]); err == nil {
			p.At = at
		}
		return p, true
	}
	return Page{}, false
}
