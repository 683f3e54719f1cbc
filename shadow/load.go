package shadow

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// The other system's side is read from the JSON its REST API returns,
// saved in a directory as the importer reads it. A list split over
// several pages may be saved as several files matching the same pattern
// (incidents.json, incidents-2.json, ...).
//
// PagerDuty: users.json (GET /users), incidents*.json (GET /incidents),
// log_entries*.json (GET /log_entries: its notify_log_entry entries are
// the pages).
//
// Opsgenie: alerts*.json (GET /v2/alerts) and alert-recipients/<alert
// id>.json (GET /v2/alerts/{id}/recipients): each recipient that was
// notified is a page.

type pdRef struct {
	ID      string `json:"id"`
	Summary string `json:"summary"`
}

type pdExport struct {
	Users []struct {
		ID    string `json:"id"`
		Name  string `json:"name"`
		Email string `json:"email"`
	} `json:"users"`
	Incidents []struct {
		ID          string    `json:"id"`
		Title       string    `json:"title"`
		IncidentKey string    `json:"incident_key"`
		CreatedAt   time.Time `json:"created_at"`
	} `json:"incidents"`
	LogEntries []struct {
		Type         string    `json:"type"`
		CreatedAt    time.Time `json:"created_at"`
		User         pdRef     `json:"user"`
		Incident     pdRef     `json:"incident"`
		Notification struct {
			Type string `json:"type"`
		} `json:"notification"`
	} `json:"log_entries"`
}

// pdVia names PagerDuty's notification types as incidentflow's channels.
var pdVia = map[string]string{
	"sms_notification": "sms", "phone_notification": "voice", "email_notification": "email", "push_notification": "push",
}

// LoadPagerDuty reads a PagerDuty export. People are named by email.
func LoadPagerDuty(dir string) ([]Incident, error) {
	var ex pdExport
	join := func(p pdExport) {
		ex.Users = append(ex.Users, p.Users...)
		ex.Incidents = append(ex.Incidents, p.Incidents...)
		ex.LogEntries = append(ex.LogEntries, p.LogEntries...)
	}
	for _, part := range []string{"users", "incidents", "log_entries"} {
		if err := decodeAll(dir, part, join); err != nil {
			return nil, err
		}
	}
	email := map[string]string{}
	for _, u := range ex.Users {
		email[u.ID] = strings.ToLower(u.Email)
	}
	byID := map[string]*Incident{}
	var order []string
	for _, in := range ex.Incidents {
		if _, dup := byID[in.ID]; dup {
			continue
		}
		byID[in.ID] = &Incident{Ref: in.ID, Key: in.IncidentKey, Title: in.Title, OpenedAt: in.CreatedAt, Pages: []Page{}}
		order = append(order, in.ID)
	}
	for _, e := range ex.LogEntries {
		in, ok := byID[e.Incident.ID]
		if e.Type != "notify_log_entry" || !ok {
			continue
		}
		who := email[e.User.ID]
		if who == "" {
			who = e.User.Summary
		}
		in.Pages = append(in.Pages, Page{User: who, At: e.CreatedAt, Via: viaOr(pdVia, e.Notification.Type)})
	}
	out := make([]Incident, 0, len(order))
	for _, id := range order {
		out = append(out, *byID[id])
	}
	return out, nil
}

type ogExport struct {
	Data []struct {
		ID        string    `json:"id"`
		TinyID    string    `json:"tinyId"`
		Alias     string    `json:"alias"`
		Message   string    `json:"message"`
		CreatedAt time.Time `json:"createdAt"`
	} `json:"data"`
}

type ogRecipients struct {
	Data []struct {
		User struct {
			ID       string `json:"id"`
			Username string `json:"username"`
		} `json:"user"`
		State     string    `json:"state"`
		Method    string    `json:"method"`
		CreatedAt time.Time `json:"createdAt"`
	} `json:"data"`
}

// ogNotNotified are recipient states in which nobody was contacted.
var ogNotNotified = map[string]bool{"notactive": true, "pending": true}

// ogVia names Opsgenie's notification methods as incidentflow's channels.
var ogVia = map[string]string{"sms": "sms", "voice": "voice", "email": "email", "mobile": "push"}

// LoadOpsgenie reads an Opsgenie export. People are named by username,
// which Opsgenie requires to be their email.
func LoadOpsgenie(dir string) ([]Incident, error) {
	var ex ogExport
	if err := decodeAll(dir, "alerts", func(p ogExport) { ex.Data = append(ex.Data, p.Data...) }); err != nil {
		return nil, err
	}
	out := []Incident{}
	seen := map[string]bool{}
	for _, a := range ex.Data {
		if seen[a.ID] {
			continue
		}
		seen[a.ID] = true
		in := Incident{Ref: a.ID, Key: a.Alias, Title: a.Message, OpenedAt: a.CreatedAt, Pages: []Page{}}
		var rs ogRecipients
		path := filepath.Join(dir, "alert-recipients", a.ID+".json")
		switch err := decodeFile(path, &rs); {
		case errors.Is(err, fs.ErrNotExist):
			// Nobody was recorded for it: an alert nobody was paged for.
		case err != nil:
			return nil, err
		}
		for _, r := range rs.Data {
			if ogNotNotified[strings.ToLower(r.State)] || r.User.Username == "" {
				continue
			}
			in.Pages = append(in.Pages, Page{User: strings.ToLower(r.User.Username), At: r.CreatedAt, Via: viaOr(ogVia, strings.ToLower(r.Method))})
		}
		out = append(out, in)
	}
	return out, nil
}

func viaOr(names map[string]string, v string) string {
	if n, ok := names[v]; ok {
		return n
	}
	return v
}

// decodeAll decodes every file of one list (part.json, part-2.json, ...)
// and hands each to add: a JSON array decoded into a filled slice would
// replace it, so pages are decoded apart and joined by the caller.
func decodeAll[T any](dir, part string, add func(T)) error {
	files, err := filepath.Glob(filepath.Join(dir, part+"*.json"))
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return fmt.Errorf("%s: no %s.json (the JSON its REST API returns)", dir, part)
	}
	// part.json, part-2.json, ..., part-10.json: shorter names first.
	slices.SortFunc(files, func(a, b string) int { return cmp.Or(cmp.Compare(len(a), len(b)), strings.Compare(a, b)) })
	for _, f := range files {
		var page T
		if err := decodeFile(f, &page); err != nil {
			return err
		}
		add(page)
	}
	return nil
}

func decodeFile(path string, into any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, into); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// MapUsers names the other system's people as incidentflow's users, by
// email (case-insensitive); those it cannot are kept as they are and
// returned, sorted, as unmapped.
func MapUsers(in []Incident, userByEmail map[string]string) ([]Incident, []string) {
	unmapped := map[string]bool{}
	out := make([]Incident, len(in))
	for i, inc := range in {
		inc.Pages = slices.Clone(inc.Pages)
		for j, p := range inc.Pages {
			if u, ok := userByEmail[strings.ToLower(p.User)]; ok {
				inc.Pages[j].User = u
			} else {
				unmapped[p.User] = true
			}
		}
		out[i] = inc
	}
	return out, sortedKeys(unmapped)
}
