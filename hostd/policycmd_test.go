package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func init() {
	// -update rewrites the golden files under testdata/policy. Registered here only when no other
	// test file of the package registered it.
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite golden files under testdata/")
	}
}

func updating() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

// golden compares got with testdata/policy/NAME, or rewrites it under -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "policy", name)
	if updating() {
		mustWrite(t, path, got)
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run %s -update)", err, t.Name())
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s differs (-want +got, go test -update rewrites it):\n%s", path, diff)
	}
}

func runHostd(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// TestPolicyTestCoverage: hostd policy test --coverage reports, per file of the generated and user
// Rego, the lines that the Rego tests and the scenarios ran, in text and JSON; --min fails below
// its percentage and passes at or above it.
func TestPolicyTestCoverage(t *testing.T) {
	code, out, errs := runHostd(t, "policy", "test", "--config", exampleDir, "--coverage")
	if code != 0 {
		t.Fatalf("exit %d:\n%s%s", code, out, errs)
	}
	golden(t, "coverage.txt", out)

	code, out, errs = runHostd(t, "policy", "test", "--config", exampleDir, "--coverage", "--format", "json")
	if code != 0 {
		t.Fatalf("json: exit %d:\n%s%s", code, out, errs)
	}
	golden(t, "coverage.json", out)
	var rep struct {
		Coverage struct {
			Percent float64 `json:"percent"`
			Files   []struct {
				File    string  `json:"file"`
				Percent float64 `json:"percent"`
			} `json:"files"`
		} `json:"coverage"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	// The user's rules are reached by the scenarios and the Rego tests; a test that nothing
	// protects with is never evaluated.
	percents := map[string]float64{}
	for _, f := range rep.Coverage.Files {
		percents[f.File] = f.Percent
	}
	if percents["policies/transfers.rego"] != 100 || percents["realmgate/tests/offersTests.rego"] != 0 {
		t.Errorf("coverage by file: %v", percents)
	}
	total := rep.Coverage.Percent
	if total <= 0 || total >= 100 {
		t.Fatalf("total coverage %v", total)
	}

	above := strings.TrimRight(strings.TrimRight(strconvF(total+0.1), "0"), ".")
	code, out, _ = runHostd(t, "policy", "test", "--config", exampleDir, "--min", above)
	if code != 1 || !strings.Contains(out, "is below --min "+above+"%") {
		t.Errorf("--min %s: exit %d, want 1 with the shortfall:\n%s", above, code, out)
	}
	code, out, _ = runHostd(t, "policy", "test", "--config", exampleDir, "--min", strconvF(total))
	if code != 0 || !strings.Contains(out, "coverage: ") {
		t.Errorf("--min %v: exit %d, want 0:\n%s", total, code, out)
	}
	for _, bad := range [][]string{{"--min", "101"}, {"--format", "xml"}} {
		if code, _, errs := runHostd(t, append([]string{"policy", "test", "--config", exampleDir}, bad...)...); code != 2 || errs == "" {
			t.Errorf("%v: exit %d, stderr %q; want a usage error", bad, code, errs)
		}
	}
}

func strconvF(f float64) string {
	b, _ := json.Marshal(f)
	return string(b)
}

// TestPolicyTestScenarioFailures: a scenario that does not get its decision fails hostd policy
// test with its file:line and a diff of the expected and actual decisions; a scenario file that
// does not parse fails it with the line of the problem.
func TestPolicyTestScenarioFailures(t *testing.T) {
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(exampleDir)); err != nil {
		t.Fatal(err)
	}
	scen := filepath.Join(dir, "policies", "wrong.scenario.yaml")
	mustWrite(t, scen, `- name: a large transfer is allowed
  resource: {procedure: Accounts.transfer}
  app: {id: BankApp, env: android, version: 2.1.0}
  passed: [wl_antiXSRFRealm, BankLogin]
  parameters: [{amount: 5000}]
  expect: {decision: allow}

- name: a statement from a browser
  resource: {static: /statements/2026-11.txt}
  passed: [wl_antiXSRFRealm, BankLogin]
  expect: {decision: allow}
`)
	code, out, errs := runHostd(t, "policy", "test", "--config", dir)
	if code != 1 {
		t.Fatalf("exit %d, want 1:\n%s%s", code, out, errs)
	}
	want := `FAIL  ` + scen + `:6: scenario "a large transfer is allowed": got challenge step 2 of 2: PinRealm, want allow (-want +got):
  scenario.Expect{
- 	Decision: "allow",
+ 	Decision: "challenge",
  	Step:     0,
  	Realms:   nil,
  	Reason:   "",
  }
`
	if got := normalizeSpaces(out); !strings.Contains(got, normalizeSpaces(want)) {
		t.Errorf("output lacks the failure:\n%s\nwant:\n%s", out, want)
	}
	if !strings.Contains(out, "scenarios: 10 passed, 1 failed\n") {
		t.Errorf("output lacks the scenario count:\n%s", out)
	}

	mustWrite(t, scen, "- name: a typo\n  resource: {procedure: Accounts.transfer}\n  app: {id: BankApp, env: android}\n  expect: {decison: allow}\n")
	code, _, errs = runHostd(t, "policy", "test", "--config", dir)
	wantErr := scen + `:4: unknown member "decison": use decision, step, realms, reason`
	if code != 1 || !strings.Contains(errs, wantErr) {
		t.Errorf("exit %d, stderr %q; want 1 and %q", code, errs, wantErr)
	}
}

// normalizeSpaces replaces the non-breaking spaces go-cmp writes (to keep its output from being
// compared as text) with plain ones.
func normalizeSpaces(s string) string { return strings.ReplaceAll(s, "\u00a0", " ") }

// TestPolicyExplainResource: hostd policy explain for a resource and the facts of a request gives
// the test the server applies, the realms passed, the next step, the user rule that denied or
// stepped up with its message, and with --trace OPA's trace of the evaluation.
func TestPolicyExplainResource(t *testing.T) {
	dir := t.TempDir()
	facts := func(name, content string) string {
		p := filepath.Join(dir, name)
		mustWrite(t, p, content)
		return p
	}
	old := facts("old.yaml", "app: {id: BankApp, env: android, version: 1.9.0}\npassed: [wl_antiXSRFRealm, BankLogin, PinRealm]\n")
	bill := facts("bill.json", `{"app": {"id": "BankApp", "env": "android", "version": "2.1.0"}, "passed": ["wl_antiXSRFRealm", "BankLogin", "wl_deviceNoProvisioningRealm"], "parameters": [{"amount": 5000}]}`)
	blocked := facts("blocked.yaml", "app: {id: BankApp, env: android, version: 1.0.0}\nremoteDisable: block\n")
	typo := facts("typo.yaml", "app: {id: BankApp, env: android}\nsession: {name: alice}\n")
	user := facts("user.yaml", "app: {id: BankApp, env: android, version: 2.1.0}\npassed: [wl_antiXSRFRealm, BankLogin]\nuser: {userId: alice}\n")
	userTypo := facts("usertypo.yaml", "app: {id: BankApp, env: android}\npassed: [BankLogin]\nuser: {userId: alice, groups: [tellers]}\n")
	cases := []struct {
		name string
		args []string
		code int
	}{
		{"deny", []string{"--resource", "procedure:Accounts.transfer", "--facts", old}, 0},
		{"step-up", []string{"--resource", "procedure:Accounts.payBill", "--facts", bill}, 0},
		{"first step", []string{"--resource", "app:BankApp/android", "--version", "2.1.0"}, 0},
		{"flags", []string{"--resource", "procedure:Accounts.getBalance", "--app", "BankApp/mobilewebapp", "--passed", "BankLogin,wl_antiXSRFRealm"}, 0},
		{"static", []string{"--resource", "static:/statements/../statements/2026-11.txt", "--passed", "wl_antiXSRFRealm"}, 0},
		{"token", []string{"--resource", "token:transferTests", "--app", "BankApp/iphone", "--passed", "BankLogin,wl_antiXSRFRealm,PinRealm"}, 0},
		{"unprotected", []string{"--resource", "procedure:Accounts.getRates", "--app", "BankApp/android"}, 0},
		{"blocked", []string{"--resource", "app:BankApp/android", "--facts", blocked}, 0},
		{"trace", []string{"--resource", "procedure:Accounts.transfer", "--facts", old, "--trace"}, 0},
		{"unknown procedure", []string{"--resource", "procedure:Accounts.nosuch", "--app", "BankApp/android"}, 1},
		{"no application", []string{"--resource", "procedure:Accounts.getBalance"}, 1},
		{"unknown fact", []string{"--resource", "app:BankApp/android", "--facts", typo}, 1},
		{"user", []string{"--resource", "procedure:Accounts.transfer", "--facts", user}, 0},
		{"groups of a password file", []string{"--resource", "procedure:Accounts.transfer", "--facts", userTypo}, 1},
		{"bad resource", []string{"--resource", "url:/x"}, 1},
		{"two modes", []string{"--resource", "app:BankApp/android", "--test", "webTests"}, 2},
	}
	var all strings.Builder
	for _, tc := range cases {
		code, out, errs := runHostd(t, append([]string{"policy", "explain", "--config", exampleDir}, tc.args...)...)
		if code != tc.code {
			t.Errorf("%s: exit %d, want %d:\n%s%s", tc.name, code, tc.code, out, errs)
		}
		if tc.code == 2 {
			continue // usage errors print the flags
		}
		text := strings.ReplaceAll(out+errs, dir+string(filepath.Separator), "DIR/")
		// The revision changes with any module of the policy set, the library's included.
		text = revision.ReplaceAllString(text, "policy revision REVISION")
		all.WriteString("== " + tc.name + "\n" + text)
	}
	golden(t, "explain.txt", all.String())
	// The trace shows the user's rule that denied, where it is.
	if !regexp.MustCompile(`(?m)^policies/transfers.rego:1[5-8] .*Exit data.realmgate.user.transfers.deny`).MatchString(all.String()) {
		t.Errorf("the trace lacks the exit of the user's deny rule")
	}
}

var revision = regexp.MustCompile(`policy revision [0-9a-f]{16}`)

// TestPolicyExplainRecordedDecision: a decision the daemon logged is explained from the log by its
// id: the request is rebuilt from the record, and the decision made again by the same policies is
// the one recorded. An id the log does not hold is an error.
func TestPolicyExplainRecordedDecision(t *testing.T) {
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(exampleDir)); err != nil {
		t.Fatal(err)
	}
	// App init needs no adapter; without it the daemon builds none.
	if err := os.RemoveAll(filepath.Join(dir, "adapters", "Accounts")); err != nil {
		t.Fatal(err)
	}
	d, logs := startDaemonLogged(t, dir)
	r := newRaw(t, d, "android", "2.1.0")
	if status, body, _ := r.do("POST", "/api/v1/apps/BankApp/android/init", "{}"); status != 401 {
		t.Fatalf("init: %d %v, want the challenge", status, body)
	}
	var id string
	for _, line := range strings.Split(logs.String(), "\n") {
		var rec struct {
			Msg        string `json:"msg"`
			DecisionID string `json:"decision_id"`
		}
		if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "decision" {
			id = rec.DecisionID
		}
	}
	if id == "" {
		t.Fatalf("no decision in the daemon's log:\n%s", logs.String())
	}
	logFile := filepath.Join(t.TempDir(), "decisions.log")
	mustWrite(t, logFile, logs.String())

	code, out, errs := runHostd(t, "policy", "explain", "--config", dir, "--decision", id, "--log", logFile)
	if code != 0 {
		t.Fatalf("exit %d:\n%s%s", code, out, errs)
	}
	for _, line := range []string{
		"recorded decision " + id + " at ",
		"  recorded: challenge step 1: BankLogin, wl_antiXSRFRealm, wl_deviceNoProvisioningRealm",
		"security test mobileTests (mobile)",
		"passed: wl_remoteDisableRealm",
		"decision: challenge step 1 of 1: BankLogin, wl_antiXSRFRealm, wl_deviceNoProvisioningRealm",
	} {
		if !strings.Contains(out, line) {
			t.Errorf("output lacks %q:\n%s", line, out)
		}
	}
	if strings.Contains(out, "policies are now") {
		t.Errorf("the same policies are reported as changed:\n%s", out)
	}

	// An OPA-shaped record carries the input itself.
	opaLog := filepath.Join(t.TempDir(), "opa.log")
	mustWrite(t, opaLog, `{"decision_id": "d-1", "path": "realmgate/decision", "input": {"test": "transferTests", "passed": ["BankLogin", "wl_antiXSRFRealm"], "app": {"id": "BankApp", "env": "android", "version": "1.2.0"}, "resource": {"kind": "procedure", "name": "Accounts.transfer", "attributes": {"adapter": "Accounts", "procedure": "transfer"}}, "request": {"method": "POST", "path": "/api/v1/adapters/Accounts/transfer", "parameters": []}}, "result": {"outcome": "deny"}}`+"\n")
	code, out, errs = runHostd(t, "policy", "explain", "--config", dir, "--decision", "d-1", "--log", opaLog)
	if code != 0 || !strings.Contains(out, "denied by realmgate.user.transfers.deny at policies/transfers.rego:") {
		t.Errorf("OPA-shaped record: exit %d:\n%s%s", code, out, errs)
	}

	code, _, errs = runHostd(t, "policy", "explain", "--config", dir, "--decision", "nosuch", "--log", logFile)
	if code != 1 || !strings.Contains(errs, "no decision with this id in the log: nosuch") {
		t.Errorf("unknown id: exit %d, stderr %q", code, errs)
	}
}
