package workflows

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/incidentflow/incidentflow/incident"
)

// PostmortemWorkflow runs an incident's post-mortem from resolution until
// it is written up and every action item is closed or dropped. It is the
// incident's child with parent-close ABANDON, so the incident can close.
func PostmortemWorkflow(ctx workflow.Context, in PostmortemInput) (*PostmortemState, error) {
	p := &postmortem{}
	if err := p.setup(ctx, in); err != nil {
		return nil, err
	}
	return p.run(ctx, in.Resume != nil)
}

type postmortem struct {
	loop
	st PostmortemState
	// githubBusy: one GitHub call at a time per post-mortem, so issue
	// creation is spaced and a retry cannot race the next step.
	githubBusy bool
}

// Kinds of due work in a post-mortem.
const (
	dueReminder = "reminder"
	dueOverdue  = "overdue"
	dueCheck    = "check"
)

// overdueDefault repeats the overdue notice when the plan does not say.
const overdueDefault = 24 * time.Hour

func (p *postmortem) setup(ctx workflow.Context, in PostmortemInput) error {
	if in.Resume != nil {
		p.st = *in.Resume
		p.st.Runs++
	} else {
		inc := in.Incident
		resolved := workflow.Now(ctx)
		if inc.ResolvedAt != nil {
			resolved = *inc.ResolvedAt
		}
		items := []TrackedActionItem{}
		for i, a := range inc.ActionItems {
			items = append(items, TrackedActionItem{Number: i + 1, ActionItem: a, State: ItemOpen})
		}
		p.st = PostmortemState{
			ID:          workflow.GetInfo(ctx).WorkflowExecution.ID,
			IncidentID:  inc.ID,
			Status:      PostmortemOpen,
			Incident:    inc,
			Commander:   inc.Commander,
			ResolvedAt:  resolved,
			ActionItems: items,
			Timeline:    []TimelineEntry{},
		}
	}
	if err := workflow.SetQueryHandler(ctx, QueryState, func() (*PostmortemState, error) {
		return p.snapshot(), nil
	}); err != nil {
		return fmt.Errorf("register %s query: %w", QueryState, err)
	}
	p.init(ctx)
	defs := []func() (command, error){
		func() (command, error) {
			return defineCommand(ctx, p, SignalPostmortemComplete, func(r CompleteRequest) string { return r.By }, p.validateComplete, p.complete)
		},
		func() (command, error) {
			return defineCommand(ctx, p, SignalActionItem, func(r ActionItemRequest) string { return r.By }, p.validateActionItem, p.addActionItem)
		},
		func() (command, error) {
			return defineCommand(ctx, p, SignalCloseActionItem, func(r ActionItemChange) string { return r.By }, p.validateCloseItem, p.closeItem)
		},
		func() (command, error) {
			return defineCommand(ctx, p, SignalDropActionItem, func(r ActionItemChange) string { return r.By }, p.validateDropItem, p.dropItem)
		},
		func() (command, error) {
			return defineCommand(ctx, p, SignalNote, func(n NoteRequest) string { return n.By }, validateNoteFields, func(ctx workflow.Context, n NoteRequest) { p.record(ctx, KindNote, n.By, strings.TrimSpace(n.Text)) })
		},
	}
	var err error
	p.commands, err = defineAll(defs)
	return err
}

func (p *postmortem) run(ctx workflow.Context, resumed bool) (*PostmortemState, error) {
	if !resumed {
		p.st.Plan = p.resolvePlan(ctx)
		p.st.DueAt = p.st.ResolvedAt.Add(p.st.Plan.Due)
		p.takeMajorDeadlines(ctx)
		p.st.NextCheckAt = workflow.Now(ctx).Add(p.st.Plan.CheckEvery)
		for i := range p.st.ActionItems {
			p.st.ActionItems[i].Repo = p.st.Plan.Repo
		}
		where := "opening it in " + p.st.Plan.Repo
		switch {
		case !p.st.Plan.GitHub:
			where = "GitHub is not configured: the draft is served by the API only"
		case p.st.Plan.Repo == "":
			where = "no GitHub repo for the service: the draft is served by the API only"
		}
		p.record(ctx, KindStarted, "", fmt.Sprintf("post-mortem for %s incident %s due %s; %s",
			p.st.Incident.Severity, p.st.IncidentID, p.st.DueAt.UTC().Format(time.RFC3339), where))
	} else {
		p.record(ctx, KindContinued, "", fmt.Sprintf("continued as new (run %d)", p.st.Runs+1))
	}
	for {
		if err := p.mainLoop(ctx); err != nil {
			return nil, err
		}
		if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
			return &p.st, err
		}
		if !p.drain(ctx) {
			break
		}
	}
	p.timer.stop()
	p.st.tally()
	p.record(ctx, KindFinished, "", fmt.Sprintf("post-mortem done; %d of %d action item(s) closed or dropped", p.st.ItemsDone, p.st.ItemsTotal))
	return &p.st, nil
}

// mainLoop runs until the post-mortem is finished, or returns the
// continue-as-new error that hands it to a new run.
func (p *postmortem) mainLoop(ctx workflow.Context) error {
	for {
		p.st.tally()
		// GitHub work is started before asking whether all is done, so a
		// completion still closes the issue and writes the links.
		p.nextGitHubStep(ctx)
		if p.finished() {
			return nil
		}
		if p.shouldContinueAsNew(ctx) {
			return p.continueAsNew(ctx)
		}
		if d, ok := p.nextDue(); ok {
			p.timer.arm(ctx, d.at, d.summary)
		} else {
			p.timer.stop()
		}
		p.selector(ctx, nil, func() { p.fireDue(ctx) }).Select(ctx)
	}
}

// finished: written up, every item settled, nothing in flight. A command
// drained in the last task can add an item and undo it, so run loops.
func (p *postmortem) finished() bool {
	if p.st.CompletedAt == nil || p.githubBusy || p.inFlight > 0 || p.st.CheckPending {
		return false
	}
	for _, it := range p.st.ActionItems {
		if it.State == ItemOpen {
			return false
		}
	}
	return true
}

// drain applies queued commands and reports whether there were any.
func (p *postmortem) drain(ctx workflow.Context) bool {
	applied := false
	for p.drainCommands(ctx) {
		applied = true
	}
	return applied
}

func (p *postmortem) resolvePlan(ctx workflow.Context) incident.PostmortemPlan {
	var plan incident.PostmortemPlan
	if err := readConfig(ctx, a.PostmortemPlan, incident.PostmortemPlanRequest{Service: p.st.Incident.Service}, &plan); err != nil {
		p.record(ctx, KindWarning, "", "could not read the post-mortem settings, using defaults: "+err.Error())
		plan = incident.PostmortemPlan{Due: 48 * time.Hour, Reminders: []time.Duration{24 * time.Hour, 44 * time.Hour}, CheckEvery: 24 * time.Hour}
	}
	if plan.Warning != "" {
		p.record(ctx, KindWarning, "", plan.Warning)
	}
	if plan.OverdueEvery <= 0 {
		plan.OverdueEvery = overdueDefault
	}
	if plan.CheckEvery <= 0 {
		plan.CheckEvery = 24 * time.Hour
	}
	slices.Sort(plan.Reminders)
	return plan
}

// nextDue is the earliest pending deadline, derived from the state alone.
func (p *postmortem) nextDue() (due, bool) {
	st := &p.st
	var ds []due
	if st.CompletedAt == nil {
		if st.RemindersSent < len(st.Plan.Reminders) {
			at := st.ResolvedAt.Add(st.Plan.Reminders[st.RemindersSent])
			if at.Before(st.DueAt) {
				ds = append(ds, due{at, dueReminder, fmt.Sprintf("post-mortem reminder %d", st.RemindersSent+1)})
			}
		}
		at := st.DueAt
		if st.NextOverdueAt != nil {
			at = *st.NextOverdueAt
		}
		ds = append(ds, due{at, dueOverdue, "post-mortem overdue"})
	}
	if !st.CheckPending {
		ds = append(ds, due{st.NextCheckAt, dueCheck, "check post-mortem and action items"})
	}
	return earliest(p.hotWashDue(ds))
}

func (p *postmortem) fireDue(ctx workflow.Context) {
	d, ok := p.nextDue()
	if !ok || d.at.After(workflow.Now(ctx)) {
		return
	}
	st := &p.st
	now := workflow.Now(ctx)
	switch d.kind {
	case dueReminder:
		n := st.RemindersSent
		st.RemindersSent++
		text := fmt.Sprintf("%s: the post-mortem of %s incident %s (%s) is due %s, in %s. %s",
			orTeam(st.Commander), st.Incident.Severity, st.IncidentID, st.Incident.Title,
			st.DueAt.UTC().Format("Mon 15:04 MST"), st.DueAt.Sub(now).Round(time.Minute), p.where())
		p.record(ctx, KindReminder, "", text)
		p.notify(ctx, p.commanderTarget(), text, fmt.Sprintf("reminder/%d", n))
	case dueOverdue:
		st.OverdueNotices++
		next := d.at.Add(st.Plan.OverdueEvery)
		st.NextOverdueAt = &next
		text := fmt.Sprintf("%s: the post-mortem of %s incident %s (%s) is overdue: it was due %s (%s ago). %s",
			orTeam(st.Commander), st.Incident.Severity, st.IncidentID, st.Incident.Title,
			st.DueAt.UTC().Format(time.RFC3339), now.Sub(st.DueAt).Round(time.Minute), p.where())
		p.record(ctx, KindOverdue, "", text)
		key := fmt.Sprintf("overdue/%d", st.OverdueNotices)
		if st.Commander != "" {
			p.notify(ctx, "user:"+st.Commander, text, key+"/commander")
		}
		if st.Plan.Announce != "" || st.Commander == "" {
			p.notify(ctx, st.Plan.Announce, text, key+"/announce")
		}
	case dueCheck:
		for st.NextCheckAt.Before(now) || st.NextCheckAt.Equal(now) {
			st.NextCheckAt = st.NextCheckAt.Add(st.Plan.CheckEvery)
		}
		st.LastCheckAt = &now
		// A failed issue gets another try at each check: a missing repo may
		// have been created, a long outage may be over.
		if st.IssueError != "" && st.Issue == nil {
			st.IssueError = ""
		}
		for i := range st.ActionItems {
			st.ActionItems[i].Error = ""
		}
		st.CheckPending = true
	case dueHotWash:
		p.remindHotWash(ctx)
	}
}

// where says where the draft lives.
func (p *postmortem) where() string {
	if p.st.Issue != nil {
		return "Draft: " + p.st.Issue.URL
	}
	return "Draft: GET /v1/incidents/" + p.st.IncidentID + "/postmortem"
}

func (p *postmortem) commanderTarget() string {
	if p.st.Commander != "" {
		return "user:" + p.st.Commander
	}
	if p.st.Plan.Channel != "" {
		return p.st.Plan.Channel
	}
	return p.st.Plan.Announce
}

// notify posts beside the main loop; key makes it idempotent per post-mortem.
func (p *postmortem) notify(ctx workflow.Context, target, text, key string) {
	req := incident.AnnounceRequest{IncidentID: p.st.IncidentID, Target: target, Text: text, IdempotencyKey: p.st.ID + "/" + key}
	p.beside(ctx, notifyOptions("tell "+displayTarget(target)), a.Announce, req, nil, func(gctx workflow.Context, err error) {
		if err != nil {
			p.record(gctx, KindNotifyFailed, "", fmt.Sprintf("telling %s failed: %s", displayTarget(target), errorMessage(err)))
		}
	})
}

// remindOverdueItems tells owners of open items past their due date, once a day.
func (p *postmortem) remindOverdueItems(ctx workflow.Context) {
	today := workflow.Now(ctx).UTC().Format(time.DateOnly)
	for i := range p.st.ActionItems {
		it := &p.st.ActionItems[i]
		if it.State != ItemOpen || it.Due == "" || it.Due >= today || it.RemindedOn == today {
			continue
		}
		it.RemindedOn = today
		where := ""
		if it.Issue != nil {
			where = " " + it.Issue.URL
		}
		text := fmt.Sprintf("%s: action item %d of %s (%s) was due %s and is still open:%s %s",
			it.Owner, it.Number, p.st.IncidentID, it.Type, it.Due, where, it.Title)
		p.record(ctx, KindItemOverdue, "", text)
		p.notify(ctx, "user:"+it.Owner, text, fmt.Sprintf("item/%d/overdue/%s", it.Number, today))
	}
}

// trackedIssues are the GitHub issues a check reads.
func (p *postmortem) trackedIssues() []incident.GitHubIssue {
	var out []incident.GitHubIssue
	if p.st.Issue != nil && p.st.CompletedAt == nil && p.st.Issue.State != incident.IssueGone {
		out = append(out, *p.st.Issue)
	}
	for _, it := range p.st.ActionItems {
		if it.State == ItemOpen && it.Issue != nil {
			out = append(out, *it.Issue)
		}
	}
	return out
}

// nextGitHubStep starts the most urgent GitHub call, if none is running:
// the post-mortem issue, then item issues in order, then the links in the
// post-mortem, the overdue label, closing a completed one, and checks.
func (p *postmortem) nextGitHubStep(ctx workflow.Context) {
	st := &p.st
	if p.githubBusy || !st.Plan.GitHub || st.Plan.Repo == "" {
		if st.CheckPending && !p.githubBusy {
			st.CheckPending = false
			p.remindOverdueItems(ctx)
		}
		return
	}
	if st.Issue == nil && st.IssueError == "" {
		req := incident.IssueRequest{
			Repo:   st.Plan.Repo,
			Title:  fmt.Sprintf("Post-mortem: %s (%s, %s)", st.Incident.Title, st.Incident.Severity, st.IncidentID),
			Body:   RenderPostmortem(st),
			Labels: []string{IncidentLabel(st.IncidentID), LabelPostmortem, LabelIncident},
			Marker: st.ID,
		}
		var got incident.GitHubIssue
		p.github(ctx, "open post-mortem issue", a.OpenIssue, req, &got, func(gctx workflow.Context, err error) {
			if err != nil {
				st.IssueError = errorMessage(err)
				p.record(gctx, KindGitHubFailed, "", "could not open the post-mortem issue: "+st.IssueError)
				return
			}
			st.Issue = &got
			p.record(gctx, KindIssue, "", fmt.Sprintf("post-mortem issue %s#%d: %s", got.Repo, got.Number, got.URL))
		})
		return
	}
	for i := range st.ActionItems {
		it := &st.ActionItems[i]
		if it.State != ItemOpen || it.Issue != nil || it.Error != "" {
			continue
		}
		n := i
		req := incident.IssueRequest{
			Repo:   it.Repo,
			Title:  fmt.Sprintf("[%s] %s", it.Type, it.Title),
			Body:   ActionItemBody(st, *it),
			Labels: []string{IncidentLabel(st.IncidentID), LabelActionItem, it.Type},
			Marker: fmt.Sprintf("%s/item/%d", st.ID, it.Number),
		}
		var got incident.GitHubIssue
		p.github(ctx, fmt.Sprintf("open action item %d issue", it.Number), a.OpenIssue, req, &got, func(gctx workflow.Context, err error) {
			it := &st.ActionItems[n]
			if err != nil {
				it.Error = errorMessage(err)
				p.record(gctx, KindGitHubFailed, "", fmt.Sprintf("could not open the issue of action item %d: %s", it.Number, it.Error))
				return
			}
			it.Issue = &got
			p.record(gctx, KindIssue, "", fmt.Sprintf("action item %d is %s#%d: %s", it.Number, got.Repo, got.Number, got.URL))
		})
		return
	}
	if st.Issue != nil && !p.settledForLinks() {
		return
	}
	if st.Issue != nil {
		section := ActionItemsMarkdown(st.ActionItems)
		if section != st.LinksShown {
			req := incident.SectionUpdate{Repo: st.Issue.Repo, Number: st.Issue.Number, Name: ActionItemsSection, Content: section}
			p.github(ctx, "link action items", a.SyncIssueSection, req, nil, func(gctx workflow.Context, err error) {
				if err != nil {
					// Shown as if done so a failure is not retried in a loop;
					// the next change or check writes it again.
					p.record(gctx, KindGitHubFailed, "", "could not update the action items in the post-mortem issue: "+errorMessage(err))
				}
				st.LinksShown = section
			})
			return
		}
		if st.Status == PostmortemOverdue && !st.OverdueLabelled && st.CompletedAt == nil {
			req := incident.IssueUpdate{Repo: st.Issue.Repo, Number: st.Issue.Number, AddLabels: []string{LabelOverdue}}
			p.github(ctx, "label post-mortem overdue", a.UpdateIssue, req, nil, func(gctx workflow.Context, err error) {
				st.OverdueLabelled = true
				if err != nil {
					p.record(gctx, KindGitHubFailed, "", "could not label the post-mortem issue overdue: "+errorMessage(err))
					return
				}
				p.record(gctx, KindGitHub, "", fmt.Sprintf("labelled %s#%d %s", st.Issue.Repo, st.Issue.Number, LabelOverdue))
			})
			return
		}
		if st.CompletedAt != nil && st.Issue.State == "open" && !st.ClosedOnGitHub {
			req := incident.IssueUpdate{Repo: st.Issue.Repo, Number: st.Issue.Number, State: "closed"}
			p.github(ctx, "close post-mortem issue", a.UpdateIssue, req, nil, func(gctx workflow.Context, err error) {
				st.ClosedOnGitHub = true
				if err != nil {
					p.record(gctx, KindGitHubFailed, "", "could not close the post-mortem issue: "+errorMessage(err))
					return
				}
				st.Issue.State = "closed"
			})
			return
		}
	}
	if st.CheckPending {
		issues := p.trackedIssues()
		if len(issues) == 0 {
			st.CheckPending = false
			p.remindOverdueItems(ctx)
			return
		}
		var states []incident.GitHubIssue
		p.github(ctx, "check issues", a.IssueStates, incident.IssueStatesRequest{Issues: issues}, &states, func(gctx workflow.Context, err error) {
			st.CheckPending = false
			if err != nil {
				p.record(gctx, KindGitHubFailed, "", "could not read issue states: "+errorMessage(err))
			} else {
				p.applyStates(gctx, states)
			}
			p.remindOverdueItems(gctx)
		})
	}
}

// settledForLinks: every open item has an issue or a reason it has none,
// so the links are written once rather than after each new issue.
func (p *postmortem) settledForLinks() bool {
	for _, it := range p.st.ActionItems {
		if it.State == ItemOpen && it.Issue == nil && it.Error == "" {
			return false
		}
	}
	return true
}

func (p *postmortem) applyStates(ctx workflow.Context, states []incident.GitHubIssue) {
	now := workflow.Now(ctx)
	st := &p.st
	for _, s := range states {
		if st.Issue != nil && s.Repo == st.Issue.Repo && s.Number == st.Issue.Number {
			if s.State == incident.IssueGone {
				if st.Issue.State != incident.IssueGone {
					p.record(ctx, KindGitHubFailed, "", fmt.Sprintf("post-mortem issue %s#%d is gone from GitHub; complete the post-mortem by command", s.Repo, s.Number))
				}
				st.Issue.State = incident.IssueGone
				continue
			}
			st.Issue.State = s.State
			if s.State == "closed" && st.CompletedAt == nil {
				st.ClosedOnGitHub = true
				p.markComplete(ctx, "github", fmt.Sprintf("post-mortem issue %s#%d closed on GitHub", s.Repo, s.Number))
			}
			continue
		}
		for i := range st.ActionItems {
			it := &st.ActionItems[i]
			if it.Issue == nil || it.Issue.Repo != s.Repo || it.Issue.Number != s.Number {
				continue
			}
			it.Issue.State = s.State
			if s.State == incident.IssueGone && it.State == ItemOpen {
				it.State, it.ClosedAt, it.ClosedBy, it.Note = ItemDropped, &now, "github", "its issue is gone from GitHub"
				p.record(ctx, KindItemDropped, "github", fmt.Sprintf("action item %d dropped: its issue %s#%d is gone from GitHub", it.Number, s.Repo, s.Number))
			}
			if s.State == "closed" && it.State == ItemOpen {
				it.State, it.ClosedAt, it.ClosedBy = ItemClosed, &now, "github"
				p.record(ctx, KindItemClosed, "github", fmt.Sprintf("action item %d closed on GitHub (%s#%d): %s", it.Number, s.Repo, s.Number, it.Title))
			}
		}
	}
}

// github runs one GitHub activity beside the main loop.
func (p *postmortem) github(ctx workflow.Context, summary string, activity, req, result any, done func(gctx workflow.Context, err error)) {
	p.githubBusy = true
	p.beside(ctx, githubOptions(summary), activity, req, result, func(gctx workflow.Context, err error) {
		p.githubBusy = false
		done(gctx, err)
	})
}

// githubOptions: GitHub asks callers to wait out rate limits, sometimes for
// an hour, so the activity may take that long; a 404 or bad credentials
// fail at once (non-retryable) and are shown on the timeline.
func githubOptions(summary string) workflow.ActivityOptions {
	return workflow.ActivityOptions{
		StartToCloseTimeout:    time.Minute,
		ScheduleToCloseTimeout: 2 * time.Hour,
		Summary:                summary,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    2 * time.Second,
			BackoffCoefficient: 2,
			MaximumInterval:    5 * time.Minute,
		},
	}
}

func (p *postmortem) validateComplete(r CompleteRequest) error {
	if err := requireBy(r.By); err != nil {
		return err
	}
	if p.st.CompletedAt != nil {
		return fmt.Errorf("post-mortem %s was already completed by %s at %s", p.st.ID, p.st.CompletedBy, p.st.CompletedAt.UTC().Format(time.RFC3339))
	}
	if len(r.RootCause) > incident.MaxText {
		return fieldError("root_cause", "%d bytes, over the limit of %d", len(r.RootCause), incident.MaxText)
	}
	return checkNote(r.Note)
}

func (p *postmortem) complete(ctx workflow.Context, r CompleteRequest) {
	msg := withNote("post-mortem marked complete", r.Note)
	if rc := strings.TrimSpace(r.RootCause); rc != "" {
		p.st.RootCause = rc
		msg += "; root cause: " + rc
	}
	p.markComplete(ctx, r.By, msg)
	p.publishFindings(ctx)
}

func (p *postmortem) markComplete(ctx workflow.Context, by, msg string) {
	now := workflow.Now(ctx)
	p.st.CompletedAt, p.st.CompletedBy = &now, by
	p.st.NextOverdueAt = nil
	if now.After(p.st.DueAt) {
		msg += fmt.Sprintf(" (%s after the deadline)", now.Sub(p.st.DueAt).Round(time.Minute))
	}
	p.record(ctx, KindCompleted, by, msg)
	p.wakeUp()
}

func (p *postmortem) validateActionItem(r ActionItemRequest) error {
	if err := requireBy(r.By); err != nil {
		return err
	}
	if len(p.st.ActionItems) >= incident.MaxActionItems {
		return fmt.Errorf("post-mortem %s already has %d action items, the most one takes", p.st.ID, incident.MaxActionItems)
	}
	return validateActionItemFields(r, p.st.Plan.Users)
}

func (p *postmortem) addActionItem(ctx workflow.Context, r ActionItemRequest) {
	n := len(p.st.ActionItems) + 1
	item := newActionItem(ctx, r)
	p.st.ActionItems = append(p.st.ActionItems, TrackedActionItem{Number: n, State: ItemOpen, Repo: p.st.Plan.Repo, ActionItem: item})
	p.record(ctx, KindActionItem, r.By, item.describe(n))
}

func (p *postmortem) item(n int) (*TrackedActionItem, error) {
	if n < 1 || n > len(p.st.ActionItems) {
		return nil, fmt.Errorf("item: no action item %d (there are %d)", n, len(p.st.ActionItems))
	}
	return &p.st.ActionItems[n-1], nil
}

// openItem is the still-open item a close or drop names.
func (p *postmortem) openItem(r ActionItemChange) (*TrackedActionItem, error) {
	if err := requireBy(r.By); err != nil {
		return nil, err
	}
	if err := checkNote(r.Note); err != nil {
		return nil, err
	}
	it, err := p.item(r.Item)
	if err != nil {
		return nil, err
	}
	if it.State != ItemOpen {
		return nil, fmt.Errorf("item: action item %d is already %s", it.Number, it.State)
	}
	return it, nil
}

func (p *postmortem) validateCloseItem(r ActionItemChange) error {
	it, err := p.openItem(r)
	if err != nil {
		return err
	}
	if it.Issue != nil {
		return fmt.Errorf("item: action item %d is tracked as %s#%d; close the issue on GitHub, or drop the item", it.Number, it.Issue.Repo, it.Issue.Number)
	}
	return nil
}

func (p *postmortem) validateDropItem(r ActionItemChange) error {
	if _, err := p.openItem(r); err != nil {
		return err
	}
	if strings.TrimSpace(r.Note) == "" {
		return fieldError("note", "required: say why the item is dropped")
	}
	return nil
}

func (p *postmortem) closeItem(ctx workflow.Context, r ActionItemChange) {
	p.settleItem(ctx, r, ItemClosed)
}

func (p *postmortem) dropItem(ctx workflow.Context, r ActionItemChange) {
	p.settleItem(ctx, r, ItemDropped)
}

// settleItem closes or drops an item: it no longer holds the post-mortem open.
func (p *postmortem) settleItem(ctx workflow.Context, r ActionItemChange, state string) {
	it, _ := p.item(r.Item)
	now := workflow.Now(ctx)
	it.State, it.ClosedAt, it.ClosedBy, it.Note = state, &now, r.By, r.Note
	kind := KindItemClosed
	if state == ItemDropped {
		kind = KindItemDropped
	}
	p.record(ctx, kind, r.By, withNote(fmt.Sprintf("action item %d %s: %s", it.Number, state, it.Title), r.Note))
}

// tally refreshes the completion rate and the status.
func (st *PostmortemState) tally() {
	st.ItemsTotal, st.ItemsDone = len(st.ActionItems), 0
	for _, it := range st.ActionItems {
		if it.State != ItemOpen {
			st.ItemsDone++
		}
	}
	st.CompletionRate = 1
	if st.ItemsTotal > 0 {
		st.CompletionRate = float64(st.ItemsDone) / float64(st.ItemsTotal)
	}
	switch {
	case st.CompletedAt != nil && st.ItemsDone == st.ItemsTotal:
		st.Status = PostmortemFinished
	case st.CompletedAt != nil:
		st.Status = PostmortemCompleted
	case st.OverdueNotices > 0:
		st.Status = PostmortemOverdue
	default:
		st.Status = PostmortemOpen
	}
}

func (p *postmortem) record(ctx workflow.Context, kind Kind, actor, msg string) {
	var dropped int
	p.st.Timeline, dropped = appendBounded(p.st.Timeline, TimelineEntry{At: workflow.Now(ctx), Kind: kind, Actor: actor, Message: msg})
	p.st.TimelineOmitted += dropped
}

// result is what an Update answers.
func (p *postmortem) result(from int) PostmortemResult {
	st := p.st
	st.tally()
	return PostmortemResult{ID: st.ID, Status: st.Status, ItemsDone: st.ItemsDone, ItemsTotal: st.ItemsTotal, CompletionRate: st.CompletionRate,
		Message: firstSince(st.Timeline, st.TimelineOmitted, from)}
}

func (p *postmortem) seq() int { return len(p.st.Timeline) + p.st.TimelineOmitted }

// snapshot is the state with the draft rendered as of now (the draft is
// not kept in the state: it would bloat every continue-as-new).
func (p *postmortem) snapshot() *PostmortemState {
	st := p.st
	st.tally()
	st.Draft = RenderPostmortem(&st)
	return &st
}

func (p *postmortem) shouldContinueAsNew(ctx workflow.Context) bool {
	return !p.githubBusy && p.continueAsNewDue(ctx, p.st.Plan.ContinueAsNewEvents)
}

func (p *postmortem) continueAsNew(ctx workflow.Context) error {
	return p.handOver(ctx, func() { p.drain(ctx) }, PostmortemWorkflowName, func() any {
		st := p.st
		return PostmortemInput{Incident: st.Incident, Resume: &st}
	})
}
