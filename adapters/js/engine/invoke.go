package main

import (
	"bytes"
	"encoding/json"

	"github.com/dop251/goja"
)

// WL.Server.invokeProcedure and WL.Server.pki: calls that go through the host (sdk-wasm/ABI.md,
// realmgate.invoke and realmgate.pki). The engine passes JSON through; the host decides.

// hostCalls is what the engine needs of the host beyond host: the wasm module's host has it;
// a native test's fake may not, and then both functions fail as without a grant.
type hostCalls interface {
	// Invoke runs {"adapter", "procedure", "parameters"} and returns the host's answer; ok is
	// false when the host gives the call no invoker.
	Invoke(request []byte) (answer []byte, ok bool, err error)
	// PKI runs one request of the host PKI capability and returns the host's answer.
	PKI(request []byte) []byte
}

// invokeOptions are invokeProcedure's options, as Worklight documented them. The parameters
// pass through as JSON.
type invokeOptions struct {
	Adapter    string          `json:"adapter"`
	Procedure  string          `json:"procedure"`
	Parameters json.RawMessage `json:"parameters,omitempty"`
}

// invokeProcedure({adapter, procedure, parameters}) runs a procedure of a deployed adapter
// through the host, which applies its security test with the current request's session, and
// returns Worklight's answer: the result's members with isSuccessful true, or isSuccessful
// false with errors (and code). Bad options throw, as Worklight's did; a refusal does not.
func (e *engine) invokeProcedure(c goja.FunctionCall) goja.Value {
	var o invokeOptions
	if s, err := e.stringify(goja.Undefined(), c.Argument(0)); err != nil || goja.IsUndefined(s) || json.Unmarshal([]byte(s.String()), &o) != nil {
		e.throw("WL.Server.invokeProcedure: the options must be {adapter, procedure, parameters: [...]}")
	}
	if o.Adapter == "" || o.Procedure == "" {
		e.throw("WL.Server.invokeProcedure: the options name no adapter or no procedure")
	}
	if p := bytes.TrimSpace(o.Parameters); len(p) > 0 && p[0] != '[' && !bytes.Equal(p, []byte("null")) {
		e.throw("WL.Server.invokeProcedure: parameters must be an array")
	}
	req, _ := json.Marshal(o)
	hc, ok := e.host.(hostCalls)
	var answer []byte
	if ok {
		var err error
		if answer, ok, err = hc.Invoke(req); err != nil {
			e.throw("WL.Server.invokeProcedure: %v", err)
		}
	}
	if !ok {
		return e.toJS(map[string]any{"isSuccessful": false, "code": "not_implemented",
			"errors": []any{"invokeProcedure is not available in this call (no client or realm request is being served)"}})
	}
	v, err := e.parseJSON(answer)
	if err != nil {
		e.throw("WL.Server.invokeProcedure: the host's answer is not JSON: %v", err)
	}
	return v
}

// pki(request) runs one operation of the host PKI capability (ABI.md, "Host PKI") and returns
// its answer; a refusal ({"error": ...}) throws an Error with the host's message.
func (e *engine) pki(c goja.FunctionCall) goja.Value {
	raw, err := e.fromJS(c.Argument(0))
	if err != nil || raw == nil {
		e.throw("WL.Server.pki: the request must be an object such as {op: \"parseCSR\", csr: ...}")
	}
	req, _ := json.Marshal(raw)
	hc, ok := e.host.(hostCalls)
	if !ok {
		e.throw("WL.Server.pki: the host gives this adapter no PKI capability")
	}
	answer := hc.PKI(req)
	var refusal struct {
		Error *string `json:"error"`
	}
	if err := json.Unmarshal(answer, &refusal); err != nil {
		e.throw("WL.Server.pki: the host's answer is not JSON: %v", err)
	}
	if refusal.Error != nil {
		e.throw("WL.Server.pki: %s", *refusal.Error)
	}
	v, err := e.parseJSON(answer)
	if err != nil {
		e.throw("WL.Server.pki: the host's answer is not JSON: %v", err)
	}
	return v
}

// parseJSON is JSON.parse of b in the adapter's runtime.
func (e *engine) parseJSON(b []byte) (goja.Value, error) {
	return e.parse(goja.Undefined(), e.vm.ToValue(string(b)))
}

// objectArgument is the argument list of a call whose input has no parameters: the input
// object itself, as one argument. Worklight's adapter-based PKI bridge called each bridge
// procedure with one JSON object (validateIdentity(input), generateCertificate(input), ...),
// and init with the realm's parameters.
func (e *engine) objectArgument(raw []byte) ([]goja.Value, error) {
	var call struct {
		Input json.RawMessage `json:"input"`
	}
	if err := json.Unmarshal(raw, &call); err != nil {
		return nil, err
	}
	if len(call.Input) == 0 {
		return []goja.Value{e.vm.NewObject()}, nil
	}
	v, err := e.parseJSON(call.Input)
	if err != nil {
		return nil, err
	}
	return []goja.Value{v}, nil
}
