// Package importer turns an Opsgenie or PagerDuty account, read from the
// JSON their REST APIs answer (saved in a directory, or fetched live), into
// an incidentflow config file and a report of everything that could not be
// carried over exactly.
package importer

import (
	"bytes"
	"fmt"
	"net/mail"
	"regexp"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/incidentflow/incidentflow/config"
)

// Result is one import: the config file and the Markdown report.
type Result struct {
	Config []byte
	Report []byte
	// Parsed is Config as incidentflow loads it, so callers and tests can
	// use it without parsing again.
	Parsed *config.Config
}

// The output mirrors config.Config, but only the keys an import fills and
// with omitempty, so the file reads like a hand-written one; maps marshal
// in key order, which keeps the file stable for review and golden tests.
type outConfig struct {
	SMTP               *outSMTP                `yaml:"smtp,omitempty"`
	Twilio             *outTwilio              `yaml:"twilio,omitempty"`
	Integrations       []outIntegration        `yaml:"integrations,omitempty"`
	Services           map[string]outService   `yaml:"services,omitempty"`
	EscalationPolicies map[string]outPolicy    `yaml:"escalation_policies,omitempty"`
	Schedules          map[string]outSchedule  `yaml:"schedules,omitempty"`
	Users              map[string]outUser      `yaml:"users,omitempty"`
	Heartbeats         map[string]outHeartbeat `yaml:"heartbeats,omitempty"`
}

type outSMTP struct {
	Host        string `yaml:"host"`
	From        string `yaml:"from"`
	UsernameEnv string `yaml:"username_env"`
	PasswordEnv string `yaml:"password_env"`
}

type outTwilio struct {
	AccountSIDEnv string `yaml:"account_sid_env"`
	AuthTokenEnv  string `yaml:"auth_token_env"`
	From          string `yaml:"from"`
	CallbackURL   string `yaml:"callback_url"`
}

type outIntegration struct {
	Name     string `yaml:"name"`
	Kind     string `yaml:"kind"`
	TokenEnv string `yaml:"token_env"`
	Service  string `yaml:"service"`
}

type outService struct {
	EscalationPolicy string `yaml:"escalation_policy"`
}

type outPolicy struct {
	Repeat int       `yaml:"repeat,omitempty"`
	Steps  []outStep `yaml:"steps"`
}

type outStep struct {
	Delay   string   `yaml:"delay"`
	Targets []string `yaml:"targets,flow"`
}

type outSchedule struct {
	TimeZone  string        `yaml:"time_zone"`
	Layers    []outLayer    `yaml:"layers"`
	Overrides []outOverride `yaml:"overrides,omitempty"`
}

type outLayer struct {
	Start        string           `yaml:"start"`
	Shift        string           `yaml:"shift"`
	Users        []string         `yaml:"users,flow"`
	Restrictions []outRestriction `yaml:"restrictions,omitempty"`
}

type outRestriction struct {
	Days  []string `yaml:"days,omitempty,flow"`
	Start string   `yaml:"start"`
	End   string   `yaml:"end"`
}

type outOverride struct {
	Start string `yaml:"start"`
	End   string `yaml:"end"`
	User  string `yaml:"user"`
}

type outUser struct {
	Email             string    `yaml:"email,omitempty"`
	Phone             string    `yaml:"phone,omitempty"`
	ContactMethods    []string  `yaml:"contact_methods,omitempty,flow"`
	NotificationRules []outRule `yaml:"notification_rules,omitempty"`
}

type outRule struct {
	After string `yaml:"after"`
	Via   string `yaml:"via"`
}

type outHeartbeat struct {
	Interval string `yaml:"interval"`
	Service  string `yaml:"service"`
	Severity string `yaml:"severity,omitempty"`
	Enabled  *bool  `yaml:"enabled,omitempty"`
}

func newOut() *outConfig {
	return &outConfig{
		Services:           map[string]outService{},
		EscalationPolicies: map[string]outPolicy{},
		Schedules:          map[string]outSchedule{},
		Users:              map[string]outUser{},
		Heartbeats:         map[string]outHeartbeat{},
	}
}

// needsDelivery adds the mail and Twilio sections the users' contact
// methods need to validate, with placeholders the report asks to replace:
// an imported config that does not load is no use, and a config that
// silently drops SMS would page nobody at night.
func (o *outConfig) needsDelivery(r *report) {
	var email, phone bool
	for _, u := range o.Users {
		for _, m := range u.ContactMethods {
			email = email || m == config.ViaEmail
			phone = phone || m == config.ViaSMS || m == config.ViaVoice
		}
	}
	if email {
		o.SMTP = &outSMTP{Host: "smtp.example.com", From: "incidentflow@example.com", UsernameEnv: "SMTP_USERNAME", PasswordEnv: "SMTP_PASSWORD"}
		r.todo("`smtp`", "placeholder host and sender: set your mail server before switching (email contact methods need it)")
	}
	if phone {
		o.Twilio = &outTwilio{AccountSIDEnv: "TWILIO_ACCOUNT_SID", AuthTokenEnv: "TWILIO_AUTH_TOKEN", From: "+15555550100", CallbackURL: "https://incidentflow.example.com"}
		r.todo("`twilio`", "placeholder number and callback URL: set your Twilio number and incidentflow's public URL (sms and voice contact methods need them)")
	}
}

// finish marshals the config, checks that incidentflow accepts it, and
// renders the report.
func finish(source string, o *outConfig, r *report) (*Result, error) {
	o.needsDelivery(r)
	sortIntegrations(o.Integrations)
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "# incidentflow config imported from %s by `incidentflow import`.\n", source)
	fmt.Fprintf(&buf, "# Read the import report before switching: it lists what was not carried over exactly.\n")
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(o); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	cfg, err := config.Parse(buf.Bytes())
	if err != nil {
		return nil, fmt.Errorf("the imported config does not validate (a bug in the importer, please report it):\n%w\n\n%s", err, buf.String())
	}
	return &Result{Config: buf.Bytes(), Report: r.markdown(source, o), Parsed: cfg}, nil
}

func sortIntegrations(ins []outIntegration) {
	slices.SortFunc(ins, func(a, b outIntegration) int { return strings.Compare(a.Name, b.Name) })
}

// namer gives each imported object an incidentflow name: the source's name
// in lower-case words joined by dashes, unique per kind.
type namer struct{ used map[string]bool }

func newNamer() *namer { return &namer{used: map[string]bool{}} }

func (n *namer) name(s, fallback string) string {
	base := slug(s)
	if base == "" {
		base = slug(fallback)
	}
	if base == "" {
		base = "unnamed"
	}
	name := base
	for i := 2; n.used[name]; i++ {
		name = fmt.Sprintf("%s-%d", base, i)
	}
	n.used[name] = true
	return name
}

func slug(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			b.WriteRune(r)
			dash = false
		} else {
			dash = true
		}
	}
	out := b.String()
	if len(out) > 60 {
		out = strings.TrimRight(out[:60], "-")
	}
	return out
}

// envName makes an environment variable name from parts.
func envName(parts ...string) string {
	s := strings.ToUpper(slug(strings.Join(parts, " ")))
	return strings.ReplaceAll(s, "-", "_")
}

// dur writes a duration as people write them: 5m, 1h30m, 0s.
func dur(d time.Duration) string {
	if d == 0 {
		return "0s"
	}
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// report collects what an import could not carry over exactly.
type report struct {
	skipped []string
	approx  []string
	gaps    []string
	todos   []string
	notes   []string
}

func (r *report) skip(subject, format string, a ...any) {
	r.skipped = append(r.skipped, subject+": "+fmt.Sprintf(format, a...))
}

func (r *report) approximate(subject, format string, a ...any) {
	r.approx = append(r.approx, subject+": "+fmt.Sprintf(format, a...))
}

// gap is a difference in how the two systems answer "who is on call" or
// "who is paged" that no config can express.
func (r *report) gap(subject, format string, a ...any) {
	r.gaps = append(r.gaps, subject+": "+fmt.Sprintf(format, a...))
}

func (r *report) todo(subject, format string, a ...any) {
	r.todos = append(r.todos, subject+": "+fmt.Sprintf(format, a...))
}

func (r *report) note(format string, a ...any) {
	r.notes = append(r.notes, fmt.Sprintf(format, a...))
}

func (r *report) markdown(source string, o *outConfig) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# Import from %s\n\n", source)
	fmt.Fprintf(&b, "Imported %d users, %d schedules, %d escalation policies, %d services, %d integrations, %d heartbeats.\n",
		len(o.Users), len(o.Schedules), len(o.EscalationPolicies), len(o.Services), len(o.Integrations), len(o.Heartbeats))
	section := func(title, intro string, items []string) {
		if len(items) == 0 {
			return
		}
		fmt.Fprintf(&b, "\n## %s\n\n", title)
		if intro != "" {
			fmt.Fprintf(&b, "%s\n\n", intro)
		}
		for _, it := range items {
			fmt.Fprintf(&b, "- %s\n", it)
		}
	}
	section("Not imported", "These have no incidentflow equivalent and were left out.", r.skipped)
	section("Approximated", "These were imported, but not exactly as the source had them.", r.approx)
	section("Different on-call answers", "Here incidentflow will page someone other than "+source+" would have, whatever the config says.", r.gaps)
	section("Before you switch", "Placeholders and secrets the config names but cannot contain.", r.todos)
	section("Notes", "", r.notes)
	if len(r.skipped)+len(r.approx)+len(r.gaps) == 0 {
		b.WriteString("\nEverything was imported exactly.\n")
	}
	return b.Bytes()
}

// week is a set of minutes of the week in a schedule's wall-clock time,
// Sunday 00:00 first: both sources' restrictions become one, and it
// becomes incidentflow restrictions, so every restriction shape maps the
// same way and overlaps between layers can be found.
type week [7 * 1440]bool

const weekMinutes = 7 * 1440

func fullWeek() *week {
	var w week
	for i := range w {
		w[i] = true
	}
	return &w
}

// addRange sets length minutes from minute start (wrapping past Saturday).
func (w *week) addRange(start, length int) {
	if length >= weekMinutes {
		length = weekMinutes
	}
	for i := 0; i < length; i++ {
		w[((start+i)%weekMinutes+weekMinutes)%weekMinutes] = true
	}
}

func (w *week) count() int {
	n := 0
	for _, v := range w {
		if v {
			n++
		}
	}
	return n
}

func (w *week) and(o *week) *week {
	var out week
	for i := range w {
		out[i] = w[i] && o[i]
	}
	return &out
}

var dayNames = []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

type piece struct {
	day        int
	start, end int // minutes; end < start crosses midnight, end 0 is midnight
}

// pieces cuts the week into windows incidentflow restrictions can say: a
// window starts on one day and ends before the same time the next day, and
// a whole day is 00:00-12:00 plus 12:00-00:00.
func (w *week) pieces() []piece {
	if w.count() == weekMinutes || w.count() == 0 {
		return nil
	}
	// Start scanning at a minute that is off, so no run wraps the scan.
	origin := 0
	for w[origin] {
		origin++
	}
	var out []piece
	for i := 0; i < weekMinutes; {
		p := (origin + i) % weekMinutes
		if !w[p] {
			i++
			continue
		}
		n := 0
		for n < weekMinutes-i && w[(p+n)%weekMinutes] {
			n++
		}
		out = append(out, runPieces(p, n)...)
		i += n
	}
	return out
}

func runPieces(p, n int) []piece {
	var out []piece
	for n > 0 {
		day, m := p/1440, p%1440
		toMidnight := 1440 - m
		switch {
		case n < toMidnight:
			out = append(out, piece{day, m, m + n})
			return out
		case m > 0 && n < toMidnight+m:
			// Crosses midnight and ends before the start time: one overnight window.
			out = append(out, piece{day, m, (m + n) % 1440})
			return out
		case m > 0:
			out = append(out, piece{day, m, 0})
		case n >= 1440:
			out = append(out, piece{day, 0, 720}, piece{day, 720, 0})
		}
		if m == 0 && n < 1440 {
			out = append(out, piece{day, 0, n})
			return out
		}
		n -= toMidnight
		p = (p + toMidnight) % weekMinutes
	}
	return out
}

// restrictions renders the week as incidentflow restrictions: windows with
// the same hours share one entry, listing its days Monday first, and no
// days at all when every day has it.
func (w *week) restrictions() []outRestriction {
	type key struct{ start, end int }
	days := map[key][]int{}
	var order []key
	for _, p := range w.pieces() {
		k := key{p.start, p.end}
		if _, ok := days[k]; !ok {
			order = append(order, k)
		}
		if !slices.Contains(days[k], p.day) {
			days[k] = append(days[k], p.day)
		}
	}
	monFirst := func(d int) int { return (d + 6) % 7 }
	slices.SortFunc(order, func(a, b key) int {
		da, db := slices.MinFunc(days[a], func(x, y int) int { return monFirst(x) - monFirst(y) }), slices.MinFunc(days[b], func(x, y int) int { return monFirst(x) - monFirst(y) })
		if da != db {
			return monFirst(da) - monFirst(db)
		}
		if a.start != b.start {
			return a.start - b.start
		}
		return a.end - b.end
	})
	var out []outRestriction
	for _, k := range order {
		ds := days[k]
		slices.SortFunc(ds, func(x, y int) int { return monFirst(x) - monFirst(y) })
		r := outRestriction{Start: clock(k.start), End: clock(k.end)}
		if len(ds) < 7 {
			for _, d := range ds {
				r.Days = append(r.Days, dayNames[d])
			}
		}
		out = append(out, r)
	}
	return out
}

// describe says the week's windows in words, for the report.
func (w *week) describe() string {
	var parts []string
	for _, r := range w.restrictions() {
		days := "daily"
		if len(r.Days) > 0 {
			days = strings.Join(r.Days, ",")
		}
		end := r.End
		if end == "00:00" {
			end = "24:00"
		}
		parts = append(parts, fmt.Sprintf("%s %s–%s", days, r.Start, end))
	}
	if len(parts) == 0 {
		return "all week"
	}
	return strings.Join(parts, "; ")
}

func clock(m int) string { return fmt.Sprintf("%02d:%02d", m/60, m%60) }

// dayIndex maps English day names (monday, mon) and ISO numbers (1 Monday
// .. 7 Sunday) to Sunday-first indexes.
func dayIndex(s string) (int, bool) {
	d, ok := config.Weekday(s)
	return int(d), ok
}

// overlaps reports where two layers of one schedule are on call at once.
func overlaps(r *report, subject string, names []string, weeks []*week, what string) {
	for i := range weeks {
		for j := i + 1; j < len(weeks); j++ {
			both := weeks[i].and(weeks[j])
			if both.count() == 0 {
				continue
			}
			r.gap(subject, "rotations %q and %q are both on call %s (schedule time); %s",
				names[i], names[j], both.describe(), fmt.Sprintf(what, names[j]))
		}
	}
}

func mailAddress(s string) (*mail.Address, error) {
	a, err := mail.ParseAddress(s)
	if err == nil && a.Address != s {
		return nil, fmt.Errorf("%q is not a bare address", s)
	}
	return a, err
}

var e164re = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

// e164 makes an E.164 number of the ways the sources write one: Opsgenie
// "49-15112345678", PagerDuty's country code and number apart, or already
// "+49 151 ...".
func e164(s string) (string, bool) {
	var b strings.Builder
	b.WriteByte('+')
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	out := b.String()
	return out, e164re.MatchString(out)
}
