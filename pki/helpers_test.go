package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/realmgate/realmgate/internal/rfc4514"
)

// Keys are slow to generate (RSA): make each kind once per test binary.
var (
	keyOnce sync.Once
	keys    map[string]crypto.Signer
)

func testKey(t testing.TB, kind string) crypto.Signer {
	t.Helper()
	keyOnce.Do(func() {
		keys = map[string]crypto.Signer{}
		for kind, gen := range map[string]func() (crypto.Signer, error){
			"p256":    func() (crypto.Signer, error) { return ecdsa.GenerateKey(elliptic.P256(), rand.Reader) },
			"p256b":   func() (crypto.Signer, error) { return ecdsa.GenerateKey(elliptic.P256(), rand.Reader) },
			"p384":    func() (crypto.Signer, error) { return ecdsa.GenerateKey(elliptic.P384(), rand.Reader) },
			"p521":    func() (crypto.Signer, error) { return ecdsa.GenerateKey(elliptic.P521(), rand.Reader) },
			"p224":    func() (crypto.Signer, error) { return ecdsa.GenerateKey(elliptic.P224(), rand.Reader) },
			"rsa1024": func() (crypto.Signer, error) { return rsa.GenerateKey(rand.Reader, 1024) },
			"rsa2048": func() (crypto.Signer, error) { return rsa.GenerateKey(rand.Reader, 2048) },
			"ed25519": func() (crypto.Signer, error) { _, k, err := ed25519.GenerateKey(rand.Reader); return k, err },
		} {
			k, err := gen()
			if err != nil {
				panic(err)
			}
			keys[kind] = k
		}
	})
	k, ok := keys[kind]
	if !ok {
		t.Fatalf("no test key %q", kind)
	}
	return k
}

// testCA is one ECDSA CA shared by the tests that do not care which.
var (
	caOnce   sync.Once
	sharedCA *CA
)

func testCA(t testing.TB) *CA {
	t.Helper()
	caOnce.Do(func() {
		var err error
		if sharedCA, err = NewCA(CAOptions{CommonName: "Shared Test CA"}); err != nil {
			panic(err)
		}
	})
	return sharedCA
}

func newCSR(t testing.TB, key crypto.Signer, subject pkix.Name) []byte {
	t.Helper()
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: subject}, key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func mustParseCSR(t testing.TB, der []byte) *x509.CertificateRequest {
	t.Helper()
	csr, err := ParseCSR(der)
	if err != nil {
		t.Fatal(err)
	}
	return csr
}

// sharedTestdata holds the fixtures pki shares with other packages (CSR samples, attestation
// chains); see its README.
var sharedTestdata = filepath.Join("..", "testdata")

// readFile reads a file of the shared fixtures ("csr/openssl-p256.csr").
func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(sharedTestdata, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func readCerts(t testing.TB, name string) []*x509.Certificate {
	t.Helper()
	certs, err := parseCertificatesPEM(readFile(t, name))
	if err != nil {
		t.Fatal(err)
	}
	return certs
}

func writePEM(t testing.TB, path, typ string, ders ...[]byte) {
	t.Helper()
	var out []byte
	for _, d := range ders {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: d})...)
	}
	if err := os.WriteFile(path, out, 0o600); err != nil {
		t.Fatal(err)
	}
}

// checkErr fails unless err matches every sentinel in want and its message holds every
// fragment in msg; no sentinel and no fragment means no error.
func checkErr(t testing.TB, err error, want []error, msg ...string) {
	t.Helper()
	var frags []string
	for _, m := range msg {
		if m != "" {
			frags = append(frags, m)
		}
	}
	msg = frags
	if len(want) == 0 && len(msg) == 0 {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	if err == nil {
		t.Fatalf("no error; want %v", want)
	}
	for _, w := range want {
		if !errors.Is(err, w) {
			t.Errorf("error %q does not match %v", err, w)
		}
	}
	for _, m := range msg {
		if !strings.Contains(err.Error(), m) {
			t.Errorf("error %q does not say %q", err, m)
		}
	}
}

func errs(e ...error) []error { return e }

// dnString renders a DER name as the PKI-bridge objects do (adapters.CSRObject): RFC 4514 as
// rfc4514.Format writes it, or the parsed name when the DER does not parse.
func dnString(raw []byte, parsed pkix.Name) string {
	if s, err := rfc4514.Format(raw); err == nil {
		return s
	}
	return parsed.String()
}
