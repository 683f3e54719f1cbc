package starter

import (
	"context"
	"strings"
	"unicode"

	"github.com/incidentflow/incidentflow/workflows"
)

// Similar is a past incident like this one: responders opening an
// incident see what happened the last times (GET it for its post-mortem).
type Similar struct {
	Summary
	// Why says what makes it similar: the same alert key, or the title.
	Why string `json:"why"`
}

// similarScan bounds how many of the service's past incidents are looked at.
const similarScan = 200

// Similar finds up to three past incidents of the same service with the
// same key or a near-identical title, newest first, from visibility alone:
// reading each one's state would wake a worker per closed incident on
// every read. It never fails the incident's read: without visibility it
// finds none.
func (in *Incidents) Similar(ctx context.Context, st *workflows.Incident) []Similar {
	page, err := in.Search(ctx, Filter{Service: st.Service, Limit: similarScan})
	if err != nil {
		return nil
	}
	words := titleWords(st.Title)
	out := []Similar{}
	for _, s := range page.Incidents {
		if s.ID == st.ID && s.Running {
			continue // this one
		}
		why := ""
		switch {
		case s.ID == st.ID:
			why = "the same alert key"
		case overlap(words, titleWords(s.Title)) >= 0.6:
			why = "a near-identical title"
		default:
			continue
		}
		out = append(out, Similar{Summary: s, Why: why})
		if len(out) == 3 {
			break
		}
	}
	return out
}

func titleWords(title string) map[string]bool {
	out := map[string]bool{}
	for _, w := range strings.FieldsFunc(strings.ToLower(title), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
		if len(w) > 2 {
			out[w] = true
		}
	}
	return out
}

// overlap is the share of words two titles have in common (Jaccard).
func overlap(a, b map[string]bool) float64 {
	if len(a) == 0 || len(b) == 0 {
		return 0
	}
	both := 0
	for w := range a {
		if b[w] {
			both++
		}
	}
	return float64(both) / float64(len(a)+len(b)-both)
}
