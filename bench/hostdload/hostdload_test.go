package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/realmgate/realmgate/hostd/hostdtest"
)

// needTools skips the test when a tool it runs is missing, unless CI runs it
// (REALMGATE_REQUIRE_TOOLCHAINS, which .ci/run sets), where a missing tool fails it.
func needTools(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("REALMGATE_REQUIRE_TOOLCHAINS") != "" {
				t.Fatalf("%s is required in CI: %v (.ci/install-pki.sh installs openssl)", tool, err)
			}
			t.Skipf("%s is not installed: %v", tool, err)
		}
	}
}

var (
	prepareOnce sync.Once
	prepared    string
	prepareErr  error
	prepareOut  []byte
)

// project readies the load-test project with bench/prepare-project.sh, once per test binary:
// the same script the load scripts run, so they cannot drift apart.
func project(t *testing.T) string {
	t.Helper()
	needTools(t, "bash", "openssl", "awk", "sed", "sha256sum")
	prepareOnce.Do(func() {
		var dir string
		if dir, prepareErr = os.MkdirTemp("", "hostdload-"); prepareErr != nil {
			return
		}
		cmd := exec.Command("bash", "../prepare-project.sh", dir)
		prepareOut, prepareErr = cmd.CombinedOutput()
		prepared = filepath.Join(dir, "project")
	})
	if prepareErr != nil {
		t.Fatalf("bench/prepare-project.sh: %v\n%s", prepareErr, prepareOut)
	}
	return prepared
}

// dataFolder is a new data folder holding the bridge CA that the project's wasm bridges have the
// host sign with (bench/prepare-project.sh's bridge-data).
func dataFolder(t *testing.T) string {
	t.Helper()
	data := filepath.Join(t.TempDir(), "data")
	if err := os.CopyFS(data, os.DirFS(filepath.Join(filepath.Dir(prepared), "bridge-data"))); err != nil {
		t.Fatal(err)
	}
	for dir, mode := range map[string]os.FileMode{data: 0o700, filepath.Join(data, "bridge-ca"): 0o700, filepath.Join(data, "bridge-ca", "ca-key.pem"): 0o600} {
		if err := os.Chmod(dir, mode); err != nil {
			t.Fatal(err)
		}
	}
	return data
}

func TestMain(m *testing.M) {
	code := m.Run()
	if prepared != "" {
		os.RemoveAll(filepath.Dir(prepared))
	}
	os.Exit(code)
}

// TestEveryFlowAgainstADaemon runs every flow twice against a real daemon serving the load-test
// project and checks the report: no error, every flow and the steps it is made of, numbers that
// add up, ordered percentiles, and counts that match what the daemon received.
func TestEveryFlowAgainstADaemon(t *testing.T) {
	d := hostdtest.Start(t, project(t), hostdtest.Options{Data: dataFolder(t)})
	runs := 2 * len(flows)
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"-url", d.URL, "-issuer", d.Issuer, "-c", "3", "-n", strconv.Itoa(runs),
		"-d", "5m", "-json", "-progress", "50ms"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit status %d\nstderr:\n%s\nstdout:\n%s", code, stderr.String(), stdout.String())
	}
	var r Report
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		t.Fatalf("report: %v\n%s", err, stdout.String())
	}
	if !strings.Contains(stderr.String(), "hostdload: ") || !strings.Contains(stderr.String(), " req/s ") {
		t.Errorf("no progress line on stderr:\n%s", stderr.String())
	}

	// Each flow ran twice, with the steps it is made of.
	wantSteps := map[string][]string{
		"healthz":          {"GET /healthz"},
		"init":             {"answer BenchLogin", "init BenchWeb/mobilewebapp"},
		"login":            {"answer BenchLogin", "init BenchWeb/mobilewebapp", "logout BenchLogin"},
		"adapter":          {"adapter Accounts.getBalance"},
		"token":            {"oauth token"},
		"validation":       {"oauth validation"},
		"offline":          {"offline validation"},
		"provision":        {"answer BuiltinProvisioning", "init BenchBuiltin/android"},
		"provision-wasm":   {"answer WasmProvisioning", "init BenchWasm/android"},
		"provision-plugin": {"answer PluginProvisioning", "init BenchPlugin/android"},
		"device-signin":    {"answer BuiltinProvisioning", "init BenchBuiltin/android"},
		"enroll":           {"answer BenchLogin", "answer BenchUserCerts", "init BenchUsers/mobilewebapp"},
	}
	gotSteps := map[string][]string{}
	gotRuns := map[string]int64{}
	wantRuns := map[string]int64{}
	for _, f := range r.Flows {
		gotRuns[f.Name] = f.Count
		for _, s := range f.Steps {
			gotSteps[f.Name] = append(gotSteps[f.Name], s.Name)
		}
	}
	for _, f := range flows {
		wantRuns[f.name] = 2
	}
	if diff := cmp.Diff(wantRuns, gotRuns); diff != "" {
		t.Errorf("runs per flow (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantSteps, gotSteps); diff != "" {
		t.Errorf("steps per flow (-want +got):\n%s", diff)
	}

	// The numbers add up.
	if r.Errors != 0 || r.Runs != int64(runs) {
		t.Errorf("report: %d runs, %d errors; want %d runs, 0 errors", r.Runs, r.Errors, runs)
	}
	var sumRuns, sumRequests int64
	for _, f := range r.Flows {
		sumRuns += f.Count
		sumRequests += f.Requests
		var stepRequests int64
		for _, s := range f.Steps {
			checkStats(t, f.Name+" / "+s.Name, s.Stats)
			var statuses int64
			for code, n := range s.Statuses {
				if code != "200" && code != "401" {
					t.Errorf("%s / %s: %d replies of status %s", f.Name, s.Name, n, code)
				}
				statuses += n
			}
			if s.Offline {
				if statuses != 0 {
					t.Errorf("%s / %s: an offline step with HTTP statuses %v", f.Name, s.Name, s.Statuses)
				}
				continue
			}
			if statuses != s.Count {
				t.Errorf("%s / %s: %d requests, %d statuses", f.Name, s.Name, s.Count, statuses)
			}
			stepRequests += s.Count
		}
		if stepRequests != f.Requests {
			t.Errorf("%s: %d requests, but its steps add up to %d", f.Name, f.Requests, stepRequests)
		}
		checkStats(t, f.Name, f.Stats)
	}
	if sumRuns != r.Runs || sumRequests != r.Requests {
		t.Errorf("report: %d runs and %d requests, flows add up to %d and %d", r.Runs, r.Requests, sumRuns, sumRequests)
	}

	// What the tool counted is what the daemon received (these routes are never part of a
	// worker's setup).
	for _, c := range []struct{ flow, step, path string }{
		{"validation", "oauth validation", "/oauth/validation"},
		{"adapter", "adapter Accounts.getBalance", "/api/v1/adapters/Accounts/getBalance"},
		{"login", "logout BenchLogin", "/api/v1/logout/BenchLogin"},
	} {
		if got, want := d.Count("POST", c.path), stepCount(r, c.flow, c.step); int64(got) != want || want == 0 {
			t.Errorf("POST %s: the daemon received %d, the report counts %d", c.path, got, want)
		}
	}
}

func stepCount(r Report, flow, step string) int64 {
	for _, f := range r.Flows {
		for _, s := range f.Steps {
			if f.Name == flow && s.Name == step {
				return s.Count
			}
		}
	}
	return -1
}

func checkStats(t *testing.T, name string, s Stats) {
	t.Helper()
	l := s.Latency
	if s.Count <= 0 || s.PerSecond <= 0 || s.Errors != 0 || len(s.ErrorsByKind) != 0 {
		t.Errorf("%s: count %d, %.1f/s, %d errors %v", name, s.Count, s.PerSecond, s.Errors, s.ErrorsByKind)
	}
	if !(0 < l.P50 && l.P50 <= l.P95 && l.P95 <= l.P99 && l.P99 <= l.Max) {
		t.Errorf("%s: percentiles out of order: %+v", name, l)
	}
}

// TestFailuresAreCountedByKind: runs that fail are reported by kind, at the step and the flow,
// and more of them than -max-errors allows give exit status 1.
func TestFailuresAreCountedByKind(t *testing.T) {
	d := hostdtest.Start(t, project(t), hostdtest.Options{Data: dataFolder(t)})
	for _, tc := range []struct {
		name      string
		maxErrors string
		wantCode  int
	}{
		{"over the bound", "1", 1},
		{"within the bound", "2", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), []string{"-url", d.URL, "-flows", "init,validation", "-users", "alice:wrong-password",
				"-c", "1", "-n", "2", "-json", "-progress", "0", "-max-errors", tc.maxErrors}, &stdout, &stderr)
			if code != tc.wantCode {
				t.Errorf("exit status %d, want %d\n%s", code, tc.wantCode, stderr.String())
			}
			var r Report
			if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
				t.Fatalf("report: %v\n%s", err, stdout.String())
			}
			got := map[string]map[string]int64{}
			for _, f := range r.Flows {
				got[f.Name] = f.ErrorsByKind
			}
			// The wrong password is rejected at init; the validation flow's setup (signing
			// in for a token) fails the same way, before any request of the flow is sent.
			want := map[string]map[string]int64{
				"init":       {"credentials_rejected": 1},
				"validation": {"credentials_rejected": 1},
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("errors by kind (-want +got):\n%s", diff)
			}
			if r.Errors != 2 || r.Runs != 2 {
				t.Errorf("report: %d runs, %d errors; want 2 and 2", r.Runs, r.Errors)
			}
		})
	}
}

// TestEachFlowAlone: -each runs the selected flows one after the other, each to its own bound
// (offline validation here without the validator's cache: every token's signature verified).
func TestEachFlowAlone(t *testing.T) {
	d := hostdtest.Start(t, project(t), hostdtest.Options{Data: dataFolder(t)})
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"-url", d.URL, "-each", "-flows", "healthz,adapter,offline", "-c", "2", "-n", "3",
		"-offline-cache=false", "-json", "-progress", "0"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit status %d\n%s", code, stderr.String())
	}
	var reports []Report
	if err := json.Unmarshal(stdout.Bytes(), &reports); err != nil {
		t.Fatalf("report: %v\n%s", err, stdout.String())
	}
	var got []string
	for _, r := range reports {
		for _, f := range r.Flows {
			got = append(got, fmt.Sprintf("%s %d runs, %d errors", f.Name, f.Count, f.Errors))
			checkStats(t, f.Name, f.Stats)
		}
	}
	want := []string{"healthz 3 runs, 0 errors", "adapter 3 runs, 0 errors", "offline 3 runs, 0 errors"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("reports (-want +got):\n%s", diff)
	}
	if d.Count("GET", "/healthz") != 3 || d.Count("POST", "/api/v1/adapters/Accounts/getBalance") != 3 {
		t.Errorf("the daemon received %d healthz and %d adapter requests, want 3 each",
			d.Count("GET", "/healthz"), d.Count("POST", "/api/v1/adapters/Accounts/getBalance"))
	}
}

func TestInterleave(t *testing.T) {
	for _, tc := range []struct {
		names   []string
		weights map[string]int
		want    string
	}{
		{[]string{"a"}, map[string]int{"a": 1}, "a"},
		{[]string{"a", "b", "c"}, map[string]int{"a": 1, "b": 1, "c": 1}, "a b c"},
		{[]string{"a", "b"}, map[string]int{"a": 3, "b": 1}, "a a b a"},
		{[]string{"a", "b", "c"}, map[string]int{"a": 5, "b": 1, "c": 1}, "a a b a c a a"},
	} {
		got := strings.Join(interleave(tc.names, tc.weights), " ")
		if got != tc.want {
			t.Errorf("interleave(%v, %v) = %q, want %q", tc.names, tc.weights, got, tc.want)
		}
	}
}

func TestParseRefuses(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-flows", "init,nope"}, `unknown flow "nope"`},
		{[]string{"-flows", "init", "-mix", "adapter=2"}, `flow "adapter" is not selected`},
		{[]string{"-mix", "init=0"}, "is not NAME=WEIGHT"},
		{[]string{"-d", "0", "-n", "0"}, "give a bound"},
		{[]string{"-c", "0"}, "-c must be at least 1"},
		{[]string{"-users", "alice"}, "is not USER:PASSWORD"},
		{[]string{"extra"}, "unexpected arguments"},
	} {
		var stderr bytes.Buffer
		_, err := parse(tc.args, &stderr)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("parse(%q) = %v, want an error containing %q", tc.args, err, tc.want)
		}
	}
}

func TestPercentileIsNearestRank(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 200; i++ {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	got := []time.Duration{percentile(d, 50), percentile(d, 95), percentile(d, 99), percentile(d[:1], 99)}
	want := []time.Duration{100 * time.Millisecond, 190 * time.Millisecond, 198 * time.Millisecond, time.Millisecond}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("percentiles (-want +got):\n%s", diff)
	}
}
