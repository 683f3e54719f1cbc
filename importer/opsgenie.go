package importer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/incidentflow/incidentflow/config"
)

// OpsgenieFiles are the files an Opsgenie export directory holds, each the
// answer of the API call beside it (list calls: every page's items in one
// "data" array). Files under users/ and schedules/ are per object; a
// missing one means the object has none.
var OpsgenieFiles = [][2]string{
	{"users.json", "GET /v2/users"},
	{"users/{id}/contacts.json", "GET /v2/users/{id}/contacts"},
	{"users/{id}/notification-rules.json", "GET /v2/users/{id}/notification-rules"},
	{"users/{id}/notification-rules/{ruleId}/steps.json", "GET /v2/users/{id}/notification-rules/{ruleId}/steps (only for rules listed without steps)"},
	{"teams.json", "GET /v2/teams"},
	{"schedules.json", "GET /v2/schedules?expand=rotation"},
	{"schedules/{id}/overrides.json", "GET /v2/schedules/{id}/overrides"},
	{"escalations.json", "GET /v2/escalations"},
	{"heartbeats.json", "GET /v2/heartbeats"},
	{"integrations.json", "GET /v2/integrations"},
}

type ogRef struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Username string `json:"username"`
	Type     string `json:"type"`
}

type ogUser struct {
	ID       string `json:"id"`
	Username string `json:"username"`
	FullName string `json:"fullName"`
	Blocked  bool   `json:"blocked"`
}

type ogContact struct {
	ID      string `json:"id"`
	Method  string `json:"method"`
	To      string `json:"to"`
	Enabled *bool  `json:"enabled"`
	Status  struct {
		Enabled *bool `json:"enabled"`
	} `json:"status"`
}

func (c ogContact) on() bool {
	if c.Enabled != nil {
		return *c.Enabled
	}
	return c.Status.Enabled == nil || *c.Status.Enabled
}

type ogTime struct {
	TimeAmount int    `json:"timeAmount"`
	TimeUnit   string `json:"timeUnit"`
}

func (t ogTime) d() (time.Duration, bool) {
	switch t.TimeUnit {
	case "", "minutes":
		return time.Duration(t.TimeAmount) * time.Minute, true
	case "hours":
		return time.Duration(t.TimeAmount) * time.Hour, true
	case "days":
		return time.Duration(t.TimeAmount) * 24 * time.Hour, true
	}
	return 0, false
}

type ogStep struct {
	SendAfter ogTime `json:"sendAfter"`
	Contact   struct {
		Method string `json:"method"`
		To     string `json:"to"`
	} `json:"contact"`
	Enabled *bool `json:"enabled"`
}

type ogRule struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	ActionType string `json:"actionType"`
	Order      int    `json:"order"`
	Enabled    *bool  `json:"enabled"`
	Criteria   struct {
		Type string `json:"type"`
	} `json:"criteria"`
	TimeRestriction json.RawMessage `json:"timeRestriction"`
	Steps           []ogStep        `json:"steps"`
}

type ogRestriction struct {
	StartDay  string `json:"startDay"`
	EndDay    string `json:"endDay"`
	StartHour int    `json:"startHour"`
	StartMin  int    `json:"startMin"`
	EndHour   int    `json:"endHour"`
	EndMin    int    `json:"endMin"`
}

type ogTimeRestriction struct {
	Type         string          `json:"type"`
	Restriction  *ogRestriction  `json:"restriction"`
	Restrictions []ogRestriction `json:"restrictions"`
}

type ogRotation struct {
	ID              string             `json:"id"`
	Name            string             `json:"name"`
	StartDate       string             `json:"startDate"`
	EndDate         string             `json:"endDate"`
	Type            string             `json:"type"`
	Length          int                `json:"length"`
	Participants    []ogRef            `json:"participants"`
	TimeRestriction *ogTimeRestriction `json:"timeRestriction"`
}

type ogSchedule struct {
	ID        string       `json:"id"`
	Name      string       `json:"name"`
	Timezone  string       `json:"timezone"`
	Enabled   *bool        `json:"enabled"`
	OwnerTeam *ogRef       `json:"ownerTeam"`
	Rotations []ogRotation `json:"rotations"`
}

type ogOverride struct {
	Alias     string  `json:"alias"`
	User      ogRef   `json:"user"`
	StartDate string  `json:"startDate"`
	EndDate   string  `json:"endDate"`
	Rotations []ogRef `json:"rotations"`
}

type ogEscalation struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	OwnerTeam *ogRef `json:"ownerTeam"`
	Rules     []struct {
		Condition  string `json:"condition"`
		NotifyType string `json:"notifyType"`
		Delay      ogTime `json:"delay"`
		Recipient  ogRef  `json:"recipient"`
	} `json:"rules"`
	Repeat *struct {
		WaitInterval int  `json:"waitInterval"`
		Count        int  `json:"count"`
		ResetStates  bool `json:"resetRecipientStates"`
		CloseAfter   bool `json:"closeAlertAfterAll"`
	} `json:"repeat"`
}

type ogTeam struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
}

type ogHeartbeat struct {
	Name          string `json:"name"`
	Interval      int    `json:"interval"`
	IntervalUnit  string `json:"intervalUnit"`
	Enabled       bool   `json:"enabled"`
	OwnerTeam     *ogRef `json:"ownerTeam"`
	AlertPriority string `json:"alertPriority"`
}

type ogIntegration struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Enabled   bool   `json:"enabled"`
	Type      string `json:"type"`
	TeamID    string `json:"teamId"`
	OwnerTeam *ogRef `json:"ownerTeam"`
}

// Opsgenie reads an Opsgenie account and maps it.
func Opsgenie(ctx context.Context, opts Options) (*Result, error) {
	f := &fetcher{opts: opts, auth: func(r *http.Request) {
		r.Header.Set("Authorization", "GenieKey "+opts.APIKey)
		r.Header.Set("Accept", "application/json")
	}}
	im := &ogImport{f: f, out: newOut(), r: &report{}, now: opts.Now,
		users: map[string]string{}, schedules: map[string]string{}, teamService: map[string]string{}}
	if im.now.IsZero() {
		im.now = time.Now()
	}
	for _, step := range []func(context.Context) error{im.importUsers, im.importSchedules, im.importEscalations, im.importHeartbeats, im.importIntegrations} {
		if err := step(ctx); err != nil {
			return nil, err
		}
	}
	im.r.note("Opsgenie routing rules, alert policies, maintenance and team membership are not read: each team with an escalation becomes a service whose policy is that escalation.")
	return finish("Opsgenie", im.out, im.r)
}

type ogImport struct {
	f   *fetcher
	out *outConfig
	r   *report
	now time.Time
	// users maps Opsgenie user id and username to incidentflow names.
	users       map[string]string
	schedules   map[string]string // id and name -> incidentflow name
	teamService map[string]string // team id and name -> service
	policies    map[string]string
}

func decodeAll[T any](raw []json.RawMessage, what string) ([]T, error) {
	out := make([]T, 0, len(raw))
	for i, r := range raw {
		var v T
		if err := json.Unmarshal(r, &v); err != nil {
			return nil, fmt.Errorf("%s[%d]: %w", what, i, err)
		}
		out = append(out, v)
	}
	return out, nil
}

func (im *ogImport) user(ref ogRef) (string, bool) {
	if n, ok := im.users[ref.ID]; ok && ref.ID != "" {
		return n, true
	}
	n, ok := im.users[strings.ToLower(ref.Username)]
	if !ok {
		n, ok = im.users[strings.ToLower(ref.Name)]
	}
	return n, ok
}

func (im *ogImport) importUsers(ctx context.Context) error {
	raw, err := im.f.opsgenieList(ctx, "/v2/users", nil, "users.json")
	if err != nil {
		return err
	}
	users, err := decodeAll[ogUser](raw, "users")
	if err != nil {
		return err
	}
	names := newNamer()
	for _, u := range users {
		if err := safeID(u.ID); err != nil {
			return fmt.Errorf("users.json: %w", err)
		}
		local, _, _ := strings.Cut(u.Username, "@")
		name := names.name(local, u.FullName)
		subject := fmt.Sprintf("user `%s` (%s)", name, u.Username)
		im.users[u.ID] = name
		im.users[strings.ToLower(u.Username)] = name
		ou := outUser{}
		if _, err := mailAddress(u.Username); err == nil {
			ou.Email = u.Username
		}
		contacts, err := im.contacts(ctx, u.ID)
		if err != nil {
			return err
		}
		methods := map[string]bool{}
		for _, c := range contacts {
			if !c.on() {
				im.r.skip(subject, "contact %s %s is disabled", c.Method, c.To)
				continue
			}
			switch c.Method {
			case "email":
				if ou.Email == "" {
					ou.Email = c.To
				}
				methods[config.ViaEmail] = true
			case "sms", "voice":
				phone, ok := e164(c.To)
				if !ok {
					im.r.skip(subject, "%s number %q is not a phone number incidentflow can dial", c.Method, c.To)
					continue
				}
				if ou.Phone != "" && ou.Phone != phone {
					im.r.approximate(subject, "has more than one phone number; %s is used for sms and voice, %s is not", ou.Phone, phone)
					continue
				}
				ou.Phone = phone
				methods[c.Method] = true
			case "mobile":
				im.r.skip(subject, "Opsgenie mobile-app push contact: incidentflow does not push to apps (Slack, email, SMS and voice reach them)")
			default:
				im.r.skip(subject, "contact method %q is unknown", c.Method)
			}
		}
		if ou.Email == "" && ou.Phone == "" {
			im.r.todo(subject, "has no email or phone: kept so rotations keep their order, but cannot be paged until you add slack_id, email or phone")
		}
		if u.Blocked {
			im.r.approximate(subject, "is blocked in Opsgenie but imported (schedules name them)")
		}
		rules, err := im.rules(ctx, u.ID, subject, methods)
		if err != nil {
			return err
		}
		if len(methods) > 0 {
			ou.ContactMethods = sortedMethods(methods)
		}
		ou.NotificationRules = rules
		im.out.Users[name] = ou
	}
	return nil
}

func (im *ogImport) contacts(ctx context.Context, id string) ([]ogContact, error) {
	var doc struct {
		Data []ogContact `json:"data"`
	}
	b, err := optional(im.f.get(ctx, "/v2/users/"+url.PathEscape(id)+"/contacts", nil, "users/"+id+"/contacts.json"))
	if err != nil || b == nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("users/%s/contacts.json: %w", id, err)
	}
	return doc.Data, nil
}

// rules maps the user's "new alert" notification rule; Opsgenie's other
// actions (acknowledged, closed, schedule start ...) are reminders
// incidentflow sends its own way.
func (im *ogImport) rules(ctx context.Context, id, subject string, methods map[string]bool) ([]outRule, error) {
	b, err := optional(im.f.get(ctx, "/v2/users/"+url.PathEscape(id)+"/notification-rules", nil, "users/"+id+"/notification-rules.json"))
	if err != nil || b == nil {
		return nil, err
	}
	var doc struct {
		Data []ogRule `json:"data"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("users/%s/notification-rules.json: %w", id, err)
	}
	slices.SortStableFunc(doc.Data, func(a, b ogRule) int { return a.Order - b.Order })
	var chosen *ogRule
	for i := range doc.Data {
		rule := &doc.Data[i]
		switch {
		case rule.Enabled != nil && !*rule.Enabled:
			im.r.skip(subject, "notification rule %q is disabled", rule.Name)
		case rule.ActionType != "create-alert":
			im.r.skip(subject, "notification rule %q (%s): incidentflow notification rules are for new pages only", rule.Name, rule.ActionType)
		case chosen != nil:
			im.r.skip(subject, "notification rule %q: only the first new-alert rule (%q) is imported; incidentflow has one rule list per person", rule.Name, chosen.Name)
		default:
			chosen = rule
		}
	}
	if chosen == nil {
		return nil, nil
	}
	if chosen.Criteria.Type != "" && chosen.Criteria.Type != "match-all" {
		im.r.approximate(subject, "notification rule %q has %s criteria; imported as if it matched every alert", chosen.Name, chosen.Criteria.Type)
	}
	if len(chosen.TimeRestriction) > 0 && string(chosen.TimeRestriction) != "null" {
		im.r.approximate(subject, "notification rule %q is time-restricted; imported as applying at all times", chosen.Name)
	}
	steps := chosen.Steps
	if steps == nil {
		if err := safeID(chosen.ID); err != nil {
			return nil, fmt.Errorf("users/%s/notification-rules.json: %w", id, err)
		}
		b, err := optional(im.f.get(ctx, "/v2/users/"+url.PathEscape(id)+"/notification-rules/"+url.PathEscape(chosen.ID)+"/steps", nil,
			"users/"+id+"/notification-rules/"+chosen.ID+"/steps.json"))
		if err != nil {
			return nil, err
		}
		var sd struct {
			Data []ogStep `json:"data"`
		}
		if b != nil {
			if err := json.Unmarshal(b, &sd); err != nil {
				return nil, fmt.Errorf("steps of %s: %w", chosen.ID, err)
			}
		}
		steps = sd.Data
	}
	var out []outRule
	type timed struct {
		after time.Duration
		via   string
	}
	var ts []timed
	for _, s := range steps {
		if s.Enabled != nil && !*s.Enabled {
			continue
		}
		after, ok := s.SendAfter.d()
		if !ok {
			im.r.skip(subject, "notification step with time unit %q", s.SendAfter.TimeUnit)
			continue
		}
		via := s.Contact.Method
		switch via {
		case "email", "sms", "voice":
		case "mobile":
			im.r.skip(subject, "notification step after %s by mobile-app push: not imported", dur(after))
			continue
		default:
			im.r.skip(subject, "notification step by %q: not a method incidentflow has", via)
			continue
		}
		if !methods[via] {
			im.r.skip(subject, "notification step after %s by %s: the user has no enabled %s contact", dur(after), via, via)
			continue
		}
		ts = append(ts, timed{after, via})
	}
	slices.SortStableFunc(ts, func(a, b timed) int { return int(a.after - b.after) })
	for _, t := range ts {
		out = append(out, outRule{After: dur(t.after), Via: t.via})
	}
	return out, nil
}

func (im *ogImport) importSchedules(ctx context.Context) error {
	raw, err := im.f.opsgenieList(ctx, "/v2/schedules", url.Values{"expand": {"rotation"}}, "schedules.json")
	if err != nil {
		return err
	}
	schedules, err := decodeAll[ogSchedule](raw, "schedules")
	if err != nil {
		return err
	}
	names := newNamer()
	for _, s := range schedules {
		if err := safeID(s.ID); err != nil {
			return fmt.Errorf("schedules.json: %w", err)
		}
		name := names.name(s.Name, s.ID)
		subject := fmt.Sprintf("schedule `%s`", name)
		if s.Enabled != nil && !*s.Enabled {
			im.r.skip(subject, "disabled in Opsgenie")
			continue
		}
		loc, err := time.LoadLocation(s.Timezone)
		if err != nil {
			im.r.skip(subject, "unknown time zone %q", s.Timezone)
			continue
		}
		sch := outSchedule{TimeZone: s.Timezone}
		var rotNames []string
		var weeks []*week
		for _, rot := range s.Rotations {
			layer, w, ok := im.rotation(subject, rot, loc)
			if !ok {
				continue
			}
			sch.Layers = append(sch.Layers, layer)
			rotNames = append(rotNames, rot.Name)
			weeks = append(weeks, w)
		}
		if len(sch.Layers) == 0 {
			im.r.skip(subject, "no rotation could be imported, so the schedule was left out")
			continue
		}
		overlaps(im.r, subject, rotNames, weeks, "Opsgenie notifies everyone on call in every rotation, incidentflow pages one person per schedule: the later rotation, %q")
		overrides, err := im.overrides(ctx, s.ID, subject, loc)
		if err != nil {
			return err
		}
		sch.Overrides = overrides
		im.out.Schedules[name] = sch
		im.schedules[s.ID] = name
		im.schedules[strings.ToLower(s.Name)] = name
	}
	return nil
}

func (im *ogImport) rotation(subject string, rot ogRotation, loc *time.Location) (outLayer, *week, bool) {
	rs := fmt.Sprintf("%s rotation %q", subject, rot.Name)
	start, err := time.Parse(time.RFC3339, rot.StartDate)
	if err != nil {
		im.r.skip(rs, "start date %q is not a time", rot.StartDate)
		return outLayer{}, nil, false
	}
	if rot.EndDate != "" {
		end, err := time.Parse(time.RFC3339, rot.EndDate)
		if err == nil && !end.After(im.now) {
			im.r.skip(rs, "ended %s", rot.EndDate)
			return outLayer{}, nil, false
		}
		im.r.gap(rs, "ends %s in Opsgenie; incidentflow layers do not end, so remove this layer then", rot.EndDate)
	}
	length := max(rot.Length, 1)
	var shift time.Duration
	switch rot.Type {
	case "hourly":
		shift = time.Duration(length) * time.Hour
		if (24*time.Hour)%shift == 0 {
			im.r.gap(rs, "turns of %d hours: incidentflow hands over at the same wall-clock times every day, so across a daylight-saving change a handover moves an hour against a count of elapsed hours", length)
		}
	case "daily":
		shift = time.Duration(length) * 24 * time.Hour
	case "weekly":
		shift = time.Duration(length) * 7 * 24 * time.Hour
	default:
		im.r.skip(rs, "rotation type %q is not hourly, daily or weekly", rot.Type)
		return outLayer{}, nil, false
	}
	layer := outLayer{Start: start.In(loc).Format(time.RFC3339), Shift: dur(shift)}
	for _, p := range rot.Participants {
		switch p.Type {
		case "user":
			u, ok := im.user(p)
			if !ok {
				im.r.skip(rs, "participant %s is not a known user: left out of the rotation", firstNonEmpty(p.Username, p.Name, p.ID))
				continue
			}
			layer.Users = append(layer.Users, u)
		case "none":
			im.r.approximate(rs, "has a \"none\" turn (nobody on call); incidentflow rotations have no empty turn, so it was left out and the turns after it come earlier")
		default:
			im.r.skip(rs, "participant %s %s: incidentflow rotations hold users only (list the members instead)", p.Type, firstNonEmpty(p.Name, p.Username, p.ID))
		}
	}
	if len(layer.Users) == 0 {
		im.r.skip(rs, "no participant could be imported")
		return outLayer{}, nil, false
	}
	w := fullWeek()
	if tr := rot.TimeRestriction; tr != nil {
		w = &week{}
		switch tr.Type {
		case "time-of-day":
			if tr.Restriction == nil {
				im.r.skip(rs, "time-of-day restriction without hours")
				return outLayer{}, nil, false
			}
			x := tr.Restriction
			from, to := x.StartHour*60+x.StartMin, x.EndHour*60+x.EndMin
			length := (to - from + 1440) % 1440
			if length == 0 {
				length = 1440
			}
			for d := 0; d < 7; d++ {
				w.addRange(d*1440+from, length)
			}
		case "weekday-and-time-of-day":
			for _, x := range tr.Restrictions {
				sd, ok1 := dayIndex(x.StartDay)
				ed, ok2 := dayIndex(x.EndDay)
				if !ok1 || !ok2 {
					im.r.skip(rs, "restriction from %q to %q: unknown day", x.StartDay, x.EndDay)
					continue
				}
				from := sd*1440 + x.StartHour*60 + x.StartMin
				to := ed*1440 + x.EndHour*60 + x.EndMin
				length := ((to-from)%weekMinutes + weekMinutes) % weekMinutes
				if length == 0 {
					length = weekMinutes
				}
				w.addRange(from, length)
			}
		default:
			im.r.skip(rs, "restriction type %q is unknown; imported without restriction", tr.Type)
			w = fullWeek()
		}
		if w.count() == 0 {
			im.r.skip(rs, "its restrictions leave no time on call")
			return outLayer{}, nil, false
		}
		layer.Restrictions = w.restrictions()
	}
	return layer, w, true
}

func (im *ogImport) overrides(ctx context.Context, id, subject string, loc *time.Location) ([]outOverride, error) {
	b, err := optional(im.f.get(ctx, "/v2/schedules/"+url.PathEscape(id)+"/overrides", nil, "schedules/"+id+"/overrides.json"))
	if err != nil || b == nil {
		return nil, err
	}
	var doc struct {
		Data []ogOverride `json:"data"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("schedules/%s/overrides.json: %w", id, err)
	}
	var out []outOverride
	for _, o := range doc.Data {
		ovs := fmt.Sprintf("%s override %q", subject, o.Alias)
		start, err1 := time.Parse(time.RFC3339, o.StartDate)
		end, err2 := time.Parse(time.RFC3339, o.EndDate)
		if err1 != nil || err2 != nil || !end.After(start) {
			im.r.skip(ovs, "times %q to %q are not a period", o.StartDate, o.EndDate)
			continue
		}
		if !end.After(im.now) {
			continue // over: nothing to carry
		}
		if o.User.Type != "" && o.User.Type != "user" {
			im.r.skip(ovs, "overrides with %s %s: incidentflow overrides name a user", o.User.Type, firstNonEmpty(o.User.Name, o.User.Username))
			continue
		}
		u, ok := im.user(o.User)
		if !ok {
			im.r.skip(ovs, "user %s is not known", firstNonEmpty(o.User.Username, o.User.Name, o.User.ID))
			continue
		}
		if len(o.Rotations) > 0 {
			var rn []string
			for _, r := range o.Rotations {
				rn = append(rn, r.Name)
			}
			im.r.approximate(ovs, "applies only to rotation(s) %s in Opsgenie; incidentflow overrides cover the whole schedule", strings.Join(rn, ", "))
		}
		out = append(out, outOverride{Start: start.In(loc).Format(time.RFC3339), End: end.In(loc).Format(time.RFC3339), User: u})
	}
	return out, nil
}

func (im *ogImport) importEscalations(ctx context.Context) error {
	raw, err := im.f.opsgenieList(ctx, "/v2/escalations", nil, "escalations.json")
	if err != nil {
		return err
	}
	escs, err := decodeAll[ogEscalation](raw, "escalations")
	if err != nil {
		return err
	}
	teamsRaw, err := im.f.opsgenieList(ctx, "/v2/teams", nil, "teams.json")
	if err != nil {
		return err
	}
	teams, err := decodeAll[ogTeam](teamsRaw, "teams")
	if err != nil {
		return err
	}
	names := newNamer()
	im.policies = map[string]string{}
	teamPolicy := map[string][]string{} // team id -> policy names
	for _, e := range escs {
		name := names.name(e.Name, e.ID)
		subject := fmt.Sprintf("escalation `%s`", name)
		pol := outPolicy{}
		// Opsgenie delays count from the alert's creation; incidentflow's from
		// the step before. Rules with the same delay page together.
		var prev time.Duration
		for _, rule := range e.Rules {
			d, ok := rule.Delay.d()
			if !ok {
				im.r.skip(subject, "rule with delay unit %q", rule.Delay.TimeUnit)
				continue
			}
			if rule.Condition == "if-not-closed" {
				im.r.approximate(subject, "rule after %s pages if the alert is not closed; incidentflow stops escalating at the first acknowledgement", dur(d))
			}
			target, ok := im.escalationTarget(subject, d, rule.NotifyType, rule.Recipient)
			if !ok {
				continue
			}
			if n := len(pol.Steps); n > 0 && d == prev {
				if !slices.Contains(pol.Steps[n-1].Targets, target) {
					pol.Steps[n-1].Targets = append(pol.Steps[n-1].Targets, target)
				}
				continue
			}
			if d < prev {
				im.r.approximate(subject, "rule after %s comes before a rule after %s in Opsgenie's list; incidentflow pages steps in order", dur(d), dur(prev))
				d = prev
			}
			pol.Steps = append(pol.Steps, outStep{Delay: dur(d - prev), Targets: []string{target}})
			prev = d
		}
		if len(pol.Steps) == 0 {
			im.r.skip(subject, "no rule could be imported, so the policy was left out")
			continue
		}
		if rp := e.Repeat; rp != nil && rp.Count > 0 {
			pol.Repeat = rp.Count
			if rp.WaitInterval > 0 && time.Duration(rp.WaitInterval)*time.Minute != 5*time.Minute {
				im.r.approximate(subject, "repeats %d times after %d minutes; incidentflow starts the next round timings.ack_timeout (5m) after the last step", rp.Count, rp.WaitInterval)
			}
			if rp.CloseAfter {
				im.r.skip(subject, "closes the alert after the last repeat: incidentflow tells the fallback instead")
			}
		}
		im.out.EscalationPolicies[name] = pol
		im.policies[e.ID] = name
		if e.OwnerTeam != nil {
			teamPolicy[e.OwnerTeam.ID] = append(teamPolicy[e.OwnerTeam.ID], name)
		}
	}
	svcNames := newNamer()
	for _, t := range teams {
		subject := fmt.Sprintf("team `%s`", t.Name)
		pols := teamPolicy[t.ID]
		if len(pols) == 0 {
			im.r.skip(subject, "owns no escalation that could be imported, so no service was made for it")
			continue
		}
		name := svcNames.name(t.Name, t.ID)
		if len(pols) > 1 {
			im.r.approximate(subject, "owns several escalations (%s); service `%s` uses the first, `%s`, as Opsgenie's default routing rule would if it names it", strings.Join(pols, ", "), name, pols[0])
		}
		im.out.Services[name] = outService{EscalationPolicy: pols[0]}
		im.teamService[t.ID] = name
		im.teamService[strings.ToLower(t.Name)] = name
	}
	return nil
}

func (im *ogImport) escalationTarget(subject string, d time.Duration, notifyType string, rc ogRef) (string, bool) {
	label := fmt.Sprintf("rule after %s to %s %s", dur(d), rc.Type, firstNonEmpty(rc.Name, rc.Username, rc.ID))
	switch rc.Type {
	case "user":
		u, ok := im.user(rc)
		if !ok {
			im.r.skip(subject, "%s: unknown user", label)
			return "", false
		}
		return "user:" + u, true
	case "schedule":
		switch notifyType {
		case "", "default":
		case "next", "previous":
			im.r.skip(subject, "%s notifies the %s on-call user; incidentflow pages whoever is on call now", label, notifyType)
			return "", false
		default:
			im.r.approximate(subject, "%s with notify type %q: pages whoever is on call", label, notifyType)
		}
		s, ok := im.schedules[rc.ID]
		if !ok {
			s, ok = im.schedules[strings.ToLower(rc.Name)]
		}
		if !ok {
			im.r.skip(subject, "%s: the schedule was not imported", label)
			return "", false
		}
		return "schedule:" + s, true
	case "team":
		im.r.skip(subject, "%s: incidentflow escalation steps page users and schedules, not teams (add the team's schedule instead)", label)
	default:
		im.r.skip(subject, "%s: unknown recipient type", label)
	}
	return "", false
}

func (im *ogImport) teamOf(refs ...*ogRef) (string, bool) {
	for _, r := range refs {
		if r == nil {
			continue
		}
		if s, ok := im.teamService[r.ID]; ok && r.ID != "" {
			return s, true
		}
		if s, ok := im.teamService[strings.ToLower(r.Name)]; ok {
			return s, true
		}
	}
	return "", false
}

func (im *ogImport) importHeartbeats(ctx context.Context) error {
	raw, err := optionalList(im.f.opsgenieList(ctx, "/v2/heartbeats", nil, "heartbeats.json"))
	if err != nil {
		return err
	}
	hbs, err := decodeAll[ogHeartbeat](raw, "heartbeats")
	if err != nil {
		return err
	}
	names := newNamer()
	for _, h := range hbs {
		// The name is in the ping URL senders use: keep it when incidentflow can.
		name := h.Name
		if !heartbeatName.MatchString(name) || names.used[name] {
			name = names.name(h.Name, "heartbeat")
		} else {
			names.used[name] = true
		}
		subject := fmt.Sprintf("heartbeat `%s`", h.Name)
		if name != h.Name {
			im.r.approximate(subject, "renamed `%s` (a heartbeat name is part of its ping URL): change the URL its job pings", name)
		}
		unit := ogTime{TimeAmount: h.Interval, TimeUnit: h.IntervalUnit}
		iv, ok := unit.d()
		if !ok || iv <= 0 {
			im.r.skip(subject, "interval %d %s is not a duration", h.Interval, h.IntervalUnit)
			continue
		}
		svc, ok := im.teamOf(h.OwnerTeam)
		if !ok {
			im.r.skip(subject, "has no owner team with an imported service; incidentflow heartbeats open incidents on a service")
			continue
		}
		hb := outHeartbeat{Interval: dur(iv), Service: svc, Severity: priority(h.AlertPriority)}
		if h.AlertPriority == "P5" {
			im.r.approximate(subject, "alert priority P5 maps to P4, incidentflow's lowest severity")
		}
		if !h.Enabled {
			off := false
			hb.Enabled = &off
		}
		im.out.Heartbeats[name] = hb
	}
	if len(hbs) > 0 {
		im.r.note("Heartbeats keep Opsgenie's interval; incidentflow adds a grace of a tenth of it before a missed ping opens an incident (set `grace` to change that). Pings keep working at `/v2/heartbeats/{name}/ping` with `Authorization: GenieKey`.")
	}
	return nil
}

var heartbeatName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

func priority(p string) string {
	switch p {
	case "P1", "P2", "P3", "P4":
		return p
	case "P5":
		return "P4"
	}
	return ""
}

// opsgenieSenders are integration types whose senders post to Opsgenie's
// Alert API with a GenieKey, which incidentflow's opsgenie integration
// answers: pointing them at incidentflow is a URL change.
var opsgenieSenders = map[string]bool{"API": true, "Prometheus": true, "Grafana": true, "Datadog": true, "Zabbix": true}

func (im *ogImport) importIntegrations(ctx context.Context) error {
	raw, err := optionalList(im.f.opsgenieList(ctx, "/v2/integrations", nil, "integrations.json"))
	if err != nil {
		return err
	}
	ins, err := decodeAll[ogIntegration](raw, "integrations")
	if err != nil {
		return err
	}
	names := newNamer()
	for _, in := range ins {
		subject := fmt.Sprintf("integration `%s` (%s)", in.Name, in.Type)
		if !opsgenieSenders[in.Type] {
			im.r.skip(subject, "type %s does not send through the Alert API; set it up against incidentflow's generic, alertmanager or grafana endpoint", in.Type)
			continue
		}
		svc, ok := im.teamOf(&ogRef{ID: in.TeamID}, in.OwnerTeam)
		if !ok {
			im.r.skip(subject, "has no team with an imported service to route to")
			continue
		}
		if !in.Enabled {
			im.r.approximate(subject, "is disabled in Opsgenie; imported, and it accepts alerts once its key is set")
		}
		name := names.name(in.Name, in.ID)
		env := envName("opsgenie key", name)
		im.out.Integrations = append(im.out.Integrations, outIntegration{Name: name, Kind: config.KindOpsgenie, TokenEnv: env, Service: svc})
		im.r.todo(subject, "set %s to the integration's API key (senders keep sending `Authorization: GenieKey <key>`; only their URL changes)", env)
	}
	return nil
}

func optionalList(l []json.RawMessage, err error) ([]json.RawMessage, error) {
	if errors.Is(err, errMissing) {
		return nil, nil
	}
	return l, err
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return "(unnamed)"
}

func sortedMethods(m map[string]bool) []string {
	var out []string
	for _, k := range []string{config.ViaEmail, config.ViaSMS, config.ViaVoice} {
		if m[k] {
			out = append(out, k)
		}
	}
	return out
}
