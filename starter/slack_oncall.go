package starter

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/incidentflow/incidentflow/config"
	"github.com/incidentflow/incidentflow/incident"
	"github.com/incidentflow/incidentflow/oncall"
	"github.com/incidentflow/incidentflow/workflows"
)

const oncallUsage = "Usage: `/incident oncall [schedule]` · " +
	"`/incident oncall override <schedule> <12h | FROM TO> [@user]` (FROM and TO as 2026-11-24T20:00, in the schedule's time zone; you by default) · " +
	"`/incident oncall overrides <schedule>` · `/incident oncall override remove <schedule> <id>`"

// slashOncall answers `/incident oncall ...`: who is on call, and the
// run-time overrides ("I'm covering Bob tonight").
func (s *Server) slashOncall(ctx context.Context, by string, args []string) slackReply {
	if len(args) == 0 {
		return s.slashWhoIsOnCall(ctx, sortedSchedules(s.cfg))
	}
	switch args[0] {
	case "override":
		if len(args) > 1 && args[1] == "remove" {
			return s.slashRemoveOverride(ctx, by, args[2:])
		}
		return s.slashAddOverride(ctx, by, args[1:])
	case "overrides":
		if len(args) != 2 {
			return ephemeral(oncallUsage)
		}
		list, err := s.incidents.Overrides(ctx, args[1])
		if err != nil {
			return ephemeral(slackError(err))
		}
		if len(list) == 0 {
			return ephemeral(fmt.Sprintf("Schedule %s has no run-time overrides.", args[1]))
		}
		var b strings.Builder
		fmt.Fprintf(&b, "Overrides of %s:", args[1])
		for _, o := range list {
			fmt.Fprintf(&b, "\n• `%s` %s from %s to %s", o.ID, s.mention(o.User), slackTime(o.Start), slackTime(o.End))
		}
		return ephemeral(b.String())
	case "help":
		return ephemeral(oncallUsage)
	}
	if _, ok := s.cfg.Schedules[args[0]]; !ok || len(args) > 1 {
		return ephemeral(fmt.Sprintf("No schedule %q (one of %s).\n%s", incident.Cut(args[0], incident.MaxName), strings.Join(sortedSchedules(s.cfg), ", "), oncallUsage))
	}
	return s.slashWhoIsOnCall(ctx, args[:1])
}

func (s *Server) slashWhoIsOnCall(ctx context.Context, names []string) slackReply {
	if len(names) == 0 {
		return ephemeral("No schedules are configured.")
	}
	now := time.Now()
	var b strings.Builder
	for i, name := range names {
		if i > 0 {
			b.WriteString("\n")
		}
		sched, warning := s.incidents.Schedule(ctx, name)
		sh, err := oncall.ShiftAt(sched, now)
		switch {
		case err != nil:
			fmt.Fprintf(&b, "*%s*: nobody (%v)", name, err)
		default:
			fmt.Fprintf(&b, "*%s*: %s until %s", name, s.mention(sh.User), slackTime(sh.End))
			if sh.Next != "" {
				fmt.Fprintf(&b, ", then %s", s.mention(sh.Next))
			}
		}
		if warning != "" {
			b.WriteString(" (run-time overrides could not be read)")
		}
	}
	return ephemeral(b.String())
}

// slashAddOverride reads `<schedule> <12h | FROM TO> [@user]`.
func (s *Server) slashAddOverride(ctx context.Context, by string, args []string) slackReply {
	if len(args) < 2 {
		return ephemeral(oncallUsage)
	}
	name := args[0]
	sched, ok := s.cfg.Schedules[name]
	if !ok {
		return ephemeral(fmt.Sprintf("No schedule %q (one of %s).", incident.Cut(name, incident.MaxName), strings.Join(sortedSchedules(s.cfg), ", ")))
	}
	loc, err := time.LoadLocation(sched.TimeZone)
	if err != nil {
		return ephemeral(fmt.Sprintf("Schedule %s: %v", name, err))
	}
	rest := args[1:]
	req := workflows.OverrideRequest{User: by, By: by}
	if d, err := time.ParseDuration(rest[0]); err == nil {
		req.Start = time.Now()
		req.End = req.Start.Add(d)
		rest = rest[1:]
	} else if len(rest) >= 2 {
		if req.Start, err = config.ParseTime(rest[0], loc); err != nil {
			return ephemeral("FROM: " + err.Error())
		}
		if req.End, err = config.ParseTime(rest[1], loc); err != nil {
			return ephemeral("TO: " + err.Error())
		}
		rest = rest[2:]
	} else {
		return ephemeral(oncallUsage)
	}
	if len(rest) == 1 {
		user, ok := s.mentionedUser(ctx, rest[0])
		if !ok {
			return ephemeral(fmt.Sprintf("%s is not one of incidentflow's users.", rest[0]))
		}
		req.User = user
	} else if len(rest) > 1 {
		return ephemeral(oncallUsage)
	}
	o, err := s.incidents.AddOverride(ctx, name, req)
	if err != nil {
		return ephemeral(slackError(err))
	}
	return slackReply{ResponseType: "in_channel", Text: fmt.Sprintf("%s is on call for %s from %s to %s (override `%s`, by %s).",
		s.mention(o.User), name, slackTime(o.Start), slackTime(o.End), o.ID, s.mention(by))}
}

func (s *Server) slashRemoveOverride(ctx context.Context, by string, args []string) slackReply {
	if len(args) != 2 {
		return ephemeral(oncallUsage)
	}
	o, err := s.incidents.RemoveOverride(ctx, args[0], args[1], by)
	if err != nil {
		return ephemeral(slackError(err))
	}
	return slackReply{ResponseType: "in_channel", Text: fmt.Sprintf("Removed override `%s` of %s (%s from %s to %s), by %s.",
		o.ID, args[0], s.mention(o.User), slackTime(o.Start), slackTime(o.End), s.mention(by))}
}

// mention names a configured user so that Slack notifies them.
func (s *Server) mention(user string) string {
	if id := s.cfg.Users[user].SlackID; id != "" {
		return "<@" + id + ">"
	}
	return user
}

// slackTime shows a time in each reader's own time zone.
func slackTime(t time.Time) string {
	return fmt.Sprintf("<!date^%d^{date_short_pretty} {time}|%s>", t.Unix(), t.UTC().Format("2006-01-02 15:04 UTC"))
}
