package wasm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/tetratelabs/wazero/api"

	"github.com/realmgate/realmgate/adapters"
	"github.com/realmgate/realmgate/internal/adapterjson"
)

// The host function invoke of ABI.md (module "realmgate"): Worklight's
// WL.Server.invokeProcedure. The guest names another procedure of a deployed adapter; the
// invoker the caller of this adapter put in the call's context (adapters.WithInvoker) applies
// that procedure's security test with the current request's session and runs it. The guest
// gets Worklight's answer either way: the result's members with "isSuccessful": true, or
// "isSuccessful": false with the reason.

// Bounds of invoke.
const (
	maxInvokeCalls   = 32        // invoke calls per procedure call
	maxInvokeRequest = 1 << 20   // the request JSON, at most; the adapter's MaxInput bounds it further
	invokeNoInvoker  = int32(-1) // the host gives this call no invoker
)

// invokeRequest is the JSON a guest passes to the invoke host function.
type invokeRequest struct {
	Adapter    string          `json:"adapter"`
	Procedure  string          `json:"procedure"`
	Parameters json.RawMessage `json:"parameters"`
}

// invoke(ptr, len) -> len: one call of another procedure; the answer becomes the pending
// result. -1 when the call has no invoker (a call that no client or realm made: a conformance
// run, hostd adapter test).
func (a *adapter) hostInvoke(ctx context.Context, mod api.Module, stack []uint64) {
	ptr, n := api.DecodeU32(stack[0]), api.DecodeU32(stack[1])
	b := read(mod, "invoke", ptr, n)
	st := stateOf(ctx)
	inv := adapters.InvokerFrom(ctx)
	if inv == nil {
		a.logger.Warn("realmgate.invoke: the host gives this call no invoker", "procedure", st.procedure)
		stack[0] = api.EncodeI32(invokeNoInvoker)
		return
	}
	st.pending = a.invoke(ctx, st, inv, b)
	stack[0] = api.EncodeU32(uint32(len(st.pending)))
}

// invoke is hostInvoke past reading the guest's memory: it returns the answer JSON.
func (a *adapter) invoke(ctx context.Context, st *callState, inv adapters.Invoker, b []byte) []byte {
	if st.invokes >= maxInvokeCalls {
		return invokeAnswer(nil, &adapters.InvokeError{Code: adapters.InvokeBadRequest,
			Message: fmt.Sprintf("a procedure call may make at most %d invokeProcedure calls", maxInvokeCalls)})
	}
	st.invokes++
	req, err := parseInvokeRequest(b, min(maxInvokeRequest, a.limits.MaxInput))
	if err != nil {
		return invokeAnswer(nil, err)
	}
	out, err := inv.Invoke(ctx, req.Adapter, req.Procedure, req.Parameters)
	if err != nil {
		a.logger.LogAttrs(ctx, slog.LevelInfo, "invokeProcedure refused or failed",
			slog.String("procedure", st.procedure), slog.String("callee", req.Adapter+"."+req.Procedure),
			slog.String("code", invokeCode(err)))
	}
	return invokeAnswer(out, err)
}

// parseInvokeRequest decodes and checks a request: one object of at most limit bytes, exact
// member names, an adapter and a procedure, parameters an array or absent.
func parseInvokeRequest(b []byte, limit int) (*invokeRequest, error) {
	bad := func(msg string) error {
		return &adapters.InvokeError{Code: adapters.InvokeBadRequest, Message: msg}
	}
	if len(b) > limit {
		return nil, bad(fmt.Sprintf("the request is larger than %d bytes", limit))
	}
	req, err := adapterjson.DecodeStrict[invokeRequest](b)
	if err != nil {
		return nil, bad(fmt.Sprintf("the request is not {\"adapter\", \"procedure\", \"parameters\": [...]}: %v", err))
	}
	if req.Adapter == "" || req.Procedure == "" {
		return nil, bad("the request names no adapter or no procedure")
	}
	if len(req.Adapter) > 256 || len(req.Procedure) > 256 {
		return nil, bad("the adapter's or the procedure's name is longer than 256 bytes")
	}
	switch p := strings.TrimSpace(string(req.Parameters)); {
	case p == "" || p == "null":
		req.Parameters = json.RawMessage(`[]`)
	case p[0] != '[':
		return nil, bad("parameters must be an array")
	}
	return &req, nil
}

// invokeAnswer is Worklight's answer of invokeProcedure: the result object's members with
// "isSuccessful": true (a result that is not an object as "result"), or "isSuccessful": false
// with "errors" and "code".
func invokeAnswer(out json.RawMessage, err error) []byte {
	if err != nil {
		b, _ := json.Marshal(map[string]any{"isSuccessful": false, "errors": []string{invokeMessage(err)}, "code": invokeCode(err)})
		return b
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(out, &obj) != nil || obj == nil {
		b, _ := json.Marshal(map[string]any{"isSuccessful": true, "result": out})
		return b
	}
	obj["isSuccessful"] = json.RawMessage("true")
	b, _ := json.Marshal(obj)
	return b
}

// invokeCode and invokeMessage are what the guest sees of an error: the invoker's and the
// adapters' codes and messages are written for callers; anything else says only that it failed.
func invokeCode(err error) string {
	var ie *adapters.InvokeError
	if errors.As(err, &ie) {
		return ie.Code
	}
	var ae *adapters.Error
	if errors.As(err, &ae) {
		return string(ae.Code)
	}
	return adapters.InvokeUnavailable
}

func invokeMessage(err error) string {
	var ie *adapters.InvokeError
	if errors.As(err, &ie) {
		return ie.Message
	}
	var ae *adapters.Error
	if errors.As(err, &ae) {
		if ae.Message != "" {
			return fmt.Sprintf("%s.%s: %s", ae.Adapter, ae.Procedure, ae.Message)
		}
		return fmt.Sprintf("%s.%s failed (%s)", ae.Adapter, ae.Procedure, ae.Code)
	}
	return "the procedure could not be run"
}
