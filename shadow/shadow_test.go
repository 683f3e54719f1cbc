package shadow

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

var staff = map[string]string{"alice@example.com": "alice", "bob@example.com": "bob", "carol@example.com": "carol"}

// incidentflow's side of the week the PagerDuty fixtures cover.
var ours = []Incident{
	{Ref: "inc-checkout-5xx", Key: "checkout-5xx", Title: "checkout 5xx above 5%", OpenedAt: at("2026-11-20T10:00:00Z"), Shadow: true,
		Pages: []Page{{User: "alice", At: at("2026-11-20T10:00:01Z"), Via: "slack"}, {User: "alice", At: at("2026-11-20T10:01:01Z"), Via: "sms"},
			{User: "bob", At: at("2026-11-20T10:05:01Z"), Via: "slack"}}},
	{Ref: "inc-disk", Key: "db-1-disk", Title: "disk almost  full on db-1", OpenedAt: at("2026-11-21T03:00:30Z"), Shadow: true,
		Pages: []Page{{User: "carol", At: at("2026-11-21T03:00:31Z")}}},
	{Ref: "inc-latency", Key: "api-latency", Title: "API p99 above 2s", OpenedAt: at("2026-11-23T12:00:00Z"), Shadow: true,
		Pages: []Page{{User: "bob", At: at("2026-11-23T12:00:01Z"), Via: "slack"}}},
}

func TestLoadPagerDutyReadsPagedPeopleAcrossPages(t *testing.T) {
	theirs, err := LoadPagerDuty("testdata/pagerduty")
	require.NoError(t, err)
	require.Len(t, theirs, 3, "incidents.json and incidents-2.json")
	require.Equal(t, "checkout-5xx", theirs[0].Key)
	require.Equal(t, []Page{
		{User: "alice@example.com", At: at("2026-11-20T10:00:35Z"), Via: "sms"},
		{User: "bob@example.com", At: at("2026-11-20T10:06:05Z"), Via: "voice"},
	}, theirs[0].Pages, "notify_log_entry only, people by email")
	require.Equal(t, "zoe@example.com", theirs[1].Pages[0].User)
	require.Equal(t, "push", theirs[1].Pages[0].Via)
}

func TestLoadOpsgenieSkipsRecipientsNeverNotified(t *testing.T) {
	theirs, err := LoadOpsgenie("testdata/opsgenie")
	require.NoError(t, err)
	require.Len(t, theirs, 2)
	require.Equal(t, "checkout-5xx", theirs[0].Key, "the alias is the key")
	require.Equal(t, []Page{{User: "alice@example.com", At: at("2026-11-20T10:00:05Z"), Via: "acknowledge"}}, theirs[0].Pages, "bob was notactive")
	require.Empty(t, theirs[1].Pages, "no recipients file: nobody paged")
}

func TestCompareWithPagerDuty(t *testing.T) {
	raw, err := LoadPagerDuty("testdata/pagerduty")
	require.NoError(t, err)
	theirs, unmapped := MapUsers(raw, staff)
	require.Equal(t, []string{"zoe@example.com"}, unmapped)

	r := Compare("pagerduty", ours, theirs, Options{})
	require.Equal(t, 2, r.Compared)
	require.Equal(t, 1, r.Agree)

	checkout := r.Incidents[0]
	require.Equal(t, "key", checkout.MatchedBy)
	require.True(t, checkout.Agree)
	require.Equal(t, "alice", checkout.People[0].User)
	require.Equal(t, Same, checkout.People[0].Verdict)
	require.InDelta(t, 1-30, checkout.People[0].DeltaSeconds, 0.001, "1 s after our opening against 30 s after theirs")
	require.Equal(t, "slack", checkout.People[0].OurVia, "each person's first page")
	require.Equal(t, Same, checkout.People[1].Verdict, "bob: 5m01s against 6m, within 2m")

	disk := r.Incidents[1]
	require.Equal(t, "title", disk.MatchedBy, "no key on their side: the title, without PagerDuty's number, within 10 minutes")
	require.False(t, disk.Agree)
	verdicts := map[string]Verdict{}
	for _, p := range disk.People {
		verdicts[p.User] = p.Verdict
	}
	require.Equal(t, map[string]Verdict{"zoe@example.com": OnlyTheirs, "carol": OnlyOurs}, verdicts)

	require.Len(t, r.OnlyTheirs, 1)
	require.Equal(t, "cert-expiry", r.OnlyTheirs[0].Key, "an alert that never reached incidentflow")
	require.Len(t, r.OnlyOurs, 1)
	require.Equal(t, "inc-latency", r.OnlyOurs[0].Ref)

	md := r.Markdown()
	for _, want := range []string{
		"2 incidents on both sides; 1 agree",
		"### checkout 5xx above 5% (agree)",
		"| alice | 2026-11-20 10:00:35 by sms | 2026-11-20 10:00:01 by slack | -29s | same |",
		"| zoe@example.com | 2026-11-21 03:00:10 by push | - | - | only_theirs |",
		"## Only in pagerduty",
		"TLS certificate expires in 3 days",
		"## Only in incidentflow",
	} {
		require.Contains(t, md, want)
	}
}

// Tolerance and lateness: a person paged much later by incidentflow than
// by the other pager is a disagreement, and says which way.
func TestCompareSaysLaterAndEarlier(t *testing.T) {
	open := at("2026-11-20T10:00:00Z")
	theirs := []Incident{{Ref: "T", Key: "k", Title: "x", OpenedAt: open, Pages: []Page{
		{User: "alice", At: open.Add(time.Minute)}, {User: "bob", At: open.Add(20 * time.Minute)}}}}
	mine := []Incident{{Ref: "O", Key: "k", Title: "x", OpenedAt: open.Add(3 * time.Second), Pages: []Page{
		{User: "alice", At: open.Add(10 * time.Minute)}, {User: "bob", At: open.Add(5 * time.Minute)}}}}
	r := Compare("opsgenie", mine, theirs, Options{Tolerance: time.Minute})
	require.False(t, r.Incidents[0].Agree)
	got := map[string]Verdict{}
	for _, p := range r.Incidents[0].People {
		got[p.User] = p.Verdict
	}
	require.Equal(t, map[string]Verdict{"alice": Later, "bob": Earlier}, got)
	require.True(t, strings.Contains(r.Markdown(), "+8m57s"), r.Markdown())
}

// A key that opened two incidents in the period is matched to the nearest
// in time on each side, each used once.
func TestCompareMatchesRepeatedKeysByTime(t *testing.T) {
	day1, day2 := at("2026-11-20T10:00:00Z"), at("2026-11-21T10:00:00Z")
	theirs := []Incident{{Ref: "T2", Key: "k", Title: "x", OpenedAt: day2}, {Ref: "T1", Key: "k", Title: "x", OpenedAt: day1}}
	mine := []Incident{{Ref: "O1", Key: "k", Title: "x", OpenedAt: day1.Add(time.Second)}, {Ref: "O2", Key: "k", Title: "x", OpenedAt: day2.Add(time.Second)}}
	r := Compare("pagerduty", mine, theirs, Options{})
	require.Equal(t, 2, r.Compared)
	require.Equal(t, "T1", r.Incidents[0].Theirs)
	require.Equal(t, "O1", r.Incidents[0].Ours)
	require.Equal(t, "O2", r.Incidents[1].Ours)
}
