package sdktest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/realmgate/realmgate/adapters"
	"github.com/realmgate/realmgate/adapters/adaptertest"
	"github.com/realmgate/realmgate/pki"
)

// TestHostPKI drives each SDK's host PKI API through the examples' parseCSR and sign
// procedures and the wasm host: with a grant the host parses the CSR and signs with its key
// (the certificate verifies against the grant's CA, with the subject the guest named); a CA
// certificate or a validity beyond the grant is refused, and so is every call without a grant,
// each with the host's reason after "pki: ".
func TestHostPKI(t *testing.T) {
	ca := adaptertest.NewCA(t, "SDK host PKI CA")
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "device-7"}}, key)
	if err != nil {
		t.Fatal(err)
	}
	csr := base64.StdEncoding.EncodeToString(der)
	thumb, err := pki.KeyThumbprint(key.Public())
	if err != nil {
		t.Fatal(err)
	}
	grant := &adapters.PKIGrant{Issuer: ca.Cert, Key: ca.Key, KeyName: "sdk-ca", MaxValidity: 30 * 24 * time.Hour}
	call := func(t *testing.T, a adapters.Adapter, proc string, in map[string]any) (map[string]string, error) {
		t.Helper()
		b, _ := json.Marshal(in)
		raw, err := a.Call(t.Context(), proc, b)
		if err != nil {
			return nil, err
		}
		var out map[string]string
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("%s output %s: %v", proc, raw, err)
		}
		return out, nil
	}
	refused := func(t *testing.T, err error, proc, reason string) {
		t.Helper()
		if e := adaptertest.CheckError(t, err, adapters.CodeFailed, "pki", proc); e != nil &&
			(!strings.HasPrefix(e.Message, "pki: ") || !strings.Contains(e.Message, reason)) {
			t.Errorf("message %q, want the host's reason %q after \"pki: \"", e.Message, reason)
		}
	}
	for _, lang := range languages {
		t.Run(lang.Name, func(t *testing.T) {
			module, _ := example(t, lang)
			a := openWasm(t, module, adapters.Config{Name: "pki", PKI: grant})

			parsed, err := call(t, a, "parseCSR", map[string]any{"csr": csr})
			if err != nil {
				t.Fatalf("parseCSR: %v", err)
			}
			if d := cmp.Diff(map[string]string{"cn": "device-7", "algorithm": "EC", "thumbprint": thumb}, parsed); d != "" {
				t.Errorf("parseCSR (-want +got):\n%s", d)
			}

			signed, err := call(t, a, "sign", map[string]any{"csr": csr, "commonName": "device-7", "validityDays": 7})
			if err != nil {
				t.Fatalf("sign: %v", err)
			}
			certDER, _ := base64.StdEncoding.DecodeString(signed["certificateBase64"])
			cert, err := x509.ParseCertificate(certDER)
			if err != nil {
				t.Fatalf("the signed certificate does not parse: %v", err)
			}
			if err := cert.CheckSignatureFrom(ca.Cert); err != nil {
				t.Errorf("the certificate does not verify against the grant's CA: %v", err)
			}
			if cert.Subject.String() != "CN=device-7" || cert.IsCA || cert.SerialNumber.Text(16) != signed["serialNumber"] ||
				!cert.PublicKey.(*ecdsa.PublicKey).Equal(key.Public()) {
				t.Errorf("certificate: subject %q, CA %v, serial %s (answer %s), or not the CSR's key", cert.Subject, cert.IsCA, cert.SerialNumber.Text(16), signed["serialNumber"])
			}
			if days := cert.NotAfter.Sub(cert.NotBefore).Hours() / 24; days < 7 || days > 7.1 {
				t.Errorf("validity of %.2f days, want 7", days)
			}

			_, err = call(t, a, "sign", map[string]any{"csr": csr, "commonName": "device-7", "isCA": true})
			refused(t, err, "sign", "does not allow")
			_, err = call(t, a, "sign", map[string]any{"csr": csr, "commonName": "device-7", "validityDays": 31})
			refused(t, err, "sign", "beyond the grant's bound of 30 days")

			none := openWasm(t, module, adapters.Config{Name: "pki"})
			_, err = call(t, none, "parseCSR", map[string]any{"csr": csr})
			refused(t, err, "parseCSR", "not granted the host PKI capability")
			_, err = call(t, none, "sign", map[string]any{"csr": csr, "commonName": "device-7"})
			refused(t, err, "sign", "not granted the host PKI capability")
		})
	}
}
