package main

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// TestMain lets the capacity scenario re-run this test binary as its child.
func TestMain(m *testing.M) {
	if child := os.Getenv(childEnv); child != "" {
		os.Exit(childMain(child))
	}
	os.Exit(m.Run())
}

// TestScenariosRunAtTinySize runs every scenario with a few incidents, so
// a change that breaks the harness (or what it drives) shows in CI. It
// checks that each produced its figures with their floors, that storms
// lost nothing and every page arrived; it never looks at timings.
//
// It starts several embedded Temporal servers and loads both cores for a
// minute or more, which would slow the end-to-end tests' timings if it ran
// beside them in `go test ./...`: .ci/run runs it on its own, after them,
// with INCIDENTFLOW_BENCH_SMOKE=1.
func TestScenariosRunAtTinySize(t *testing.T) {
	if os.Getenv("INCIDENTFLOW_BENCH_SMOKE") == "" {
		t.Skip("set INCIDENTFLOW_BENCH_SMOKE=1 (.ci/run does, in a step of its own)")
	}
	tests := []struct {
		scenario string
		args     []string
		// figures every one of which must be there, with a floor.
		want []string
	}{
		{"latency", []string{"-latency-n5", "3", "-latency-n20", "4"},
			[]string{"alert POST -> page p50 at 5/s", "alert POST -> page p99 at 20/s"}},
		{"storm", []string{"-storm-alerts", "30", "-storm-group", "20", "-storm-senders", "4"},
			[]string{"30 alerts on 30 keys: absorbed", "30 alerts on one key: absorbed", "one Alertmanager group of 20: absorbed"}},
		{"timers", []string{"-timers-n", "6", "-timers-spread", "4", "-timers-min-delay", "2s", "-timers-spread-delay", "2s"},
			[]string{"6 fire together: lateness p99", "4 spread at 20/s: lateness p99"}},
		{"capacity", []string{"-capacity-n", "2,4", "-capacity-window", "500ms", "-capacity-settle", "100ms"},
			[]string{"RSS with 2 open", "RSS with 4 open", "idle CPU holding 4"}},
		{"history", []string{"-history-severities", "P3,P4"},
			[]string{"P3 day (12 updates): events", "P4 day (0 updates): bytes"}},
	}
	for _, tt := range tests {
		t.Run(tt.scenario, func(t *testing.T) {
			t.Parallel()
			var out bytes.Buffer
			if code := run(append([]string{tt.scenario, "-o", "json"}, tt.args...), &out); code != 0 {
				t.Fatalf("exit %d", code)
			}
			var rep report
			if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
				t.Fatalf("JSON: %v\n%s", err, out.String())
			}
			got := map[string]figure{}
			for _, f := range rep.Figures {
				got[f.Name] = f
				if strings.HasSuffix(f.Name, ": lost") && f.Value != 0 {
					t.Errorf("%s: %v alerts lost (%s)", f.Name, f.Value, f.Note)
				}
				if strings.Contains(f.Note, "not paged") || strings.Contains(f.Note, "not settled") {
					t.Errorf("%s: %s", f.Name, f.Note)
				}
			}
			for _, name := range tt.want {
				f, ok := got[name]
				switch {
				case !ok:
					t.Errorf("no figure %q; got %v", name, keys(got))
				case f.Floor == nil:
					t.Errorf("%q has no floor beside it", name)
				case f.Value <= 0 && !strings.Contains(name, "lateness"):
					t.Errorf("%q = %v, want > 0", name, f.Value)
				}
			}
		})
	}
}

func TestArgumentsAreChecked(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{}, "exactly one scenario"},
		{[]string{"nope"}, `unknown scenario "nope"`},
		{[]string{"latency", "storm"}, "exactly one scenario"},
		{[]string{"latency", "-runs", "0"}, "-runs must be 1..10"},
		{[]string{"latency", "-scale", "0"}, "-scale must be in (0, 10]"},
		{[]string{"latency", "-o", "xml"}, "-o must be table or json"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			_, _, err := parseArgs(tt.args)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("parseArgs(%q) = %v, want an error saying %q", tt.args, err, tt.want)
			}
		})
	}
	o, sc, err := parseArgs([]string{"-runs", "3", "all", "-scale", "0.5"})
	if err != nil || o.runs != 3 || o.scale != 0.5 || len(sc) != len(scenarioNames) {
		t.Fatalf("flags around the scenario: %+v %v %v", o, sc, err)
	}
}

func TestMediansTakeEachFieldAcrossRuns(t *testing.T) {
	run := func(v, floor float64) []figure {
		return []figure{fig("s", "x", "ms", v).withFloor(floor)}
	}
	got := medians([][]figure{run(10, 10), run(30, 10), run(20, 40)})
	if len(got) != 1 {
		t.Fatalf("%d figures, want 1", len(got))
	}
	f := got[0]
	if f.Value != 20 || *f.Floor != 10 || *f.Ratio != 1 || len(f.Runs) != 3 {
		t.Fatalf("median value %v floor %v ratio %v runs %v, want 20, 10, 1 (median of 1, 3, 0.5), 3 runs", f.Value, *f.Floor, *f.Ratio, f.Runs)
	}
}

func keys(m map[string]figure) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}
