package policies

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"sort"
	"testing"

	"github.com/open-policy-agent/opa/v1/rego"

	"github.com/realmgate/realmgate/project"
)

// The differential tests hold Decide to a plain prepared evaluation of the same input: the
// evaluator's prepared query given the input's JSON form as a map (rawInput), which OPA converts
// itself (rego.EvalInput). Decide converts the typed input on its own and answers most inputs
// from its memo, so a fact the memo key misses, or a value the conversion gets wrong, shows up as
// a different decision.

// rawInput is the input as a program embedding OPA would hand it to rego.EvalInput: a map of its
// JSON form, strings as they are, the request's and attributes' values as they are.
func rawInput(in Input) map[string]any {
	var passed any
	if in.Passed != nil {
		ps := make([]any, len(in.Passed))
		for i, r := range in.Passed {
			ps[i] = r
		}
		passed = ps
	}
	return map[string]any{
		"test":     in.Test,
		"passed":   passed,
		"app":      map[string]any{"id": in.App.ID, "env": in.App.Env, "version": in.App.Version},
		"resource": map[string]any{"kind": in.Resource.Kind, "name": in.Resource.Name, "attributes": in.Resource.Attributes},
		"request":  in.Request,
	}
}

// plainEval is a plain prepared evaluation of rawInput(in) with the evaluator's query.
func plainEval(ctx context.Context, ev *Evaluator, in Input) (Decision, error) {
	rs, err := ev.query.Eval(ctx, rego.EvalInput(rawInput(in)))
	if err != nil {
		return Decision{}, err
	}
	if len(rs) == 0 || len(rs[0].Expressions) == 0 {
		return Decision{}, ErrNoDecision
	}
	return decisionFrom(rs[0].Expressions[0].Value)
}

// outcome is what a plain evaluation answered.
type outcome struct {
	dec Decision
	err error
}

// differ compares Decide (twice: the second answer comes from the memo when the first was
// memoized) and Eval of in with plainEval, and says how they differ ("" when they agree), with
// what the plain evaluation answered.
func differ(ctx context.Context, ev *Evaluator, in Input) (string, outcome) {
	var want outcome
	want.dec, want.err = plainEval(ctx, ev, in)
	for _, f := range []struct {
		name string
		f    func(context.Context, Input) (Decision, error)
	}{{"Decide", ev.Decide}, {"Decide again", ev.Decide}, {"Eval", ev.Eval}} {
		got, err := f.f(ctx, in)
		if (err == nil) != (want.err == nil) || (err != nil && errors.Is(want.err, ErrNoDecision) != errors.Is(err, ErrNoDecision)) {
			return fmt.Sprintf("%s error %v, plain evaluation error %v", f.name, err, want.err), want
		}
		if !decisionEqual(want.dec, got) {
			return fmt.Sprintf("%s = %+v, plain evaluation = %+v", f.name, got, want.dec), want
		}
	}
	return "", want
}

// memoHit reports whether in's key is in the memo.
func memoHit(ev *Evaluator, in Input) bool {
	key, ok := ev.appendKey(nil, &in)
	if !ok {
		return false
	}
	ev.mu.RLock()
	defer ev.mu.RUnlock()
	_, hit := ev.memo[string(key)]
	return hit
}

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

// passed returns the realms of the first steps of one of the tests, as sessions accumulate them,
// sometimes with one more realm, sometimes unsorted or nil: a small space, so that inputs share
// memo keys.
func (g *inputGen) passed(steps [][]string) []string {
	var passed []string
	for _, s := range steps[:g.r.IntN(len(steps)+1)] {
		passed = append(passed, s...)
	}
	if g.r.IntN(8) == 0 {
		passed = append(passed, g.realms[g.r.IntN(len(g.realms))])
	}
	switch g.r.IntN(8) {
	case 0: // unsorted: a memo miss at worst
		g.r.Shuffle(len(passed), func(i, j int) { passed[i], passed[j] = passed[j], passed[i] })
	case 1:
		if len(passed) == 0 {
			passed = nil
		}
	default:
		sort.Strings(passed)
	}
	if passed == nil && g.r.IntN(2) == 0 {
		passed = []string{}
	}
	return passed
}

// app and resource are drawn from small spaces as well.
func (g *inputGen) app() App {
	return App{
		ID:      g.pick("BankAndroid", "Bank", "").(string),
		Env:     g.pick("android", "common", "iphone").(string),
		Version: g.pick("2.1", "1.0", "").(string),
	}
}

func (g *inputGen) resource() Resource {
	kind := g.pick("app", "procedure", "static", "token").(string)
	r := Resource{Kind: kind, Name: g.pick("Bank/android", "Accounts.transfer", "statements", "").(string)}
	switch g.r.IntN(4) {
	case 0:
	case 1:
		r.Attributes = map[string]any{}
	default:
		r.Attributes = map[string]any{}
		g.set(r.Attributes, "adapter", g.pick(missing, "Accounts", nil))
		g.set(r.Attributes, "path", g.pick(missing, "/statements/1", "/api"))
	}
	return r
}

// request returns request facts: none, a few JSON-shaped facts, Go maps and numbers of the kinds a
// caller might pass.
func (g *inputGen) request() map[string]any {
	switch g.r.IntN(10) {
	case 0:
		return nil
	case 1:
		return map[string]any{}
	case 2:
		// A Go map of strings, as a caller might pass request headers.
		return map[string]any{
			"headers": map[string]string{
				"channel":   g.pick("app", "", "web").(string),
				"procedure": g.pick("Accounts.transfer", "Accounts.list").(string),
			},
			"channel": "app",
		}
	}
	req := map[string]any{}
	g.set(req, "method", g.pick(missing, "GET", "POST"))
	g.set(req, "channel", g.pick(missing, nil, false, true, "app", "app", "app", "app", ""))
	g.set(req, "hour", g.pick(missing, nil, 3, 6, 12, 12, 12, 5.5, json.Number("4"), "3", int64(7), uint8(2)))
	g.set(req, "procedure", g.pick(missing, "Accounts.transfer", "Accounts.transfer", "Accounts.list", nil))
	g.set(req, "country", g.pick(missing, missing, missing, "XX", "FR", nil, []string{"XX"}))
	switch g.r.IntN(4) {
	case 0:
	case 1:
		req["params"] = g.pick("amount", nil, []any{1}, map[string]string{"amount": "20000"})
	default:
		params := map[string]any{}
		g.set(params, "amount", g.pick(missing, nil, 500, 1000, 1000.5, 20000, "big", json.Number("2e4"), float32(1500)))
		g.set(params, "memo", g.pick(missing, "rent", "gift"))
		req["params"] = params
	}
	return req
}

func (g *inputGen) input() Input {
	steps := g.steps[g.r.IntN(len(g.steps))]
	return Input{
		Test:     g.pick(append(anySlice(g.tests), "nosuch", "", "BankMobile", "Transfers", "Transfers")...).(string),
		Passed:   g.passed(steps),
		App:      g.app(),
		Resource: g.resource(),
		Request:  g.request(),
	}
}

// noisy returns a copy of in with facts the bank's policies do not read: they must not split the
// memo, and must not change the decision.
func (g *inputGen) noisy(in Input) Input {
	out := in
	out.Passed = slices.Clone(in.Passed)
	out.App, out.Resource = g.app(), g.resource()
	if in.Request != nil {
		out.Request = deepCopy(in.Request).(map[string]any)
		g.set(out.Request, "userAgent", g.pick(missing, "curl", fmt.Sprint(g.r.IntN(1000))))
	}
	return out
}

func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		if x == nil {
			return x
		}
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = deepCopy(e)
		}
		return out
	case []any:
		if x == nil {
			return x
		}
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = deepCopy(e)
		}
		return out
	case []string:
		return slices.Clone(x)
	case map[string]string:
		return maps.Clone(x)
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

// TestDecideMatchesEval is a differential test over the bank example, whose policies read request
// facts: over generated inputs, Decide (memoized, called repeatedly so that most answers come from
// the memo) and Eval must answer exactly what a plain prepared evaluation of the same input
// answers.
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
	pool := make([]Input, n/8)
	for i := range pool {
		pool[i] = g.input()
	}
	outcomes := map[string]int{}
	hits := 0
	for i := 0; i < n; i++ {
		input := g.noisy(pool[g.r.IntN(len(pool))])
		if memoHit(ev, input) {
			hits++
		}
		diff, want := differ(ctx, ev, input)
		if diff != "" {
			t.Fatalf("input %d %s: %s", i, show(input), diff)
		}
		if want.err != nil {
			outcomes["error"]++
		} else {
			outcomes[want.dec.Outcome]++
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

// probePolicy is a user policy added to each corpus project in TestDecideMatchesEvalOnCorpus, so
// that its decisions also depend on the application, the resource and the request: step-up to a
// realm the project defines, and denials.
const probePolicy = `# Package realmgate.user.probe makes decisions depend on every part of the input.
package realmgate.user.probe

require contains realm if {
	input.request.method == "POST"
	input.resource.kind == "procedure"
	some realm, _ in data.realmgate.config.realms
	realm == input.resource.attributes.stepUp
}

deny contains "old app" if input.app.version == "1.0"

deny contains sprintf("no %s here", [input.resource.name]) if input.resource.attributes.closed == true
`

// TestDecideMatchesEvalOnCorpus is the differential test over the real projects: for each one the
// loader accepts, as it is and with probePolicy added, and for each of its security tests,
// generated inputs (realms passed by step, subsets and extra realms, applications, resources,
// request facts) get from Decide and Eval exactly what a plain prepared evaluation of the same
// input gets.
func TestDecideMatchesEvalOnCorpus(t *testing.T) {
	names := corpusProjects(t)
	perTest := 48
	if testing.Short() {
		perTest = 8
	}
	ctx := context.Background()
	total, loaded := 0, 0
	for _, name := range names {
		p, err := project.Load(filepath.Join(corpusDir, name), project.LoadOptions{})
		if err != nil {
			continue
		}
		loaded++
		mods, err := CompileRego(p)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		realms := slices.Sorted(maps.Keys(p.Realms))
		for _, probe := range []bool{false, true} {
			ms := mods
			if probe {
				ms = append(slices.Clone(mods), Module{Path: "policies/probe.rego", Source: probePolicy})
			}
			ev, err := NewEvaluator(ctx, ms)
			if err != nil {
				t.Fatalf("%s (probe %v): %v", name, probe, err)
			}
			if memo, _ := ev.Memoized(); !memo {
				t.Fatalf("%s (probe %v): not memoized: the test would compare Eval with itself", name, probe)
			}
			r := rand.New(rand.NewPCG(uint64(len(name)), uint64(total)))
			for _, test := range p.TestOrder {
				g := &inputGen{r: r, tests: []string{test}, realms: append(slices.Clone(realms), "unknownRealm"),
					steps: [][][]string{p.Tests[test].Steps}}
				for i := 0; i < perTest; i++ {
					in := g.corpusInput(test, realms)
					if diff, _ := differ(ctx, ev, in); diff != "" {
						t.Fatalf("%s (probe %v), input %s: %s", name, probe, show(in), diff)
					}
					total++
				}
			}
		}
	}
	if loaded == 0 {
		t.Skip("the corpus holds no project the loader accepts")
	}
	t.Logf("%d corpus projects, %d inputs decided alike", loaded, total)
}

// corpusInput is an input of test: realms passed by step, or a random subset of the project's
// realms, and the parts probePolicy reads.
func (g *inputGen) corpusInput(test string, realms []string) Input {
	in := Input{Test: test, App: g.app(), Resource: g.resource()}
	if g.r.IntN(4) == 0 {
		for _, r := range realms {
			if g.r.IntN(2) == 0 {
				in.Passed = append(in.Passed, r)
			}
		}
		in.Passed = append([]string{}, in.Passed...)
	} else {
		in.Passed = g.passed(g.steps[0])
	}
	if g.r.IntN(2) == 0 && in.Resource.Attributes != nil {
		in.Resource.Attributes["stepUp"] = g.pick(realms[g.r.IntN(len(realms))], "unknownRealm")
		g.set(in.Resource.Attributes, "closed", g.pick(missing, true, false))
	}
	in.Request = map[string]any{"method": g.pick("GET", "POST")}
	return in
}

func show(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%#v", v)
	}
	return fmt.Sprintf("%s (%#v)", b, v)
}
