package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/realmgate/realmgate/adapters/adaptertest"
	"github.com/realmgate/realmgate/hostd/internal/daemon"
)

// faultAdapter is one adapter of the fault project: a backend (the hostile wasm module of
// adapters/wasm/testdata/hostile, or the fault plugin built from testdata/faultplugin), its
// procedures and the backend attributes that set its limits.
type faultAdapter struct {
	name, kind string
	procs      []string
	attrs      string
}

// faultAdapters are the adapters of the fault test: two healthy ones and one per fault, each
// in its own sandbox or process so that a fault reaches only its own adapter's calls. Loop is
// saturated on purpose: two calls run, two wait, the rest are refused as busy. Grow has time
// enough to reach its memory limit on a loaded machine under the race detector.
var faultAdapters = []faultAdapter{
	{"Healthy", "wasm", []string{"echo"}, `instances="4"`},
	{"Loop", "wasm", []string{"loop"}, `callTimeoutMs="500" instances="2" maxConcurrent="2" maxQueue="2"`},
	{"Grow", "wasm", []string{"grow"}, `memoryPages="256" instances="2" callTimeoutMs="30000"`},
	{"Trap", "wasm", []string{"trap"}, `instances="2"`},
	{"Steady", "plugin", []string{"echo", "pid"}, ``},
	{"Hang", "plugin", []string{"hang", "pid"}, `callTimeoutMs="500"`},
	{"Crash", "plugin", []string{"crash", "pid"}, ``},
}

// faultProject writes testdata/faultproject with faultAdapters into a temporary folder, every
// module and plugin pinned by its SHA-256, and returns the folder.
func faultProject(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS("testdata/faultproject")); err != nil {
		t.Fatal(err)
	}
	module := adaptertest.BuildGoWasm(t, "../adapters/wasm/testdata/hostile")
	var inputs []string
	for _, pattern := range []string{"testdata/faultplugin/*.go", "../plugins/*.go", "../plugins/*/*.go", "../plugins/*/*/*.go", "../adapters/*.go", "../internal/*/*.go", "../go.mod", "../go.sum"} {
		files, _ := filepath.Glob(pattern)
		inputs = append(inputs, files...)
	}
	plugin := adaptertest.CachedBuild(t, "faultplugin", inputs, "", func(out string) error {
		if b, err := exec.Command("go", "build", "-o", out, "./testdata/faultplugin").CombinedOutput(); err != nil {
			return errors.New(string(b))
		}
		return nil
	})
	for _, a := range faultAdapters {
		var backend string
		switch a.kind {
		case "wasm":
			bin := filepath.Join(dir, "adapters", a.name, "hostile.wasm")
			copyFile(t, module, bin)
			backend = fmt.Sprintf(`<backend kind="wasm" module="hostile.wasm" sha256="%s" %s/>`, fileSHA256(t, bin), a.attrs)
		case "plugin":
			bin := filepath.Join(dir, "adapters", a.name, "faultplugin")
			copyFile(t, plugin, bin)
			if err := os.Chmod(bin, 0o755); err != nil {
				t.Fatal(err)
			}
			backend = fmt.Sprintf(`<backend kind="plugin" command="./faultplugin" sha256="%s" %s/>`, fileSHA256(t, bin), a.attrs)
		}
		var procs strings.Builder
		for _, p := range a.procs {
			fmt.Fprintf(&procs, "\t<procedure name=%q securityTest=\"wl_unprotected\"/>\n", p)
		}
		mustWrite(t, filepath.Join(dir, "adapters", a.name, a.name+".xml"), fmt.Sprintf(`<?xml version="1.0" encoding="UTF-8"?>
<wl:adapter name=%q xmlns:wl="http://www.ibm.com/mfp/integration">
	%s
%s</wl:adapter>
`, a.name, backend, procs.String()))
	}
	return dir
}

// faultOutcome is what one call over HTTP came back with.
type faultOutcome struct {
	status     int
	code       string // the body's "error", "" on success
	message    string
	retryAfter string
}

// callProcedure calls adapter.procedure of FaultApp over HTTP.
func callProcedure(hc *http.Client, d *daemon.Daemon, adapter, procedure string) (faultOutcome, error) {
	req, err := http.NewRequest("POST", baseURL(d)+"/api/v1/adapters/"+adapter+"/"+procedure, strings.NewReader(`{"parameters":[]}`))
	if err != nil {
		return faultOutcome{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("WL-App-Id", "FaultApp")
	req.Header.Set("WL-App-Environment", "mobilewebapp")
	req.Header.Set("WL-App-Version", "1.0")
	resp, err := hc.Do(req)
	if err != nil {
		return faultOutcome{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return faultOutcome{}, err
	}
	var body struct {
		Error   string `json:"error"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal(b, &body); err != nil {
		return faultOutcome{}, fmt.Errorf("%s.%s: %d %q: %w", adapter, procedure, resp.StatusCode, b, err)
	}
	return faultOutcome{status: resp.StatusCode, code: body.Error, message: body.Message, retryAfter: resp.Header.Get("Retry-After")}, nil
}

// faultKind is one kind of call of the load: the adapter and procedure, how many clients call
// it at once, and the error codes with their statuses that its calls may fail with (none for
// the healthy ones); main is the code that shows the fault happened.
type faultKind struct {
	name, adapter, procedure string
	clients                  int
	allowed                  map[string]int
	main                     string
	busy                     []string // what a busy answer may say: the limits of the adapter's XML
}

// faultTally counts the calls of one kind.
type faultTally struct {
	mu       sync.Mutex
	sent, ok int
	failed   map[string]int
	bad      []string // calls that failed otherwise than allowed
}

func (ft *faultTally) add(k faultKind, o faultOutcome, err error) {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	ft.sent++
	switch {
	case err != nil:
		ft.bad = append(ft.bad, err.Error())
	case o.status == http.StatusOK && o.code == "":
		ft.ok++
	default:
		ft.failed[o.code]++
		want, ok := k.allowed[o.code]
		switch {
		case !ok || want != o.status:
			ft.bad = append(ft.bad, fmt.Sprintf("%d %s: %s", o.status, o.code, o.message))
		case o.code == "adapter_busy" && (o.retryAfter != "1" || !strings.HasPrefix(o.message, "adapter "+k.adapter+" is busy: ") ||
			!slices.ContainsFunc(k.busy, func(b string) bool { return strings.Contains(o.message, b) })):
			ft.bad = append(ft.bad, fmt.Sprintf("busy answer with Retry-After %q and message %q", o.retryAfter, o.message))
		}
	}
}

// TestAdapterFaultsUnderLoad: while clients call two healthy adapters (a wasm module and a
// plugin), others call a wasm procedure that loops (on an adapter saturated on purpose), one
// that allocates until its memory limit, one that traps, a plugin procedure that hangs ignoring
// its cancellation and one that crashes its process. Every healthy call succeeds; every faulty
// call fails with its own code and status, and only those; the daemon's goroutines and heap
// come back to their level before the load; the processes of the hung plugin are killed after
// the grace period, and those of the crashing one relaunched a bounded number of times.
func TestAdapterFaultsUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a wasm module and a plugin and loads the daemon for seconds")
	}
	dir := faultProject(t)
	d := startDaemon(t, dir, "")
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}

	// Warm up: the healthy adapters under the load's concurrency, so that the baseline holds
	// their full pools of warm instances, and the faulty plugins' processes.
	var warm sync.WaitGroup
	for range 4 {
		for _, a := range []string{"Healthy", "Steady"} {
			warm.Go(func() {
				for range 25 {
					if o, err := callProcedure(hc, d, a, "echo"); err != nil || o.status != http.StatusOK {
						t.Errorf("%s.echo before the load: %+v %v", a, o, err)
						return
					}
				}
			})
		}
	}
	warm.Wait()
	for _, a := range []string{"Hang", "Crash"} {
		if o, err := callProcedure(hc, d, a, "pid"); err != nil || o.status != http.StatusOK {
			t.Fatalf("%s.pid before the load: %+v %v", a, o, err)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	hangBin := filepath.Join(dir, "adapters", "Hang", "faultplugin")
	crashBin := filepath.Join(dir, "adapters", "Crash", "faultplugin")
	firstHang := processesOf(hangBin)
	if len(firstHang) != 1 {
		t.Fatalf("%d processes of the hang plugin before the load, want 1", len(firstHang))
	}
	kinds := []faultKind{
		{name: "healthy wasm", adapter: "Healthy", procedure: "echo", clients: 4},
		{name: "healthy plugin", adapter: "Steady", procedure: "echo", clients: 4},
		{name: "wasm loop", adapter: "Loop", procedure: "loop", clients: 6, main: "adapter_timeout", busy: []string{"2 calls are running and 2 waiting", "no call ended within 500ms"},
			allowed: map[string]int{"adapter_timeout": http.StatusGatewayTimeout, "adapter_busy": http.StatusServiceUnavailable}},
		{name: "wasm out of memory", adapter: "Grow", procedure: "grow", clients: 2, main: "adapter_out_of_memory",
			allowed: map[string]int{"adapter_out_of_memory": http.StatusInternalServerError}},
		{name: "wasm trap", adapter: "Trap", procedure: "trap", clients: 2, main: "adapter_failure",
			allowed: map[string]int{"adapter_failure": http.StatusInternalServerError}},
		// A hung call times out; the calls in flight when its process is killed, and those
		// refused while its relaunch backs off, find the plugin unavailable.
		{name: "plugin hang", adapter: "Hang", procedure: "hang", clients: 3, main: "adapter_timeout",
			allowed: map[string]int{"adapter_timeout": http.StatusGatewayTimeout, "adapter_unavailable": http.StatusServiceUnavailable}},
		{name: "plugin crash", adapter: "Crash", procedure: "crash", clients: 2, main: "adapter_unavailable",
			allowed: map[string]int{"adapter_unavailable": http.StatusServiceUnavailable}},
	}
	// The healthy adapters alone first, for the peer of their throughput under the faults.
	const alone, load = 3 * time.Second, 6 * time.Second
	const minHealthyShare = 0.03
	healthy := runLoad(hc, d, kinds[:2], alone)
	hc.Transport.(*http.Transport).CloseIdleConnections()
	goroutines, heap := baseline()
	tallies := runLoad(hc, d, kinds, load)

	t.Logf("%-20s %6s %6s %6s  %s", "kind", "sent", "ok", "failed", "failures by code")
	for i, k := range kinds {
		ft := tallies[i]
		codes := make([]string, 0, len(ft.failed))
		for c, n := range ft.failed {
			codes = append(codes, fmt.Sprintf("%s %d", c, n))
		}
		slices.Sort(codes)
		t.Logf("%-20s %6d %6d %6d  %s", k.name, ft.sent, ft.ok, ft.sent-ft.ok, strings.Join(codes, ", "))
		if len(ft.bad) > 0 {
			t.Errorf("%s: %d calls failed otherwise than allowed, first: %s", k.name, len(ft.bad), ft.bad[0])
		}
		if ft.sent == 0 {
			t.Errorf("%s: no call sent", k.name)
		}
		if k.main != "" && ft.failed[k.main] == 0 {
			t.Errorf("%s: no call failed with %s: the fault never happened", k.name, k.main)
		}
		if k.main != "" && ft.ok > 0 {
			t.Errorf("%s: %d calls succeeded", k.name, ft.ok)
		}
	}
	for i, k := range kinds[:2] {
		if len(healthy[i].bad) > 0 || healthy[i].ok != healthy[i].sent {
			t.Errorf("%s alone: %d of %d calls failed", k.name, healthy[i].sent-healthy[i].ok, healthy[i].sent)
		}
		before, during := float64(healthy[i].ok)/alone.Seconds(), float64(tallies[i].ok)/load.Seconds()
		t.Logf("%s: %.0f calls/s alone, %.0f calls/s beside the faults (%.2f×)", k.name, before, during, during/before)
		// The faulty clients take most of the CPU, yet looping guests must not stall the
		// daemon: they did, to 0.005×, while they could hold every P (reserveGuestProcs).
		if during < minHealthyShare*before {
			t.Errorf("%s beside the faults ran at %.3f× its rate alone, below %.2f×: the faults stall the daemon", k.name, during/before, minHealthyShare)
		}
	}
	if loop := tallies[2]; loop.failed["adapter_busy"] == 0 {
		t.Errorf("wasm loop: no call was refused as busy, though six clients share two slots and a queue of two")
	}

	// The hung plugin's first process is gone, and once the last hung call's grace period has
	// passed, at most one process runs each faulty plugin.
	waitGone(t, firstHang[0])
	for _, bin := range []string{hangBin, crashBin} {
		for deadline := time.Now().Add(20 * time.Second); len(processesOf(bin)) > 1; time.Sleep(50 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%d processes of %s still run after the load", len(processesOf(bin)), bin)
			}
		}
	}

	// The daemon serves on, and its goroutines and heap come back to their level.
	for _, a := range []string{"Healthy", "Steady"} {
		if o, err := callProcedure(hc, d, a, "echo"); err != nil || o.status != http.StatusOK {
			t.Fatalf("%s.echo after the load: %+v %v", a, o, err)
		}
	}
	hc.Transport.(*http.Transport).CloseIdleConnections()
	const slackGoroutines, slackHeap = 8, 64 << 20
	var afterG int
	var afterH uint64
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		afterG, afterH = settle()
		if afterG <= goroutines+slackGoroutines && afterH <= heap+slackHeap {
			break
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("after the load: %d goroutines (%d before), heap %d MiB (%d MiB before)\n%s",
				afterG, goroutines, afterH>>20, heap>>20, buf[:runtime.Stack(buf, true)])
		}
	}
	t.Logf("goroutines %d before the load, %d after; heap in use %d MiB before, %d MiB after", goroutines, afterG, heap>>20, afterH>>20)
}

// baseline is the goroutine count and heap in use once the goroutines that end by themselves
// (connections the client closed) have ended: the least of the counts over half a second.
func baseline() (int, uint64) {
	g, h := settle()
	for range 10 {
		time.Sleep(50 * time.Millisecond)
		ng, nh := settle()
		g, h = min(g, ng), min(h, nh)
	}
	return g, h
}

// runLoad has the clients of each kind call its procedure for d, and returns the tallies.
func runLoad(hc *http.Client, d *daemon.Daemon, kinds []faultKind, dur time.Duration) []*faultTally {
	tallies := make([]*faultTally, len(kinds))
	stop := time.Now().Add(dur)
	var wg sync.WaitGroup
	for i, k := range kinds {
		tallies[i] = &faultTally{failed: map[string]int{}}
		for range k.clients {
			wg.Go(func() {
				for time.Now().Before(stop) {
					o, err := callProcedure(hc, d, k.adapter, k.procedure)
					tallies[i].add(k, o, err)
				}
			})
		}
	}
	wg.Wait()
	return tallies
}

// settle collects garbage and returns the goroutine count and the heap in use.
func settle() (int, uint64) {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return runtime.NumGoroutine(), ms.HeapInuse
}

// processesOf returns the running processes (zombies excluded) whose executable is bin.
func processesOf(bin string) []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe")); err == nil && exe == bin && alive(pid) {
			pids = append(pids, pid)
		}
	}
	return pids
}
