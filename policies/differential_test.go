package policies

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
)

// inputGen generates decision inputs over a small value space, so that many inputs share their
// memo key and any fact the key misses shows up as a wrong memoized decision.
type inputGen struct {
	r      *rand.Rand
	tests  []string
	steps  [][][]string // the steps of each test, step-up realms added as a last step
	realms []string
}

func (g *inputGen) pick(vs ...any) any { return vs[g.r.IntN(len(vs))] }

// missing stands for a key that is absent from its map.
type missingT struct{}

var missing = missingT{}

func (g *inputGen) set(m map[string]any, k string, v any) {
	if v != missing {
		m[k] = v
	}
}

func (g *inputGen) input() map[string]any {
	in := map[string]any{}
	g.set(in, "test", g.pick(append(anySlice(g.tests), "nosuch", missing, "BankMobile", "Transfers", "Transfers")...))
	// The realms of the first steps of some test, as sessions accumulate them, sometimes with
	// one more: a small space, so that inputs share memo keys.
	var passed []string
	steps := g.steps[g.r.IntN(len(g.steps))]
	for _, s := range steps[:g.r.IntN(len(steps)+1)] {
		passed = append(passed, s...)
	}
	if g.r.IntN(8) == 0 {
		passed = append(passed, g.realms[g.r.IntN(len(g.realms))])
	}
	switch g.r.IntN(6) {
	case 0: // unsorted: a memo miss at worst
		g.r.Shuffle(len(passed), func(i, j int) { passed[i], passed[j] = passed[j], passed[i] })
		in["passed"] = passed
	case 1: // decoded JSON
		in["passed"] = anySlice(passed)
	default:
		sort.Strings(passed)
		in["passed"] = passed
	}
	switch g.r.IntN(10) {
	case 0:
		// no request
	case 1:
		in["request"] = g.pick(nil, "x", 3, []any{"channel"})
	case 2:
		// A Go map of strings, as a caller might pass request headers.
		in["request"] = map[string]string{
			"channel":   g.pick("app", "", "web").(string),
			"procedure": g.pick("Accounts.transfer", "Accounts.list").(string),
			"country":   g.pick("XX", "FR").(string),
		}
	default:
		req := map[string]any{}
		g.set(req, "channel", g.pick(missing, nil, false, true, "app", "app", "app", "app", ""))
		g.set(req, "hour", g.pick(missing, nil, 3, 6, 12, 12, 12, 5.5, json.Number("4"), "3"))
		g.set(req, "procedure", g.pick(missing, "Accounts.transfer", "Accounts.transfer", "Accounts.list", nil))
		g.set(req, "country", g.pick(missing, missing, missing, "XX", "FR", nil))
		switch g.r.IntN(4) {
		case 0:
		case 1:
			req["params"] = g.pick("amount", nil, []any{1})
		default:
			params := map[string]any{}
			g.set(params, "amount", g.pick(missing, nil, 500, 1000, 1000.5, 20000, "big", json.Number("2e4")))
			g.set(params, "memo", g.pick(missing, "rent", "gift"))
			req["params"] = params
		}
		in["request"] = req
	}
	return in
}

// noisy returns a copy of in with facts no policy reads: they must not split the memo, and must
// not change the decision.
func (g *inputGen) noisy(in map[string]any) map[string]any {
	out := deepCopy(in).(map[string]any)
	if req, ok := out["request"].(map[string]any); ok {
		g.set(req, "userAgent", g.pick(missing, "curl", fmt.Sprint(g.r.IntN(1000))))
	}
	if g.r.IntN(2) == 0 {
		out["session"] = map[string]any{"id": fmt.Sprint(g.r.IntN(1 << 20))}
	}
	return out
}

func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = deepCopy(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = deepCopy(e)
		}
		return out
	case []string:
		return append([]string(nil), x...)
	case map[string]string:
		out := make(map[string]string, len(x))
		for k, e := range x {
			out[k] = e
		}
		return out
	}
	return v
}

func anySlice(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

// TestDecideMatchesEval is a differential test: over generated inputs, Decide (memoized, called
// repeatedly so that most answers come from the memo) must answer exactly what a plain Eval of the
// same input answers.
func TestDecideMatchesEval(t *testing.T) {
	p := mustLoad(t, exampleProject("bank"))
	mods, err := CompileRego(p)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ev, err := NewEvaluator(ctx, mods)
	if err != nil {
		t.Fatal(err)
	}
	if memo, _ := ev.Memoized(); !memo {
		t.Fatal("the bank project is not memoized: the test would compare Eval with itself")
	}
	g := &inputGen{r: rand.New(rand.NewPCG(1, 2)), tests: p.TestOrder, realms: append(slices.Sorted(maps.Keys(p.Realms)), "unknownRealm")}
	for _, name := range p.TestOrder {
		g.steps = append(g.steps, append(append([][]string{}, p.Tests[name].Steps...), []string{"BankOTP", "BankManager"}))
	}
	n := 4000
	if testing.Short() {
		n = 500
	}
	// Inputs are drawn from a pool of generated ones, with noise added: equal inputs must hit the
	// memo, and inputs that differ in what policies read must not.
	pool := make([]map[string]any, n/8)
	for i := range pool {
		pool[i] = g.input()
	}
	outcomes := map[string]int{}
	hits := 0
	for i := 0; i < n; i++ {
		input := g.noisy(pool[g.r.IntN(len(pool))])
		if key, ok := ev.key(input); ok {
			ev.mu.RLock()
			_, hit := ev.memo[key]
			ev.mu.RUnlock()
			if hit {
				hits++
			}
		}
		want, wantErr := ev.Eval(ctx, input)
		for j := 0; j < 2; j++ {
			got, err := ev.Decide(ctx, input)
			if (err == nil) != (wantErr == nil) || (err != nil && errors.Is(wantErr, ErrNoDecision) != errors.Is(err, ErrNoDecision)) {
				t.Fatalf("input %d %s: Decide error %v, Eval error %v", i, show(input), err, wantErr)
			}
			if !decisionEqual(want, got) {
				t.Fatalf("input %d %s:\nDecide = %+v\nEval   = %+v", i, show(input), got, want)
			}
		}
		if wantErr != nil {
			outcomes["error"]++
		} else {
			outcomes[want.Outcome]++
		}
	}
	ev.mu.RLock()
	keys := len(ev.memo)
	ev.mu.RUnlock()
	t.Logf("%d inputs, %d answered from the memo, %d memo keys, outcomes %v", n, hits, keys, outcomes)
	// The generator must reach every outcome and share keys, or the comparison proves little.
	for _, o := range []string{Allow, Challenge, Deny, "error"} {
		if outcomes[o] == 0 {
			t.Errorf("no input led to %s", o)
		}
	}
	if hits < n/4 {
		t.Errorf("only %d of %d inputs were answered from the memo: too few to test it", hits, n)
	}
}

func show(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%#v", v)
	}
	return fmt.Sprintf("%s (%#v)", b, v)
}
