package activities

import (
	"context"
	"fmt"
	"strings"
	"sync"
)

// maxDigest bounds the incidents one digest lists: Slack allows 50 blocks
// a message, and each incident takes two (its line and its buttons).
const maxDigest = 20

// digests fold pages for one person that queue behind the same slot into
// one message listing every incident: a person paged by forty incidents at
// once gets a few messages, not a firehose at one a second. The first page
// goes alone and at once; whatever arrives while a post is waiting for its
// slot joins that post.
type digests struct {
	mu   sync.Mutex
	open map[string]*digest // by destination, the batch still taking pages
}

type digest struct {
	pages []Message
	sent  chan struct{}
	err   error // set before sent closes
}

// join adds m to the destination's open digest, or opens one. The caller
// that opens a digest sends it (lead is true); everyone else waits for it.
func (d *digests) join(dest string, m Message) (dg *digest, lead bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.open == nil {
		d.open = map[string]*digest{}
	}
	if dg := d.open[dest]; dg != nil && len(dg.pages) < maxDigest {
		dg.pages = append(dg.pages, m)
		return dg, false
	}
	dg = &digest{pages: []Message{m}, sent: make(chan struct{})}
	d.open[dest] = dg
	return dg, true
}

// seal closes dg to newcomers (the next page opens a new digest) and
// returns what it holds.
func (d *digests) seal(dest string, dg *digest) []Message {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.open[dest] == dg {
		delete(d.open, dest)
	}
	return dg.pages
}

// finish tells the waiters how the post went.
func (dg *digest) finish(err error) {
	dg.err = err
	close(dg.sent)
}

// wait blocks a page that joined dg until dg was posted, or ctx ends. A
// page whose attempt ends first may still go out with dg: its retry finds
// it by its idempotency key, as after any lost answer.
func (dg *digest) wait(ctx context.Context) (int, error) {
	select {
	case <-dg.sent:
		return len(dg.pages), dg.err
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// digestText is the plain text of a digest: what notifications and
// clients without blocks show.
func digestText(pages []Message) string {
	if len(pages) == 1 {
		return pages[0].Text
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d incidents are paging you:", len(pages))
	for _, p := range pages {
		b.WriteString("\n• ")
		b.WriteString(p.Text)
	}
	return b.String()
}
