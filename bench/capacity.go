package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Memory and CPU cannot be told apart within one process, so capacity
// runs this binary twice more: once holding incidents, once holding floor
// workflows. Each child is the whole stack (server, both workers, intake)
// and differs from the other only in what it holds open.
const (
	childEnv     = "INCIDENTFLOW_BENCH_CHILD"
	childArgsEnv = "INCIDENTFLOW_BENCH_CHILD_ARGS"
)

type capacityArgs struct {
	Kind     string  `json:"kind"` // incident | floor
	Sizes    []int   `json:"sizes"`
	WindowS  float64 `json:"window_s"`
	SettleS  float64 `json:"settle_s"`
	Temporal string  `json:"temporal,omitempty"`
}

// capacityPoint is the process holding Open workflows.
type capacityPoint struct {
	Open int `json:"open"`
	// RSSMiB is VmRSS once the opening settled (what an operator sees);
	// RSSAfterGCMiB after a forced GC that returns free memory to the OS.
	RSSMiB        float64 `json:"rss_mib"`
	RSSAfterGCMiB float64 `json:"rss_after_gc_mib"`
	HeapMiB       float64 `json:"heap_in_use_mib"`
	// OpenCPUS is the process's CPU seconds (user+system) to open the
	// workflows added since the last point and page each once.
	OpenCPUS float64 `json:"open_cpu_s"`
	OpenS    float64 `json:"open_s"`
	// IdleCPUPct is CPU over the idle window while holding them, in % of
	// one core.
	IdleCPUPct float64 `json:"idle_cpu_pct"`
	Unpaged    int     `json:"unpaged"`
}

type capacityDetail struct {
	Incident []capacityPoint `json:"incident"`
	Floor    []capacityPoint `json:"floor"`
}

func runCapacity(ctx context.Context, o *options) ([]figure, any, error) {
	var sizes []int
	for _, f := range strings.Split(o.capacitySizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, nil, fmt.Errorf("-capacity-n: %q is not a positive number", f)
		}
		sizes = append(sizes, o.scaled(n))
	}
	if !slices.IsSorted(sizes) {
		return nil, nil, fmt.Errorf("-capacity-n must be ascending, got %s", o.capacitySizes)
	}
	var d capacityDetail
	var err error
	if d.Incident, err = capacityChild(ctx, capacityArgs{Kind: "incident", Sizes: sizes, WindowS: o.capacityWindow.Seconds(), SettleS: o.capacitySettle.Seconds(), Temporal: o.temporal}); err != nil {
		return nil, nil, err
	}
	if d.Floor, err = capacityChild(ctx, capacityArgs{Kind: "floor", Sizes: sizes, WindowS: o.capacityWindow.Seconds(), SettleS: o.capacitySettle.Seconds(), Temporal: o.temporal}); err != nil {
		return nil, nil, err
	}
	var figs []figure
	for i, n := range sizes {
		in, fl := d.Incident[i], d.Floor[i]
		rss := fig("capacity", fmt.Sprintf("RSS with %d open", n), "MiB", in.RSSMiB).withFloor(fl.RSSMiB).
			note(fmt.Sprintf("after a forced GC %.0f vs %.0f MiB; Go heap in use %.0f vs %.0f MiB", in.RSSAfterGCMiB, fl.RSSAfterGCMiB, in.HeapMiB, fl.HeapMiB))
		if i == len(sizes)-1 {
			rss = rss.goal("ratio <= 1.1", ratioAtMost(1.1))
		}
		added := n
		if i > 0 {
			added -= sizes[i-1]
		}
		figs = append(figs, rss,
			fig("capacity", fmt.Sprintf("CPU to open %d more (to %d)", added, n), "cpu-s", in.OpenCPUS).withFloor(fl.OpenCPUS),
			fig("capacity", fmt.Sprintf("idle CPU holding %d", n), "% core", in.IdleCPUPct).withFloor(fl.IdleCPUPct),
		)
	}
	return figs, d, nil
}

func capacityChild(ctx context.Context, a capacityArgs) ([]capacityPoint, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find this binary: %w", err)
	}
	args, _ := json.Marshal(a)
	cmd := exec.CommandContext(ctx, exe)
	cmd.Env = append(os.Environ(), childEnv+"=capacity", childArgsEnv+"="+string(args))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, progress
	logf("capacity: a child process holds %s workflows at %v", a.Kind, a.Sizes)
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("capacity child (%s): %w", a.Kind, err)
	}
	var pts []capacityPoint
	if err := json.Unmarshal(out.Bytes(), &pts); err != nil {
		return nil, fmt.Errorf("capacity child (%s) answered %q: %w", a.Kind, out.String(), err)
	}
	if len(pts) != len(a.Sizes) {
		return nil, fmt.Errorf("capacity child (%s): %d points for %d sizes", a.Kind, len(pts), len(a.Sizes))
	}
	return pts, nil
}

func childMain(kind string) int {
	if kind != "capacity" {
		fmt.Fprintf(os.Stderr, "bench child: unknown kind %q\n", kind)
		return 2
	}
	var a capacityArgs
	if err := json.Unmarshal([]byte(os.Getenv(childArgsEnv)), &a); err != nil {
		fmt.Fprintln(os.Stderr, "bench child: arguments:", err)
		return 2
	}
	pts, err := holdOpen(context.Background(), a)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench child:", err)
		return 1
	}
	b, _ := json.Marshal(pts)
	fmt.Println(string(b))
	return 0
}

// holdOpen opens workflows up to each size, pages each once, then
// measures memory and an idle window of CPU while they hold their timers
// (the incident's step 2 and the floor's timer, both a day out).
func holdOpen(ctx context.Context, a capacityArgs) ([]capacityPoint, error) {
	rec := newPageRecorder()
	s, err := startStack(ctx, stackOptions{configYAML: configYAML([][]time.Duration{{24 * time.Hour}}, false), notifier: rec,
		floor: &floorActivities{rec: rec}, temporal: a.Temporal})
	if err != nil {
		return nil, err
	}
	defer s.stop()
	var pts []capacityPoint
	var ids []string
	opened := 0
	for _, n := range a.Sizes {
		cpu0, t0 := cpuSeconds(), time.Now()
		var more []string
		prefix := fmt.Sprintf("capacity-%s-%d", s.run, n)
		if a.Kind == "incident" {
			more, _, err = openIncidents(ctx, s, rec, prefix, n-opened, func(time.Time) int { return 0 })
		} else {
			more, _, err = openFloors(ctx, s, rec, "floor-"+prefix, n-opened, func(time.Time) time.Time { return time.Time{} })
		}
		if err != nil {
			return nil, err
		}
		ids = append(ids, more...)
		opened = n
		paged := rec.waitPaged(ctx, ids, 1, 10*time.Minute)
		p := capacityPoint{Open: n, OpenCPUS: cpuSeconds() - cpu0, OpenS: time.Since(t0).Seconds(), Unpaged: len(ids) - paged}
		time.Sleep(time.Duration(a.SettleS * float64(time.Second)))
		p.RSSMiB = rssMiB()
		stopCPU := profileStart(fmt.Sprintf("%s-%d-idle.cpu", a.Kind, n))
		cpu1 := cpuSeconds()
		time.Sleep(time.Duration(a.WindowS * float64(time.Second)))
		p.IdleCPUPct = (cpuSeconds() - cpu1) / a.WindowS * 100
		stopCPU()
		runtime.GC()
		debug.FreeOSMemory()
		p.RSSAfterGCMiB = rssMiB()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		p.HeapMiB = float64(ms.HeapInuse) / (1 << 20)
		profileHeap(fmt.Sprintf("%s-%d.heap", a.Kind, n))
		fmt.Fprintf(os.Stderr, "%s capacity %s: %d open (opened in %.1f s, %.1f CPU s, %d unpaged): RSS %.0f MiB (%.0f after GC), heap %.0f MiB, stacks %.0f MiB in %d goroutines, idle CPU %.1f%%\n",
			time.Now().Format("15:04:05"), a.Kind, n, p.OpenS, p.OpenCPUS, p.Unpaged, p.RSSMiB, p.RSSAfterGCMiB, p.HeapMiB, float64(ms.StackInuse)/(1<<20), runtime.NumGoroutine(), p.IdleCPUPct)
		pts = append(pts, p)
	}
	return pts, nil
}

// rssMiB is this process's resident set (VmRSS), in MiB.
func rssMiB() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}

// cpuSeconds is this process's user + system CPU time so far.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	tv := func(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
	return tv(ru.Utime) + tv(ru.Stime)
}

// profileEnv names a directory the capacity child writes profiles to: a
// CPU profile of each idle window and a heap profile at each point, so
// where an open incident's memory and idle CPU go can be read with
// go tool pprof.
const profileEnv = "INCIDENTFLOW_BENCH_PROFILE"

func profileStart(name string) (stop func()) {
	f := profileFile(name)
	if f == nil {
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		fmt.Fprintln(os.Stderr, "bench child: profile:", err)
		f.Close()
		return func() {}
	}
	return func() { pprof.StopCPUProfile(); f.Close() }
}

func profileHeap(name string) {
	f := profileFile(name)
	if f == nil {
		return
	}
	defer f.Close()
	if err := pprof.WriteHeapProfile(f); err != nil {
		fmt.Fprintln(os.Stderr, "bench child: profile:", err)
	}
}

// profileFile creates name in the profile directory; nil when none is
// named (or it cannot be written, which is said).
func profileFile(name string) *os.File {
	dir := os.Getenv(profileEnv)
	if dir == "" {
		return nil
	}
	f, err := os.Create(filepath.Join(dir, name))
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench child: profile:", err)
		return nil
	}
	return f
}
