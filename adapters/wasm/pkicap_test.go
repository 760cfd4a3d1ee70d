package wasm

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/realmgate/realmgate/adapters"
	"github.com/realmgate/realmgate/adapters/adaptertest"
)

// goExample is the Go SDK's example PKI bridge, built from source by the tests.
const goExample = "../../sdk-wasm/go/examples/pkibridge"

func testCSR(t testing.TB, cn string) (string, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: cn}}, key)
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(der), key
}

// TestParseSignTemplate: what the host refuses in a template, and what it fills in.
func TestParseSignTemplate(t *testing.T) {
	t.Parallel()
	csr, _ := testCSR(t, "alice")
	const day = 24 * time.Hour
	tests := []struct {
		name    string
		req     string
		allowCA bool
		err     string // "" when accepted
	}{
		{"defaults", `{"op":"sign","csr":"` + csr + `","subject":{"commonName":"alice"}}`, false, ""},
		{"no subject", `{"op":"sign","csr":"` + csr + `"}`, false, "no subject.commonName"},
		{"no csr", `{"op":"sign","subject":{"commonName":"alice"}}`, false, "csr is missing"},
		{"CA refused", `{"op":"sign","csr":"` + csr + `","subject":{"commonName":"alice"},"isCA":true}`, false, "does not allow"},
		{"CA allowed", `{"op":"sign","csr":"` + csr + `","subject":{"commonName":"alice"},"isCA":true}`, true, ""},
		{"keyCertSign without CA", `{"op":"sign","csr":"` + csr + `","subject":{"commonName":"alice"},"keyUsage":["keyCertSign"]}`, true, "is a CA's"},
		{"validity beyond the bound", `{"op":"sign","csr":"` + csr + `","subject":{"commonName":"alice"},"validityDays":31}`, false, "beyond the grant's bound of 30 days"},
		{"negative validity", `{"op":"sign","csr":"` + csr + `","subject":{"commonName":"alice"},"validityDays":-1}`, false, "negative"},
		{"unknown usage", `{"op":"sign","csr":"` + csr + `","subject":{"commonName":"alice"},"keyUsage":["everything"]}`, false, "unknown keyUsage"},
		{"CN in additionalSubject", `{"op":"sign","csr":"` + csr + `","subject":{"commonName":"alice","additionalSubject":{"CN":"root"}}}`, false, "holds a CN"},
		{"raw basicConstraints", `{"op":"sign","csr":"` + csr + `","subject":{"commonName":"alice"},"extensions":[{"oid":"2.5.29.19","valueBase64":"MAMBAf8="}]}`, true, "basicConstraints"},
		{"extension twice", `{"op":"sign","csr":"` + csr + `","subject":{"commonName":"alice"},"extensions":[{"oid":"1.2.3.4","valueBase64":"BQA="},{"oid":"1.2.3.4","valueBase64":"BQA="}]}`, false, "named twice"},
		{"too many names", `{"op":"sign","csr":"` + csr + `","subject":{"commonName":"alice"},"dnsNames":["a"` + strings.Repeat(`,"a"`, maxPKINames) + `]}`, false, "at most 16"},
		{"unknown member", `{"op":"sign","csr":"` + csr + `","subject":{"commonName":"alice"},"isCa":true}`, false, "isCa"},
		{"unknown op", `{"op":"decrypt"}`, false, "unknown op"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := decodePKIRequest([]byte(tt.req))
			if err == nil {
				_, err = parseSignTemplate(req, 30*day, tt.allowCA)
			}
			got := ""
			if err != nil {
				got = err.Error()
			}
			if (tt.err == "") != (got == "") || !strings.Contains(got, tt.err) {
				t.Errorf("error %q, want one containing %q", got, tt.err)
			}
		})
	}
	req, _ := decodePKIRequest([]byte(`{"op":"sign","csr":"` + csr + `","subject":{"commonName":"alice","additionalSubject":{"O":"Example"}}}`))
	tmpl, err := parseSignTemplate(req, 30*day, false)
	if err != nil {
		t.Fatal(err)
	}
	type filled struct {
		Validity    time.Duration
		KeyUsage    x509.KeyUsage
		ExtKeyUsage []x509.ExtKeyUsage
		IsCA        bool
		Subject     string
	}
	got := filled{tmpl.validity, tmpl.keyUsage, tmpl.extKeyUsage, tmpl.isCA, tmpl.subject.String()}
	want := filled{30 * day, x509.KeyUsageDigitalSignature, []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, false, "CN=alice,O=Example"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("defaults (-want +got):\n%s", d)
	}
}

// FuzzPKIRequest feeds the template parser what a hostile guest could send: whatever it
// accepts stays within the grant.
func FuzzPKIRequest(f *testing.F) {
	csr, _ := testCSR(f, "alice")
	f.Add([]byte(`{"op":"sign","csr":"`+csr+`","subject":{"commonName":"alice"},"validityDays":30,"keyUsage":["digitalSignature"]}`), false)
	f.Add([]byte(`{"op":"sign","csr":"`+csr+`","subject":{"commonName":"alice"},"isCA":true,"keyUsage":["keyCertSign"]}`), true)
	f.Add([]byte(`{"op":"sign","csr":"AAAA","subject":{"commonName":"a","additionalSubject":{"O":"x","2.5.4.11":"y"}},"extensions":[{"oid":"1.2.3","valueBase64":"BQA="}],"uris":["urn:x"]}`), false)
	f.Add([]byte(`{"op":"parseCSR","csr":"`+csr+`"}`), false)
	f.Fuzz(func(t *testing.T, b []byte, allowCA bool) {
		req, err := decodePKIRequest(b)
		if err != nil || req.Op != "sign" {
			return
		}
		tmpl, err := parseSignTemplate(req, 30*24*time.Hour, allowCA)
		if err != nil {
			return
		}
		if tmpl.validity <= 0 || tmpl.validity > 30*24*time.Hour {
			t.Errorf("validity %v outside (0, 30 days]", tmpl.validity)
		}
		if !allowCA && (tmpl.isCA || tmpl.keyUsage&(x509.KeyUsageCertSign|x509.KeyUsageCRLSign) != 0) {
			t.Errorf("a CA template passed without the grant: isCA %v, keyUsage %b", tmpl.isCA, tmpl.keyUsage)
		}
		if len(tmpl.extensions) > maxPKIExtensions || len(tmpl.dnsNames) > maxPKINames || len(tmpl.emails) > maxPKINames || len(tmpl.uris) > maxPKINames {
			t.Errorf("bounds exceeded: %d extensions, %d/%d/%d names", len(tmpl.extensions), len(tmpl.dnsNames), len(tmpl.emails), len(tmpl.uris))
		}
		for _, e := range tmpl.extensions {
			if _, hostSet := hostSetExtensions[e.Id.String()]; hostSet {
				t.Errorf("extension %s passed raw", e.Id)
			}
		}
		if len(tmpl.subject) == 0 || tmpl.subject[len(tmpl.subject)-1][0].Value != req.Subject.CommonName {
			t.Errorf("subject %v does not end with the commonName", tmpl.subject)
		}
	})
}

// TestPKIHostOperations drives the host side of the pki function directly: parse, sign within
// the grant, refuse beyond it, verify, and refuse everything without a grant.
func TestPKIHostOperations(t *testing.T) {
	t.Parallel()
	ca := adaptertest.NewCA(t, "Host key CA")
	csr, _ := testCSR(t, "alice")
	grant := &adapters.PKIGrant{Issuer: ca.Cert, Key: ca.Key, KeyName: "bridge-ca", MaxValidity: 30 * 24 * time.Hour}
	var logs bytes.Buffer
	h := newPKIHost(grant, slog.New(slog.NewTextHandler(&logs, nil)))
	do := func(h *pkiHost, req string) map[string]any {
		t.Helper()
		var out map[string]any
		if err := json.Unmarshal(h.do(context.Background(), "generateCertificate", []byte(req)), &out); err != nil {
			t.Fatal(err)
		}
		return out
	}

	parsed := do(h, `{"op":"parseCSR","csr":"`+csr+`"}`)
	if parsed["cn"] != "alice" || parsed["publicKey"].(map[string]any)["thumbprint"] == "" || parsed["publicKey"].(map[string]any)["algorithm"] != "EC" {
		t.Errorf("parseCSR = %v", parsed)
	}
	signed := do(h, `{"op":"sign","csr":"`+csr+`","subject":{"commonName":"alice","additionalSubject":{"O":"Example"}},"validityDays":30}`)
	der, err := base64.StdEncoding.DecodeString(signed["certificateBase64"].(string))
	if err != nil {
		t.Fatalf("sign = %v", signed)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	if err := cert.CheckSignatureFrom(ca.Cert); err != nil {
		t.Errorf("the certificate does not verify against the grant's CA: %v", err)
	}
	if cert.IsCA || cert.Subject.String() != "CN=alice,O=Example" || cert.SerialNumber.Text(16) != signed["serialNumber"] {
		t.Errorf("certificate: CA %v, subject %q, serial %s (answer %v)", cert.IsCA, cert.Subject, cert.SerialNumber.Text(16), signed["serialNumber"])
	}
	if !strings.Contains(logs.String(), "serial="+cert.SerialNumber.Text(16)) || !strings.Contains(logs.String(), "key=bridge-ca") {
		t.Errorf("the signature is not logged with its serial and key name:\n%s", logs.String())
	}
	if v := do(h, `{"op":"verify","certificate":"`+signed["certificateBase64"].(string)+`"}`); v["valid"] != true {
		t.Errorf("verify(own) = %v", v)
	}
	other := adaptertest.NewCA(t, "Other CA")
	if v := do(h, `{"op":"verify","certificate":"`+base64.StdEncoding.EncodeToString(other.Cert.Raw)+`"}`); v["valid"] != false {
		t.Errorf("verify(foreign) = %v", v)
	}
	for name, req := range map[string]string{
		"CA certificate":    `{"op":"sign","csr":"` + csr + `","subject":{"commonName":"alice"},"isCA":true}`,
		"validity too long": `{"op":"sign","csr":"` + csr + `","subject":{"commonName":"alice"},"validityDays":3650}`,
		"forged CSR":        `{"op":"sign","csr":"` + forge(t, csr) + `","subject":{"commonName":"alice"}}`,
	} {
		if out := do(h, req); out["error"] == nil || out["certificateBase64"] != nil {
			t.Errorf("%s: %v, want an error", name, out)
		}
	}
	none := newPKIHost(nil, slog.New(slog.DiscardHandler))
	if out := do(none, `{"op":"parseCSR","csr":"`+csr+`"}`); !strings.Contains(out["error"].(string), "not granted") {
		t.Errorf("without a grant: %v", out)
	}
	parseOnly := newPKIHost(&adapters.PKIGrant{}, slog.New(slog.DiscardHandler))
	if out := do(parseOnly, `{"op":"sign","csr":"`+csr+`","subject":{"commonName":"alice"}}`); !strings.Contains(out["error"].(string), "names no signing key") {
		t.Errorf("a grant without a key signed: %v", out)
	}
	if strings.Contains(logs.String(), "PRIVATE") {
		t.Error("the log holds key material")
	}
}

// forge flips a bit of the CSR's signature.
func forge(t *testing.T, csr string) string {
	der, _ := base64.StdEncoding.DecodeString(csr)
	der[len(der)-3] ^= 1
	return base64.StdEncoding.EncodeToString(der)
}

// keyTraces are byte strings of a CA key that must never be found in a guest's memory: the
// private scalar and the PKCS#8 DER and PEM.
func keyTraces(t *testing.T, key *ecdsa.PrivateKey) map[string][]byte {
	p8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	scalar, err := key.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	return map[string][]byte{
		"scalar": scalar,
		"PKCS#8": p8,
		"PEM":    pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p8})[28:90],
	}
}

// scan returns the names of the traces found in the memory of the adapter's idle instances.
func scan(t *testing.T, a adapters.Adapter, traces map[string][]byte) []string {
	ad := a.(*adapter)
	ad.mu.Lock()
	defer ad.mu.Unlock()
	if len(ad.idle) == 0 {
		t.Fatal("no idle instance to scan")
	}
	var found []string
	for _, inst := range ad.idle {
		mem, ok := inst.mod.Memory().Read(0, inst.mod.Memory().Size())
		if !ok {
			t.Fatal("reading the guest's memory")
		}
		for name, tr := range traces {
			if bytes.Contains(mem, tr) {
				found = append(found, name)
			}
		}
	}
	return found
}

// TestHostKeyNeverInGuestMemory: the Go example bridge enrolls with the host-held key, and
// the key is nowhere in its memory afterwards; the same bridge signing in-module (the key in
// its settings) shows the scan finds a key where there is one.
func TestHostKeyNeverInGuestMemory(t *testing.T) {
	t.Parallel()
	module := adaptertest.BuildGoWasm(t, goExample)
	ca := adaptertest.NewCA(t, "Host key CA")
	key := ca.Key.(*ecdsa.PrivateKey)
	traces := keyTraces(t, key)
	csr, _ := testCSR(t, "alice")
	input, _ := json.Marshal(map[string]any{"csr": csr, "userIdentity": map[string]any{"userName": "alice"}})
	open := func(cfg adapters.Config) adapters.Adapter {
		cfg.Name, cfg.Module, cfg.CacheDir = "bridge", module, adaptertest.CompilationCacheDir(t)
		cfg.Limits.Instances = 1
		a, err := Open(t.Context(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { a.Close(context.Background()) })
		return a
	}
	enroll := func(a adapters.Adapter) (json.RawMessage, error) {
		if _, err := a.Call(t.Context(), "validateCSR", input); err != nil {
			return nil, err
		}
		return a.Call(t.Context(), "generateCertificate", input)
	}

	host := open(adapters.Config{PKI: &adapters.PKIGrant{Issuer: ca.Cert, Key: key, KeyName: "bridge-ca"}})
	out, err := enroll(host)
	if err != nil {
		t.Fatalf("generateCertificate with the grant: %v", err)
	}
	var g adapters.GeneratedCertificate
	if err := json.Unmarshal(out, &g); err != nil {
		t.Fatal(err)
	}
	der, _ := base64.StdEncoding.DecodeString(g.CertificateBase64)
	cert, err := x509.ParseCertificate(der)
	if err != nil || cert.CheckSignatureFrom(ca.Cert) != nil {
		t.Fatalf("the certificate does not verify against the host's CA: %v", err)
	}
	if found := scan(t, host, traces); len(found) > 0 {
		t.Errorf("the host-held key is in the guest's memory: %v", found)
	}

	p8, _ := x509.MarshalPKCS8PrivateKey(key)
	inModule := open(adapters.Config{Settings: map[string]string{
		"ca-cert": string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Cert.Raw})),
		"ca-key":  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p8})),
	}})
	if _, err := enroll(inModule); err != nil {
		t.Fatal(err)
	}
	if found := scan(t, inModule, traces); len(found) == 0 {
		t.Error("the scan found no trace of a key the guest holds: it cannot see one either")
	}

	none := open(adapters.Config{})
	_, err = enroll(none)
	if e := adaptertest.CheckError(t, err, adapters.CodeFailed, "bridge", "generateCertificate"); e != nil && !strings.Contains(e.Message, "not granted the host PKI capability") {
		t.Errorf("without the grant: %q, want it to say the capability is not granted", e.Message)
	}
}

// TestPKIHostUsesTheCallsVerifiedCSR: a CSR the engine verified for the call being served
// (adapters.WithVerifiedCSR) is not verified again, but only under its exact DER, and the key
// policy still holds. A forged CSR placed in the context stands for "verified by the engine":
// that it signs shows the capability did not verify it again.
func TestPKIHostUsesTheCallsVerifiedCSR(t *testing.T) {
	t.Parallel()
	ca := adaptertest.NewCA(t, "Host key CA")
	h := newPKIHost(&adapters.PKIGrant{Issuer: ca.Cert, Key: ca.Key, KeyName: "bridge-ca"}, slog.New(slog.DiscardHandler))
	genuine, _ := testCSR(t, "alice")
	forged := forge(t, genuine)
	parse := func(b64 string) *x509.CertificateRequest {
		der, _ := base64.StdEncoding.DecodeString(b64)
		csr, err := x509.ParseCertificateRequest(der)
		if err != nil {
			t.Fatal(err)
		}
		return csr
	}
	weakKey, err := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	weakDER, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "alice"}}, weakKey)
	if err != nil {
		t.Fatal(err)
	}
	weak := base64.StdEncoding.EncodeToString(weakDER)
	for _, tc := range []struct {
		name     string
		carried  *x509.CertificateRequest
		csr      string
		wantSign bool
	}{
		{"no CSR carried, genuine", nil, genuine, true},
		{"no CSR carried, forged", nil, forged, false},
		{"the forged CSR carried", parse(forged), forged, true},
		{"another CSR carried, forged", parse(genuine), forged, false},
		{"a weak key carried", parse(weak), weak, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := adapters.WithVerifiedCSR(context.Background(), tc.carried)
			for _, op := range []string{
				`{"op":"sign","csr":"` + tc.csr + `","subject":{"commonName":"alice"}}`,
				`{"op":"parseCSR","csr":"` + tc.csr + `"}`,
			} {
				var out map[string]any
				if err := json.Unmarshal(h.do(ctx, "generateCertificate", []byte(op)), &out); err != nil {
					t.Fatal(err)
				}
				if got := out["error"] == nil; got != tc.wantSign {
					t.Errorf("%s: %v, want success %v", op[:20], out, tc.wantSign)
				}
			}
		})
	}
}
