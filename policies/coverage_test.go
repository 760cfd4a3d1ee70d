package policies

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/open-policy-agent/opa/v1/cover"
)

// TestCoverage: the lines a Rego test ran are covered and the others not, per file of the policy
// set; the test file itself is left out of the report; a decision evaluated with the collector
// covers the lines it ran too.
func TestCoverage(t *testing.T) {
	user := Module{Path: "policies/hours.rego", Source: `package realmgate.user.hours

deny contains "closed on sundays" if {
	input.request.day == "sunday"
}

require contains "PinRealm" if {
	input.request.amount > 100
}
`}
	test := `package realmgate.user.hours_test

import data.realmgate.user.hours

test_sunday if {
	hours.deny == {"closed on sundays"} with input as {"request": {"day": "sunday"}}
}
`
	mods := []Module{user}
	c := NewCover()
	results, err := RunTestsCovered(context.Background(), map[string]string{user.Path: user.Source, "policies/hours_test.rego": test}, c)
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != 1 || !results[0].Passed() {
		t.Fatalf("results: %+v", results)
	}
	got, err := c.Report(mods)
	if err != nil {
		t.Fatal(err)
	}
	want := Coverage{
		Files: []FileCoverage{{
			File:         "policies/hours.rego",
			Covered:      []LineRange{{3, 4}},
			NotCovered:   []LineRange{{7, 8}},
			CoveredLines: 2, NotCoveredLines: 2, Percent: 50,
		}},
		CoveredLines: 2, NotCoveredLines: 2, Percent: 50,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("after the Rego test (-want +got):\n%s", diff)
	}

	// A decision reaches the require rule.
	ev, _, err := newEvaluator(t, map[string]string{"hours.rego": user.Source})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ev.EvalCovered(context.Background(), in("web", map[string]any{"amount": 500}, "form", "wl_antiXSRFRealm"), c); err != nil {
		t.Fatal(err)
	}
	got, err = c.Report(mods)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]LineRange{{3, 4}, {7, 8}}, got.Files[0].Covered); diff != "" || got.Percent != 100 {
		t.Errorf("after a decision: %+v (-want +got covered):\n%s", got, diff)
	}
}

// TestLineRanges: OPA's ranges become sorted line ranges, touching and overlapping ones merged.
func TestLineRanges(t *testing.T) {
	in := []cover.Range{
		{Start: cover.Position{Row: 9}, End: cover.Position{Row: 9}},
		{Start: cover.Position{Row: 1}, End: cover.Position{Row: 2}},
		{Start: cover.Position{Row: 3}, End: cover.Position{Row: 3}},
		{Start: cover.Position{Row: 5}, End: cover.Position{Row: 7}},
		{Start: cover.Position{Row: 6}, End: cover.Position{Row: 6}},
	}
	want := []LineRange{{1, 3}, {5, 7}, {9, 9}}
	if diff := cmp.Diff(want, lineRanges(in)); diff != "" {
		t.Errorf("lineRanges (-want +got):\n%s", diff)
	}
	for _, tc := range []struct {
		c, n int
		want float64
	}{{0, 0, 0}, {1, 2, 33.3}, {2, 1, 66.7}, {3, 0, 100}} {
		if got := percent(tc.c, tc.n); got != tc.want {
			t.Errorf("percent(%d, %d) = %v, want %v", tc.c, tc.n, got, tc.want)
		}
	}
}
