package policies

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestExplain: Explain gives the decision Decide gives, the users' rules that held with the
// message or realm each added (a message built from the input included), and OPA's trace only
// when asked.
func TestExplain(t *testing.T) {
	ev := mustEvaluator(t, stepUpAndDeny)
	cases := []struct {
		name  string
		input Input
		rules []RuleHit
	}{
		{"no rule", in("web", map[string]any{"amount": 5, "hour": 12}, "form", "wl_antiXSRFRealm"), nil},
		{"step-up", in("web", map[string]any{"amount": 20000, "hour": 12}, "form", "wl_antiXSRFRealm"), []RuleHit{
			{Rule: "require", Package: "realmgate.user.limits", Location: "policies/limits.rego:3", Value: "otp"},
			{Rule: "require", Package: "realmgate.user.limits", Location: "policies/limits.rego:5", Value: "manager"},
		}},
		{"deny by a built message", in("web", map[string]any{"amount": 20000, "hour": 12, "country": "XX"}, "form"), []RuleHit{
			{Rule: "deny", Package: "realmgate.user.hours", Location: "policies/hours.rego:5", Value: "country XX is blocked"},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			want, err := ev.Decide(context.Background(), tc.input)
			if err != nil {
				t.Fatal(err)
			}
			ex, err := ev.Explain(context.Background(), tc.input, false)
			if err != nil {
				t.Fatal(err)
			}
			if !decisionEqual(want, ex.Decision) {
				t.Errorf("decision %+v, Decide says %+v", ex.Decision, want)
			}
			if diff := cmp.Diff(tc.rules, ex.Rules); diff != "" {
				t.Errorf("rules (-want +got):\n%s", diff)
			}
			if ex.Trace != "" {
				t.Errorf("a trace without asking")
			}
		})
	}
	ex, err := ev.Explain(context.Background(), cases[2].input, true)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(ex.Trace, "Exit data.realmgate.user.hours.deny") || !strings.Contains(ex.Trace, "policies/hours.rego:5") {
		t.Errorf("trace lacks the deny rule's exit:\n%s", ex.Trace)
	}
}
