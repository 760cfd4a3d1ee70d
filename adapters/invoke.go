package adapters

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// Invoker runs a procedure of a deployed adapter on behalf of the adapter call in progress:
// Worklight's WL.Server.invokeProcedure, the host function invoke of sdk-wasm/ABI.md. Whoever
// calls an adapter (the daemon's procedure endpoint, an adapter-based realm) puts one in the
// call's context with [WithInvoker]; the backend finds it there with [InvokerFrom]. The invoker
// applies the called procedure's security test with the session of the request that made the
// outer call, never challenging: a call the session does not already pass is refused.
type Invoker interface {
	// Invoke runs adapter.procedure with the positional parameters (a JSON array) and returns
	// its result. A refusal or a failure is an *InvokeError, whose Code and Message the guest
	// sees.
	Invoke(ctx context.Context, adapter, procedure string, parameters json.RawMessage) (json.RawMessage, error)
}

// MaxInvokeDepth is how deep calls through invokeProcedure may nest below the call a client
// or a realm made: deeper is refused, as is a cycle (a procedure that is already running in
// the chain).
const MaxInvokeDepth = 4

// The codes of an *InvokeError, stable: guests see them as the answer's "code".
const (
	InvokeNotFound      = "not_found"       // no such adapter or procedure (or one only realms call)
	InvokeRealmRequired = "realm_required"  // the session has not passed a realm the called procedure's test needs
	InvokeDenied        = "policy_denied"   // the called procedure's security test denies the session
	InvokeDepth         = "depth_exceeded"  // deeper than MaxInvokeDepth
	InvokeCycle         = "cycle"           // the procedure is already running in the chain
	InvokeBadRequest    = "bad_request"     // the request is not {"adapter", "procedure", "parameters": [...]}
	InvokeUnavailable   = "unavailable"     // the host cannot decide (store, policy engine) or the adapter has no backend
	InvokeNotAvailable  = "not_implemented" // this call has no invoker
)

// InvokeError is a refused or failed invokeProcedure. Code is one of the Invoke* codes or an
// adapter call's Code (adapter_failure, adapter_timeout, ...); Message is safe to show to the
// guest (it never carries the session or another user's data). Realm names the realm the
// session must pass first (InvokeRealmRequired).
type InvokeError struct {
	Code    string
	Message string
	Realm   string
	Err     error
}

func (e *InvokeError) Error() string {
	s := "invokeProcedure: " + e.Code + ": " + e.Message
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *InvokeError) Unwrap() error { return e.Err }

type invokerKey struct{}

// WithInvoker returns ctx with inv as the invoker of the adapter calls made with it.
func WithInvoker(ctx context.Context, inv Invoker) context.Context {
	return context.WithValue(ctx, invokerKey{}, inv)
}

// InvokerFrom returns the invoker ctx carries, nil when there is none.
func InvokerFrom(ctx context.Context) Invoker {
	inv, _ := ctx.Value(invokerKey{}).(Invoker)
	return inv
}

// InvokeChain is the chain of procedures (Adapter.procedure) an invoker serves: the call a
// client or a realm made first, then each procedure called through invokeProcedure. An invoker
// checks depth and cycles with it and hands the callee a longer one.
type InvokeChain []string

// Next checks a call of adapter.procedure from the end of the chain and returns the chain the
// callee runs in: a cycle or a depth beyond MaxInvokeDepth is an *InvokeError.
func (c InvokeChain) Next(adapter, procedure string) (InvokeChain, error) {
	ref := adapter + "." + procedure
	if slices.Contains(c, ref) {
		return nil, &InvokeError{Code: InvokeCycle,
			Message: fmt.Sprintf("%s is already running in this chain of calls (%s): a procedure cannot invoke itself, directly or not", ref, strings.Join(c, " → "))}
	}
	if len(c) > MaxInvokeDepth {
		return nil, &InvokeError{Code: InvokeDepth,
			Message: fmt.Sprintf("calling %s would nest invokeProcedure calls deeper than %d (%s)", ref, MaxInvokeDepth, strings.Join(c, " → "))}
	}
	return append(slices.Clip(c), ref), nil
}

// Held counts the calls of adapter in the chain: the instances of that adapter the chain holds
// while its last call runs.
func (c InvokeChain) Held(adapter string) int {
	n := 0
	for _, ref := range c {
		if a, _, _ := strings.Cut(ref, "."); a == adapter {
			n++
		}
	}
	return n
}
