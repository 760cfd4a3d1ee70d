// Command hostdload drives concurrent simulated clients through the flows of a Realmgate
// deployment, against one daemon or a load balancer in front of several, and reports what it
// measured: per flow (a run end to end) and per step (each request of a run, by route) the
// count, the throughput, the latency percentiles p50/p95/p99 and the maximum, and the errors by
// kind (an HTTP status, the server's error code or the client's error).
//
// The flows walk the load-test project, bench/pki-project (bench/prepare-project.sh readies it,
// bench/load-tool.sh starts a daemon on it and runs this command): an app instance's init with
// its challenges and password login, a login again on a session, calls of the Accounts adapter,
// access tokens minted and validated (by the daemon and offline, with package resource), device
// provisioning by the built-in CA and by the wasm and go-plugin PKI bridges, a device signing in
// with its certificate, user-certificate enrollment. They use the Go client SDK, whose requests
// a transport measures one by one, so a flow is what an app does and its steps are still seen.
//
// A run stops after -d or after -n flow runs, whichever comes first. Workers (-c) each take
// the next flow of a fixed interleaving of the selected flows (-flows) by their weights (-mix),
// so a count of runs covers every flow in proportion. While it runs, a progress line goes to
// stderr once a second. The exit status is 1 when more runs failed than -max-errors allows.
//
//	hostdload -url http://127.0.0.1:18480 -c 8 -d 30s -mix adapter=10,token=3,validation=3
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/realmgate/realmgate/client"
	"github.com/realmgate/realmgate/resource"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// options are the command's flags, checked.
type options struct {
	url, issuer string
	workers     int
	duration    time.Duration
	count       int64
	schedule    []string // the interleaving of the selected flows by weight
	selected    []string // the selected flows, in report order
	maxErrors   int64
	json        bool
	timeout     time.Duration
	users       []client.Credentials
	progress    time.Duration
	each        bool
	// offlineCache keeps the resource validator's cache of verified tokens (its default);
	// without it every offline validation verifies the token's signature.
	offlineCache bool
}

func parse(args []string, stderr io.Writer) (*options, error) {
	fs := flag.NewFlagSet("hostdload", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := &options{}
	fs.StringVar(&o.url, "url", "http://127.0.0.1:10080", "base URL of the daemon or of the load balancer in front of several")
	fs.StringVar(&o.issuer, "issuer", "", "iss of the access tokens, for offline validation (default: -url; a deployment behind a balancer names it in hostd.yaml tokens.issuer)")
	fs.IntVar(&o.workers, "c", 8, "concurrent workers (simulated clients)")
	fs.DurationVar(&o.duration, "d", 10*time.Second, "stop after this long (0: no time bound)")
	fs.Int64Var(&o.count, "n", 0, "stop after this many flow runs in all (0: no count bound)")
	flowList := fs.String("flows", "all", "comma-separated flows to run, or all")
	mix := fs.String("mix", "", "weights of the selected flows, NAME=W,... (default 1 each)")
	fs.Int64Var(&o.maxErrors, "max-errors", 0, "exit with status 1 when more flow runs than this fail")
	fs.BoolVar(&o.json, "json", false, "print the report as JSON on stdout")
	fs.DurationVar(&o.timeout, "timeout", 30*time.Second, "bound of one HTTP request")
	users := fs.String("users", "alice:alice-password,bob:bob-password", "USER:PASSWORD,... of the project's password file; worker i signs in as user i mod n")
	fs.DurationVar(&o.progress, "progress", time.Second, "interval of the progress line on stderr (0: none)")
	fs.BoolVar(&o.offlineCache, "offline-cache", true, "let the offline validator cache verified tokens, as resource servers do by default (false: verify the signature every time)")
	fs.BoolVar(&o.each, "each", false, "run each selected flow alone, one after the other, each bounded by -d and -n, and compare their throughput with the healthz flow's")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: hostdload [flags]\n\nFlows:\n")
		for _, f := range flows {
			fmt.Fprintf(fs.Output(), "  %-17s %s\n", f.name, f.doc)
		}
		fmt.Fprintf(fs.Output(), "\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if o.issuer == "" {
		o.issuer = o.url
	}
	if o.workers < 1 {
		return nil, errors.New("-c must be at least 1")
	}
	if o.duration < 0 || o.count < 0 || o.maxErrors < 0 || o.timeout <= 0 || o.progress < 0 {
		return nil, errors.New("-d, -n, -max-errors and -progress must not be negative, -timeout must be positive")
	}
	if o.duration == 0 && o.count == 0 {
		return nil, errors.New("give a bound: -d, -n or both")
	}
	for _, u := range strings.Split(*users, ",") {
		name, pw, ok := strings.Cut(u, ":")
		if !ok || name == "" || pw == "" {
			return nil, fmt.Errorf("-users: %q is not USER:PASSWORD", u)
		}
		o.users = append(o.users, client.Credentials{Username: name, Password: pw})
	}
	weights := map[string]int{}
	if *flowList == "all" {
		for _, f := range flows {
			weights[f.name] = 1
		}
	} else {
		for _, name := range strings.Split(*flowList, ",") {
			if _, ok := flowNamed(name); !ok {
				return nil, fmt.Errorf("-flows: unknown flow %q (known: %s)", name, knownFlows())
			}
			weights[name] = 1
		}
	}
	if *mix != "" {
		for _, m := range strings.Split(*mix, ",") {
			name, w, ok := strings.Cut(m, "=")
			n, err := strconv.Atoi(w)
			if !ok || err != nil || n < 1 || n > 1000 {
				return nil, fmt.Errorf("-mix: %q is not NAME=WEIGHT with a weight from 1 to 1000", m)
			}
			if _, ok := weights[name]; !ok {
				return nil, fmt.Errorf("-mix: flow %q is not selected by -flows (known: %s)", name, knownFlows())
			}
			weights[name] = n
		}
	}
	for _, f := range flows {
		if weights[f.name] > 0 {
			o.selected = append(o.selected, f.name)
		}
	}
	o.schedule = interleave(o.selected, weights)
	return o, nil
}

func knownFlows() string {
	names := make([]string, len(flows))
	for i, f := range flows {
		names[i] = f.name
	}
	return strings.Join(names, ", ")
}

// interleave spreads the flows by weight over one cycle (smooth weighted round robin), so any
// window of runs holds every flow in proportion and a short count still covers them all.
func interleave(names []string, weights map[string]int) []string {
	total := 0
	for _, n := range names {
		total += weights[n]
	}
	current := make([]int, len(names))
	out := make([]string, 0, total)
	for range total {
		best := 0
		for i, n := range names {
			current[i] += weights[n]
			if current[i] > current[best] {
				best = i
			}
		}
		current[best] -= total
		out = append(out, names[best])
	}
	return out
}

// counters feed the progress line.
type counters struct {
	runs, requests, errors atomic.Int64
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, err := parse(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "hostdload:", err)
		return 2
	}
	if o.each {
		return runEach(ctx, o, stdout, stderr)
	}
	r, err := load(ctx, o, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "hostdload:", err)
		return 1
	}
	if o.json {
		if err := writeJSON(stdout, r); err != nil {
			fmt.Fprintln(stderr, "hostdload:", err)
			return 1
		}
	} else {
		writeText(stdout, r)
	}
	return exitStatus(r.Errors, o.maxErrors, stderr)
}

func exitStatus(errs, bound int64, stderr io.Writer) int {
	if errs > bound {
		fmt.Fprintf(stderr, "hostdload: %d flow runs failed, more than -max-errors %d\n", errs, bound)
		return 1
	}
	return 0
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// runEach runs the selected flows one at a time, so each figure is that flow's own throughput
// on the deployment, and prints them beside the healthz flow's, the floor of a request measured
// in the same run.
func runEach(ctx context.Context, o *options, stdout, stderr io.Writer) int {
	var reports []Report
	var errs int64
	for _, name := range o.selected {
		one := *o
		one.selected, one.schedule = []string{name}, []string{name}
		r, err := load(ctx, &one, stderr)
		if err != nil {
			fmt.Fprintln(stderr, "hostdload:", err)
			return 1
		}
		if ctx.Err() != nil {
			break
		}
		reports = append(reports, r)
		errs += r.Errors
	}
	if o.json {
		if err := writeJSON(stdout, reports); err != nil {
			fmt.Fprintln(stderr, "hostdload:", err)
			return 1
		}
	} else {
		writeEach(stdout, reports)
	}
	return exitStatus(errs, o.maxErrors, stderr)
}

// writeEach prints one line per flow run alone, with its throughput as a ratio of the healthz
// flow's when that ran.
func writeEach(w io.Writer, reports []Report) {
	var floor float64
	for _, r := range reports {
		if len(r.Flows) == 1 && r.Flows[0].Name == "healthz" {
			floor = r.Flows[0].PerSecond
		}
	}
	fmt.Fprintf(w, "%-17s %7s %9s %9s %9s %9s %9s %7s %9s\n", "flow (alone)", "workers", "runs/s", "p50 ms", "p95 ms", "p99 ms", "max ms", "errors", "x healthz")
	for _, r := range reports {
		for _, f := range r.Flows {
			ratio := "-"
			if floor > 0 {
				ratio = fmt.Sprintf("%.4f", f.PerSecond/floor)
			}
			fmt.Fprintf(w, "%-17s %7d %9.1f %9.2f %9.2f %9.2f %9.2f %7d %9s\n", f.Name, r.Workers, f.PerSecond,
				f.Latency.P50, f.Latency.P95, f.Latency.P99, f.Latency.Max, f.Errors, ratio)
		}
	}
	for _, r := range reports {
		for _, f := range r.Flows {
			for _, kind := range sortedKeys(f.ErrorsByKind) {
				fmt.Fprintf(w, "error %s %s: %d, e.g. %s\n", f.Name, kind, f.ErrorsByKind[kind], f.ErrorExamples[kind])
			}
		}
	}
}

func cacheSize(on bool) int {
	if on {
		return 0 // the default
	}
	return -1
}

// load runs the workers until a bound is reached and merges what they measured.
func load(ctx context.Context, o *options, progress io.Writer) (Report, error) {
	base := &http.Transport{
		Proxy:               nil, // the target is named by -url, never reached through a proxy
		MaxIdleConns:        4 * o.workers,
		MaxIdleConnsPerHost: 4 * o.workers,
		IdleConnTimeout:     90 * time.Second,
	}
	defer base.CloseIdleConnections()
	var live counters
	cfg := &config{
		url: strings.TrimRight(o.url, "/"), issuer: o.issuer, users: o.users, runID: newRunID(),
		hc: &http.Client{Transport: &recordingTransport{base: base, requests: &live}, Timeout: o.timeout},
	}
	validator, err := resource.New(resource.Config{
		JWKSURL: cfg.url + "/oauth/jwks", Issuer: o.issuer, CacheSize: cacheSize(o.offlineCache),
		HTTPClient: &http.Client{Transport: base, Timeout: o.timeout},
	})
	if err != nil {
		return Report{}, fmt.Errorf("offline validator: %w", err)
	}

	// The time bound stops new runs; a run in flight at the end finishes and counts. An
	// interrupt (ctx) cuts the runs in flight, which are then not counted.
	var stopAt time.Time
	if o.duration > 0 {
		stopAt = time.Now().Add(o.duration)
	}
	var next atomic.Int64
	stats := make([]*workerStats, o.workers)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range o.workers {
		stats[i] = newWorkerStats()
		w := &worker{cfg: cfg, id: i, user: o.users[i%len(o.users)], validator: validator}
		wg.Go(func() {
			for ctx.Err() == nil && (stopAt.IsZero() || time.Now().Before(stopAt)) {
				n := next.Add(1) - 1
				if o.count > 0 && n >= o.count {
					return
				}
				f, _ := flowNamed(o.schedule[n%int64(len(o.schedule))])
				var err error
				t0 := time.Now()
				if f.setup != nil {
					err = f.setup(unmeasured(ctx), w)
				}
				if err == nil {
					t0 = time.Now()
					err = f.run(withSink(ctx, &sink{stats: stats[i], flow: f.name}), w)
				}
				if ctx.Err() != nil {
					return
				}
				kind := ""
				if err != nil {
					kind = errorKind(err)
					live.errors.Add(1)
				}
				stats[i].run(f.name, time.Since(t0), kind, err)
				live.runs.Add(1)
			}
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	if o.progress > 0 {
		tick := time.NewTicker(o.progress)
		defer tick.Stop()
		var last int64
	wait:
		for {
			select {
			case <-done:
				break wait
			case <-tick.C:
				req := live.requests.Load()
				el := time.Since(start)
				fmt.Fprintf(progress, "hostdload: %5.1fs  runs %d  requests %d  %.0f req/s (last %s: %.0f/s)  errors %d\n",
					el.Seconds(), live.runs.Load(), req, float64(req)/el.Seconds(), o.progress, float64(req-last)/o.progress.Seconds(), live.errors.Load())
				last = req
			}
		}
	}
	<-done
	elapsed := time.Since(start)
	return report(cfg.url, o.workers, elapsed, o.selected, stats), nil
}
