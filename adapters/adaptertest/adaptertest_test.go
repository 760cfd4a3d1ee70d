package adaptertest_test

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/big"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/realmgate/realmgate/adapters"
	"github.com/realmgate/realmgate/adapters/adaptertest"
)

// native is an in-process adapter that implements the conformance procedures and a PKI bridge
// in plain Go. It shows the suite passes a correct adapter; its broken variants show the suite
// catches what it claims to.
type native struct {
	cfg    adapters.Config
	ca     *adaptertest.CA
	broken string

	mu     sync.Mutex
	closed bool
}

func (n *native) Procedures() []string {
	p := []string{"config", "echo", "fail", "log", "init", "validateIdentity", "getCSRRequirements",
		"validateCSR", "generateCertificate", "getIdentityFromCertificate", "validateCertificate"}
	if n.broken == "procedures unsorted" {
		return p
	}
	slices.Sort(p)
	if n.broken == "procedures missing log" {
		return slices.DeleteFunc(p, func(s string) bool { return s == "log" })
	}
	return p
}

func (n *native) Close(context.Context) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.closed = true
	return nil
}

func (n *native) fail(code adapters.Code, procedure, msg string) error {
	return &adapters.Error{Code: code, Adapter: n.cfg.Name, Procedure: procedure, Message: msg}
}

func (n *native) Call(ctx context.Context, procedure string, input json.RawMessage) (json.RawMessage, error) {
	n.mu.Lock()
	closed := n.closed
	n.mu.Unlock()
	if closed && n.broken != "works after close" {
		return nil, n.fail(adapters.CodeUnavailable, procedure, "closed")
	}
	if !slices.Contains(n.Procedures(), procedure) {
		if n.broken == "unknown procedure is a failure" {
			return nil, n.fail(adapters.CodeFailed, procedure, "no")
		}
		return nil, n.fail(adapters.CodeUnknownProcedure, procedure, "")
	}
	if (!json.Valid(input) || len(input) > n.cfg.Limits.MaxInput) && n.broken != "accepts bad input" {
		return nil, n.fail(adapters.CodeBadInput, procedure, "")
	}
	switch procedure {
	case "echo":
		if n.broken == "echo reformats" {
			var v any
			if err := json.Unmarshal(input, &v); err != nil {
				return nil, err
			}
			return json.Marshal(v)
		}
		if n.broken == "echo races" && strings.Contains(string(input), `"goroutine":3,`) {
			return json.RawMessage(`{}`), nil
		}
		return append(json.RawMessage(nil), input...), nil
	case "fail":
		var in struct{ Message string }
		if err := json.Unmarshal(input, &in); err != nil {
			return nil, err
		}
		if n.broken == "fail loses the message" {
			in.Message = "failed"
		}
		if n.broken == "fail has no procedure" {
			procedure = ""
		}
		return nil, n.fail(adapters.CodeFailed, procedure, in.Message)
	case "config":
		out := map[string]string{"adapter": n.cfg.Name}
		for k, v := range n.cfg.Settings {
			if n.broken == "config drops empty" && v == "" {
				continue
			}
			out[k] = v
		}
		return json.Marshal(out)
	case "log":
		var in struct{ Msg, Level string }
		if err := json.Unmarshal(input, &in); err != nil {
			return nil, err
		}
		var lv slog.Level
		if err := lv.UnmarshalText([]byte(in.Level)); err != nil {
			return nil, n.fail(adapters.CodeFailed, procedure, err.Error())
		}
		if n.broken == "log at info" {
			lv = slog.LevelInfo
		}
		if n.cfg.Logger != nil {
			n.cfg.Logger.Log(ctx, lv, in.Msg, "adapter", n.cfg.Name)
			if n.broken == "log twice" {
				n.cfg.Logger.Log(ctx, lv, in.Msg)
			}
		}
		return json.RawMessage(`{"logged":true}`), nil
	}
	return n.pki(procedure, input)
}

func (n *native) pki(procedure string, input json.RawMessage) (json.RawMessage, error) {
	switch procedure {
	case "init":
		// The realm's parameters, one flat object of strings.
		var in map[string]string
		if err := json.Unmarshal(input, &in); err != nil || in["pki-bridge-class"] == "" {
			return nil, n.fail(adapters.CodeFailed, procedure, "init wants the realm's parameters as one flat object")
		}
		return json.RawMessage(`{}`), nil
	case "validateIdentity":
		var in adapters.IdentityInput
		if err := json.Unmarshal(input, &in); err != nil {
			return nil, err
		}
		v := adapters.Valid{Valid: adapters.Yes}
		user := in.UserIdentity.UserName
		if n.broken == "identity read from another shape" {
			var old struct {
				Identity struct{ UserName string } `json:"identity"`
			}
			_ = json.Unmarshal(input, &old)
			user = old.Identity.UserName
		}
		if user == "mallory" || user == "" {
			v.Valid = adapters.No
		}
		if n.broken == "verdict lower case" {
			v.Valid = "yes"
		}
		return json.Marshal(v)
	case "getCSRRequirements":
		var in adapters.IdentityInput
		if err := json.Unmarshal(input, &in); err != nil {
			return nil, err
		}
		switch n.broken {
		case "requirements misnamed":
			return json.Marshal(map[string]string{"cn": in.UserIdentity.UserName})
		case "subject as a string":
			return json.Marshal(map[string]string{"commonName": in.UserIdentity.UserName, "additionalSubject": "O=Example,OU=Mobile"})
		case "attribute nobody knows":
			return json.Marshal(adapters.CSRRequirements{CommonName: in.UserIdentity.UserName, AdditionalAttributes: map[string]string{"colour": "blue"}})
		}
		return json.Marshal(adapters.CSRRequirements{CommonName: in.UserIdentity.UserName, AdditionalSubject: map[string]string{"O": "Example", "OU": "Mobile"},
			AdditionalAttributes: map[string]string{"challengePassword": "pw-" + in.DeviceID}})
	case "validateCSR":
		var in adapters.CSRInput
		if err := json.Unmarshal(input, &in); err != nil {
			return nil, err
		}
		v := adapters.Valid{Valid: adapters.No}
		if in.CSRInfo.CN == in.UserIdentity.UserName && in.CSRInfo.DN == "CN="+in.UserIdentity.UserName+",OU=Mobile,O=Example" {
			v.Valid = adapters.Yes
		}
		return json.Marshal(v)
	case "generateCertificate":
		var in adapters.CSRInput
		if err := json.Unmarshal(input, &in); err != nil {
			return nil, err
		}
		der, err := base64.StdEncoding.DecodeString(in.CSR)
		if err != nil {
			return nil, err
		}
		csr, err := x509.ParseCertificateRequest(der)
		if err != nil {
			return nil, err
		}
		serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
		tmpl := &x509.Certificate{SerialNumber: serial, Subject: csr.Subject,
			NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(time.Hour)}
		pub := csr.PublicKey
		if n.broken == "certificate for another key" {
			pub = n.ca.Cert.PublicKey
		}
		cert, err := x509.CreateCertificate(rand.Reader, tmpl, n.ca.Cert, pub, n.ca.Key)
		if err != nil {
			return nil, err
		}
		return json.Marshal(adapters.GeneratedCertificate{CertificateBase64: base64.StdEncoding.EncodeToString(cert)})
	case "getIdentityFromCertificate":
		var in adapters.CertificateInput
		if err := json.Unmarshal(input, &in); err != nil {
			return nil, err
		}
		return json.Marshal(adapters.DefaultIdentityFromCertificate(in.Certificate))
	case "validateCertificate":
		var in adapters.CertificateInput
		if err := json.Unmarshal(input, &in); err != nil {
			return nil, err
		}
		der, err := base64.StdEncoding.DecodeString(in.Base64)
		if err != nil {
			return nil, err
		}
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, err
		}
		v := adapters.Valid{Valid: adapters.Yes}
		if cert.CheckSignatureFrom(n.ca.Cert) != nil && n.broken != "accepts foreign certificates" {
			v.Valid = adapters.No
		}
		return json.Marshal(v)
	}
	return nil, n.fail(adapters.CodeUnknownProcedure, procedure, "")
}

func openNative(ca *adaptertest.CA, broken string) func(t *testing.T, cfg adapters.Config) adapters.Adapter {
	return func(t *testing.T, cfg adapters.Config) adapters.Adapter {
		return &native{cfg: cfg, ca: ca, broken: broken}
	}
}

func TestRunPassesNativeAdapter(t *testing.T) {
	t.Parallel()
	adaptertest.Run(t, openNative(nil, os.Getenv("ADAPTERTEST_BROKEN")))
}

func TestPKIBridgePassesNativeAdapter(t *testing.T) {
	t.Parallel()
	ca := adaptertest.NewCA(t, "Native test CA")
	broken := os.Getenv("ADAPTERTEST_BROKEN")
	a := &native{cfg: adaptertest.Config(adaptertest.NewLogRecorder()), ca: ca, broken: broken}
	rejected := adapters.IdentityInput{DeviceID: "device-2", UserIdentity: adapters.UserIdentity{UserName: "mallory"}}
	adaptertest.PKIBridge(t, a, adaptertest.PKIFixture{Issuer: ca.Cert, Rejected: &rejected})
}

// TestSuiteCatchesBrokenAdapters runs the two passing tests above in a child process against a
// broken variant of the native adapter and expects the named check to fail.
func TestSuiteCatchesBrokenAdapters(t *testing.T) {
	if os.Getenv("ADAPTERTEST_BROKEN") != "" {
		t.Skip("child process")
	}
	t.Parallel()
	for _, tc := range []struct {
		broken, test, wantFailure string
	}{
		{"procedures unsorted", "TestRunPassesNativeAdapter", "TestRunPassesNativeAdapter/procedures"},
		{"procedures missing log", "TestRunPassesNativeAdapter", `lacks core procedure "log"`},
		{"echo reformats", "TestRunPassesNativeAdapter", "TestRunPassesNativeAdapter/echo/whitespace_kept"},
		{"echo races", "TestRunPassesNativeAdapter", "TestRunPassesNativeAdapter/concurrent_calls"},
		{"fail loses the message", "TestRunPassesNativeAdapter", "want the guest's message"},
		{"fail has no procedure", "TestRunPassesNativeAdapter", `error names procedure "", want "fail"`},
		{"config drops empty", "TestRunPassesNativeAdapter", "TestRunPassesNativeAdapter/config"},
		{"log at info", "TestRunPassesNativeAdapter", "TestRunPassesNativeAdapter/log/debug"},
		{"log twice", "TestRunPassesNativeAdapter", "log records with message"},
		{"unknown procedure is a failure", "TestRunPassesNativeAdapter", "want unknown_procedure"},
		{"accepts bad input", "TestRunPassesNativeAdapter", "TestRunPassesNativeAdapter/bad_input/over_MaxInput"},
		{"works after close", "TestRunPassesNativeAdapter", "want adapter_unavailable"},
		{"verdict lower case", "TestPKIBridgePassesNativeAdapter", `verdict "yes"`},
		{"requirements misnamed", "TestPKIBridgePassesNativeAdapter", `unknown field "cn"`},
		{"subject as a string", "TestPKIBridgePassesNativeAdapter", `additionalSubject`},
		{"attribute nobody knows", "TestPKIBridgePassesNativeAdapter", `"colour"`},
		{"identity read from another shape", "TestPKIBridgePassesNativeAdapter", `validateIdentity: verdict "NO", want "YES"`},
		{"certificate for another key", "TestPKIBridgePassesNativeAdapter", "public key is not the CSR's"},
		{"accepts foreign certificates", "TestPKIBridgePassesNativeAdapter", "certificate from another CA"},
	} {
		t.Run(tc.broken, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command(os.Args[0], "-test.run=^"+tc.test+"$", "-test.v")
			cmd.Env = append(os.Environ(), "ADAPTERTEST_BROKEN="+tc.broken)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("the suite passed an adapter whose %s:\n%s", tc.broken, out)
			}
			if !strings.Contains(string(out), tc.wantFailure) {
				t.Errorf("the suite failed, but not with %q:\n%s", tc.wantFailure, out)
			}
		})
	}
}

func TestParseRDNs(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in, want, err string
	}{
		{in: "", want: ""},
		{in: "O=Example", want: "O=Example"},
		{in: "O=Example,OU=Mobile", want: "OU=Mobile,O=Example"},
		{in: " o = Example + c=DE ", want: "O=Example,C=DE"},
		{in: `O=Example\, Inc.`, want: `O=Example\, Inc.`},
		{in: `O=a\=b`, want: `O=a=b`},
		{in: "CN=bob,L=Berlin,ST=Berlin,STREET=Main 1,POSTALCODE=10115,SERIALNUMBER=42", want: "SERIALNUMBER=42,CN=bob,POSTALCODE=10115,STREET=Main 1,L=Berlin,ST=Berlin"},
		{in: "O=", want: "O="},
		{in: "O", err: "malformed"},
		{in: "O=Example,", err: "malformed"},
		{in: "=x", err: "malformed"},
		{in: "X=y", err: "malformed"},
		{in: `O=x\`, err: "malformed"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			n, err := adaptertest.ParseRDNs(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("ParseRDNs(%q) = %v, want error containing %q", tc.in, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseRDNs(%q): %v", tc.in, err)
			}
			if got := n.String(); got != tc.want {
				t.Errorf("ParseRDNs(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func FuzzParseRDNs(f *testing.F) {
	for _, s := range []string{"", "O=Example,OU=Mobile", `O=a\,b+C=DE`, "CN=x", "=", `\`, "O=,", "SERIALNUMBER=1+serialnumber=2"} {
		f.Add(s)
	}
	key, _ := adaptertest.NewCSR(f, pkix.Name{CommonName: "fuzz"})
	f.Fuzz(func(t *testing.T, s string) {
		n, err := adaptertest.ParseRDNs(s)
		if err != nil {
			return
		}
		// A name ParseRDNs accepts goes into a CSR and comes back out the same.
		der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: n}, key)
		if err != nil {
			t.Fatalf("ParseRDNs(%q) = %q, unusable in a CSR: %v", s, n, err)
		}
		csr, err := x509.ParseCertificateRequest(der)
		if err != nil {
			t.Fatal(err)
		}
		// Compare as multisets: DER sorts the values of a multi-valued RDN.
		var want []string
		for _, rdn := range n.ToRDNSequence() {
			for _, atv := range rdn {
				want = append(want, fmt.Sprint(atv.Type, atv.Value))
			}
		}
		var got []string
		for _, atv := range csr.Subject.Names {
			got = append(got, fmt.Sprint(atv.Type, atv.Value))
		}
		slices.Sort(want)
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Fatalf("ParseRDNs(%q): subject %q came back as %q", s, want, got)
		}
	})
}

func TestLogRecorder(t *testing.T) {
	t.Parallel()
	rec := adaptertest.NewLogRecorder()
	l := rec.Logger().With("adapter", "a").WithGroup("g")
	go l.Warn("hello", "k", 1, slog.Group("sub", "x", "y"))
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	e, ok := rec.Wait(ctx, func(e adaptertest.LogEntry) bool { return e.Message == "hello" })
	if !ok {
		t.Fatal("no record")
	}
	want := fmt.Sprint(map[string]any{"adapter": "a", "g.k": int64(1), "g.sub.x": "y"})
	if got := fmt.Sprint(e.Attrs); got != want || e.Level != slog.LevelWarn {
		t.Errorf("entry = %v %s, want WARN %s", e.Level, got, want)
	}
}
