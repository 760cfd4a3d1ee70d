package realmgate

import (
	"encoding/json"
	"errors"
	"fmt"
)

// ErrNoInvoker: the host gives this call no way to invoke procedures (a call no client or realm
// made: a conformance run, hostd adapter test).
var ErrNoInvoker = errors.New("realmgate: invoke: the host gives this call no invoker")

// InvokeRequest names the procedure to run and its positional parameters.
type InvokeRequest struct {
	Adapter    string `json:"adapter"`
	Procedure  string `json:"procedure"`
	Parameters []any  `json:"parameters"`
}

// InvokeProcedure runs a procedure of a deployed adapter through the host, as Worklight's
// WL.Server.invokeProcedure: the host applies the called procedure's security test with the
// session of the request being served, without challenging, and the callee gets the caller's
// identity as a client's call would give it. The answer is Worklight's: the result's members
// with "isSuccessful": true, or "isSuccessful": false with "errors" and "code" (not_found,
// realm_required, policy_denied, depth_exceeded, cycle, bad_request, unavailable, or the
// callee's adapter_failure, adapter_timeout, ...). Only a call with no invoker is an error
// (ErrNoInvoker).
func InvokeProcedure(req InvokeRequest) (map[string]any, error) {
	if req.Parameters == nil {
		req.Parameters = []any{}
	}
	b, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("realmgate: invoke: %w", err)
	}
	answer, ok := invokeCall(b)
	if !ok {
		return nil, ErrNoInvoker
	}
	var out map[string]any
	if err := json.Unmarshal(answer, &out); err != nil {
		return nil, fmt.Errorf("realmgate: invoke: the host's answer is not a JSON object: %w", err)
	}
	return out, nil
}

// InvokeJSON is InvokeProcedure for guests that speak JSON themselves (the JavaScript engine):
// request is {"adapter", "procedure", "parameters": [...]} and the answer the host's JSON as it
// is.
func InvokeJSON(request []byte) ([]byte, error) {
	answer, ok := invokeCall(request)
	if !ok {
		return nil, ErrNoInvoker
	}
	return answer, nil
}
