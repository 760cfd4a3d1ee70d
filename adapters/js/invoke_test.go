package js_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/realmgate/realmgate/adapters"
	"github.com/realmgate/realmgate/pki"
)

// recordingInvoker answers every call with one result (or error) and records the calls.
type recordingInvoker struct {
	mu    sync.Mutex
	calls []string
	out   json.RawMessage
	err   error
}

func (r *recordingInvoker) Invoke(_ context.Context, adapter, procedure string, parameters json.RawMessage) (json.RawMessage, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, adapter+"."+procedure+" "+string(parameters))
	return r.out, r.err
}

const invokeScript = `
function mash(who) {
	return WL.Server.invokeProcedure({adapter: "Accounts", procedure: "getBalance", parameters: [who, 2]});
}
function bridge(input) {
	return {user: input.userIdentity.userName, type: typeof input};
}
`

// TestInvokeProcedure: WL.Server.invokeProcedure hands the host {adapter, procedure,
// parameters} and returns Worklight's answer: the result's members with isSuccessful true, or
// isSuccessful false with the invoker's reason and code; without an invoker (a call no client
// or realm made) it answers isSuccessful false.
func TestInvokeProcedure(t *testing.T) {
	a, err := openScript(t, invokeScript, adapters.Config{})
	if err != nil {
		t.Fatal(err)
	}
	in := json.RawMessage(`{"parameters": ["alice"]}`)
	for _, tc := range []struct {
		name string
		inv  *recordingInvoker
		want map[string]any
	}{
		{"result", &recordingInvoker{out: json.RawMessage(`{"balance": 100, "isSuccessful": "overridden"}`)},
			map[string]any{"isSuccessful": true, "balance": 100.0}},
		{"a result that is not an object", &recordingInvoker{out: json.RawMessage(`[1, 2]`)},
			map[string]any{"isSuccessful": true, "result": []any{1.0, 2.0}}},
		{"refused", &recordingInvoker{err: &adapters.InvokeError{Code: adapters.InvokeRealmRequired, Message: "Accounts.getBalance needs a login to realm Login"}},
			map[string]any{"isSuccessful": false, "code": "realm_required", "errors": []any{"Accounts.getBalance needs a login to realm Login"}}},
		{"the callee failed", &recordingInvoker{err: &adapters.Error{Code: adapters.CodeFailed, Adapter: "Accounts", Procedure: "getBalance", Message: "no such account"}},
			map[string]any{"isSuccessful": false, "code": "adapter_failure", "errors": []any{"Accounts.getBalance: no such account"}}},
		{"any other error says no more", &recordingInvoker{err: context.DeadlineExceeded},
			map[string]any{"isSuccessful": false, "code": "unavailable", "errors": []any{"the procedure could not be run"}}},
		{"no invoker", nil,
			map[string]any{"isSuccessful": false, "code": "not_implemented", "errors": []any{"invokeProcedure is not available in this call (no client or realm request is being served)"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			if tc.inv != nil {
				ctx = adapters.WithInvoker(ctx, tc.inv)
			}
			out, err := a.Call(ctx, "mash", in)
			if err != nil {
				t.Fatal(err)
			}
			var got map[string]any
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("answer (-want +got):\n%s", diff)
			}
			if tc.inv != nil {
				if diff := cmp.Diff([]string{`Accounts.getBalance ["alice",2]`}, tc.inv.calls); diff != "" {
					t.Errorf("calls (-want +got):\n%s", diff)
				}
			}
		})
	}
}

// TestObjectArgument: a call whose input has no parameters (a PKI bridge's procedures, init)
// passes the input object as the function's one argument, as Worklight's adapter-based PKI
// bridge did.
func TestObjectArgument(t *testing.T) {
	a, err := openScript(t, invokeScript, adapters.Config{})
	if err != nil {
		t.Fatal(err)
	}
	out, err := a.Call(context.Background(), "bridge", json.RawMessage(`{"deviceId": "", "userIdentity": {"userName": "alice"}, "appId": "Bank"}`))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(`{"user":"alice","type":"object"}`, string(out)); diff != "" {
		t.Errorf("bridge (-want +got):\n%s", diff)
	}
}

// TestPKIFromJavaScript: WL.Server.pki runs the host PKI capability's operations; a refusal
// (here: no grant) throws with the host's reason.
func TestPKIFromJavaScript(t *testing.T) {
	src := `function sign(input) {
	var csr = WL.Server.pki({op: "parseCSR", csr: input.csr});
	var signed = WL.Server.pki({op: "sign", csr: input.csr, subject: {commonName: csr.cn}});
	return {cn: csr.cn, verified: WL.Server.pki({op: "verify", certificate: signed.certificateBase64}).valid};
}`
	ca, err := pki.NewCA(pki.CAOptions{CommonName: "JS test CA"})
	if err != nil {
		t.Fatal(err)
	}
	csr := newCSR(t, "alice")
	in := json.RawMessage(`{"csr": "` + csr + `"}`)

	granted, err := openScript(t, src, adapters.Config{PKI: &adapters.PKIGrant{Issuer: ca.Cert, Key: ca.Key, KeyName: "test"}})
	if err != nil {
		t.Fatal(err)
	}
	out, err := granted.Call(context.Background(), "sign", in)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(`{"cn":"alice","verified":true}`, string(out)); diff != "" {
		t.Errorf("sign (-want +got):\n%s", diff)
	}

	bare, err := openScript(t, src, adapters.Config{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = bare.Call(context.Background(), "sign", in)
	var ae *adapters.Error
	if !asError(err, &ae) || ae.Code != adapters.CodeFailed || !strings.Contains(ae.Message, "WL.Server.pki") {
		t.Fatalf("sign without a grant = %v, want an adapter failure from WL.Server.pki", err)
	}
}

// newCSR is the base64 DER of a new ECDSA P-256 CSR for CN=cn.
func newCSR(t *testing.T, cn string) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: cn}}, key)
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(der)
}
