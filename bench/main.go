// Command bench measures incidentflow beside the raw Temporal floor, in
// one process on one Temporal server (embedded, or -temporal ADDR):
//
//	go run ./bench all                 # every scenario, default sizes (< 15 min on 2 cores)
//	go run ./bench latency -runs 3     # medians of 3 runs
//	go run ./bench storm -scale 0.1    # a tenth of the default sizes
//	go run ./bench all -json out.json  # also write JSON; -o json prints it instead of the table
//
// Scenarios: latency, storm, timers, capacity, history (see BENCHMARKS.md
// for what each measures and how). Every figure is printed with its floor,
// the ratio, and the goal from issue 14 with met / not met.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

var scenarioNames = []string{"latency", "storm", "timers", "capacity", "history"}

// options are the command's flags; scenarios read their sizes from here.
type options struct {
	runs     int
	scale    float64
	temporal string
	jsonFile string
	output   string

	latencyAt5, latencyAt20 int
	latencyTrace            bool
	stormAlerts, stormGroup int
	stormSenders            int
	timersN, timersSpread   int
	timersMinDelay          time.Duration
	timersSpreadDelay       time.Duration
	capacitySettle          time.Duration
	capacitySizes           string
	capacityWindow          time.Duration
	historyDays             string
}

func (o *options) flags(fs *flag.FlagSet) {
	fs.IntVar(&o.runs, "runs", 1, "run each scenario this many times and report medians")
	fs.Float64Var(&o.scale, "scale", 1, "multiply every count (incidents, alerts) by this, for quick runs")
	fs.StringVar(&o.temporal, "temporal", "", "host:port of a Temporal server with incidentflow's search attributes (default: start one embedded, in memory)")
	fs.StringVar(&o.jsonFile, "json", "", "also write the results as JSON to this file")
	fs.StringVar(&o.output, "o", "table", "table | json (to stdout; progress goes to stderr either way)")
	fs.IntVar(&o.latencyAt5, "latency-n5", 100, "latency: incidents sent at 5/s")
	fs.IntVar(&o.latencyAt20, "latency-n20", 200, "latency: incidents sent at 20/s")
	fs.BoolVar(&o.latencyTrace, "latency-trace", false, "latency: print one incident's history events and Slack calls, in ms after its alert POST")
	fs.IntVar(&o.stormAlerts, "storm-alerts", 10000, "storm: alerts in the one-key and 200-keys storms (issue 14: 20000)")
	fs.IntVar(&o.stormGroup, "storm-group", 5000, "storm: alerts in the one Alertmanager group")
	fs.IntVar(&o.stormSenders, "storm-senders", 16, "storm: concurrent closed-loop senders (and floor goroutines)")
	fs.IntVar(&o.timersN, "timers-n", 2000, "timers: open incidents whose step 2 fires together (issue 14: 10000)")
	fs.IntVar(&o.timersSpread, "timers-spread", 600, "timers: incidents whose step 2 comes due at 20/s")
	fs.DurationVar(&o.timersMinDelay, "timers-min-delay", 10*time.Second, "timers: the shortest step-2 delay (the fire-together grid starts there)")
	fs.DurationVar(&o.timersSpreadDelay, "timers-spread-delay", 20*time.Second, "timers: step-2 delay in the spread case")
	fs.DurationVar(&o.capacitySettle, "capacity-settle", 5*time.Second, "capacity: pause after opening before memory is read")
	fs.StringVar(&o.capacitySizes, "capacity-n", "1000,3000", "capacity: open incidents to measure at, ascending (issue 14: 1000,10000)")
	fs.DurationVar(&o.capacityWindow, "capacity-window", 10*time.Second, "capacity: idle window over which CPU is measured")
	fs.StringVar(&o.historyDays, "history-severities", "P1,P2,P3,P4", "history: severities to simulate a day of")
}

// scaled is n times -scale, at least 1.
func (o *options) scaled(n int) int { return max(1, int(math.Round(float64(n)*o.scale))) }

// figure is one measured number beside its floor and goal.
type figure struct {
	Scenario string   `json:"scenario"`
	Name     string   `json:"name"`
	Unit     string   `json:"unit"`
	Value    float64  `json:"value"`
	Floor    *float64 `json:"floor,omitempty"`
	Ratio    *float64 `json:"ratio,omitempty"`
	Goal     string   `json:"goal,omitempty"`
	Met      *bool    `json:"met,omitempty"`
	Note     string   `json:"note,omitempty"`
	// Runs are the values of each run when -runs > 1.
	Runs []float64 `json:"runs,omitempty"`

	check func(f figure) bool
}

func num(v float64) *float64 { return &v }

// fig is a figure without a floor; withFloor adds one and its ratio.
func fig(scenario, name, unit string, v float64) figure {
	return figure{Scenario: scenario, Name: name, Unit: unit, Value: v}
}

func (f figure) withFloor(floor float64) figure {
	f.Floor = num(floor)
	if floor != 0 {
		f.Ratio = num(f.Value / floor)
	}
	return f
}

func (f figure) goal(text string, check func(f figure) bool) figure {
	f.Goal, f.check = text, check
	return f
}

func (f figure) note(n string) figure { f.Note = n; return f }

func ratioAtMost(limit float64) func(figure) bool {
	return func(f figure) bool { return f.Ratio != nil && *f.Ratio <= limit }
}

func ratioAtLeast(limit float64) func(figure) bool {
	return func(f figure) bool { return f.Ratio != nil && *f.Ratio >= limit }
}

func valueAtMost(limit float64) func(figure) bool {
	return func(f figure) bool { return f.Value <= limit }
}

// report is what -json writes.
type report struct {
	Started   time.Time      `json:"started"`
	WallS     float64        `json:"wall_s"`
	Scenarios []string       `json:"scenarios"`
	Runs      int            `json:"runs"`
	Scale     float64        `json:"scale"`
	Machine   machine        `json:"machine"`
	Figures   []figure       `json:"figures"`
	Details   map[string]any `json:"details"`
	Errors    []string       `json:"errors,omitempty"`
}

type machine struct {
	CPUs     int    `json:"cpus"`
	MemTotal string `json:"mem_total"`
	GoOS     string `json:"goos"`
	GoArch   string `json:"goarch"`
	Go       string `json:"go"`
	Temporal string `json:"temporal"`
}

func thisMachine(o *options) machine {
	m := machine{CPUs: runtime.NumCPU(), GoOS: runtime.GOOS, GoArch: runtime.GOARCH, Go: runtime.Version(), Temporal: "embedded (in-memory SQLite)"}
	if o.temporal != "" {
		m.Temporal = o.temporal
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "MemTotal:"); ok {
				kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
				m.MemTotal = fmt.Sprintf("%.1f GiB", kb/(1<<20))
			}
		}
	}
	return m
}

// progress is where scenarios narrate; stderr, so -o json stays clean.
var progress io.Writer = os.Stderr

func logf(format string, args ...any) {
	fmt.Fprintf(progress, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

func main() {
	if child := os.Getenv(childEnv); child != "" {
		os.Exit(childMain(child))
	}
	os.Exit(run(os.Args[1:], os.Stdout))
}

// parseArgs takes the scenario wherever it stands among the flags.
func parseArgs(args []string) (*options, []string, error) {
	o := &options{}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(os.Stderr)
	o.flags(fs)
	fs.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: go run ./bench <%s|all> [flags]\n", strings.Join(scenarioNames, "|"))
		fs.PrintDefaults()
	}
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, nil, err
		}
		if fs.NArg() == 0 {
			break
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(positional) != 1 {
		fs.Usage()
		return nil, nil, errors.New("name exactly one scenario, or all")
	}
	var scenarios []string
	switch positional[0] {
	case "all":
		scenarios = scenarioNames
	default:
		if !slices.Contains(scenarioNames, positional[0]) {
			return nil, nil, fmt.Errorf("unknown scenario %q (one of %s, or all)", positional[0], strings.Join(scenarioNames, ", "))
		}
		scenarios = positional[:1]
	}
	switch {
	case o.runs < 1 || o.runs > 10:
		return nil, nil, fmt.Errorf("-runs must be 1..10, got %d", o.runs)
	case o.scale <= 0 || o.scale > 10:
		return nil, nil, fmt.Errorf("-scale must be in (0, 10], got %g", o.scale)
	case o.output != "table" && o.output != "json":
		return nil, nil, fmt.Errorf("-o must be table or json, got %q", o.output)
	}
	return o, scenarios, nil
}

func run(args []string, stdout io.Writer) int {
	o, scenarios, err := parseArgs(args)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 2
	}
	ctx := context.Background()
	rep := report{Started: time.Now().UTC(), Scenarios: scenarios, Runs: o.runs, Scale: o.scale, Machine: thisMachine(o), Details: map[string]any{}}
	m := rep.Machine
	logf("bench %s: %d CPUs, %s memory, %s/%s, %s, Temporal %s; runs %d, scale %g",
		strings.Join(scenarios, ","), m.CPUs, m.MemTotal, m.GoOS, m.GoArch, m.Go, m.Temporal, o.runs, o.scale)
	if len(scenarios) == len(scenarioNames) && o.scale == 1 && o.runs == 1 {
		logf("all at default sizes is sized to finish in under 15 minutes on 2 cores")
	}
	for _, sc := range scenarios {
		var perRun [][]figure
		var details []any
		for r := 0; r < o.runs; r++ {
			logf("== %s (run %d of %d)", sc, r+1, o.runs)
			start := time.Now()
			figs, detail, err := runScenario(ctx, sc, o)
			if err != nil {
				// One scenario failing (a timeout on a loaded machine) must not
				// throw away what the others measured.
				logf("== %s run %d failed: %v", sc, r+1, err)
				rep.Errors = append(rep.Errors, fmt.Sprintf("%s run %d: %v", sc, r+1, err))
				continue
			}
			logf("== %s run %d took %s", sc, r+1, time.Since(start).Round(time.Second))
			perRun = append(perRun, figs)
			details = append(details, detail)
		}
		if len(perRun) > 0 {
			rep.Figures = append(rep.Figures, medians(perRun)...)
		}
		rep.Details[sc] = details
	}
	rep.WallS = time.Since(rep.Started).Seconds()
	for i := range rep.Figures {
		if f := rep.Figures[i]; f.check != nil {
			met := f.check(f)
			rep.Figures[i].Met = &met
		}
	}
	js, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench: encode JSON:", err)
		return 1
	}
	if o.jsonFile != "" {
		if err := os.WriteFile(o.jsonFile, append(js, '\n'), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			return 1
		}
	}
	if o.output == "json" {
		fmt.Fprintln(stdout, string(js))
	} else {
		printTable(stdout, rep)
	}
	if len(rep.Errors) > 0 {
		for _, e := range rep.Errors {
			fmt.Fprintln(os.Stderr, "bench: failed:", e)
		}
		return 1
	}
	return 0
}

func runScenario(ctx context.Context, name string, o *options) ([]figure, any, error) {
	switch name {
	case "latency":
		return runLatency(ctx, o)
	case "storm":
		return runStorm(ctx, o)
	case "timers":
		return runTimers(ctx, o)
	case "capacity":
		return runCapacity(ctx, o)
	case "history":
		return runHistory(ctx, o)
	}
	return nil, nil, fmt.Errorf("unknown scenario %q", name)
}

// medians folds runs into one figure per name: the median value, floor
// and ratio (each over the runs), the values of every run kept beside.
func medians(runs [][]figure) []figure {
	if len(runs) == 1 {
		return runs[0]
	}
	var order []string
	by := map[string][]figure{}
	for _, figs := range runs {
		for _, f := range figs {
			k := f.Scenario + "\x00" + f.Name
			if _, ok := by[k]; !ok {
				order = append(order, k)
			}
			by[k] = append(by[k], f)
		}
	}
	out := make([]figure, 0, len(order))
	for _, k := range order {
		fs := by[k]
		m := fs[0]
		var vals, floors, ratios []float64
		for _, f := range fs {
			vals = append(vals, f.Value)
			if f.Floor != nil {
				floors = append(floors, *f.Floor)
			}
			if f.Ratio != nil {
				ratios = append(ratios, *f.Ratio)
			}
		}
		m.Runs = vals
		m.Value = median(vals)
		if len(floors) > 0 {
			m.Floor = num(median(floors))
		}
		if len(ratios) > 0 {
			m.Ratio = num(median(ratios))
		}
		out = append(out, m)
	}
	return out
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func printTable(w io.Writer, rep report) {
	m := rep.Machine
	fmt.Fprintf(w, "\nincidentflow bench %s, %s: %d CPUs, %s, %s, Temporal %s; runs %d (medians), scale %g; wall %s\n\n",
		strings.Join(rep.Scenarios, ","), rep.Started.Format("2006-01-02 15:04 UTC"), m.CPUs, m.MemTotal, m.Go, m.Temporal,
		rep.Runs, rep.Scale, (time.Duration(rep.WallS) * time.Second).Round(time.Second))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "scenario\tfigure\tincidentflow\tfloor\tratio\tgoal\tmet\t")
	for _, f := range rep.Figures {
		floor, ratio, met := "-", "-", "-"
		if f.Floor != nil {
			floor = fmtVal(*f.Floor, f.Unit)
		}
		if f.Ratio != nil {
			ratio = fmt.Sprintf("%.2fx", *f.Ratio)
		}
		if f.Met != nil {
			met = "not met"
			if *f.Met {
				met = "met"
			}
		}
		v := fmtVal(f.Value, f.Unit)
		if len(f.Runs) > 1 {
			var rs []string
			for _, r := range f.Runs {
				rs = append(rs, fmtVal(r, ""))
			}
			v += " (" + strings.Join(rs, ", ") + ")"
		}
		goal := f.Goal
		if goal == "" {
			goal = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", f.Scenario, f.Name, v, floor, ratio, goal, met)
	}
	_ = tw.Flush()
	for _, f := range rep.Figures {
		if f.Note != "" {
			fmt.Fprintf(w, "  %s / %s: %s\n", f.Scenario, f.Name, f.Note)
		}
	}
	for _, e := range rep.Errors {
		fmt.Fprintf(w, "  FAILED: %s\n", e)
	}
	if len(rep.Scenarios) == len(scenarioNames) {
		// The budget is for one pass over every scenario: -runs 3 is three.
		perRun := rep.WallS / float64(max(rep.Runs, 1))
		within := "under"
		if perRun >= 15*60 {
			within = "NOT under"
		}
		fmt.Fprintf(w, "\nall took %s (%s a run): %s the 15-minute budget\n",
			(time.Duration(rep.WallS) * time.Second).Round(time.Second), (time.Duration(perRun) * time.Second).Round(time.Second), within)
	}
}

func fmtVal(v float64, unit string) string {
	var s string
	switch a := math.Abs(v); {
	case v == math.Trunc(v) && a < 1e12:
		s = fmt.Sprintf("%.0f", v)
	case a >= 100:
		s = fmt.Sprintf("%.0f", v)
	case a >= 10:
		s = fmt.Sprintf("%.1f", v)
	default:
		s = fmt.Sprintf("%.2f", v)
	}
	if unit != "" {
		s += " " + unit
	}
	return s
}

// pct is the p-th percentile (nearest rank) of sorted durations, in ms.
func pct(sorted []time.Duration, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(float64(len(sorted))*p/100)) - 1
	i = min(max(i, 0), len(sorted)-1)
	return ms(sorted[i])
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
