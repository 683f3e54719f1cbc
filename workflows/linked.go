package workflows

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/incidentflow/incidentflow/incident"
)

// Linked incidents. Two incidents for one outage are merged: the duplicate
// (B) hands its alerts and the end of its timeline to the one kept (A) by
// a signal between the two workflows, then resolves and closes naming A;
// its memo says where it went, so the intake sends later alerts on B's
// key to A (starter/linked.go). An incident that caused others is their
// parent: the parent keeps a bounded list of its children, and each child
// tells its parent when its status or stage changes.
//
// Every step that issues a command runs behind GetVersion(linkedChange),
// and happens only after a merge or link command, so no history recorded
// before this change is touched.
const linkedChange = "linked-v1"

// Commands of linked incidents, each an Update with its signal twin. Merge
// and link-child are what people send; the others are sent by incident
// workflows to one another.
const (
	// SignalMerge, on the duplicate: merge it into MergeRequest.Into.
	SignalMerge = "merge"
	// SignalMergeIn, on the incident kept: the duplicate's summary.
	SignalMergeIn = "merge-in"
	// SignalLinkChild and SignalUnlinkChild, on the parent.
	SignalLinkChild   = "link-child"
	SignalUnlinkChild = "unlink-child"
	// SignalSetParent, on the child: who its parent is now ("" for none).
	SignalSetParent = "set-parent"
	// SignalChildStatus, on the parent: a child's status changed.
	SignalChildStatus = "child-status"

	UpdateMerge       = SignalMerge
	UpdateLinkChild   = SignalLinkChild
	UpdateUnlinkChild = SignalUnlinkChild
	UpdateSetParent   = SignalSetParent
)

// MemoMergedInto and MemoMergedIntoKey are set on a merged incident's run:
// the intake reads them from the closed run to send its key's alerts on.
const (
	MemoMergedInto    = "merged_into"
	MemoMergedIntoKey = "merged_into_key"
)

// Timeline kinds of linked incidents.
const (
	KindMerge Kind = "merge"
	KindLink  Kind = "link"
)

// Bounds on what linking keeps in state.
const (
	// MaxChildren bounds a parent's children.
	MaxChildren = 50
	// MaxMergedFrom bounds the duplicates an incident lists; more are counted.
	MaxMergedFrom = 20
	// MergeTimelineEntries is how many of the duplicate's last timeline
	// entries go to the incident kept, each cut to mergeEntryBytes.
	MergeTimelineEntries = 20
	mergeEntryBytes      = 500
	// maxMergeHops stops a merge summary that keeps being sent on (A merged
	// into B while B was merged into A).
	maxMergeHops = 3
)

// MergeRequest merges the incident it is sent to into Into. IntoKey is
// Into's dedup key, which the intake needs to open Into again if an alert
// on the merged key comes after Into closed; the API fills it in.
type MergeRequest struct {
	By      string `json:"by"`
	Into    string `json:"into"`
	IntoKey string `json:"into_key,omitempty"`
	Note    string `json:"note,omitempty"`
}

// MergeIn is a duplicate's summary, sent to the incident it is merged into.
type MergeIn struct {
	By         string          `json:"by"`
	From       string          `json:"from"`
	Title      string          `json:"title"`
	AlertCount int             `json:"alert_count"`
	Alerts     []Alert         `json:"alerts,omitempty"`
	Forgotten  forgottenAlerts `json:"alerts_forgotten,omitempty"`
	// Timeline is the duplicate's last entries, each bounded.
	Timeline []TimelineEntry `json:"timeline,omitempty"`
	// Hops counts how often the summary was sent on.
	Hops int `json:"hops,omitempty"`
}

// LinkRequest, on the parent, links Child under it. The child's title,
// status and stage are what the API read; the child reports them itself
// from then on.
type LinkRequest struct {
	By           string          `json:"by"`
	Child        string          `json:"child"`
	ChildTitle   string          `json:"child_title,omitempty"`
	ChildService string          `json:"child_service,omitempty"`
	ChildStatus  incident.Status `json:"child_status,omitempty"`
	ChildStage   incident.Stage  `json:"child_stage,omitempty"`
	Note         string          `json:"note,omitempty"`
}

// ParentRequest, on the child, names its parent; an empty Parent unlinks.
type ParentRequest struct {
	By     string `json:"by"`
	Parent string `json:"parent"`
}

// ChildStatus is what a child tells its parent.
type ChildStatus struct {
	Child    string          `json:"child"`
	Title    string          `json:"title"`
	Severity string          `json:"severity"`
	Status   incident.Status `json:"status"`
	Stage    incident.Stage  `json:"stage"`
}

// MergedIncident is one duplicate merged into an incident.
type MergedIncident struct {
	ID     string    `json:"id"`
	Title  string    `json:"title"`
	Alerts int       `json:"alerts"`
	By     string    `json:"by"`
	At     time.Time `json:"at"`
}

// ChildIncident is one child as its parent lists it.
type ChildIncident struct {
	ID        string          `json:"id"`
	Title     string          `json:"title,omitempty"`
	Severity  string          `json:"severity,omitempty"`
	Service   string          `json:"service,omitempty"`
	Status    incident.Status `json:"status,omitempty"`
	Stage     incident.Stage  `json:"stage,omitempty"`
	LinkedBy  string          `json:"linked_by"`
	LinkedAt  time.Time       `json:"linked_at"`
	UpdatedAt time.Time       `json:"updated_at"`
}

// links is what an incident keeps of its links; nil until it has any, so
// the state of every other incident is as it was.
type links struct {
	MergedInto    string           `json:"merged_into,omitempty"`
	MergedIntoKey string           `json:"merged_into_key,omitempty"`
	MergedFrom    []MergedIncident `json:"merged_from,omitempty"`
	MergedOmitted int              `json:"merged_omitted,omitempty"`
	// Forwarded counts alerts that reached this incident after it was
	// merged, sent on to MergedInto.
	Forwarded int `json:"forwarded,omitempty"`

	Parent string `json:"parent,omitempty"`
	// ParentGone: the parent no longer takes reports (it closed).
	ParentGone bool `json:"parent_gone,omitempty"`
	// Reported is what the parent was last told.
	Reported ChildStatus     `json:"reported"`
	Children []ChildIncident `json:"children,omitempty"`

	// pending counts link signals on their way; the run does not end
	// under them, as Temporal drops a signal whose sender has completed.
	pending int
	// merging: a merge is under way; a second one waits its turn.
	merging bool
}

func (st *incidentState) links() *links {
	if st.Links == nil {
		st.Links = &links{}
	}
	return st.Links
}

func (st *incidentState) mergedInto() string {
	if st.Links == nil {
		return ""
	}
	return st.Links.MergedInto
}

// linkCommands come after every other command, so the order earlier
// histories consumed signals in is kept.
func (w *incidentWorkflow) linkCommands(ctx workflow.Context) []func() (command, error) {
	return []func() (command, error){
		func() (command, error) {
			return defineFallible(ctx, w, SignalMerge, func(r MergeRequest) string { return r.By }, w.validateMerge, w.merge)
		},
		func() (command, error) {
			return defineCommand(ctx, w, SignalMergeIn, func(r MergeIn) string { return r.By }, w.validateMergeIn, w.mergeIn)
		},
		func() (command, error) {
			return defineFallible(ctx, w, SignalLinkChild, func(r LinkRequest) string { return r.By }, w.validateLinkChild, w.linkChild)
		},
		func() (command, error) {
			return defineCommand(ctx, w, SignalUnlinkChild, func(r LinkRequest) string { return r.By }, w.validateUnlinkChild, w.unlinkChild)
		},
		func() (command, error) {
			return defineCommand(ctx, w, SignalSetParent, func(r ParentRequest) string { return r.By }, w.validateSetParent, w.setParent)
		},
		func() (command, error) {
			return defineCommand(ctx, w, SignalChildStatus, func(ChildStatus) string { return "" }, w.validateChildStatus, w.childStatus)
		},
	}
}

// defineFallible is defineCommand for a command whose effect can fail
// after validation (it waits for another incident): the Update answers
// the failure, the signal records it.
func defineFallible[T any](ctx workflow.Context, w *incidentWorkflow, name string, actor func(T) string, validate func(T) error, apply func(workflow.Context, T) error) (command, error) {
	err := workflow.SetUpdateHandlerWithOptions(ctx, name,
		func(ctx workflow.Context, req T) (UpdateResult, error) {
			from := w.seq()
			err := apply(ctx, req)
			w.wakeUp()
			return w.result(from), err
		},
		workflow.UpdateHandlerOptions{Validator: func(_ workflow.Context, req T) error { return validate(req) }},
	)
	if err != nil {
		return command{}, fmt.Errorf("register %s update: %w", name, err)
	}
	ch := workflow.GetSignalChannel(ctx, name)
	handle := func(ctx workflow.Context, req T) {
		err := validate(req)
		if err == nil {
			err = apply(ctx, req)
		}
		if err != nil {
			w.record(ctx, KindIgnored, actor(req), name+" ignored: "+errorMessage(err))
		}
	}
	return command{
		ch: ch,
		receive: func(ctx workflow.Context) {
			var req T
			ch.Receive(ctx, &req)
			handle(ctx, req)
		},
		receiveAsync: func(ctx workflow.Context) bool {
			var req T
			if !ch.ReceiveAsync(&req) {
				return false
			}
			handle(ctx, req)
			return true
		},
	}, nil
}

// checkIncidentID checks a field naming another incident.
func checkIncidentID(field, id string) error {
	if strings.TrimSpace(id) == "" {
		return fieldError(field, "required (an incident id)")
	}
	return checkLen(field, id, incident.MaxKey+len(idPrefix))
}

// linkedEnabled says whether this incident links at all: false only when
// replaying a history in which a link command reached code without it.
func linkedEnabled(ctx workflow.Context) bool {
	return workflow.GetVersion(ctx, linkedChange, workflow.DefaultVersion, 1) >= 1
}

func (w *incidentWorkflow) validateMerge(r MergeRequest) error {
	if err := requireBy(r.By); err != nil {
		return err
	}
	if err := checkIncidentID("into", r.Into); err != nil {
		return err
	}
	if err := checkLen("into_key", r.IntoKey, incident.MaxKey); err != nil {
		return err
	}
	if err := checkNote(r.Note); err != nil {
		return err
	}
	into := NormalizeID(strings.TrimSpace(r.Into))
	switch {
	case into == w.st.ID:
		return fieldError("into", "cannot merge incident %s into itself", w.st.ID)
	case w.st.mergedInto() != "":
		return fmt.Errorf("incident %s was already merged into %s", w.st.ID, w.st.mergedInto())
	case w.st.Links != nil && w.st.Links.merging:
		return fmt.Errorf("incident %s is being merged already", w.st.ID)
	case w.st.Status == incident.StatusClosed:
		return fmt.Errorf("incident %s is closed; only an open incident can be merged", w.st.ID)
	}
	if w.st.Links != nil && slices.ContainsFunc(w.st.Links.MergedFrom, func(m MergedIncident) bool { return m.ID == into }) {
		return fieldError("into", "%s was merged into this incident; merging back would make a loop", into)
	}
	return nil
}

// merge hands the duplicate's alerts and timeline to the incident kept,
// and only once it has them resolves and closes this one.
func (w *incidentWorkflow) merge(ctx workflow.Context, r MergeRequest) error {
	if !linkedEnabled(ctx) {
		return errors.New("this incident runs a version without merging")
	}
	into := NormalizeID(strings.TrimSpace(r.Into))
	l := w.st.links()
	l.merging = true
	defer func() { l.merging = false }()
	sum := w.mergeSummary(r.By)
	if err := workflow.SignalExternalWorkflow(ctx, into, "", SignalMergeIn, sum).Get(ctx, nil); err != nil {
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf("into: incident %s did not take the merge (is it running?): %s", into, errorMessage(err)), "MergeRefused", nil)
	}
	l.MergedInto, l.MergedIntoKey = into, strings.TrimSpace(r.IntoKey)
	if err := workflow.UpsertMemo(ctx, map[string]interface{}{MemoMergedInto: into, MemoMergedIntoKey: l.MergedIntoKey}); err != nil {
		w.record(ctx, KindWarning, "", "could not mark the merge for the intake: "+err.Error())
	}
	w.record(ctx, KindMerge, r.By, withNote(fmt.Sprintf("merged into %s as a duplicate (%s and the last %d timeline entries went there); its alerts go there from now on",
		into, countOf(sum.AlertCount, "alert"), len(sum.Timeline)), r.Note))
	w.stopPaging()
	now := workflow.Now(ctx)
	if w.st.Status != incident.StatusResolved {
		w.st.ResolvedBy = r.By
		w.finalize(ctx, now, "resolved: merged into "+into, r.By)
	}
	w.close(ctx, ActionRequest{By: r.By, Note: "merged into " + into})
	return nil
}

// mergeSummary is what the incident kept learns of this one: its alerts
// (already bounded) and its last timeline entries, each cut short.
func (w *incidentWorkflow) mergeSummary(by string) MergeIn {
	st := &w.st
	sum := MergeIn{By: by, From: st.ID, Title: st.Title, AlertCount: st.alertCount(), Alerts: slices.Clone(st.Alerts), Forgotten: st.Forgotten}
	from := max(len(st.Timeline)-MergeTimelineEntries, 0)
	for _, e := range st.Timeline[from:] {
		e.Message = incident.Cut(e.Message, mergeEntryBytes)
		sum.Timeline = append(sum.Timeline, e)
	}
	return sum
}

func (w *incidentWorkflow) validateMergeIn(r MergeIn) error {
	if err := checkIncidentID("from", r.From); err != nil {
		return err
	}
	if r.From == w.st.ID {
		return fieldError("from", "an incident cannot be merged into itself")
	}
	if len(r.Alerts) > incident.MaxAlertsKept || len(r.Timeline) > MergeTimelineEntries {
		return fieldError("alerts", "at most %d alerts and %d timeline entries", incident.MaxAlertsKept, MergeTimelineEntries)
	}
	return nil
}

// mergeIn takes a duplicate's alerts and timeline. An incident that was
// itself merged away sends them on.
func (w *incidentWorkflow) mergeIn(ctx workflow.Context, r MergeIn) {
	if !linkedEnabled(ctx) {
		return
	}
	if into := w.st.mergedInto(); into != "" {
		if r.Hops >= maxMergeHops || into == r.From {
			w.record(ctx, KindWarning, r.By, fmt.Sprintf("%s was merged into this incident after it was merged into %s; its alerts stay here", r.From, into))
		} else {
			r.Hops++
			w.signalLinked(ctx, into, SignalMergeIn, r, "send the merge of "+r.From+" on to "+into)
			return
		}
	}
	title := incident.Cut(r.Title, incident.MaxTitle)
	for _, al := range r.Alerts {
		w.mergeAlert(al)
	}
	w.st.Forgotten.Alerts += r.Forgotten.Alerts
	w.st.Forgotten.Events += r.Forgotten.Events
	w.st.Forgotten.Firing += r.Forgotten.Firing
	w.record(ctx, KindMerge, r.By, fmt.Sprintf("merged %s into this incident: %s, %s", r.From, title, countOf(r.AlertCount, "alert")))
	for _, e := range r.Timeline {
		// Recorded now, saying when it happened: the timeline stays in order.
		w.record(ctx, KindMerge, e.Actor, fmt.Sprintf("from %s at %s: %s: %s", r.From, e.At.UTC().Format(time.RFC3339), e.Kind, incident.Cut(e.Message, mergeEntryBytes)))
	}
	l := w.st.links()
	if len(l.MergedFrom) >= MaxMergedFrom {
		l.MergedOmitted++
		return
	}
	l.MergedFrom = append(l.MergedFrom, MergedIncident{ID: incident.Cut(r.From, incident.MaxKey+len(idPrefix)), Title: title, Alerts: r.AlertCount,
		By: incident.Cut(r.By, incident.MaxName), At: workflow.Now(ctx)})
}

// mergeAlert adds a duplicate's alert: the same fingerprint is the same
// alert (a later one on the merged key then finds it), counted together.
func (w *incidentWorkflow) mergeAlert(al Alert) {
	al.Fingerprint = incident.CutID(al.Fingerprint, incident.MaxFingerprint)
	al.Summary = incident.Cut(al.Summary, incident.MaxTitle)
	i := slices.IndexFunc(w.st.Alerts, func(a Alert) bool { return a.Fingerprint == al.Fingerprint })
	if i < 0 {
		w.keepAlert(al)
		return
	}
	a := &w.st.Alerts[i]
	a.Count += al.Count
	if al.LastSeen.After(a.LastSeen) {
		a.LastSeen, a.Status = al.LastSeen, al.Status
	}
	if al.FirstSeen.Before(a.FirstSeen) {
		a.FirstSeen = al.FirstSeen
	}
}

// forwardMerged sends an alert that reached this incident after it was
// merged on to the incident kept. It says whether it did.
func (w *incidentWorkflow) forwardMerged(ctx workflow.Context, s AlertSignal) bool {
	into := w.st.mergedInto()
	if into == "" {
		return false
	}
	w.st.Links.Forwarded++
	w.signalLinked(ctx, into, SignalAlerts, AlertBatch{Alerts: []AlertSignal{s}}, "send an alert on to "+into)
	return true
}

// signalLinked signals another incident beside the main loop; a failure
// is recorded. The run neither ends nor continues as new under it.
func (w *incidentWorkflow) signalLinked(ctx workflow.Context, id, name string, arg any, what string) {
	l := w.st.links()
	f := workflow.SignalExternalWorkflow(ctx, id, "", name, arg)
	l.pending++
	w.inFlight++
	workflow.Go(ctx, func(gctx workflow.Context) {
		defer func() {
			l.pending--
			w.inFlight--
			w.wakeUp()
		}()
		if err := f.Get(gctx, nil); err != nil {
			w.record(gctx, KindWarning, "", fmt.Sprintf("could not %s: %s", what, errorMessage(err)))
			if name == SignalChildStatus && id == l.Parent {
				l.ParentGone = true
			}
		}
	})
}

func (w *incidentWorkflow) validateLinkChild(r LinkRequest) error {
	if err := requireBy(r.By); err != nil {
		return err
	}
	if err := checkIncidentID("child", r.Child); err != nil {
		return err
	}
	if err := checkLen("child_title", r.ChildTitle, incident.MaxTitle); err != nil {
		return err
	}
	if err := checkNote(r.Note); err != nil {
		return err
	}
	child := NormalizeID(strings.TrimSpace(r.Child))
	l := w.st.Links
	switch {
	case child == w.st.ID:
		return fieldError("child", "incident %s cannot be its own child", w.st.ID)
	case l != nil && l.Parent == child:
		return fieldError("child", "%s is the parent of %s; linking it as a child would make a loop", child, w.st.ID)
	case w.st.Status == incident.StatusClosed:
		return fmt.Errorf("incident %s is closed; it takes no children", w.st.ID)
	case w.st.mergedInto() != "":
		return fmt.Errorf("incident %s was merged into %s; link to that one", w.st.ID, w.st.mergedInto())
	}
	if l == nil {
		return nil
	}
	if slices.ContainsFunc(l.Children, func(c ChildIncident) bool { return c.ID == child }) {
		return fmt.Errorf("%s is already a child of %s", child, w.st.ID)
	}
	if len(l.Children) >= MaxChildren {
		return fieldError("child", "incident %s already has %d children (limit %d)", w.st.ID, len(l.Children), MaxChildren)
	}
	return nil
}

// linkChild tells the child who its parent is and, once it knows, lists it.
func (w *incidentWorkflow) linkChild(ctx workflow.Context, r LinkRequest) error {
	if !linkedEnabled(ctx) {
		return errors.New("this incident runs a version without linked incidents")
	}
	child := NormalizeID(strings.TrimSpace(r.Child))
	if err := workflow.SignalExternalWorkflow(ctx, child, "", SignalSetParent, ParentRequest{By: r.By, Parent: w.st.ID}).Get(ctx, nil); err != nil {
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf("child: incident %s did not take the link (is it running?): %s", child, errorMessage(err)), "LinkRefused", nil)
	}
	l := w.st.links()
	if len(l.Children) >= MaxChildren || slices.ContainsFunc(l.Children, func(c ChildIncident) bool { return c.ID == child }) {
		return nil // filled, or linked, by a command applied meanwhile
	}
	now := workflow.Now(ctx)
	l.Children = append(l.Children, ChildIncident{ID: child, Title: incident.Cut(r.ChildTitle, incident.MaxTitle), Status: r.ChildStatus, Stage: r.ChildStage,
		Service: incident.Cut(r.ChildService, incident.MaxName), LinkedBy: r.By, LinkedAt: now, UpdatedAt: now})
	w.record(ctx, KindLink, r.By, withNote(fmt.Sprintf("%s linked as a child of this incident (%s)", child, countOf(len(l.Children), "child")), r.Note))
	w.majorByServices(ctx)
	return nil
}

func (w *incidentWorkflow) validateUnlinkChild(r LinkRequest) error {
	if err := requireBy(r.By); err != nil {
		return err
	}
	if err := checkIncidentID("child", r.Child); err != nil {
		return err
	}
	child := NormalizeID(strings.TrimSpace(r.Child))
	if w.st.Links == nil || !slices.ContainsFunc(w.st.Links.Children, func(c ChildIncident) bool { return c.ID == child }) {
		return fieldError("child", "%s is not a child of %s", child, w.st.ID)
	}
	return nil
}

func (w *incidentWorkflow) unlinkChild(ctx workflow.Context, r LinkRequest) {
	if !linkedEnabled(ctx) {
		return
	}
	child := NormalizeID(strings.TrimSpace(r.Child))
	l := w.st.links()
	i := slices.IndexFunc(l.Children, func(c ChildIncident) bool { return c.ID == child })
	if i < 0 {
		return
	}
	l.Children = slices.Delete(l.Children, i, i+1)
	w.record(ctx, KindLink, r.By, fmt.Sprintf("%s is no longer a child of this incident", child))
	w.signalLinked(ctx, child, SignalSetParent, ParentRequest{By: r.By, Parent: ""}, "tell "+child+" it has no parent now")
}

func (w *incidentWorkflow) validateSetParent(r ParentRequest) error {
	if err := requireBy(r.By); err != nil {
		return err
	}
	if r.Parent == "" {
		return nil
	}
	if err := checkIncidentID("parent", r.Parent); err != nil {
		return err
	}
	if r.Parent == w.st.ID {
		return fieldError("parent", "incident %s cannot be its own parent", w.st.ID)
	}
	return nil
}

func (w *incidentWorkflow) setParent(ctx workflow.Context, r ParentRequest) {
	if !linkedEnabled(ctx) {
		return
	}
	l := w.st.links()
	if r.Parent == l.Parent {
		return
	}
	if r.Parent == "" {
		w.record(ctx, KindLink, r.By, fmt.Sprintf("no longer a child of %s", l.Parent))
		l.Parent, l.ParentGone, l.Reported = "", false, ChildStatus{}
		return
	}
	l.Parent, l.ParentGone, l.Reported = r.Parent, false, ChildStatus{}
	w.record(ctx, KindLink, r.By, "linked as a child of "+r.Parent)
}

func (w *incidentWorkflow) validateChildStatus(r ChildStatus) error {
	if err := checkIncidentID("child", r.Child); err != nil {
		return err
	}
	return checkLen("title", r.Title, incident.MaxTitle)
}

// childStatus updates a child as the parent lists it; a child unlinked
// meanwhile is not listed again.
func (w *incidentWorkflow) childStatus(ctx workflow.Context, r ChildStatus) {
	if w.st.Links == nil {
		return
	}
	l := w.st.Links
	i := slices.IndexFunc(l.Children, func(c ChildIncident) bool { return c.ID == r.Child })
	if i < 0 {
		return
	}
	c := &l.Children[i]
	if c.Status != r.Status && c.Status != "" {
		w.record(ctx, KindLink, "", fmt.Sprintf("child %s is now %s", r.Child, r.Status))
	}
	c.Title, c.Severity = r.Title, incident.Cut(r.Severity, incident.MaxName)
	c.Status, c.Stage, c.UpdatedAt = r.Status, r.Stage, workflow.Now(ctx)
}

// reportToParent tells the parent what changed since it was last told.
func (w *incidentWorkflow) reportToParent(ctx workflow.Context) {
	l := w.st.Links
	if l == nil || l.Parent == "" || l.ParentGone {
		return
	}
	now := ChildStatus{Child: w.st.ID, Title: w.st.Title, Severity: w.st.Severity, Status: w.st.Status, Stage: w.st.Stage}
	if now == l.Reported {
		return
	}
	l.Reported = now
	w.signalLinked(ctx, l.Parent, SignalChildStatus, now, "tell parent "+l.Parent+" this incident is "+string(now.Status))
}

// settleLinks, at the end of the run, reports the final status to the
// parent and waits (bounded) for link signals on their way. It says
// whether it waited: signals that came meanwhile must be drained again.
func (w *incidentWorkflow) settleLinks(ctx workflow.Context) bool {
	if w.st.Links == nil {
		return false
	}
	w.reportToParent(ctx)
	if w.st.Links.pending == 0 {
		return false
	}
	_, _ = workflow.AwaitWithTimeout(ctx, time.Minute, func() bool { return w.st.Links.pending == 0 })
	return true
}

// linksView shows the links in the incident's JSON.
func (st *incidentState) linksView(v *Incident) {
	l := st.Links
	if l == nil {
		return
	}
	v.MergedInto, v.Parent = l.MergedInto, l.Parent
	v.MergedFrom = slices.Clone(l.MergedFrom)
	v.MergedOmitted = l.MergedOmitted
	v.Children = slices.Clone(l.Children)
}
