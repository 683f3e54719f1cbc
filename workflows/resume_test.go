package workflows_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	historypb "go.temporal.io/api/history/v1"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/incidentflow/incidentflow/incident"
	"github.com/incidentflow/incidentflow/workflows"
)

// TestOldHandOverDecodesIntoTheNewState reads the continue-as-new input the
// previous state shape wrote (recorded in testdata) into today's input:
// the facts arrive, and what is derived now is derived from them.
func TestOldHandOverDecodesIntoTheNewState(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "v2_updates_after_continue.json"))
	require.NoError(t, err)
	var hist historypb.History
	require.NoError(t, protojson.Unmarshal(b, &hist))
	started := hist.GetEvents()[0].GetWorkflowExecutionStartedEventAttributes()
	require.NotNil(t, started)
	raw := started.GetInput().GetPayloads()[0].GetData()
	require.Contains(t, string(raw), `"mtta_seconds"`, "written by the old shape, which kept derived values")

	var in workflows.IncidentInput
	require.NoError(t, json.Unmarshal(raw, &in))
	st := in.Resume
	require.NotNil(t, st)
	// The last hand-over came after the resolve, inside the monitoring window.
	require.Equal(t, incident.StatusMonitoring, st.Status)
	require.Equal(t, incident.StageMonitoring, st.Stage)
	require.NotNil(t, st.MitigatedAt)
	require.NotNil(t, st.MonitoringUntil)
	require.Equal(t, "alice", st.Roles[incident.RoleCommander], "the commander is read from roles")
	require.Equal(t, "bob", st.Roles[incident.RoleComms])
	require.NotNil(t, st.AcknowledgedAt)
	require.NotEmpty(t, st.Policy.Steps, "the old plan is the policy")
	require.NotEmpty(t, st.Policy.Severities)
	require.NotNil(t, st.SlackChannel)
	require.NotEmpty(t, st.Timeline)
	updates := 0
	for _, e := range st.Timeline {
		if e.Kind == workflows.KindStatusUpdate {
			updates++
		}
	}
	require.Positive(t, updates)
}
