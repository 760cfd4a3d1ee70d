package policies

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/topdown"
)

// Explanation is a decision with what made it: the users' rules that denied or stepped up, and
// when asked OPA's trace of the evaluation.
type Explanation struct {
	Decision Decision `json:"decision"`
	// Rules are the users' deny and require rules that held for the input, in the order OPA
	// reached them. A deny makes the library skip the require rules, which are then not listed.
	Rules []RuleHit `json:"rules,omitempty"`
	// Trace is OPA's trace of the evaluation with the location of each step
	// (topdown.PrettyTraceWithLocation); empty unless asked.
	Trace string `json:"trace,omitempty"`
}

// RuleHit is one user rule that held: a deny with its message or a require with its realm.
type RuleHit struct {
	// Rule is "deny" or "require"; Package is the rule's package ("realmgate.user.transfers").
	Rule    string `json:"rule"`
	Package string `json:"package"`
	// Location is the rule's file:line.
	Location string `json:"location"`
	// Value is the message (deny) or the realm (require) the rule added.
	Value string `json:"value"`
}

func (h RuleHit) String() string {
	return fmt.Sprintf("%s.%s (%s): %s", h.Package, h.Rule, h.Location, h.Value)
}

// Explain evaluates in as [Evaluator.Eval] does, with OPA's tracer following the evaluation, and
// reports the users' rules that held; with trace set, the trace itself too. It costs a traced
// evaluation: it is for people asking why, never for serving requests.
func (e *Evaluator) Explain(ctx context.Context, in Input, trace bool) (Explanation, error) {
	rt := &ruleTracer{}
	if trace {
		rt.buf = topdown.NewBufferTracer()
	}
	dec, err := e.eval(ctx, in, rego.EvalQueryTracer(rt))
	if err != nil {
		return Explanation{}, err
	}
	out := Explanation{Decision: dec, Rules: rt.hits}
	if trace {
		var b bytes.Buffer
		topdown.PrettyTraceWithLocation(&b, *rt.buf)
		out.Trace = b.String()
	}
	return out, nil
}

// ruleTracer records the exits of the users' deny and require rules, with the value each rule's
// head took there, and keeps the whole trace when buf is set. The head is plugged as the event
// comes: the bindings an event refers to change as the evaluation goes on.
type ruleTracer struct {
	hits []RuleHit
	buf  *topdown.BufferTracer
}

func (*ruleTracer) Enabled() bool { return true }

func (t *ruleTracer) Config() topdown.TraceConfig {
	return topdown.TraceConfig{PlugLocalVars: t.buf != nil}
}

func (t *ruleTracer) TraceEvent(ev topdown.Event) {
	if t.buf != nil {
		t.buf.TraceEvent(ev)
	}
	if ev.Op != topdown.ExitOp {
		return
	}
	r, ok := ev.Node.(*ast.Rule)
	if !ok || r.Module == nil || r.Head.Key == nil {
		return
	}
	pkg := strings.TrimPrefix(r.Module.Package.Path.String(), "data.")
	if !strings.HasPrefix(pkg, UserPackagePrefix) {
		return
	}
	name := r.Head.Name.String()
	if ref := r.Head.Ref(); len(ref) > 0 {
		name = ref[0].Value.String()
	}
	if _, read := userSets[name]; !read {
		return
	}
	hit := RuleHit{Rule: name, Package: pkg, Value: text(ev.Plug(r.Head.Key))}
	if r.Location != nil {
		hit.Location = fmt.Sprintf("%s:%d", r.Location.File, r.Location.Row)
	}
	if !slices.Contains(t.hits, hit) {
		t.hits = append(t.hits, hit)
	}
}

// text is a message as its text, anything else as Rego prints it.
func text(t *ast.Term) string {
	if s, ok := t.Value.(ast.String); ok {
		return string(s)
	}
	return t.String()
}
