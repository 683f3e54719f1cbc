package starter

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/incidentflow/incidentflow/config"
	"github.com/incidentflow/incidentflow/workflows"
)

// visFake answers visibility lists from a fixed set of incidents and
// counts the scans of a service (lists that are not by one ID).
type visFake struct {
	client.Client
	execs []*workflowpb.WorkflowExecutionInfo
	scans atomic.Int32
}

func (f *visFake) ListWorkflow(_ context.Context, req *workflowservice.ListWorkflowExecutionsRequest) (*workflowservice.ListWorkflowExecutionsResponse, error) {
	q := req.GetQuery()
	resp := &workflowservice.ListWorkflowExecutionsResponse{}
	if !strings.Contains(q, "WorkflowType = '"+workflows.IncidentWorkflowName+"'") {
		return resp, nil // the post-mortems' findings: none here
	}
	byID := strings.Contains(q, "WorkflowId = ")
	if !byID {
		f.scans.Add(1)
		time.Sleep(20 * time.Millisecond) // a scan takes a while; openings meanwhile wait for it
	}
	for _, e := range f.execs {
		if !byID || strings.Contains(q, "'"+e.GetExecution().GetWorkflowId()+"'") {
			resp.Executions = append(resp.Executions, e)
		}
	}
	return resp, nil
}

func visIncident(id, title string, running bool, started time.Time) *workflowpb.WorkflowExecutionInfo {
	titlePayload, _ := converter.GetDefaultDataConverter().ToPayload(title)
	e := &workflowpb.WorkflowExecutionInfo{
		Execution: &commonpb.WorkflowExecution{WorkflowId: id},
		StartTime: timestamppb.New(started),
		Memo:      &commonpb.Memo{Fields: map[string]*commonpb.Payload{workflows.MemoTitle: titlePayload}},
		Status:    enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING,
	}
	if !running {
		e.Status = enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED
		e.CloseTime = timestamppb.New(started.Add(time.Hour))
	}
	return e
}

// A flood of incidents opening on one service shares one scan of its past
// incidents, and each still finds its own key's earlier run, read fresh.
func TestOpeningsOnOneServiceShareAScanOfItsPast(t *testing.T) {
	cfg, err := config.Parse([]byte(hbConfig))
	require.NoError(t, err)
	now := time.Now()
	fake := &visFake{execs: []*workflowpb.WorkflowExecutionInfo{
		visIncident("incident-db-slow", "Database latency high on checkout", false, now.Add(-48*time.Hour)),
		visIncident("incident-db-slow", "Database latency high on checkout", true, now),
		visIncident("incident-other", "Database latency high on checkout", false, now.Add(-24*time.Hour)),
	}}
	in := &Incidents{Client: fake, Config: cfg}
	var wg sync.WaitGroup
	results := make([][]Similar, 20)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			list, err := in.similarAtOpening(context.Background(), "incident-db-slow", "checkout", "Database latency high on checkout")
			assert.NoError(t, err) // require would stop only this goroutine
			results[i] = list
		}()
	}
	wg.Wait()
	require.EqualValues(t, 1, fake.scans.Load(), "twenty openings within %s scan the service once", pastFresh)
	for _, list := range results {
		require.Len(t, list, 2)
		require.Equal(t, "the same alert key", list[0].Why, "its own earlier run first, read by ID")
		require.Equal(t, "incident-other", list[1].ID)
	}

	// Once the scan is older than pastFresh, the next opening scans again.
	in.past.by["checkout"].at = time.Now().Add(-pastFresh)
	_, err = in.similarAtOpening(context.Background(), "incident-new", "checkout", "Something else entirely")
	require.NoError(t, err)
	require.EqualValues(t, 2, fake.scans.Load())
}
