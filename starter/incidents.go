// Package starter is the only code that starts or signals incident
// workflows: the HTTP intake and API, and the operations the CLI shares.
package starter

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"github.com/incidentflow/incidentflow/config"
	"github.com/incidentflow/incidentflow/incident"
	"github.com/incidentflow/incidentflow/workflows"
)

// Incidents performs every Temporal operation on incidents.
type Incidents struct {
	Client    client.Client
	Config    *config.Config
	TaskQueue string

	coalesceOnce sync.Once
	coalesce     *coalescer
	// redirects names, in answers, the incident a merged one's alerts went to.
	redirects redirectCache
	// past shares scans of a service's incidents among openings (see
	// similarAtOpening).
	past pastScans
}

// AlertEvent is one alert for the incident named by Key.
type AlertEvent struct {
	Key      string
	Title    string
	Service  string
	Severity string
	Source   string
	Alert    workflows.AlertSignal
}

// Alert hands one alert to Temporal and returns only once Temporal has it.
func (in *Incidents) Alert(ctx context.Context, ev AlertEvent) (string, error) {
	return in.Alerts(ctx, []AlertEvent{ev})
}

// Alerts hands alerts to Temporal and returns only once Temporal has every
// one; it returns the incident ID of the last. The alerts of one incident
// go as one signal, together with whatever else arrives for it meanwhile
// (see coalescer). A firing alert starts the incident or joins the open
// one (SignalWithStart, so duplicates never page twice); a resolved alert
// only informs an open incident, and is dropped when there is none, since
// it would open nothing.
func (in *Incidents) Alerts(ctx context.Context, events []AlertEvent) (string, error) {
	in.coalesceOnce.Do(func() {
		// No least gap between one incident's signals: they go one at a
		// time, each carrying every alert that arrived while the one before
		// was on its way, so a storm on one key is as many signals as
		// Temporal accepts one after another.
		in.coalesce = &coalescer{send: in.sendBatch, budget: signalBudget, timeout: 10 * time.Second}
	})
	var order []string
	byID := map[string][]AlertEvent{}
	for _, ev := range events {
		id := workflows.IncidentID(ev.Key)
		if _, ok := byID[id]; !ok {
			order = append(order, id)
		}
		byID[id] = append(byID[id], ev)
	}
	last := ""
	for _, id := range order {
		if err := in.coalesce.deliver(ctx, id, byID[id]); err != nil {
			return id, err
		}
		last = in.redirects.answerID(id)
	}
	return last, nil
}

// signalBudget shares signals among busy incidents (see coalescer.budget):
// with 100 busy incidents each gets one signal a second, carrying all its
// alerts; an incident storming alone is not held back.
const signalBudget = 100

func (in *Incidents) sendBatch(ctx context.Context, id string, first AlertEvent, batch workflows.AlertBatch, start bool) error {
	if !start {
		err := in.Client.SignalWorkflow(ctx, id, "", workflows.SignalAlerts, batch)
		if isNotFound(err) {
			// Perhaps merged into another incident, which takes it.
			return in.sendToMerged(ctx, id, first, batch, start)
		}
		return err
	}
	// A closed run of the ID is refused rather than followed by a new one at
	// once: only then is it read for a merge (see sendToMerged).
	opts := in.startOptions(id, first)
	opts.WorkflowIDReusePolicy = enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE
	_, err := in.Client.SignalWithStartWorkflow(ctx, id, workflows.SignalAlerts, batch, opts, workflows.IncidentWorkflowName, in.alertInput(first))
	if isAlreadyStarted(err) {
		return in.sendToMerged(ctx, id, first, batch, start)
	}
	return err
}

// shadow says whether an incident opened from source sends nothing: the
// whole install, or its integration, runs in shadow.
func (in *Incidents) shadow(source string) bool {
	if in.Config.Shadow {
		return true
	}
	for _, integ := range in.Config.Integrations {
		if integ.Name == source {
			return integ.Shadow
		}
	}
	return false
}

func (in *Incidents) startOptions(id string, ev AlertEvent) client.StartWorkflowOptions {
	return client.StartWorkflowOptions{
		ID:        id,
		TaskQueue: in.TaskQueue,
		// A resolved incident's key may open a new incident later.
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			workflows.SearchSeverity.ValueSet(ev.Severity),
			workflows.SearchStatus.ValueSet(string(incident.StatusTriggered)),
			workflows.SearchService.ValueSet(ev.Service),
		),
		Memo:          map[string]interface{}{workflows.MemoTitle: ev.Title},
		StaticSummary: fmt.Sprintf("%s %s: %s", ev.Severity, ev.Service, ev.Title),
	}
}

// Act runs an Update (ack, resolve, set-severity, ...) and returns the
// incident after it; a rejected transition is a *Conflict with the reason,
// a refused field a *BadRequest. The Update answers only a small result
// (Temporal keeps every answer in the history), so the incident itself is
// read with the state query.
func (in *Incidents) Act(ctx context.Context, id, update string, req any) (*workflows.Incident, error) {
	h, err := in.Client.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID:   id,
		UpdateName:   update,
		Args:         []interface{}{req},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	var res workflows.UpdateResult
	if err == nil {
		err = h.Get(ctx, &res)
	}
	if err != nil {
		return nil, in.explain(ctx, id, err)
	}
	st, err := in.Get(ctx, id)
	if err != nil {
		// The command took effect; say so even if the incident cannot be read now.
		st = &workflows.Incident{ID: res.ID, Status: res.Status, Stage: res.Stage, Severity: res.Severity}
	}
	countAck(update, st)
	return st, nil
}

// Signal sends a fire-and-forget signal (escalate).
func (in *Incidents) Signal(ctx context.Context, id, signal string, req workflows.ActionRequest) error {
	if err := in.Client.SignalWorkflow(ctx, id, "", signal, req); err != nil {
		return in.explain(ctx, id, err)
	}
	return nil
}

// Get returns the incident's state, running or closed.
func (in *Incidents) Get(ctx context.Context, id string) (*workflows.Incident, error) {
	return in.getRun(ctx, id, "")
}

// getRun reads one run of an incident: a key that fired again after its
// incident closed runs again under the same ID.
func (in *Incidents) getRun(ctx context.Context, id, runID string) (*workflows.Incident, error) {
	v, err := in.Client.QueryWorkflow(ctx, id, runID, workflows.QueryState)
	if err != nil {
		return nil, in.explain(ctx, id, err)
	}
	var st workflows.Incident
	if err := v.Get(&st); err != nil {
		return nil, fmt.Errorf("decode state of %s: %w", id, err)
	}
	return &st, nil
}

// Summary is an incident as the visibility store knows it, without a query.
type Summary struct {
	ID        string     `json:"id"`
	RunID     string     `json:"run_id,omitempty"`
	Title     string     `json:"title"`
	Service   string     `json:"service"`
	Severity  string     `json:"severity"`
	Status    string     `json:"status"`
	Commander string     `json:"commander"`
	Running   bool       `json:"running"`
	CreatedAt time.Time  `json:"created_at"`
	ClosedAt  *time.Time `json:"closed_at,omitempty"`
}

// ListStatuses are the values `status` may take when listing: open and
// closed (whether the workflow runs), or an incident status.
var ListStatuses = append([]string{"open", "closed"}, statusNames()...)

func statusNames() []string {
	var out []string
	for _, st := range incident.Statuses {
		if st != incident.StatusClosed {
			out = append(out, string(st))
		}
	}
	return out
}

// List returns incidents, newest first. status: "" (all), "open", "closed"
// or an incident status.
func (in *Incidents) List(ctx context.Context, status string, limit int) ([]Summary, error) {
	page, err := in.Search(ctx, Filter{Status: status, Limit: limit})
	return page.Incidents, err
}

// Filter narrows a search of incidents; zero values do not filter.
type Filter struct {
	Status    string
	Service   string
	Severity  string
	Commander string
	Since     time.Time
	Until     time.Time
	// Text is looked for in titles and IDs, in any case.
	Text string
	// Limit bounds the answer (0: no bound); Cursor continues a search.
	Limit  int
	Cursor string
}

// Page is one answer of a search; Next, when set, continues it.
type Page struct {
	Incidents []Summary `json:"incidents"`
	Next      string    `json:"next_cursor,omitempty"`
	// Similar, when asked for (similar=true), maps incident IDs to their
	// similar past incidents.
	Similar map[string][]Similar `json:"similar,omitempty"`
}

// searchScanLimit bounds how many incidents one request looks through for
// a text match; past it the answer says where to go on (Next).
const searchScanLimit = 5000

// Search lists incidents newest first: the visibility store filters on
// everything but the text, which is matched here on titles (in the memo).
func (in *Incidents) Search(ctx context.Context, f Filter) (Page, error) {
	q, err := in.visibilityQuery(f)
	if err != nil {
		return Page{}, err
	}
	cur, err := decodeCursor(f.Cursor)
	if err != nil {
		return Page{}, err
	}
	text := strings.ToLower(strings.TrimSpace(f.Text))
	out := Page{Incidents: []Summary{}}
	scanned := 0
	for {
		resp, err := in.Client.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: q, NextPageToken: cur.Token, PageSize: 100})
		if err != nil {
			return Page{}, in.explain(ctx, "", err)
		}
		execs := resp.GetExecutions()
		for i := cur.Skip; i < len(execs); i++ {
			scanned++
			s := summaryOf(execs[i])
			if text == "" || strings.Contains(strings.ToLower(s.Title), text) || strings.Contains(s.ID, text) {
				out.Incidents = append(out.Incidents, s)
			}
			full := f.Limit > 0 && len(out.Incidents) >= f.Limit
			if full || scanned >= searchScanLimit {
				if i+1 < len(execs) || len(resp.GetNextPageToken()) > 0 {
					out.Next = cursor{Token: cur.Token, Skip: i + 1}.encode()
				}
				return out, nil
			}
		}
		next := resp.GetNextPageToken()
		if len(next) == 0 {
			return out, nil
		}
		cur = cursor{Token: next}
	}
}

func summaryOf(e *workflowpb.WorkflowExecutionInfo) Summary {
	s := Summary{
		ID:        e.GetExecution().GetWorkflowId(),
		RunID:     e.GetExecution().GetRunId(),
		Running:   e.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING,
		CreatedAt: e.GetStartTime().AsTime(),
	}
	if e.GetCloseTime() != nil {
		t := e.GetCloseTime().AsTime()
		s.ClosedAt = &t
	}
	fields := e.GetSearchAttributes().GetIndexedFields()
	s.Severity = payloadString(fields[workflows.SearchSeverity.GetName()])
	s.Status = payloadString(fields[workflows.SearchStatus.GetName()])
	s.Service = payloadString(fields[workflows.SearchService.GetName()])
	s.Commander = payloadString(fields[workflows.SearchCommander.GetName()])
	s.Title = payloadString(e.GetMemo().GetFields()[workflows.MemoTitle])
	return s
}

// visibilityQuery turns a filter into Temporal's list filter. Every value
// is checked against the config first, so none can change the query.
func (in *Incidents) visibilityQuery(f Filter) (string, error) {
	q := fmt.Sprintf("WorkflowType = '%s'", workflows.IncidentWorkflowName)
	switch {
	case f.Status == "":
	case f.Status == "open":
		q += " AND ExecutionStatus = 'Running'"
	case f.Status == "closed":
		q += " AND ExecutionStatus != 'Running'"
	case slices.Contains(ListStatuses, f.Status):
		q += fmt.Sprintf(" AND %s = '%s'", workflows.SearchStatus.GetName(), f.Status)
	default:
		return "", &BadRequest{Field: "status", Msg: fmt.Sprintf("%q must be one of %s", incident.Cut(f.Status, incident.MaxName), strings.Join(ListStatuses, ", "))}
	}
	if f.Service != "" {
		if _, ok := in.Config.Services[f.Service]; !ok {
			return "", &BadRequest{Field: "service", Msg: fmt.Sprintf("unknown service %q", incident.Cut(f.Service, incident.MaxName))}
		}
		q += fmt.Sprintf(" AND %s = '%s'", workflows.SearchService.GetName(), quoteless(f.Service))
	}
	if f.Severity != "" {
		sev, ok := in.Config.NormalizeSeverity(f.Severity)
		if !ok {
			return "", &BadRequest{Field: "severity", Msg: fmt.Sprintf("unknown severity %q (one of %s)", incident.Cut(f.Severity, incident.MaxName), strings.Join(in.Config.SeverityNames(), ", "))}
		}
		q += fmt.Sprintf(" AND %s = '%s'", workflows.SearchSeverity.GetName(), quoteless(sev))
	}
	if f.Commander != "" {
		if _, ok := in.Config.Users[f.Commander]; !ok {
			return "", &BadRequest{Field: "commander", Msg: fmt.Sprintf("unknown user %q", incident.Cut(f.Commander, incident.MaxName))}
		}
		q += fmt.Sprintf(" AND %s = '%s'", workflows.SearchCommander.GetName(), quoteless(f.Commander))
	}
	if !f.Since.IsZero() {
		q += fmt.Sprintf(" AND StartTime >= '%s'", f.Since.UTC().Format(time.RFC3339Nano))
	}
	if !f.Until.IsZero() {
		q += fmt.Sprintf(" AND StartTime <= '%s'", f.Until.UTC().Format(time.RFC3339Nano))
	}
	return q, nil
}

// quoteless drops quotes, which config names never need, so a value can
// never end its string in the query.
func quoteless(s string) string { return strings.NewReplacer("'", "", `"`, "", `\`, "").Replace(s) }

// cursor is where a search goes on: a page of the visibility store and how
// many of its incidents were already answered.
type cursor struct {
	Token []byte `json:"t,omitempty"`
	Skip  int    `json:"s,omitempty"`
}

func (c cursor) encode() string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string) (cursor, error) {
	var c cursor
	if s == "" {
		return c, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		err = json.Unmarshal(b, &c)
	}
	if err != nil || c.Skip < 0 {
		return cursor{}, &BadRequest{Field: "cursor", Msg: "not a cursor this API gave (use next_cursor as it came)"}
	}
	return c, nil
}

func payloadString(p *commonpb.Payload) string {
	if p == nil {
		return ""
	}
	var s string
	if err := converter.GetDefaultDataConverter().FromPayload(p, &s); err != nil {
		return ""
	}
	return s
}

// BadRequest is a 400 naming the field at fault.
type BadRequest struct {
	Field string
	Msg   string
}

func (e *BadRequest) Error() string { return e.Field + ": " + e.Msg }

// NotFound is a 404; Msg, when set, says more than "no incident".
type NotFound struct {
	ID  string
	Msg string
}

func (e *NotFound) Error() string {
	if e.Msg != "" {
		return e.Msg
	}
	return fmt.Sprintf("no incident %q", e.ID)
}

// Conflict is a 409: the incident refused the transition.
type Conflict struct{ Msg string }

func (e *Conflict) Error() string { return e.Msg }

// Unavailable is a 503: Temporal did not take the request; retry.
type Unavailable struct{ Err error }

func (e *Unavailable) Error() string {
	return "temporal is unavailable, retry later: " + e.Err.Error()
}

func (e *Unavailable) Unwrap() error { return e.Err }

// Stuck is a 503 for one incident that does not answer while Temporal does:
// its workflow is failing or flooded. The sender should retry; nothing was
// lost, and saying "Temporal is unavailable" would send people the wrong way.
type Stuck struct{ ID, Why string }

func (e *Stuck) Error() string {
	return fmt.Sprintf("incident %s is not answering right now (%s); Temporal itself is up, retry later", e.ID, e.Why)
}

// explain turns Temporal's errors into the API's.
func (in *Incidents) explain(ctx context.Context, id string, err error) error {
	var appErr *temporal.ApplicationError
	var nf *serviceerror.NotFound
	var unavailable *serviceerror.Unavailable
	var deadline *serviceerror.DeadlineExceeded
	var queryFailed *serviceerror.QueryFailed
	var exhausted *serviceerror.ResourceExhausted
	switch {
	case errors.As(err, &appErr) && appErr.Type() == workflows.FieldError:
		field, msg, _ := strings.Cut(appErr.Message(), ": ")
		return &BadRequest{Field: field, Msg: msg}
	case errors.As(err, &appErr):
		return &Conflict{Msg: appErr.Message()}
	case errors.As(err, &queryFailed):
		return &Stuck{ID: id, Why: incident.Cut(queryFailed.Message, 300)}
	case errors.As(err, &exhausted):
		// Temporal's own limits (a flood of signals to one incident, a busy
		// namespace) pass: the sender retries.
		return &Unavailable{Err: err}
	case errors.As(err, &nf):
		if id != "" && in.closed(ctx, id) {
			return &Conflict{Msg: closedMessage(id)}
		}
		return &NotFound{ID: id}
	case errors.As(err, &deadline), errors.Is(err, context.DeadlineExceeded):
		if id != "" && in.reachable(ctx, id) {
			return &Stuck{ID: id, Why: "no answer in time"}
		}
		return &Unavailable{Err: err}
	case errors.As(err, &unavailable), errors.Is(err, context.Canceled):
		return &Unavailable{Err: err}
	}
	return err
}

// reachable says whether Temporal answers about this incident now, with
// its own short deadline (the request's may be spent).
func (in *Incidents) reachable(ctx context.Context, id string) bool {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	_, err := in.Client.DescribeWorkflowExecution(ctx, id, "")
	return err == nil
}

func closedMessage(id string) string { return fmt.Sprintf("incident %s is closed", id) }

func (in *Incidents) closed(ctx context.Context, id string) bool {
	d, err := in.Client.DescribeWorkflowExecution(ctx, id, "")
	return err == nil && d.GetWorkflowExecutionInfo().GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING
}

// Declaration opens an incident by hand.
type Declaration struct {
	Service  string
	Severity string
	Title    string
	By       string
	// Commander takes the role at once; whoever declares, when empty.
	Commander string
}

// checkDeclaration refuses a declaration by its field and answers its
// severity as configured.
func (in *Incidents) checkDeclaration(d Declaration) (string, error) {
	if _, ok := in.Config.Services[d.Service]; !ok {
		return "", &BadRequest{Field: "service", Msg: fmt.Sprintf("unknown service %q", d.Service)}
	}
	sev, ok := in.Config.NormalizeSeverity(d.Severity)
	if !ok {
		return "", &BadRequest{Field: "severity", Msg: fmt.Sprintf("unknown severity %q (one of %s)", d.Severity, strings.Join(in.Config.SeverityNames(), ", "))}
	}
	if strings.TrimSpace(d.Title) == "" {
		return "", &BadRequest{Field: "title", Msg: "required"}
	}
	if err := incident.CheckLen("title", d.Title, incident.MaxTitle); err != nil {
		return "", &BadRequest{Field: "title", Msg: strings.TrimPrefix(err.Error(), "title: ")}
	}
	return sev, nil
}

// declaredKey is a declared incident's key: its own, with a random part, so
// two declared in the same second with the same title never merge.
func declaredKey(kind, title string) string {
	var nonce [3]byte
	_, _ = rand.Read(nonce[:])
	return fmt.Sprintf("%s-%s-%s-%x", kind, time.Now().UTC().Format("20060102-150405"), incident.Slug(title, "", 40), nonce)
}

// Declare starts a new incident with its own key and returns its ID.
func (in *Incidents) Declare(ctx context.Context, d Declaration) (string, error) {
	sev, err := in.checkDeclaration(d)
	if err != nil {
		return "", err
	}
	// Every declaration is its own incident: two in the same second with
	// the same title must not merge, so the key carries a random part and
	// the start refuses a running workflow of the same ID.
	key := declaredKey("declared", d.Title)
	id := workflows.IncidentID(key)
	ev := AlertEvent{Key: key, Title: d.Title, Service: d.Service, Severity: sev, Source: "declared:" + d.By}
	opts := in.startOptions(id, ev)
	opts.WorkflowExecutionErrorWhenAlreadyStarted = true
	_, err = in.Client.ExecuteWorkflow(ctx, opts, workflows.IncidentWorkflowName, workflows.IncidentInput{
		Key: key, Title: d.Title, Service: d.Service, Severity: sev, Source: ev.Source, Shadow: in.Config.Shadow,
	})
	if err != nil {
		return "", in.explain(ctx, id, err)
	}
	commander := d.Commander
	if commander == "" {
		commander = d.By
	}
	if _, ok := in.Config.Users[commander]; ok {
		if _, err := in.Act(ctx, id, workflows.UpdateAssignRole, workflows.RoleRequest{By: d.By, Role: incident.RoleCommander, User: commander}); err != nil {
			return id, fmt.Errorf("declared %s, but %s could not be made commander: %w", id, commander, err)
		}
	}
	return id, nil
}

// ByChannel finds the incident whose Slack channel is channelID, open or
// closed: after it closes, its channel is still where its post-mortem is
// discussed.
func (in *Incidents) ByChannel(ctx context.Context, channelID string) (string, bool, error) {
	if channelID == "" {
		return "", false, nil
	}
	resp, err := in.Client.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
		PageSize: 1,
		Query: fmt.Sprintf("WorkflowType = '%s' AND %s = '%s'",
			workflows.IncidentWorkflowName, workflows.SearchChannel.GetName(), strings.ReplaceAll(channelID, "'", "")),
	})
	if err != nil {
		return "", false, in.explain(ctx, "", err)
	}
	if len(resp.GetExecutions()) == 0 {
		return "", false, nil
	}
	return resp.GetExecutions()[0].GetExecution().GetWorkflowId(), true, nil
}
