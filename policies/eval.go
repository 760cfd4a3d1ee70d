package policies

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage/inmem"

	"github.com/realmgate/realmgate/project"
)

// Outcomes of a decision.
const (
	Allow     = "allow"
	Challenge = "challenge"
	Deny      = "deny"
)

// Decision is what a security test says about one request.
type Decision struct {
	Outcome string `json:"outcome"`
	// Step is the step being challenged (1-based) and Steps the number of steps, step-up included.
	Step  int `json:"step,omitempty"`
	Steps int `json:"steps,omitempty"`
	// Realms are the realms to challenge now, sorted.
	Realms []string `json:"realms,omitempty"`
	// Reasons say why a request is denied.
	Reasons []string `json:"reasons,omitempty"`
}

// Query is the one query the evaluator prepares.
const Query = "data.realmgate.decision"

// Evaluator answers decisions from one prepared OPA query. It memoizes each decision on exactly
// the parts of the input that the compiled policies read (found by walking every input reference
// of every module), unless a policy calls a non-deterministic built-in such as time.now_ns or
// http.send, in which case every decision is evaluated.
type Evaluator struct {
	query    rego.PreparedEvalQuery
	revision string
	// deps are the input paths the policies read; memoize is false when a policy reads the
	// whole input or calls a non-deterministic built-in.
	deps    [][]string
	memoize bool

	mu   sync.RWMutex
	memo map[string]*Decision
}

// memoLimit bounds the memo; when full it is cleared (decisions are cheap to recompute and the
// key space of real projects is small).
const memoLimit = 1 << 16

// NewEvaluator parses and compiles the modules and prepares the decision query. Problems in the
// user's policies come back as diagnostics with file and line.
func NewEvaluator(ctx context.Context, mods []Module) (*Evaluator, error) {
	return prepareEvaluator(ctx, mods, nil)
}

// prepareEvaluator is NewEvaluator with a base data document (nil: none), data.go.
func prepareEvaluator(ctx context.Context, mods []Module, data map[string]any) (*Evaluator, error) {
	parsed := map[string]*ast.Module{}
	var diags project.Diagnostics
	for _, m := range mods {
		pm, err := ast.ParseModuleWithOpts(m.Path, m.Source, ast.ParserOptions{RegoVersion: ast.RegoV1})
		if err != nil {
			diags = append(diags, astDiagnostics(m.Path, err)...)
			continue
		}
		if !m.Generated && m.Path != "realmgate/lib.rego" {
			if d := checkUserModule(m, pm); d != nil {
				diags = append(diags, *d)
				continue
			}
			if ds := checkUserRules(m, pm); len(ds) > 0 {
				diags = append(diags, ds...)
				continue
			}
		}
		parsed[m.Path] = pm
	}
	if len(diags) > 0 {
		diags.Sort()
		return nil, &project.LoadError{Diagnostics: diags}
	}
	compiler := ast.NewCompiler().WithStrict(false)
	compiler.Compile(parsed)
	if compiler.Failed() {
		diags = astDiagnostics("", compiler.Errors)
		diags.Sort()
		return nil, &project.LoadError{Diagnostics: diags}
	}
	opts := []func(*rego.Rego){rego.Query(Query), rego.Compiler(compiler)}
	if data != nil {
		opts = append(opts, rego.Store(inmem.NewFromObject(data)))
	}
	pq, err := rego.New(opts...).PrepareForEval(ctx)
	if err != nil {
		return nil, fmt.Errorf("preparing %s: %w", Query, err)
	}
	deps, memoize := inputDependencies(compiler)
	return &Evaluator{
		query:    pq,
		revision: revisionWithData(mods, data),
		deps:     deps,
		memoize:  memoize,
		memo:     map[string]*Decision{},
	}, nil
}

// astDiagnostics turns OPA errors into diagnostics.
func astDiagnostics(file string, err error) project.Diagnostics {
	var errs ast.Errors
	if !errors.As(err, &errs) {
		return project.Diagnostics{{Pos: project.Pos{File: file}, Severity: project.Error, Message: err.Error()}}
	}
	var out project.Diagnostics
	for _, e := range errs {
		pos := project.Pos{File: file}
		if e.Location != nil {
			pos = project.Pos{File: e.Location.File, Line: e.Location.Row}
		}
		out = append(out, project.Diagnostic{Pos: pos, Severity: project.Error, Message: e.Message})
	}
	return out
}

// Revision identifies the compiled policy set.
func (e *Evaluator) Revision() string { return e.revision }

// Memoized reports whether decisions are memoized, and on which input paths.
func (e *Evaluator) Memoized() (bool, []string) {
	paths := make([]string, len(e.deps))
	for i, p := range e.deps {
		paths[i] = strings.Join(append([]string{"input"}, p...), ".")
	}
	return e.memoize, paths
}

// Memo returns the memoized decision of in, if there is one: what Decide would answer without
// evaluating anything. A caller that bounds evaluations (a deadline) need not set one up for it.
func (e *Evaluator) Memo(in Input) (Decision, bool) {
	if !e.memoize {
		return Decision{}, false
	}
	buf := keyBuffers.Get().(*[]byte)
	defer keyBuffers.Put(buf)
	key, ok := e.key(buf, &in)
	if !ok {
		return Decision{}, false
	}
	return e.lookup(key)
}

// Decide decides the input: from the memo when the policies read nothing but the input, and
// an equal input (equal in every part the policies read) was decided before; by evaluating the
// prepared query otherwise. A failed evaluation is never memoized.
func (e *Evaluator) Decide(ctx context.Context, in Input) (Decision, error) {
	if !e.memoize {
		return e.Eval(ctx, in)
	}
	buf := keyBuffers.Get().(*[]byte)
	defer keyBuffers.Put(buf)
	key, ok := e.key(buf, &in)
	if !ok {
		return e.Eval(ctx, in)
	}
	if d, ok := e.lookup(key); ok {
		return d, nil
	}
	dec, err := e.Eval(ctx, in)
	if err != nil {
		return dec, err
	}
	stored := dec.clone()
	e.mu.Lock()
	if len(e.memo) >= memoLimit {
		e.memo = map[string]*Decision{}
	}
	e.memo[string(key)] = &stored
	e.mu.Unlock()
	return dec, nil
}

// key builds in's memo key in buf, a buffer of keyBuffers, and reports whether it could.
func (e *Evaluator) key(buf *[]byte, in *Input) ([]byte, bool) {
	key, ok := e.appendKey((*buf)[:0], in)
	if cap(key) <= maxPooledKey {
		*buf = key[:0] // keep what the buffer grew to
	}
	return key, ok
}

// lookup returns a copy of the decision memoized under key.
func (e *Evaluator) lookup(key []byte) (Decision, bool) {
	e.mu.RLock()
	d, ok := e.memo[string(key)]
	e.mu.RUnlock()
	if !ok {
		return Decision{}, false
	}
	return d.clone(), true
}

// clone copies the decision's lists, so a caller that changes a decision it got cannot change
// the memoized one.
func (d *Decision) clone() Decision {
	c := *d
	c.Realms = append([]string(nil), d.Realms...)
	c.Reasons = append([]string(nil), d.Reasons...)
	return c
}

// ErrNoDecision is returned when the policies give no decision (an unknown test).
var ErrNoDecision = errors.New("policies: no decision")

// Eval evaluates the prepared query without the memo: the input converted to OPA's value, then
// one evaluation.
func (e *Evaluator) Eval(ctx context.Context, in Input) (Decision, error) {
	return e.eval(ctx, in)
}

// eval is Eval with more evaluation options (tracers).
func (e *Evaluator) eval(ctx context.Context, in Input, opts ...rego.EvalOption) (Decision, error) {
	v, err := in.value()
	if err != nil {
		return Decision{}, err
	}
	var rs rego.ResultSet
	if len(opts) == 0 {
		rs, err = e.query.Eval(ctx, rego.EvalParsedInput(v)) // the hot path: no slice to build
	} else {
		rs, err = e.query.Eval(ctx, append([]rego.EvalOption{rego.EvalParsedInput(v)}, opts...)...)
	}
	if err != nil {
		return Decision{}, fmt.Errorf("evaluating %s: %w", Query, err)
	}
	if len(rs) == 0 || len(rs[0].Expressions) == 0 {
		return Decision{}, fmt.Errorf("%w for test %v", ErrNoDecision, in.Test)
	}
	return decisionFrom(rs[0].Expressions[0].Value)
}

func decisionFrom(v any) (Decision, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return Decision{}, fmt.Errorf("policies: decision is %T, not an object", v)
	}
	var d Decision
	d.Outcome, _ = m["outcome"].(string)
	d.Step = intOf(m["step"])
	d.Steps = intOf(m["steps"])
	d.Realms = stringsOf(m["realms"])
	d.Reasons = stringsOf(m["reasons"])
	switch d.Outcome {
	case Allow, Deny:
	case Challenge:
		if len(d.Realms) == 0 {
			return Decision{}, errors.New("policies: a challenge without realms")
		}
	default:
		return Decision{}, fmt.Errorf("policies: unknown outcome %q", d.Outcome)
	}
	return d, nil
}

func intOf(v any) int {
	switch n := v.(type) {
	case json.Number:
		i, _ := n.Int64()
		return int(i)
	case float64:
		return int(n)
	case int:
		return n
	}
	return 0
}

func stringsOf(v any) []string {
	arr, ok := v.([]any)
	if !ok {
		return nil
	}
	out := make([]string, 0, len(arr))
	for _, x := range arr {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}
