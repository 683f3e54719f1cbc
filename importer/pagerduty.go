package importer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/incidentflow/incidentflow/config"
)

// PagerDutyFiles are the files a PagerDuty export directory holds, each the
// answer of the REST API v2 call beside it (list calls: every page's items
// in one answer).
var PagerDutyFiles = [][2]string{
	{"users.json", "GET /users?include[]=contact_methods&include[]=notification_rules"},
	{"schedules.json", "GET /schedules"},
	{"schedules/{id}.json", "GET /schedules/{id} (the schedule with its schedule_layers)"},
	{"schedules/{id}/overrides.json", "GET /schedules/{id}/overrides?since=NOW&until=NOW+90d"},
	{"escalation_policies.json", "GET /escalation_policies"},
	{"services.json", "GET /services?include[]=integrations"},
	{"teams.json", "GET /teams (optional)"},
}

type pdRef struct {
	ID      string `json:"id"`
	Type    string `json:"type"`
	Summary string `json:"summary"`
}

type pdContact struct {
	ID          string `json:"id"`
	Type        string `json:"type"`
	Label       string `json:"label"`
	Address     string `json:"address"`
	CountryCode int    `json:"country_code"`
}

type pdUser struct {
	ID                string      `json:"id"`
	Name              string      `json:"name"`
	Email             string      `json:"email"`
	ContactMethods    []pdContact `json:"contact_methods"`
	NotificationRules []pdRule    `json:"notification_rules"`
}

type pdRule struct {
	ID                  string    `json:"id"`
	StartDelayInMinutes int       `json:"start_delay_in_minutes"`
	ContactMethod       pdContact `json:"contact_method"`
	Urgency             string    `json:"urgency"`
}

type pdRestriction struct {
	Type            string `json:"type"`
	StartTimeOfDay  string `json:"start_time_of_day"`
	DurationSeconds int    `json:"duration_seconds"`
	StartDayOfWeek  int    `json:"start_day_of_week"`
}

type pdLayer struct {
	ID                        string  `json:"id"`
	Name                      string  `json:"name"`
	Start                     string  `json:"start"`
	End                       *string `json:"end"`
	RotationVirtualStart      string  `json:"rotation_virtual_start"`
	RotationTurnLengthSeconds int     `json:"rotation_turn_length_seconds"`
	Users                     []struct {
		User pdRef `json:"user"`
	} `json:"users"`
	Restrictions []pdRestriction `json:"restrictions"`
}

type pdSchedule struct {
	ID             string    `json:"id"`
	Name           string    `json:"name"`
	TimeZone       string    `json:"time_zone"`
	ScheduleLayers []pdLayer `json:"schedule_layers"`
}

type pdPolicy struct {
	ID              string `json:"id"`
	Name            string `json:"name"`
	NumLoops        int    `json:"num_loops"`
	EscalationRules []struct {
		EscalationDelayInMinutes int     `json:"escalation_delay_in_minutes"`
		Targets                  []pdRef `json:"targets"`
	} `json:"escalation_rules"`
}

type pdService struct {
	ID                     string `json:"id"`
	Name                   string `json:"name"`
	Status                 string `json:"status"`
	EscalationPolicy       pdRef  `json:"escalation_policy"`
	AcknowledgementTimeout *int   `json:"acknowledgement_timeout"`
	AutoResolveTimeout     *int   `json:"auto_resolve_timeout"`
	IncidentUrgencyRule    *struct {
		Type    string `json:"type"`
		Urgency string `json:"urgency"`
	} `json:"incident_urgency_rule"`
	Integrations []struct {
		ID      string `json:"id"`
		Type    string `json:"type"`
		Name    string `json:"name"`
		Summary string `json:"summary"`
	} `json:"integrations"`
}

// PagerDuty reads a PagerDuty account and maps it.
func PagerDuty(ctx context.Context, opts Options) (*Result, error) {
	f := &fetcher{opts: opts, auth: func(r *http.Request) {
		r.Header.Set("Authorization", "Token token="+opts.APIKey)
		r.Header.Set("Accept", "application/vnd.pagerduty+json;version=2")
	}}
	im := &pdImport{f: f, out: newOut(), r: &report{}, now: opts.Now,
		users: map[string]string{}, schedules: map[string]string{}, policies: map[string]string{}}
	if im.now.IsZero() {
		im.now = time.Now()
	}
	for _, step := range []func(context.Context) error{im.importUsers, im.importSchedules, im.importPolicies, im.importServices, im.importTeams} {
		if err := step(ctx); err != nil {
			return nil, err
		}
	}
	return finish("PagerDuty", im.out, im.r)
}

type pdImport struct {
	f         *fetcher
	out       *outConfig
	r         *report
	now       time.Time
	users     map[string]string
	schedules map[string]string
	policies  map[string]string
}

func (im *pdImport) importUsers(ctx context.Context) error {
	raw, err := im.f.pagerdutyList(ctx, "/users", "users", url.Values{"include[]": {"contact_methods", "notification_rules"}}, "users.json")
	if err != nil {
		return err
	}
	users, err := decodeAll[pdUser](raw, "users")
	if err != nil {
		return err
	}
	names := newNamer()
	for _, u := range users {
		local, _, _ := strings.Cut(u.Email, "@")
		name := names.name(local, u.Name)
		subject := fmt.Sprintf("user `%s` (%s)", name, u.Name)
		im.users[u.ID] = name
		ou := outUser{}
		if _, err := mailAddress(u.Email); err == nil {
			ou.Email = u.Email
		}
		methods := map[string]bool{}
		via := map[string]string{} // contact method id -> via
		for _, c := range u.ContactMethods {
			switch c.Type {
			case "email_contact_method", "email_contact_method_reference":
				if ou.Email == "" {
					ou.Email = c.Address
				}
				if c.Address != ou.Email {
					im.r.approximate(subject, "email %s (%s) is not imported: incidentflow mails one address, %s", c.Address, c.Label, ou.Email)
					continue
				}
				methods[config.ViaEmail] = true
				via[c.ID] = config.ViaEmail
			case "phone_contact_method", "sms_contact_method":
				phone, ok := e164(fmt.Sprintf("%d%s", c.CountryCode, c.Address))
				if !ok {
					im.r.skip(subject, "%s %q is not a phone number incidentflow can dial", c.Label, c.Address)
					continue
				}
				m := config.ViaVoice
				if c.Type == "sms_contact_method" {
					m = config.ViaSMS
				}
				if ou.Phone != "" && ou.Phone != phone {
					im.r.approximate(subject, "%s %s (%s) is not imported: incidentflow texts and calls one number, %s", m, phone, c.Label, ou.Phone)
					continue
				}
				ou.Phone = phone
				methods[m] = true
				via[c.ID] = m
			case "push_notification_contact_method":
				im.r.skip(subject, "push notifications to the PagerDuty app (%s): incidentflow does not push to apps", c.Label)
			default:
				im.r.skip(subject, "contact method %s (%s)", c.Type, c.Label)
			}
		}
		if ou.Email == "" && ou.Phone == "" {
			im.r.todo(subject, "has no email or phone: kept so rotations keep their order, but cannot be paged until you add slack_id, email or phone")
		}
		var rules []outRule
		seen := map[string]bool{}
		lowSkipped := 0
		rs := slices.Clone(u.NotificationRules)
		slices.SortStableFunc(rs, func(a, b pdRule) int { return a.StartDelayInMinutes - b.StartDelayInMinutes })
		for _, nr := range rs {
			if nr.Urgency == "low" {
				lowSkipped++
				continue
			}
			m, ok := via[nr.ContactMethod.ID]
			if !ok {
				im.r.skip(subject, "notification rule after %d minutes by %s: that contact method was not imported", nr.StartDelayInMinutes, firstNonEmpty(nr.ContactMethod.Label, nr.ContactMethod.Type, nr.ContactMethod.ID))
				continue
			}
			key := fmt.Sprintf("%d/%s", nr.StartDelayInMinutes, m)
			if seen[key] {
				continue
			}
			seen[key] = true
			rules = append(rules, outRule{After: dur(time.Duration(nr.StartDelayInMinutes) * time.Minute), Via: m})
		}
		if lowSkipped > 0 {
			im.r.approximate(subject, "%d low-urgency notification rule(s) not imported: incidentflow has one set of rules, imported from the high-urgency ones", lowSkipped)
		}
		if len(methods) > 0 {
			ou.ContactMethods = sortedMethods(methods)
		}
		ou.NotificationRules = rules
		im.out.Users[name] = ou
	}
	return nil
}

func (im *pdImport) importSchedules(ctx context.Context) error {
	raw, err := im.f.pagerdutyList(ctx, "/schedules", "schedules", nil, "schedules.json")
	if err != nil {
		return err
	}
	list, err := decodeAll[pdSchedule](raw, "schedules")
	if err != nil {
		return err
	}
	names := newNamer()
	for _, item := range list {
		if err := safeID(item.ID); err != nil {
			return fmt.Errorf("schedules.json: %w", err)
		}
		b, err := im.f.get(ctx, "/schedules/"+url.PathEscape(item.ID), nil, "schedules/"+item.ID+".json")
		if err != nil {
			return err
		}
		var doc struct {
			Schedule pdSchedule `json:"schedule"`
		}
		if err := json.Unmarshal(b, &doc); err != nil {
			return fmt.Errorf("schedules/%s.json: %w", item.ID, err)
		}
		s := doc.Schedule
		name := names.name(s.Name, s.ID)
		subject := fmt.Sprintf("schedule `%s`", name)
		loc, err := time.LoadLocation(s.TimeZone)
		if err != nil {
			im.r.skip(subject, "unknown time zone %q", s.TimeZone)
			continue
		}
		sch := outSchedule{TimeZone: s.TimeZone}
		// PagerDuty answers a schedule's layers highest first (the reverse of
		// the order it takes them in); incidentflow lists the lowest first.
		for i := len(s.ScheduleLayers) - 1; i >= 0; i-- {
			if l, ok := im.layer(subject, s.ScheduleLayers[i], loc); ok {
				sch.Layers = append(sch.Layers, l)
			}
		}
		if len(sch.Layers) == 0 {
			im.r.skip(subject, "no layer could be imported, so the schedule was left out")
			continue
		}
		ovs, err := im.overrides(ctx, s.ID, subject, loc)
		if err != nil {
			return err
		}
		sch.Overrides = ovs
		im.out.Schedules[name] = sch
		im.schedules[s.ID] = name
	}
	return nil
}

func (im *pdImport) layer(subject string, l pdLayer, loc *time.Location) (outLayer, bool) {
	ls := fmt.Sprintf("%s layer %q", subject, l.Name)
	if l.End != nil && *l.End != "" {
		end, err := time.Parse(time.RFC3339, *l.End)
		if err == nil && !end.After(im.now) {
			im.r.skip(ls, "ended %s", *l.End)
			return outLayer{}, false
		}
		im.r.gap(ls, "ends %s in PagerDuty; incidentflow layers do not end, so remove this layer then", *l.End)
	}
	vstart, err := time.Parse(time.RFC3339, l.RotationVirtualStart)
	if err != nil {
		im.r.skip(ls, "rotation_virtual_start %q is not a time", l.RotationVirtualStart)
		return outLayer{}, false
	}
	if start, err := time.Parse(time.RFC3339, l.Start); err == nil && start.After(vstart) && start.After(im.now) {
		im.r.gap(ls, "starts %s, after its rotation's virtual start; incidentflow starts it at the virtual start %s", l.Start, l.RotationVirtualStart)
	}
	turn := time.Duration(l.RotationTurnLengthSeconds) * time.Second
	if turn <= 0 {
		im.r.skip(ls, "rotation_turn_length_seconds %d is not positive", l.RotationTurnLengthSeconds)
		return outLayer{}, false
	}
	const day = 24 * time.Hour
	if turn < day && day%turn == 0 {
		im.r.gap(ls, "turns of %s: incidentflow hands over at the same wall-clock times every day, so across a daylight-saving change a handover moves an hour against PagerDuty's %d-second count", dur(turn), l.RotationTurnLengthSeconds)
	}
	out := outLayer{Start: vstart.In(loc).Format(time.RFC3339), Shift: dur(turn)}
	for _, u := range l.Users {
		n, ok := im.users[u.User.ID]
		if !ok {
			im.r.skip(ls, "user %s is not known: left out of the rotation", firstNonEmpty(u.User.Summary, u.User.ID))
			continue
		}
		out.Users = append(out.Users, n)
	}
	if len(out.Users) == 0 {
		im.r.skip(ls, "no user could be imported")
		return outLayer{}, false
	}
	if len(l.Restrictions) > 0 {
		w := &week{}
		for _, rs := range l.Restrictions {
			t, err := time.Parse("15:04:05", rs.StartTimeOfDay)
			if err != nil {
				im.r.skip(ls, "restriction start %q is not HH:MM:SS", rs.StartTimeOfDay)
				continue
			}
			if t.Second() != 0 || rs.DurationSeconds%60 != 0 {
				im.r.approximate(ls, "restriction %s for %ds rounded to whole minutes", rs.StartTimeOfDay, rs.DurationSeconds)
			}
			from, length := t.Hour()*60+t.Minute(), rs.DurationSeconds/60
			switch rs.Type {
			case "daily_restriction":
				for d := 0; d < 7; d++ {
					w.addRange(d*1440+from, min(length, 1440))
				}
			case "weekly_restriction":
				if rs.StartDayOfWeek < 1 || rs.StartDayOfWeek > 7 {
					im.r.skip(ls, "weekly restriction on day %d", rs.StartDayOfWeek)
					continue
				}
				w.addRange((rs.StartDayOfWeek%7)*1440+from, length)
			default:
				im.r.skip(ls, "restriction type %q", rs.Type)
			}
		}
		if w.count() == 0 {
			im.r.skip(ls, "its restrictions leave no time on call")
			return outLayer{}, false
		}
		out.Restrictions = w.restrictions()
	}
	return out, true
}

func (im *pdImport) overrides(ctx context.Context, id, subject string, loc *time.Location) ([]outOverride, error) {
	q := url.Values{"since": {im.now.UTC().Format(time.RFC3339)}, "until": {im.now.Add(90 * 24 * time.Hour).UTC().Format(time.RFC3339)}}
	b, err := optional(im.f.get(ctx, "/schedules/"+url.PathEscape(id)+"/overrides", q, "schedules/"+id+"/overrides.json"))
	if err != nil || b == nil {
		return nil, err
	}
	var doc struct {
		Overrides []struct {
			ID    string `json:"id"`
			Start string `json:"start"`
			End   string `json:"end"`
			User  pdRef  `json:"user"`
		} `json:"overrides"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("schedules/%s/overrides.json: %w", id, err)
	}
	var out []outOverride
	for _, o := range doc.Overrides {
		start, err1 := time.Parse(time.RFC3339, o.Start)
		end, err2 := time.Parse(time.RFC3339, o.End)
		if err1 != nil || err2 != nil || !end.After(start) {
			im.r.skip(subject+" override "+o.ID, "times %q to %q are not a period", o.Start, o.End)
			continue
		}
		if !end.After(im.now) {
			continue
		}
		u, ok := im.users[o.User.ID]
		if !ok {
			im.r.skip(subject+" override "+o.ID, "user %s is not known", firstNonEmpty(o.User.Summary, o.User.ID))
			continue
		}
		out = append(out, outOverride{Start: start.In(loc).Format(time.RFC3339), End: end.In(loc).Format(time.RFC3339), User: u})
	}
	slices.SortStableFunc(out, func(a, b outOverride) int { return strings.Compare(a.Start, b.Start) })
	return out, nil
}

func (im *pdImport) importPolicies(ctx context.Context) error {
	raw, err := im.f.pagerdutyList(ctx, "/escalation_policies", "escalation_policies", nil, "escalation_policies.json")
	if err != nil {
		return err
	}
	pols, err := decodeAll[pdPolicy](raw, "escalation_policies")
	if err != nil {
		return err
	}
	names := newNamer()
	for _, p := range pols {
		name := names.name(p.Name, p.ID)
		subject := fmt.Sprintf("escalation policy `%s`", name)
		pol := outPolicy{Repeat: max(p.NumLoops, 0)}
		// PagerDuty's delay is how long a rule waits before the next one;
		// incidentflow's is how long a step waits after the one before.
		var carry time.Duration
		for i, rule := range p.EscalationRules {
			var targets []string
			for _, t := range rule.Targets {
				switch t.Type {
				case "user_reference", "user":
					if n, ok := im.users[t.ID]; ok {
						targets = append(targets, "user:"+n)
						continue
					}
				case "schedule_reference", "schedule":
					if n, ok := im.schedules[t.ID]; ok {
						targets = append(targets, "schedule:"+n)
						continue
					}
				}
				im.r.skip(subject, "rule %d target %s %s was not imported", i+1, t.Type, firstNonEmpty(t.Summary, t.ID))
			}
			delay := carry
			carry = time.Duration(rule.EscalationDelayInMinutes) * time.Minute
			if len(targets) == 0 {
				im.r.skip(subject, "rule %d has no target that could be imported; its wait is added to the next step", i+1)
				carry += delay
				continue
			}
			pol.Steps = append(pol.Steps, outStep{Delay: dur(delay), Targets: targets})
		}
		if len(pol.Steps) == 0 {
			im.r.skip(subject, "no rule could be imported, so the policy was left out")
			continue
		}
		if carry != 5*time.Minute {
			im.r.approximate(subject, "the last rule waits %s before %s; incidentflow waits timings.ack_timeout (5m) after a round's last step", dur(carry), map[bool]string{true: "repeating", false: "giving up"}[p.NumLoops > 0])
		}
		im.out.EscalationPolicies[name] = pol
		im.policies[p.ID] = name
	}
	return nil
}

func (im *pdImport) importServices(ctx context.Context) error {
	raw, err := im.f.pagerdutyList(ctx, "/services", "services", url.Values{"include[]": {"integrations"}}, "services.json")
	if err != nil {
		return err
	}
	svcs, err := decodeAll[pdService](raw, "services")
	if err != nil {
		return err
	}
	names := newNamer()
	inNames := newNamer()
	for _, s := range svcs {
		name := names.name(s.Name, s.ID)
		subject := fmt.Sprintf("service `%s`", name)
		pol, ok := im.policies[s.EscalationPolicy.ID]
		if !ok {
			im.r.skip(subject, "its escalation policy %s was not imported", firstNonEmpty(s.EscalationPolicy.Summary, s.EscalationPolicy.ID))
			continue
		}
		if s.Status == "disabled" {
			im.r.approximate(subject, "is disabled in PagerDuty; imported enabled")
		}
		if s.AcknowledgementTimeout != nil && *s.AcknowledgementTimeout > 0 {
			im.r.approximate(subject, "re-triggers %s after an acknowledgement; incidentflow uses the severity's resolve_timeout (P1 1h, P2 2h)", dur(time.Duration(*s.AcknowledgementTimeout)*time.Second))
		}
		if s.AutoResolveTimeout != nil && *s.AutoResolveTimeout > 0 {
			im.r.skip(subject, "auto-resolves after %s: incidentflow resolves when the alert does", dur(time.Duration(*s.AutoResolveTimeout)*time.Second))
		}
		if u := s.IncidentUrgencyRule; u != nil && u.Type != "" && u.Type != "constant" {
			im.r.skip(subject, "urgency rule %s (support hours): incidentflow decides severity by triage rules, not by time of day", u.Type)
		}
		im.out.Services[name] = outService{EscalationPolicy: pol}
		for _, in := range s.Integrations {
			label := firstNonEmpty(in.Name, in.Summary, in.ID)
			if in.Type != "events_api_v2_inbound_integration" {
				im.r.skip(subject, "integration %q (%s): only Events API v2 integrations map (to kind events_v2)", label, in.Type)
				continue
			}
			iname := inNames.name(name+" "+label, in.ID)
			env := envName("pd routing key", iname)
			im.out.Integrations = append(im.out.Integrations, outIntegration{Name: iname, Kind: config.KindEventsV2, TokenEnv: env, Service: name})
			im.r.todo(fmt.Sprintf("integration `%s`", iname), "set %s to the integration key senders use as routing_key, then point them at POST /v2/enqueue", env)
		}
	}
	return nil
}

func (im *pdImport) importTeams(ctx context.Context) error {
	raw, err := im.f.pagerdutyList(ctx, "/teams", "teams", nil, "teams.json")
	if errors.Is(err, errMissing) {
		return nil
	}
	if err != nil {
		return err
	}
	teams, err := decodeAll[pdRef](raw, "teams")
	if err != nil {
		return err
	}
	var ns []string
	for _, t := range teams {
		var named struct {
			Name string `json:"name"`
		}
		_ = json.Unmarshal(raw[slices.IndexFunc(teams, func(x pdRef) bool { return x.ID == t.ID })], &named)
		ns = append(ns, firstNonEmpty(named.Name, t.Summary, t.ID))
	}
	if len(ns) > 0 {
		im.r.note("PagerDuty teams (%s) are not imported: incidentflow has no teams; their services, schedules and policies were imported on their own.", strings.Join(ns, ", "))
	}
	return nil
}
