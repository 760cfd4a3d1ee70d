// Package bundletest builds OPA bundles for tests: tarballs written and signed with OPA's own
// bundle writer and signer, as `opa build` (with --signing-key) makes them.
package bundletest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/open-policy-agent/opa/v1/bundle"
)

// Spec describes a bundle.
type Spec struct {
	Revision string
	// Roots are the manifest's roots; nil writes none.
	Roots []string
	// Modules maps a file path ("policies/x.rego") to its Rego source.
	Modules map[string]string
	// Data is the data document, rooted at data.
	Data map[string]any
}

// Key is an ES256 signing key and its public key, PEM-encoded, and the public key's file.
type Key struct {
	Private, Public string
	PublicFile      string
}

// NewKey makes an ES256 key pair and writes the public key to a file in a temporary directory.
func NewKey(t testing.TB) Key {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	key := Key{
		Private: string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})),
		Public:  string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub})),
	}
	key.PublicFile = filepath.Join(t.TempDir(), "bundle-key.pem")
	if err := os.WriteFile(key.PublicFile, []byte(key.Public), 0o600); err != nil {
		t.Fatal(err)
	}
	return key
}

func (s Spec) bundle() bundle.Bundle {
	b := bundle.Bundle{Manifest: bundle.Manifest{Revision: s.Revision}, Data: s.Data}
	if s.Roots != nil {
		roots := append([]string(nil), s.Roots...)
		b.Manifest.Roots = &roots
	}
	if b.Data == nil {
		b.Data = map[string]any{}
	}
	paths := make([]string, 0, len(s.Modules))
	for p := range s.Modules {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		b.Modules = append(b.Modules, bundle.ModuleFile{URL: "/" + p, Path: "/" + p, Raw: []byte(s.Modules[p])})
	}
	return b
}

// Tarball writes the bundle as a .tar.gz; with a key, signed by it under key id keyID (ES256).
func Tarball(t testing.TB, s Spec, key *Key, keyID string) []byte {
	t.Helper()
	b := s.bundle()
	if key != nil {
		if err := b.GenerateSignature(bundle.NewSigningConfig(key.Private, "ES256", ""), keyID, false); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if err := bundle.NewWriter(&buf).Write(b); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// WriteFile writes the bundle's tarball to path, atomically (a rename), so that a reader
// polling the file never sees half of it.
func WriteFile(t testing.TB, path string, s Spec, key *Key, keyID string) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, Tarball(t, s, key, keyID), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}
