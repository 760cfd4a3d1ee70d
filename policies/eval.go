package policies

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"

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
	pq, err := rego.New(
		rego.Query(Query),
		rego.Compiler(compiler),
	).PrepareForEval(ctx)
	if err != nil {
		return nil, fmt.Errorf("preparing %s: %w", Query, err)
	}
	deps, memoize := inputDependencies(compiler)
	return &Evaluator{
		query:    pq,
		revision: Revision(mods),
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

// Decide evaluates the decision for input, which must be JSON-shaped (maps, slices, strings,
// numbers, booleans, nil) and hold at least "test" and "passed" (sorted).
func (e *Evaluator) Decide(ctx context.Context, input map[string]any) (Decision, error) {
	if !e.memoize {
		return e.Eval(ctx, input)
	}
	key, ok := e.key(input)
	if !ok {
		return e.Eval(ctx, input)
	}
	e.mu.RLock()
	d, ok := e.memo[key]
	e.mu.RUnlock()
	if ok {
		return d.clone(), nil
	}
	dec, err := e.Eval(ctx, input)
	if err != nil {
		return dec, err
	}
	stored := dec.clone()
	e.mu.Lock()
	if len(e.memo) >= memoLimit {
		e.memo = map[string]*Decision{}
	}
	e.memo[key] = &stored
	e.mu.Unlock()
	return dec, nil
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

// Eval evaluates the prepared query without the memo.
func (e *Evaluator) Eval(ctx context.Context, input map[string]any) (Decision, error) {
	rs, err := e.query.Eval(ctx, rego.EvalInput(input))
	if err != nil {
		return Decision{}, fmt.Errorf("evaluating %s: %w", Query, err)
	}
	if len(rs) == 0 || len(rs[0].Expressions) == 0 {
		return Decision{}, fmt.Errorf("%w for test %v", ErrNoDecision, input["test"])
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

// key encodes the values of the dependency paths of input, and reports false when a value cannot
// be encoded (the decision is then evaluated, not memoized). Two inputs get the same key only if
// OPA sees the same values at every path:
//   - a path that leads nowhere ("u") differs from one that leads to null ("n"): Rego tells them
//     apart (`not input.request.flag` holds when flag is missing, not when it is null);
//   - a path that stops at a value other than a map[string]any (a map[string]string of headers, a
//     struct) encodes that whole value with the depth it stopped at, since OPA converts such
//     values through JSON and may find the rest of the path inside.
func (e *Evaluator) key(input map[string]any) (string, bool) {
	var b strings.Builder
	for _, p := range e.deps {
		var v any = input
		depth, present := 0, true
		for ; depth < len(p); depth++ {
			m, ok := v.(map[string]any)
			if !ok {
				break
			}
			if v, present = m[p[depth]]; !present {
				break
			}
		}
		switch {
		case !present:
			b.WriteByte('u')
		case depth < len(p):
			b.WriteByte('w')
			b.WriteString(strconv.Itoa(depth))
			fallthrough
		default:
			if !encodeValue(&b, v) {
				return "", false
			}
		}
		b.WriteByte(0)
	}
	return b.String(), true
}

// encodeValue appends a self-delimiting encoding of v. It walks the types OPA reads natively
// (nil, booleans, strings byte for byte, json.Number, map[string]any, []any) and []string, and
// encodes any other value as the JSON that OPA converts it through; nil maps and slices are null,
// as OPA sees them. It reports false for values JSON cannot encode.
func encodeValue(b *strings.Builder, v any) bool {
	switch x := v.(type) {
	case nil:
		b.WriteByte('n')
	case bool:
		if x {
			b.WriteByte('t')
		} else {
			b.WriteByte('f')
		}
	case string:
		writeLenPrefixed(b, 's', x)
	case json.Number:
		writeLenPrefixed(b, 'd', string(x))
	case []string:
		if x == nil {
			b.WriteByte('n')
			return true
		}
		b.WriteByte('a')
		b.WriteString(strconv.Itoa(len(x)))
		for _, s := range x {
			writeLenPrefixed(b, ':', s)
		}
	case []any:
		if x == nil {
			b.WriteByte('n')
			return true
		}
		b.WriteByte('[')
		b.WriteString(strconv.Itoa(len(x)))
		for _, e := range x {
			if !encodeValue(b, e) {
				return false
			}
		}
	case map[string]any:
		if x == nil {
			b.WriteByte('n')
			return true
		}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteByte('{')
		b.WriteString(strconv.Itoa(len(x)))
		for _, k := range keys {
			writeLenPrefixed(b, ':', k)
			if !encodeValue(b, x[k]) {
				return false
			}
		}
	default:
		j, err := json.Marshal(x)
		if err != nil {
			return false
		}
		writeLenPrefixed(b, 'j', string(j))
	}
	return true
}

func writeLenPrefixed(b *strings.Builder, kind byte, s string) {
	b.WriteByte(kind)
	b.WriteString(strconv.Itoa(len(s)))
	b.WriteByte(':')
	b.WriteString(s)
}

// nondeterministic lists built-ins whose result is not a function of the input, beyond those OPA
// marks Nondeterministic. Certificate verification checks validity against the wall clock (unless
// given a time), so a memoized "valid" would outlive the certificate.
var nondeterministic = map[string]bool{
	"time.now_ns": true, "rand.intn": true, "uuid.rfc4122": true, "opa.runtime": true,
	"http.send": true, "net.lookup_ip_addr": true,
	"crypto.x509.parse_and_verify_certificates":              true,
	"crypto.x509.parse_and_verify_certificates_with_options": true,
}

// inputDependencies walks every module and returns the input paths they read (the longest
// constant prefix of each input reference), with paths covered by a shorter one removed. It
// returns memoize=false when a rule reads input as a whole or calls a non-deterministic built-in.
func inputDependencies(c *ast.Compiler) ([][]string, bool) {
	memoize := true
	var paths [][]string
	var visit func(x any) bool
	visit = func(x any) bool {
		switch t := x.(type) {
		case ast.Ref:
			if !t[0].Equal(ast.InputRootDocument) {
				return false
			}
			var p []string
			for _, term := range t[1:] {
				s, ok := term.Value.(ast.String)
				if !ok {
					break
				}
				p = append(p, string(s))
			}
			if len(p) == 0 {
				memoize = false
			}
			paths = append(paths, p)
			for _, term := range t[1:] {
				ast.NewGenericVisitor(visit).Walk(term)
			}
			return true
		case ast.Var:
			if t.Equal(ast.InputRootDocument.Value) {
				memoize = false // a bare input term reads everything
			}
		case *ast.Expr:
			if t.IsCall() {
				name := t.Operator().String()
				if nondeterministic[name] {
					memoize = false
				} else if bi, ok := ast.BuiltinMap[name]; ok && bi.Nondeterministic {
					memoize = false
				}
			}
		}
		return false
	}
	for _, m := range c.Modules {
		ast.NewGenericVisitor(visit).Walk(m)
	}
	if !memoize {
		return nil, false
	}
	sort.Slice(paths, func(i, j int) bool {
		return len(paths[i]) < len(paths[j]) || (len(paths[i]) == len(paths[j]) && strings.Join(paths[i], ".") < strings.Join(paths[j], "."))
	})
	var out [][]string
	for _, p := range paths {
		covered := false
		for _, q := range out {
			if len(q) <= len(p) && strings.Join(q, "\x00") == strings.Join(p[:len(q)], "\x00") {
				covered = true
				break
			}
		}
		if !covered {
			out = append(out, p)
		}
	}
	return out, true
}
