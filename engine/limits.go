package engine

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/realmgate/realmgate/policies"
)

// Bounds on what a policy evaluates.
//
// Anyone can send requests before authenticating, as many as they like, so the decision about
// such a request must cost little whatever it carries. A caller counts as authenticated once a
// realm that needs a credential passed in its session: the realms anyone passes without one
// (anti-XSRF, anonymous user, remote disable, a device id sent without proof) do not count. For a
// caller who is not:
//
//   - request facts (procedure parameters) larger than Config.UnauthenticatedInputBytes, as
//     JSON, are withheld from the policy: it decides with input.request holding only method,
//     path and "withheld": true. A challenge or a denial made that way stands (the caller
//     authenticates and sends the request again, or is refused); an allow does not, since the
//     policy never saw what it allowed: the request is refused with CodeInputTooLarge;
//   - the evaluation has a deadline, Config.UnauthenticatedPolicyTimeout, past which it is
//     stopped and the request refused with CodePolicyTimeout.
//
// For every caller, facts nested deeper than Config.InputDepth are refused with CodeBadRequest:
// no procedure needs them, and they cost the policy engine more than their size says.

// credentialFree reports whether realm is one that any client passes without a credential.
func (e *Engine) credentialFree(realm string) bool {
	switch e.realms[realm].(type) {
	case antiXSRF, anonymousUser, remoteDisable, deviceNoProvisioning:
		return true
	}
	return false
}

// authenticated reports whether the realms passed include one that needs a credential.
func (e *Engine) authenticated(passed []string) bool {
	for _, name := range passed {
		if !e.credentialFree(name) {
			return true
		}
	}
	return false
}

// errTooDeep stops measure at the first value nested too deep.
var errTooDeep = errors.New("nested too deep")

// measure returns the size of v as JSON (close enough: escapes are not counted), stopping with
// the size so far once it passes limit, and errTooDeep when v nests more than maxDepth arrays
// and objects.
func measure(v any, depth, maxDepth, limit int) (int, error) {
	switch v := v.(type) {
	case nil:
		return 4, nil
	case bool:
		return 5, nil
	case string:
		return len(v) + 2, nil
	case float64:
		return len(strconv.FormatFloat(v, 'g', -1, 64)), nil
	case map[string]any:
		if depth >= maxDepth {
			return 0, errTooDeep
		}
		n := 2
		for k, x := range v {
			m, err := measure(x, depth+1, maxDepth, limit-n)
			if err != nil {
				return 0, err
			}
			n += len(k) + 4 + m
			if n > limit {
				return n, nil
			}
		}
		return n, nil
	case []any:
		if depth >= maxDepth {
			return 0, errTooDeep
		}
		n := 2
		for _, x := range v {
			m, err := measure(x, depth+1, maxDepth, limit-n)
			if err != nil {
				return 0, err
			}
			n += m + 1
			if n > limit {
				return n, nil
			}
		}
		return n, nil
	}
	return 8, nil // numbers of other types, which the server does not send
}

// boundFacts applies the bounds to a request's facts. It returns the facts the policy may see
// and whether some were withheld, or an error for facts nested too deep.
func (e *Engine) boundFacts(facts map[string]any, authenticated bool) (map[string]any, bool, error) {
	limit := int(^uint(0) >> 1)
	if !authenticated {
		limit = e.cfg.UnauthenticatedInputBytes
	}
	n, err := measure(facts, 0, e.cfg.InputDepth, limit)
	if err != nil {
		return nil, false, errorf(CodeBadRequest, "the request's parameters are nested more than %d levels deep", e.cfg.InputDepth-2)
	}
	if n <= limit {
		return facts, false, nil
	}
	kept := map[string]any{"withheld": true}
	for _, k := range []string{"method", "path"} {
		if v, ok := facts[k]; ok {
			kept[k] = v
		}
	}
	return kept, true, nil
}

// evaluate asks the policy for a decision, within the deadline of an unauthenticated caller.
func (e *Engine) evaluate(ctx context.Context, input policies.Input, authenticated bool) (policies.Decision, error) {
	if authenticated {
		return e.eval.Decide(ctx, input)
	}
	if dec, ok := e.eval.Memo(input); ok {
		return dec, nil // decided before: nothing is evaluated, so there is nothing to bound
	}
	ctx, cancel := context.WithTimeout(ctx, e.cfg.UnauthenticatedPolicyTimeout)
	defer cancel()
	dec, err := e.eval.Decide(ctx, input)
	if err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return dec, &Error{Code: CodePolicyTimeout,
			Message: fmt.Sprintf("the security test's policy took longer than %v to decide this request; sign in first, or ask the administrator to simplify the policy", e.cfg.UnauthenticatedPolicyTimeout),
			Err:     err}
	}
	return dec, err
}
