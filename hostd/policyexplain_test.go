package main

import (
	"encoding/json"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestPolicyExplainJSON: hostd policy explain --format json gives the decision, its reasons, the
// users' rules that fired with their file:line and message, the next step, the input the decision
// was made on (the user's groups included) and, with --trace, OPA's trace, for the LDAP
// example's group rules.
func TestPolicyExplainJSON(t *testing.T) {
	dir := t.TempDir()
	facts := func(name, content string) string {
		p := filepath.Join(dir, name)
		mustWrite(t, p, content)
		return p
	}
	const app = "app: {id: TellerApp, env: mobilewebapp, version: '1.0'}\n"
	teller := facts("teller.yaml", app+"passed: [wl_antiXSRFRealm, DirectoryLogin]\nuser: {userId: alice, displayName: Alice Teller, groups: [tellers], attributes: {mail: [alice@example.com]}}\n")
	sales := facts("sales.yaml", app+"passed: [wl_antiXSRFRealm, DirectoryLogin]\nuser: {userId: carol, groups: [sales]}\n")
	cases := []struct {
		name string
		args []string
		// want is the decision's summary, checked apart from the golden file so that a rewritten
		// golden file cannot hide a wrong decision.
		want policySummary
	}{
		{"teller approves", []string{"--resource", "procedure:Teller.approveLoan", "--facts", teller},
			policySummary{Decision: "allow"}},
		{"non-teller denied", []string{"--resource", "procedure:Teller.approveLoan", "--facts", sales},
			policySummary{Decision: "deny", Reasons: []string{"approving a loan is for the tellers group"},
				Rules: []string{"realmgate.user.tellers.deny (policies/tellers.rego:6): approving a loan is for the tellers group"}}},
		{"refund step-up", []string{"--resource", "procedure:Teller.refund", "--facts", sales},
			policySummary{Decision: "challenge", Step: 2, Realms: []string{"SupervisorPin"}, StepUp: true,
				Rules: []string{"realmgate.user.tellers.require (policies/tellers.rego:13): SupervisorPin"}}},
		{"first step", []string{"--resource", "procedure:Teller.refund", "--app", "TellerApp/mobilewebapp"},
			policySummary{Decision: "challenge", Step: 1, Realms: []string{"DirectoryLogin", "wl_antiXSRFRealm"}}},
		{"trace", []string{"--resource", "procedure:Teller.approveLoan", "--facts", sales, "--trace"},
			policySummary{Decision: "deny", Reasons: []string{"approving a loan is for the tellers group"},
				Rules: []string{"realmgate.user.tellers.deny (policies/tellers.rego:6): approving a loan is for the tellers group"}}},
	}
	var all strings.Builder
	for _, tc := range cases {
		code, out, errs := runHostd(t, append([]string{"policy", "explain", "--config", ldapExampleDir, "--format", "json"}, tc.args...)...)
		if code != 0 {
			t.Fatalf("%s: exit %d:\n%s%s", tc.name, code, out, errs)
		}
		var rep explanation
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatalf("%s: not JSON: %v\n%s", tc.name, err, out)
		}
		if diff := cmp.Diff(tc.want, summarizeExplanation(rep)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, diff)
		}
		if traced := len(rep.Trace) > 0; traced != (tc.name == "trace") {
			t.Errorf("%s: trace of %d lines", tc.name, len(rep.Trace))
		}
		all.WriteString("== " + tc.name + "\n" + revisionJSON.ReplaceAllString(out, `"revision": "REVISION"`))
	}
	golden(t, "explain.json", all.String())
	// The trace shows the user's rule that denied, where it is.
	if !strings.Contains(all.String(), "Exit data.realmgate.user.tellers.deny") {
		t.Errorf("the trace lacks the exit of the user's deny rule")
	}

	code, _, errs := runHostd(t, "policy", "explain", "--config", ldapExampleDir, "--format", "yaml", "--resource", "procedure:Teller.refund")
	if code != 2 || !strings.Contains(errs, `--format "yaml": use text or json`) {
		t.Errorf("--format yaml: exit %d, stderr %q", code, errs)
	}
}

var revisionJSON = regexp.MustCompile(`"revision": "[0-9a-f]{16}"`)

// policySummary is what a decision must be, apart from the input and the trace.
type policySummary struct {
	Decision string
	Step     int
	Realms   []string
	StepUp   bool
	Reasons  []string
	Rules    []string
}

func summarizeExplanation(rep explanation) policySummary {
	s := policySummary{Decision: rep.Decision, Step: rep.Step, Realms: rep.Realms, StepUp: rep.StepUp, Reasons: rep.Reasons}
	for _, h := range rep.Rules {
		s.Rules = append(s.Rules, h.String())
	}
	return s
}
