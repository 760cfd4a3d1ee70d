package engine

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/realmgate/realmgate/adapters"
	"github.com/realmgate/realmgate/project"
)

// bridgeRunner records the calls a PKI bridge makes and fails the procedures of fail.
type bridgeRunner struct {
	calls []string
	fail  map[string]error // by "Adapter.procedure"
}

func (r *bridgeRunner) Call(_ context.Context, adapter, procedure string, _ json.RawMessage) (json.RawMessage, error) {
	r.calls = append(r.calls, adapter+"."+procedure)
	if err := r.fail[adapter+"."+procedure]; err != nil {
		return nil, err
	}
	return json.RawMessage(`{"valid":"YES"}`), nil
}

// bridgeInitRunner is a bridgeRunner whose adapters remember their init, as the daemon's do.
type bridgeInitRunner struct{ bridgeRunner }

func (r *bridgeInitRunner) CallInit(_ context.Context, adapter string, init adapters.Init, procedure string, _ json.RawMessage) (json.RawMessage, error) {
	// init's input is the realm's parameters as one flat object, as Worklight documented it.
	var in map[string]string
	if err := json.Unmarshal(init.Input, &in); err != nil || in["pki-bridge-class"] != BridgeAdapterBased || in["dependent-user-auth-realm"] != "Login" {
		return nil, errors.New("init without the realm's parameters as one flat object")
	}
	r.calls = append(r.calls, adapter+"."+init.Procedure+" once, then "+adapter+"."+procedure)
	if err := r.fail[adapter+"."+init.Procedure]; err != nil {
		return nil, err
	}
	if err := r.fail[adapter+"."+procedure]; err != nil {
		return nil, err
	}
	return json.RawMessage(`{"valid":"YES"}`), nil
}

// TestAdapterBridgeInit: a bridge procedure runs after the realm's init, once per instance
// through an InitRunner (when init is a procedure of the same adapter), before the procedure
// otherwise; a failed init refuses or is unavailable as a failed procedure is, naming init.
func TestAdapterBridgeInit(t *testing.T) {
	failed := &adapters.Error{Code: adapters.CodeFailed, Adapter: "Bridge", Procedure: "init", Message: "no CA for this realm"}
	down := &adapters.Error{Code: adapters.CodeTimeout, Adapter: "Bridge", Procedure: "init", Message: "the call ran past its deadline"}
	csrFailed := &adapters.Error{Code: adapters.CodeFailed, Adapter: "Bridge", Procedure: "validateCSR", Message: "unknown key type"}
	tests := []struct {
		name      string
		initRef   string
		withInit  bool // the runner is an InitRunner
		fail      map[string]error
		wantCalls []string
		wantCode  Code
		wantMsg   string
	}{
		{"init runner", "Bridge.init", true, nil,
			[]string{"Bridge.init once, then Bridge.validateCSR"}, "", ""},
		{"plain runner", "Bridge.init", false, nil,
			[]string{"Bridge.init", "Bridge.validateCSR"}, "", ""},
		{"init of another adapter", "Setup.init", true, nil,
			[]string{"Setup.init", "Bridge.validateCSR"}, "", ""},
		{"init refuses (init runner)", "Bridge.init", true, map[string]error{"Bridge.init": failed},
			[]string{"Bridge.init once, then Bridge.validateCSR"}, CodeRefused, "the PKI bridge refused: no CA for this realm"},
		{"init refuses (plain runner)", "Bridge.init", false, map[string]error{"Bridge.init": failed},
			[]string{"Bridge.init"}, CodeRefused, "the PKI bridge refused: no CA for this realm"},
		{"init unavailable (init runner)", "Bridge.init", true, map[string]error{"Bridge.init": down},
			[]string{"Bridge.init once, then Bridge.validateCSR"}, CodeUnavailable, "the PKI bridge (Bridge.init) is unavailable"},
		{"init unavailable (plain runner)", "Bridge.init", false, map[string]error{"Bridge.init": down},
			[]string{"Bridge.init"}, CodeUnavailable, "the PKI bridge (Bridge.init) is unavailable"},
		{"procedure fails after init", "Bridge.init", true, map[string]error{"Bridge.validateCSR": csrFailed},
			[]string{"Bridge.init once, then Bridge.validateCSR"}, CodeRefused, "the PKI bridge refused: unknown key type"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := &bridgeInitRunner{bridgeRunner{fail: tc.fail}}
			var runner ProcedureRunner = &rec.bridgeRunner
			if tc.withInit {
				runner = rec
			}
			r := &project.Realm{Name: "CertRealm", Params: project.Params{
				{Name: "dependent-user-auth-realm", Value: "Login"},
				{Name: "pki-bridge-class", Value: BridgeAdapterBased},
				{Name: "adapter-pki-bridge-init-procedure", Value: tc.initRef},
				{Name: "adapter-pki-bridge-csr-validation-procedure", Value: "Bridge.validateCSR"},
				{Name: "adapter-pki-bridge-certificate-generation-procedure", Value: "Bridge.generateCertificate"},
			}}
			b, err := newAdapterBridge(&Engine{procs: runner}, r, true)
			if err != nil {
				t.Fatal(err)
			}
			_, err = b.validateCSR(&exchange{ctx: t.Context()}, adapters.CSRInput{})
			var code Code
			var msg string
			if e := (*Error)(nil); errors.As(err, &e) {
				code, msg = e.Code, e.Message
			} else if err != nil {
				t.Fatalf("error %v is not an *Error", err)
			}
			if diff := cmp.Diff([]any{tc.wantCalls, tc.wantCode, tc.wantMsg}, []any{rec.calls, code, msg}); diff != "" {
				t.Errorf("calls, code, message (-want +got):\n%s", diff)
			}
		})
	}
}

// TestAdapterBusy: an adapter refusing a call because it is busy (its concurrency limit and
// queue are full) makes a PKI bridge or an adapter realm unavailable with the adapter's message,
// which names it, and the adapter's RetryAfter, which the HTTP layer sends as Retry-After.
func TestAdapterBusy(t *testing.T) {
	busy := &adapters.Error{Code: adapters.CodeBusy, Adapter: "Bridge", Procedure: "validateCSR",
		Message: "adapter Bridge is busy: 4 calls are running and 16 waiting, its limits; retry later", RetryAfter: adapters.BusyRetryAfter}
	for name, err := range map[string]error{
		"bridge":        bridgeError(adapters.ProcRef{Adapter: "Bridge", Procedure: "validateCSR"}, busy),
		"adapter realm": adapterError("Bridge", "validateCSR", busy),
	} {
		var e *Error
		if !errors.As(err, &e) {
			t.Fatalf("%s: %v is not an *Error", name, err)
		}
		if diff := cmp.Diff([]any{CodeUnavailable, busy.Message, adapters.BusyRetryAfter, true},
			[]any{e.Code, e.Message, e.RetryAfter, errors.Is(err, adapters.ErrBusy)}); diff != "" {
			t.Errorf("%s: code, message, RetryAfter, cause (-want +got):\n%s", name, diff)
		}
	}
}
