package policies

import (
	"context"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
)

// benchSetup prepares the bank example's evaluator and an input that its user policies read
// (a transfer with the first two steps passed: the decision is a challenge of step 3).
func benchSetup(b *testing.B) (*Evaluator, []Module, Input) {
	b.Helper()
	p := mustLoad(b, exampleProject("bank"))
	mods, err := CompileRego(p)
	if err != nil {
		b.Fatal(err)
	}
	ev, err := NewEvaluator(context.Background(), mods)
	if err != nil {
		b.Fatal(err)
	}
	input := Input{
		Test:     "Transfers",
		Passed:   []string{"BankForm", "wl_antiXSRFRealm", "wl_deviceNoProvisioningRealm", "wl_remoteDisableRealm"},
		App:      App{ID: "BankAndroid", Env: "android", Version: "2.0"},
		Resource: Resource{Kind: "procedure", Name: "Accounts.transfer", Attributes: map[string]any{"adapter": "Accounts", "procedure": "transfer"}},
		Request: map[string]any{
			"channel": "app", "procedure": "Accounts.transfer", "hour": 14, "country": "FR",
			"params":    map[string]any{"amount": 250, "to": "FR7630006000011234567890189"},
			"userAgent": "BankAndroid/2.0",
		},
	}
	d, err := ev.Decide(context.Background(), input)
	if err != nil || d.Outcome != Challenge || d.Step != 3 {
		b.Fatalf("benchmark input decides %+v, %v; want a challenge of step 3", d, err)
	}
	return ev, mods, input
}

// BenchmarkDecide is one decision answered from the memo.
func BenchmarkDecide(b *testing.B) {
	ev, _, input := benchSetup(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ev.Decide(ctx, input); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEvalPlain is the same decision evaluated by OPA each time (the prepared query).
func BenchmarkEvalPlain(b *testing.B) {
	ev, _, input := benchSetup(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ev.Eval(ctx, input); err != nil {
			b.Fatal(err)
		}
	}
}

// rawOPAQuery prepares data.realmgate.decision over the same modules with OPA's rego package
// alone, as a program embedding OPA without this package would.
func rawOPAQuery(b *testing.B, mods []Module) rego.PreparedEvalQuery {
	b.Helper()
	opts := []func(*rego.Rego){rego.Query(Query), rego.SetRegoVersion(ast.RegoV1)}
	for _, m := range mods {
		opts = append(opts, rego.Module(m.Path, m.Source))
	}
	pq, err := rego.New(opts...).PrepareForEval(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	return pq
}

// BenchmarkDecideVsEval measures, in one run, a memoized decision, the evaluator's plain Eval and
// a raw OPA Eval of the same compiled policy on the same input, and reports their ratios: "ratio"
// is Decide over Eval (the target is at most 0.2), "ratio-opa" Decide over raw OPA.
func BenchmarkDecideVsEval(b *testing.B) {
	ev, mods, input := benchSetup(b)
	raw := rawOPAQuery(b, mods)
	rawIn := rawInput(input)
	ctx := context.Background()
	decide := func() {
		if _, err := ev.Decide(ctx, input); err != nil {
			b.Fatal(err)
		}
	}
	eval := func() {
		if _, err := ev.Eval(ctx, input); err != nil {
			b.Fatal(err)
		}
	}
	opa := func() {
		rs, err := raw.Eval(ctx, rego.EvalInput(rawIn))
		if err != nil || len(rs) != 1 {
			b.Fatal(rs, err)
		}
	}
	timed := func(f func()) time.Duration {
		start := time.Now()
		for i := 0; i < b.N; i++ {
			f()
		}
		return time.Since(start)
	}
	b.ReportAllocs()
	b.ResetTimer()
	d, e, o := timed(decide), timed(eval), timed(opa)
	b.StopTimer()
	n := float64(b.N)
	b.ReportMetric(float64(d.Nanoseconds())/n, "decide-ns/op")
	b.ReportMetric(float64(e.Nanoseconds())/n, "eval-ns/op")
	b.ReportMetric(float64(o.Nanoseconds())/n, "opa-ns/op")
	b.ReportMetric(float64(d)/float64(e), "ratio")
	b.ReportMetric(float64(d)/float64(o), "ratio-opa")
	b.ReportMetric(testing.AllocsPerRun(20, decide), "decide-allocs/op")
	b.ReportMetric(testing.AllocsPerRun(20, eval), "eval-allocs/op")
	b.ReportMetric(testing.AllocsPerRun(20, opa), "opa-allocs/op")
}

// BenchmarkExplainAndCoverage is what the review tools cost beside a plain evaluation of the same
// decision (the peer): an evaluation with the coverage tracer (hostd policy test --coverage), and
// Explain with and without OPA's trace (hostd policy explain).
func BenchmarkExplainAndCoverage(b *testing.B) {
	ev, _, input := benchSetup(b)
	ctx := context.Background()
	b.Run("eval", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := ev.Eval(ctx, input); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("covered", func(b *testing.B) {
		c := NewCover()
		b.ReportAllocs()
		for b.Loop() {
			if _, err := ev.EvalCovered(ctx, input, c); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, trace := range []bool{false, true} {
		name := "explain"
		if trace {
			name = "explain-trace"
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := ev.Explain(ctx, input, trace); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
