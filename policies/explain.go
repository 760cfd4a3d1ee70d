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
	buf := topdown.NewBufferTracer()
	dec, err := e.eval(ctx, in, rego.EvalQueryTracer(buf))
	if err != nil {
		return Explanation{}, err
	}
	out := Explanation{Decision: dec, Rules: userRuleHits(*buf)}
	if trace {
		var b bytes.Buffer
		topdown.PrettyTraceWithLocation(&b, *buf)
		out.Trace = b.String()
	}
	return out, nil
}

// userRuleHits finds the exits of the users' deny and require rules in a trace, with the value
// each rule's head took there.
func userRuleHits(events []*topdown.Event) []RuleHit {
	var out []RuleHit
	for _, ev := range events {
		if ev.Op != topdown.ExitOp {
			continue
		}
		r, ok := ev.Node.(*ast.Rule)
		if !ok || r.Module == nil || r.Head.Key == nil {
			continue
		}
		pkg := strings.TrimPrefix(r.Module.Package.Path.String(), "data.")
		if !strings.HasPrefix(pkg, UserPackagePrefix) {
			continue
		}
		name := r.Head.Name.String()
		if ref := r.Head.Ref(); len(ref) > 0 {
			name = ref[0].Value.String()
		}
		if _, read := userSets[name]; !read {
			continue
		}
		hit := RuleHit{Rule: name, Package: pkg, Value: plugged(r.Head.Key, ev.Locals)}
		if r.Location != nil {
			hit.Location = fmt.Sprintf("%s:%d", r.Location.File, r.Location.Row)
		}
		if !slices.Contains(out, hit) {
			out = append(out, hit)
		}
	}
	return out
}

// plugged is the head's value with the event's bindings: a message as its text, anything else
// as Rego prints it.
func plugged(key *ast.Term, locals *ast.ValueMap) string {
	t := key
	if locals != nil {
		if x, err := ast.TransformVars(key, func(v ast.Var) (ast.Value, error) {
			if b := locals.Get(v); b != nil {
				return b, nil
			}
			return v, nil
		}); err == nil {
			if pt, ok := x.(*ast.Term); ok {
				t = pt
			}
		}
	}
	if s, ok := t.Value.(ast.String); ok {
		return string(s)
	}
	return t.String()
}
