package importer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Options say where the source's data comes from: a directory of saved API
// answers (Dir), or the live API (APIURL with the key in APIKey).
type Options struct {
	Dir    string
	APIURL string
	APIKey string
	// PageSize is the limit asked for per page (default 100, each API's
	// maximum); tests make it small to exercise pagination.
	PageSize int
	// Now decides which layers, rotations and overrides are already over
	// (they are dropped) and where PagerDuty's override window starts.
	Now time.Time
	// HTTPClient defaults to one with a 30 s timeout.
	HTTPClient *http.Client
}

// errMissing is a document the source does not have: an optional file left
// out of an export, or a 404 from the API.
var errMissing = errors.New("not in the source")

// fetcher reads one API document, by its path, from a directory (where the
// document is saved as file) or from the API.
type fetcher struct {
	opts Options
	// auth sets the source's authentication headers on a request.
	auth func(*http.Request)
	// requests counts API calls, so a report can say what was read.
	requests int
}

func (f *fetcher) pageSize() int {
	if f.opts.PageSize > 0 {
		return f.opts.PageSize
	}
	return 100
}

// get returns the document at apiPath?query, or the saved file.
func (f *fetcher) get(ctx context.Context, apiPath string, query url.Values, file string) ([]byte, error) {
	if f.opts.Dir != "" {
		b, err := os.ReadFile(filepath.Join(f.opts.Dir, filepath.FromSlash(file)))
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%s: %w", file, errMissing)
		}
		return b, err
	}
	u := strings.TrimRight(f.opts.APIURL, "/") + apiPath
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	f.auth(req)
	client := f.opts.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	f.requests++
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", apiPath, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", apiPath, err)
	}
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return nil, fmt.Errorf("GET %s: %w", apiPath, errMissing)
	case resp.StatusCode/100 != 2:
		return nil, fmt.Errorf("GET %s: %s: %s", apiPath, resp.Status, truncate(string(body), 200))
	}
	return body, nil
}

// optional turns a missing document into an empty one.
func optional(b []byte, err error) ([]byte, error) {
	if errors.Is(err, errMissing) {
		return nil, nil
	}
	return b, err
}

// safeID keeps an ID from a document usable as a path segment: it names a
// file under the export directory and must not leave it.
func safeID(id string) error {
	if id == "" || strings.ContainsAny(id, `/\`) || id == "." || id == ".." {
		return fmt.Errorf("unusable id %q", id)
	}
	return nil
}

// list reads every item of a list endpoint that pages with offset and
// limit; page reads one answer's items and whether more follow. A saved
// file holds the whole list as one answer.
func (f *fetcher) list(ctx context.Context, apiPath string, query url.Values, file string, page func(b []byte) (items []json.RawMessage, more bool, err error)) ([]json.RawMessage, error) {
	var all []json.RawMessage
	for offset := 0; ; {
		q := url.Values{}
		for k, v := range query {
			q[k] = v
		}
		if f.opts.Dir == "" {
			q.Set("offset", strconv.Itoa(offset))
			q.Set("limit", strconv.Itoa(f.pageSize()))
		}
		b, err := f.get(ctx, apiPath, q, file)
		if err != nil {
			return nil, err
		}
		items, more, err := page(b)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		all = append(all, items...)
		if f.opts.Dir != "" || !more || len(items) == 0 {
			return all, nil
		}
		offset += len(items)
	}
}

// opsgenieList reads an Opsgenie list endpoint: there is more while the
// answer has paging.next.
func (f *fetcher) opsgenieList(ctx context.Context, apiPath string, query url.Values, file string) ([]json.RawMessage, error) {
	return f.list(ctx, apiPath, query, file, func(b []byte) ([]json.RawMessage, bool, error) {
		var page struct {
			Data   json.RawMessage `json:"data"`
			Paging struct {
				Next string `json:"next"`
			} `json:"paging"`
		}
		if err := json.Unmarshal(b, &page); err != nil {
			return nil, false, err
		}
		var items []json.RawMessage
		if len(page.Data) > 0 && page.Data[0] == '{' {
			// Heartbeats answer {"data": {"heartbeats": [...]}}.
			var inner map[string][]json.RawMessage
			if err := json.Unmarshal(page.Data, &inner); err != nil {
				return nil, false, fmt.Errorf("data: %w", err)
			}
			for _, v := range inner {
				items = append(items, v...)
			}
		} else if len(page.Data) > 0 {
			if err := json.Unmarshal(page.Data, &items); err != nil {
				return nil, false, fmt.Errorf("data: %w", err)
			}
		}
		return items, page.Paging.Next != "", nil
	})
}

// pagerdutyList reads a PagerDuty list endpoint (classic pagination): the
// items are under key, and there is more while the answer says more: true.
func (f *fetcher) pagerdutyList(ctx context.Context, apiPath, key string, query url.Values, file string) ([]json.RawMessage, error) {
	return f.list(ctx, apiPath, query, file, func(b []byte) ([]json.RawMessage, bool, error) {
		var page map[string]json.RawMessage
		if err := json.Unmarshal(b, &page); err != nil {
			return nil, false, err
		}
		var items []json.RawMessage
		if raw, ok := page[key]; ok {
			if err := json.Unmarshal(raw, &items); err != nil {
				return nil, false, fmt.Errorf("%s: %w", key, err)
			}
		}
		var more bool
		if raw, ok := page["more"]; ok {
			_ = json.Unmarshal(raw, &more)
		}
		return items, more, nil
	})
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
