package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/realmgate/realmgate/policies"
	"github.com/realmgate/realmgate/policies/scenario"
	"github.com/realmgate/realmgate/project"
)

// explanation is what `hostd policy explain` reports of one request; --format json prints it as
// it is, so scripts and reviews read the same facts the text shows.
type explanation struct {
	// Notes say where the request came from (a recorded decision, what the record lacked).
	Notes []string `json:"notes,omitempty"`
	// Input is the policy input the decision was made on (input.test, input.passed, input.user,
	// ...), as the engine would build it.
	Input policies.Input `json:"input"`
	// Test is the security test the server applies to the resource.
	Test explainedTest `json:"test"`
	// Decision is allow, challenge, deny, or blocked for a request the engine refuses before any
	// policy.
	Decision string `json:"decision"`
	// Step, Steps and Realms are a challenge's: the next step, the steps in all and the realms
	// to pass. StepUp is true when the step is one the users' rules added.
	Step   int      `json:"step,omitempty"`
	Steps  int      `json:"steps,omitempty"`
	Realms []string `json:"realms,omitempty"`
	StepUp bool     `json:"stepUp,omitempty"`
	// Reasons are a deny's messages, or a block's.
	Reasons []string `json:"reasons,omitempty"`
	// Rules are the users' rules that denied or stepped up, with their file:line and message.
	Rules []policies.RuleHit `json:"rules,omitempty"`
	// Revision is the policy set's revision; empty for a decision no policy made.
	Revision string `json:"revision,omitempty"`
	// Trace is OPA's trace of the evaluation, one line per event, when asked.
	Trace []string `json:"trace,omitempty"`
}

// explainedTest is a security test as explain shows it: its steps as compiled.
type explainedTest struct {
	Name string `json:"name"`
	Kind string `json:"kind,omitempty"`
	// Expansion says what a web or mobile test expanded to.
	Expansion string     `json:"expansion,omitempty"`
	Steps     [][]string `json:"steps,omitempty"`
	// Unprotected is true when no security test protects the resource.
	Unprotected bool `json:"unprotected,omitempty"`
}

// explainRequest decides req with the evaluator's traced evaluation and gathers why.
func explainRequest(ctx context.Context, p *project.Project, ev *policies.Evaluator, req scenario.Request, trace bool) (*explanation, error) {
	rep := &explanation{Input: req.Input}
	if req.Unprotected {
		rep.Test = explainedTest{Name: project.Unprotected, Unprotected: true}
		rep.Decision = policies.Allow
		return rep, nil
	}
	t := p.Tests[req.Test]
	if t == nil {
		return nil, fmt.Errorf("no security test %q", req.Test)
	}
	rep.Test = explainedTest{Name: t.Name, Kind: t.Kind, Expansion: t.Expansion, Steps: t.Steps}
	if req.Blocked != "" {
		rep.Decision, rep.Reasons = scenario.Blocked, []string{req.Blocked}
		return rep, nil
	}
	ex, err := ev.Explain(ctx, req.Input, trace)
	if err != nil {
		return nil, err
	}
	dec := ex.Decision
	rep.Decision, rep.Reasons, rep.Rules, rep.Revision = dec.Outcome, dec.Reasons, ex.Rules, ev.Revision()
	if dec.Outcome == policies.Challenge {
		rep.Step, rep.Steps, rep.Realms = dec.Step, dec.Steps, dec.Realms
		rep.StepUp = dec.Steps > len(t.Steps)
	}
	if trace {
		rep.Trace = strings.Split(strings.TrimSuffix(ex.Trace, "\n"), "\n")
	}
	return rep, nil
}

// writeText prints the explanation for a person.
func (rep *explanation) writeText(w io.Writer) {
	for _, n := range rep.Notes {
		fmt.Fprintln(w, n)
	}
	if rep.Test.Unprotected {
		fmt.Fprintf(w, "security test %s: no security test protects the resource\n", project.Unprotected)
		fmt.Fprintln(w, "decision: allow")
		return
	}
	fmt.Fprintf(w, "security test %s (%s)\n", rep.Test.Name, rep.Test.Kind)
	if rep.Test.Expansion != "" {
		fmt.Fprintf(w, "  expanded from %s\n", rep.Test.Expansion)
	}
	for i, step := range rep.Test.Steps {
		fmt.Fprintf(w, "  step %d: %s\n", i+1, strings.Join(step, ", "))
	}
	fmt.Fprintf(w, "passed: %s\n", strings.Join(rep.Input.Passed, ", "))
	if u := rep.Input.User; u != nil {
		fmt.Fprintf(w, "user: %v", u["userId"])
		if g, ok := u["groups"].([]any); ok {
			fmt.Fprintf(w, " (groups: %s)", joinAny(g))
		}
		fmt.Fprintln(w)
	}
	switch rep.Decision {
	case scenario.Blocked:
		fmt.Fprintf(w, "decision: blocked before the policies: %s\n", strings.Join(rep.Reasons, "; "))
		return
	case policies.Allow:
		fmt.Fprintln(w, "decision: allow")
	case policies.Challenge:
		fmt.Fprintf(w, "decision: challenge step %d of %d: %s\n", rep.Step, rep.Steps, strings.Join(rep.Realms, ", "))
		if rep.StepUp {
			fmt.Fprintf(w, "  step %d is a step-up: the realms the users' rules require\n", rep.Steps)
		}
	case policies.Deny:
		fmt.Fprintf(w, "decision: deny: %s\n", strings.Join(rep.Reasons, "; "))
	}
	for _, h := range rep.Rules {
		verb := "denied by"
		if h.Rule == "require" {
			verb = "stepped up by"
		}
		fmt.Fprintf(w, "%s %s.%s at %s: %s\n", verb, h.Package, h.Rule, h.Location, h.Value)
	}
	fmt.Fprintf(w, "policy revision %s\n", rep.Revision)
	if rep.Trace != nil {
		fmt.Fprintln(w, "trace:")
		for _, l := range rep.Trace {
			fmt.Fprintln(w, l)
		}
	}
}

func joinAny(vs []any) string {
	s := make([]string, len(vs))
	for i, v := range vs {
		s[i] = fmt.Sprint(v)
	}
	return strings.Join(s, ", ")
}
