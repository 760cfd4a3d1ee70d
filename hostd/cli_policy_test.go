package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// TestPolicyExplainCommand: hostd policy explain shows the test's steps and the decision of the
// banking example's policies for the realms passed and the input file's resource, request and
// application; a flag's test and realms win over the file's, and a file that does not decode
// into a policy input (not JSON, a member the input does not have, two values) is refused.
func TestPolicyExplainCommand(t *testing.T) {
	dir := t.TempDir()
	input := func(name, content string) string {
		p := filepath.Join(dir, name)
		mustWrite(t, p, content)
		return p
	}
	stepUp := input("stepup.json", `{"test": "ignored", "passed": ["ignored"],
		"resource": {"kind": "procedure", "name": "Accounts.payBill"},
		"request": {"method": "POST", "parameters": [{"amount": 5000}]}}`)
	oldApp := input("old.json", `{"resource": {"kind": "procedure", "name": "Accounts.transfer"}, "app": {"id": "BankApp", "env": "android", "version": "1.9"}}`)
	notJSON := input("bad.json", `{"request": `)
	unknown := input("unknown.json", `{"request": {"method": "GET"}, "session": {"id": "x"}}`)
	twoValues := input("two.json", `{} {}`)
	cases := []struct {
		name string
		args []string
		code int
		want []string // lines of the output, in order
	}{
		{"nothing passed", []string{"--test", "webTests"}, 0, []string{
			"security test webTests (web)",
			"  expanded from webSecurityTest: one step: anti-XSRF and the testUser realm BankLogin",
			"  step 1: wl_antiXSRFRealm, BankLogin",
			"passed: ",
			"decision: challenge step 1 of 1: BankLogin, wl_antiXSRFRealm",
		}},
		{"every realm passed", []string{"--test", "webTests", "--passed", "BankLogin, wl_antiXSRFRealm"}, 0, []string{
			"passed: BankLogin, wl_antiXSRFRealm",
			"decision: allow",
		}},
		{"step-up by a request parameter", []string{"--test", "webTests", "--passed", "wl_antiXSRFRealm,BankLogin", "--input", stepUp}, 0, []string{
			"passed: BankLogin, wl_antiXSRFRealm",
			"decision: challenge step 2 of 2: PinRealm",
		}},
		{"deny by the app version", []string{"--test", "transferTests", "--passed", "wl_antiXSRFRealm,BankLogin,PinRealm", "--input", oldApp}, 0, []string{
			"  step 1: wl_antiXSRFRealm, BankLogin",
			"  step 2: PinRealm",
			"decision: deny: update the app to transfer money: versions before 2.0 cannot transfer",
		}},
		{"unknown test", []string{"--test", "nosuch"}, 1, []string{
			`hostd policy explain: no security test "nosuch" (have: mobileTests, offersTests, transferTests, webTests, wl_defaultMobileSecurityTest, wl_defaultWebSecurityTest)`,
		}},
		{"input that is not JSON", []string{"--test", "webTests", "--input", notJSON}, 1, []string{
			"hostd policy explain: --input: unexpected EOF",
		}},
		// The daemon's input has no such member: no policy could read it there.
		{"a member the input does not have", []string{"--test", "webTests", "--input", unknown}, 1, []string{
			`hostd policy explain: --input: json: unknown field "session"`,
		}},
		{"two inputs", []string{"--test", "webTests", "--input", twoValues}, 1, []string{
			"hostd policy explain: --input: more than one JSON value",
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			args := append([]string{"policy", "explain", "--config", exampleDir}, tc.args...)
			if code := run(context.Background(), args, &out, &out); code != tc.code {
				t.Fatalf("exit %d, want %d:\n%s", code, tc.code, out.String())
			}
			rest := out.String()
			for _, line := range tc.want {
				i := strings.Index(rest, line+"\n")
				if i < 0 || (i > 0 && rest[i-1] != '\n') {
					t.Fatalf("output lacks the line %q after the lines before it:\n%s", line, out.String())
				}
				rest = rest[i+len(line)+1:]
			}
			if tc.code == 0 && !strings.Contains(out.String(), "\npolicy revision ") {
				t.Errorf("output lacks the policy revision:\n%s", out.String())
			}
		})
	}
}
