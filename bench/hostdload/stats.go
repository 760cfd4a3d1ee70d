package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"slices"
	"sort"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/realmgate/realmgate/client"
)

// samples are the measurements of one flow or one step, kept by one worker (merged at the end).
type samples struct {
	latencies []time.Duration
	statuses  map[int]int64
	errors    map[string]int64
	// example is the first error message of each kind, for the report: one line a person can
	// act on. Messages come from the client package, which bounds and cleans what the server
	// says; no request or token is part of them.
	example map[string]string
	// offline marks a step that sends no request.
	offline bool
}

func (s *samples) add(d time.Duration, status int, kind string, err error) {
	s.latencies = append(s.latencies, d)
	if status != 0 {
		if s.statuses == nil {
			s.statuses = map[int]int64{}
		}
		s.statuses[status]++
	}
	if kind != "" {
		if s.errors == nil {
			s.errors, s.example = map[string]int64{}, map[string]string{}
		}
		s.errors[kind]++
		if _, ok := s.example[kind]; !ok && err != nil {
			s.example[kind] = truncate(err.Error(), 300)
		}
	}
}

func (s *samples) merge(o *samples) {
	s.latencies = append(s.latencies, o.latencies...)
	for k, v := range o.statuses {
		if s.statuses == nil {
			s.statuses = map[int]int64{}
		}
		s.statuses[k] += v
	}
	for k, v := range o.errors {
		if s.errors == nil {
			s.errors, s.example = map[string]int64{}, map[string]string{}
		}
		s.errors[k] += v
		if _, ok := s.example[k]; !ok {
			s.example[k] = o.example[k]
		}
	}
}

// flowSamples are a flow's runs and the steps they made.
type flowSamples struct {
	runs     samples
	requests int64
	steps    map[string]*samples
}

// workerStats is what one worker measured. A worker records into its own, so workers do not
// contend; the lock covers the rare request a worker's client sends from another goroutine.
type workerStats struct {
	mu    sync.Mutex
	flows map[string]*flowSamples
}

func newWorkerStats() *workerStats { return &workerStats{flows: map[string]*flowSamples{}} }

func (w *workerStats) flow(name string) *flowSamples {
	f := w.flows[name]
	if f == nil {
		f = &flowSamples{steps: map[string]*samples{}}
		w.flows[name] = f
	}
	return f
}

// step records one step of a flow: an HTTP request (status is its reply's, 0 when none came)
// or, with status 0 and http false, an operation without a request (an offline validation).
func (w *workerStats) step(flow, step string, d time.Duration, http bool, status int, kind string, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	f := w.flow(flow)
	s := f.steps[step]
	if s == nil {
		s = &samples{}
		f.steps[step] = s
	}
	s.add(d, status, kind, err)
	s.offline = !http
	if http {
		f.requests++
	}
}

func (w *workerStats) run(flow string, d time.Duration, kind string, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.flow(flow).runs.add(d, 0, kind, err)
}

// sink is where the requests of one flow run are recorded; the recording transport finds it
// in the request's context. Requests without one (a worker's setup: signing in once, obtaining
// the token the validation flows check) are not measured.
type sink struct {
	stats *workerStats
	flow  string
}

type sinkKey struct{}

func withSink(ctx context.Context, s *sink) context.Context {
	return context.WithValue(ctx, sinkKey{}, s)
}

// recordingTransport measures every request sent in a flow run as a step named by its route.
type recordingTransport struct {
	base     http.RoundTripper
	requests *counters
}

func (t *recordingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	s, _ := req.Context().Value(sinkKey{}).(*sink)
	if s == nil {
		return t.base.RoundTrip(req)
	}
	start := time.Now()
	resp, err := t.base.RoundTrip(req)
	d := time.Since(start)
	t.requests.requests.Add(1)
	status, kind := 0, ""
	if err != nil {
		kind = errorKind(err)
	} else {
		status = resp.StatusCode
		// 401 is a challenge, the protocol's normal answer to a request that has not passed
		// its realms yet; any other status from 400 up is a failure of the step.
		if status >= 400 && status != http.StatusUnauthorized {
			kind = strconv.Itoa(status)
		}
	}
	var stepErr error
	if kind != "" {
		stepErr = err
		if stepErr == nil {
			stepErr = fmt.Errorf("%s %s: %s", req.Method, stepName(req), resp.Status)
		}
	}
	s.stats.step(s.flow, stepName(req), d, true, status, kind, stepErr)
	return resp, err
}

// stepName names a request by its route: the realm, adapter procedure or application it
// addresses, without ids, tokens or query.
func stepName(req *http.Request) string {
	p := req.URL.Path
	seg := splitPath(p)
	switch {
	case len(seg) == 6 && seg[0] == "api" && seg[1] == "v1" && seg[2] == "apps" && seg[5] == "init":
		return "init " + seg[3] + "/" + seg[4]
	case len(seg) == 4 && seg[0] == "api" && seg[1] == "v1" && seg[2] == "auth":
		return "answer " + seg[3]
	case len(seg) == 4 && seg[0] == "api" && seg[1] == "v1" && seg[2] == "logout":
		return "logout " + seg[3]
	case len(seg) == 5 && seg[0] == "api" && seg[1] == "v1" && seg[2] == "adapters":
		return "adapter " + seg[3] + "." + seg[4]
	case len(seg) == 2 && seg[0] == "oauth":
		return "oauth " + seg[1]
	}
	return req.Method + " " + p
}

func splitPath(p string) []string {
	var out []string
	for len(p) > 0 {
		for len(p) > 0 && p[0] == '/' {
			p = p[1:]
		}
		i := 0
		for i < len(p) && p[i] != '/' {
			i++
		}
		if i > 0 {
			out = append(out, p[:i])
		}
		p = p[i:]
	}
	return out
}

// errorKind names the kind of a failure, from a bounded set: the server's error code or HTTP
// status, the client's own error, or what went wrong on the connection.
func errorKind(err error) string {
	var se *statusError
	var ce *client.Error
	switch {
	case errors.As(err, &se):
		return strconv.Itoa(se.status)
	case errors.As(err, &ce):
		if ce.Code != "" {
			return ce.Code
		}
		return strconv.Itoa(ce.Status)
	}
	for _, k := range []struct {
		err  error
		kind string
	}{
		{client.ErrNoHandler, "no_handler"},
		{client.ErrTooManyRounds, "too_many_rounds"},
		{client.ErrCredentialsRejected, "credentials_rejected"},
		{client.ErrUnsupportedChallenge, "unsupported_challenge"},
		{client.ErrUnexpectedStatus, "unexpected_status"},
		{client.ErrMalformedResponse, "malformed_response"},
		{client.ErrResponseTooLarge, "response_too_large"},
		{client.ErrProvisioningRefused, "provisioning_refused"},
		{client.ErrEnrollmentRefused, "enrollment_refused"},
		{errUnexpected, "unexpected_reply"},
		{context.DeadlineExceeded, "timeout"},
		{os.ErrDeadlineExceeded, "timeout"},
		{context.Canceled, "canceled"},
		{syscall.ECONNREFUSED, "connection_refused"},
		{syscall.ECONNRESET, "connection_reset"},
		{io.ErrUnexpectedEOF, "connection_closed"},
		{io.EOF, "connection_closed"},
	} {
		if errors.Is(err, k.err) {
			return k.kind
		}
	}
	var ne net.Error
	if errors.As(err, &ne) {
		if ne.Timeout() {
			return "timeout"
		}
		return "network"
	}
	var re *client.RealmError
	if errors.As(err, &re) {
		return "realm_handler"
	}
	return "other"
}

// statusError is a reply of unexpected status to a request the tool sends itself.
type statusError struct {
	status int
	route  string
}

func (e *statusError) Error() string {
	return fmt.Sprintf("%s: status %d %s", e.route, e.status, http.StatusText(e.status))
}

// errUnexpected: a reply of the right status that does not say what the flow expects (an
// init without the user, an inactive token).
var errUnexpected = errors.New("unexpected reply")

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// Report is what a run measured, as -json prints it.
type Report struct {
	URL     string  `json:"url"`
	Workers int     `json:"workers"`
	Seconds float64 `json:"seconds"`
	// Runs counts flow runs, Requests the HTTP requests they sent (an offline validation is a
	// step without a request), Errors the runs that failed.
	Runs     int64        `json:"runs"`
	Requests int64        `json:"requests"`
	Errors   int64        `json:"errors"`
	Flows    []FlowReport `json:"flows"`
}

// FlowReport is one flow: its runs, end to end, and its steps.
type FlowReport struct {
	Name string `json:"name"`
	Stats
	Requests int64        `json:"requests"`
	Steps    []StepReport `json:"steps"`
}

// StepReport is one step of a flow: every request to one route, or the offline validations.
type StepReport struct {
	Name string `json:"name"`
	Stats
	Statuses map[string]int64 `json:"statuses,omitempty"`
	// Offline marks a step that sends no request (an offline validation).
	Offline bool `json:"offline,omitempty"`
}

// Stats are the figures of a flow or a step. Errors counts the failed ones, by kind in
// ErrorsByKind: an HTTP status, the server's error code, or the client's error.
type Stats struct {
	Count         int64             `json:"count"`
	PerSecond     float64           `json:"perSecond"`
	Latency       Latency           `json:"latencyMs"`
	Errors        int64             `json:"errors"`
	ErrorsByKind  map[string]int64  `json:"errorsByKind,omitempty"`
	ErrorExamples map[string]string `json:"errorExamples,omitempty"`
}

// Latency holds percentiles (nearest rank) and the maximum, in milliseconds.
type Latency struct {
	P50 float64 `json:"p50"`
	P95 float64 `json:"p95"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

func statsOf(s *samples, elapsed time.Duration) Stats {
	lat := slices.Clone(s.latencies)
	slices.Sort(lat)
	st := Stats{Count: int64(len(lat)), ErrorsByKind: s.errors, ErrorExamples: s.example}
	if elapsed > 0 {
		st.PerSecond = float64(len(lat)) / elapsed.Seconds()
	}
	for _, n := range s.errors {
		st.Errors += n
	}
	if len(lat) > 0 {
		st.Latency = Latency{P50: ms(percentile(lat, 50)), P95: ms(percentile(lat, 95)), P99: ms(percentile(lat, 99)), Max: ms(lat[len(lat)-1])}
	}
	return st
}

// percentile is the nearest-rank percentile of sorted durations.
func percentile(sorted []time.Duration, p float64) time.Duration {
	i := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	return sorted[max(i, 0)]
}

// ms is d in milliseconds, to the nanosecond: a cached offline validation takes well under a
// microsecond.
func ms(d time.Duration) float64 { return float64(d) / 1e6 }

// report merges the workers' measurements.
func report(url string, workers int, elapsed time.Duration, order []string, all []*workerStats) Report {
	merged := map[string]*flowSamples{}
	for _, w := range all {
		w.mu.Lock()
		for name, f := range w.flows {
			m := merged[name]
			if m == nil {
				m = &flowSamples{steps: map[string]*samples{}}
				merged[name] = m
			}
			m.runs.merge(&f.runs)
			m.requests += f.requests
			for sn, s := range f.steps {
				if m.steps[sn] == nil {
					m.steps[sn] = &samples{offline: s.offline}
				}
				m.steps[sn].merge(s)
			}
		}
		w.mu.Unlock()
	}
	r := Report{URL: url, Workers: workers, Seconds: math.Round(elapsed.Seconds()*1000) / 1000}
	for _, name := range order {
		f := merged[name]
		if f == nil {
			continue
		}
		fr := FlowReport{Name: name, Stats: statsOf(&f.runs, elapsed), Requests: f.requests}
		names := make([]string, 0, len(f.steps))
		for sn := range f.steps {
			names = append(names, sn)
		}
		sort.Strings(names)
		for _, sn := range names {
			s := f.steps[sn]
			sr := StepReport{Name: sn, Stats: statsOf(s, elapsed), Offline: s.offline}
			if len(s.statuses) > 0 {
				sr.Statuses = map[string]int64{}
				for code, n := range s.statuses {
					sr.Statuses[strconv.Itoa(code)] = n
				}
			}
			fr.Steps = append(fr.Steps, sr)
		}
		r.Runs += fr.Count
		r.Requests += fr.Requests
		r.Errors += fr.Errors
		r.Flows = append(r.Flows, fr)
	}
	return r
}

// writeText prints the report as a table: each flow end to end, then its steps.
func writeText(w io.Writer, r Report) {
	fmt.Fprintf(w, "%s: %d workers, %.1f s, %d runs, %d requests (%.1f/s), %d errors\n\n",
		r.URL, r.Workers, r.Seconds, r.Runs, r.Requests, float64(r.Requests)/max(r.Seconds, 1e-9), r.Errors)
	fmt.Fprintf(w, "%-44s %8s %9s %9s %9s %9s %9s %7s\n", "flow / step", "count", "per s", "p50 ms", "p95 ms", "p99 ms", "max ms", "errors")
	line := func(name string, s Stats) {
		fmt.Fprintf(w, "%-44s %8d %9.1f %9.2f %9.2f %9.2f %9.2f %7d\n", truncate(name, 44), s.Count, s.PerSecond,
			s.Latency.P50, s.Latency.P95, s.Latency.P99, s.Latency.Max, s.Errors)
	}
	for _, f := range r.Flows {
		line(f.Name, f.Stats)
		for _, s := range f.Steps {
			line("  "+s.Name, s.Stats)
		}
	}
	for _, f := range r.Flows {
		for _, kind := range sortedKeys(f.ErrorsByKind) {
			fmt.Fprintf(w, "error %s %s: %d, e.g. %s\n", f.Name, kind, f.ErrorsByKind[kind], f.ErrorExamples[kind])
		}
		for _, s := range f.Steps {
			for _, kind := range sortedKeys(s.ErrorsByKind) {
				fmt.Fprintf(w, "error %s / %s %s: %d\n", f.Name, s.Name, kind, s.ErrorsByKind[kind])
			}
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
