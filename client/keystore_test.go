package client

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// testCredential makes a key and a self-signed certificate for it, valid for validity from now
// (negative: already expired).
func testCredential(t testing.TB, cn string, validity time.Duration) *Credential {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	notBefore, notAfter := now.Add(-time.Hour), now.Add(validity)
	if validity < 0 {
		notBefore = notAfter.Add(-time.Hour)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(now.UnixNano()),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    notBefore,
		NotAfter:     notAfter,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &Credential{Key: key, Chain: []*x509.Certificate{cert}}
}

func sameCredential(t *testing.T, want, got *Credential) {
	t.Helper()
	if !got.Key.(*ecdsa.PrivateKey).Equal(want.Key) {
		t.Errorf("loaded key differs from the stored one")
	}
	var w, g [][]byte
	for _, c := range want.Chain {
		w = append(w, c.Raw)
	}
	for _, c := range got.Chain {
		g = append(g, c.Raw)
	}
	if diff := cmp.Diff(w, g); diff != "" {
		t.Errorf("chain (-want +got):\n%s", diff)
	}
}

func TestKeystoreRoundTrip(t *testing.T) {
	t.Parallel()
	stores := map[string]Keystore{
		"dir":    DirKeystore(filepath.Join(t.TempDir(), "keys")),
		"memory": &MemoryKeystore{},
	}
	for name, ks := range stores {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			const entity = "user:wl_userCertificateAuthRealm"
			if _, err := ks.Load(entity); !errors.Is(err, ErrNoCredential) {
				t.Fatalf("Load of a missing entity: %v, want ErrNoCredential", err)
			}
			first, second := testCredential(t, "a", time.Hour), testCredential(t, "b", time.Hour)
			for _, c := range []*Credential{first, second} { // the second replaces the first
				if err := ks.Store(entity, c); err != nil {
					t.Fatal(err)
				}
			}
			got, err := ks.Load(entity)
			if err != nil {
				t.Fatal(err)
			}
			sameCredential(t, second, got)
			if _, err := ks.Load("device"); !errors.Is(err, ErrNoCredential) {
				t.Errorf("another entity: %v, want ErrNoCredential", err)
			}
			for range 2 { // deleting a missing entity is no error
				if err := ks.Delete(entity); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := ks.Load(entity); !errors.Is(err, ErrNoCredential) {
				t.Errorf("Load after Delete: %v, want ErrNoCredential", err)
			}
		})
	}
}

func TestKeystoreRefusesBadCredentials(t *testing.T) {
	t.Parallel()
	good := testCredential(t, "a", time.Hour)
	other := testCredential(t, "b", time.Hour)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	tests := map[string]*Credential{
		"nil":             nil,
		"no key":          {Chain: good.Chain},
		"no chain":        {Key: good.Key},
		"key of another":  {Key: good.Key, Chain: other.Chain},
		"P-384 key":       {Key: p384, Chain: good.Chain},
		"too long chain":  {Key: good.Key, Chain: append(append([]*x509.Certificate{}, good.Chain...), other.Chain[0], other.Chain[0], other.Chain[0], other.Chain[0], other.Chain[0])},
		"nil certificate": {Key: good.Key, Chain: []*x509.Certificate{good.Chain[0], nil}},
	}
	for name, c := range tests {
		for _, ks := range []Keystore{DirKeystore(t.TempDir()), &MemoryKeystore{}} {
			if err := ks.Store("device", c); err == nil {
				t.Errorf("%s: %T stored it", name, ks)
			}
		}
	}
	for _, entity := range []string{"", strings.Repeat("x", maxEntityLen+1), "a\nb", "bad\xffutf8"} {
		for _, ks := range []Keystore{DirKeystore(t.TempDir()), &MemoryKeystore{}} {
			if err := ks.Store(entity, good); !errors.Is(err, ErrInvalidEntity) {
				t.Errorf("%T.Store(%q): %v, want ErrInvalidEntity", ks, entity, err)
			}
			if _, err := ks.Load(entity); !errors.Is(err, ErrInvalidEntity) {
				t.Errorf("%T.Load(%q): %v, want ErrInvalidEntity", ks, entity, err)
			}
		}
	}
}

func TestDirKeystoreFiles(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	dir := filepath.Join(root, "keys")
	ks := DirKeystore(dir)
	entities := map[string]string{
		"device":                           "device.json",
		"application:BankApp":              "application%3ABankApp.json",
		"user:wl_userCertificateAuthRealm": "user%3Awl_userCertificateAuthRealm.json",
		"group:../../etc/passwd":           "group%3A..%2F..%2Fetc%2Fpasswd.json",
		"..":                               "%2E..json",
		".hidden":                          "%2Ehidden.json",
		"50%":                              "50%25.json",
		"é a\\b":                           "%C3%A9%20a%5Cb.json",
	}
	c := testCredential(t, "a", time.Hour)
	for entity, file := range entities {
		if got := entityFileName(entity); got != file {
			t.Errorf("entityFileName(%q) = %q, want %q", entity, got, file)
		}
		if err := ks.Store(entity, c); err != nil {
			t.Fatalf("Store(%q): %v", entity, err)
		}
	}
	var got []string
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		got = append(got, fmt.Sprintf("%s %v", rel, info.Mode()))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{". " + mustMode(t, root).String(), "keys drwx------"}
	for _, file := range []string{"%2E..json", "%2Ehidden.json", "%C3%A9%20a%5Cb.json", "50%25.json", "application%3ABankApp.json",
		"device.json", "group%3A..%2F..%2Fetc%2Fpasswd.json", "user%3Awl_userCertificateAuthRealm.json"} {
		want = append(want, "keys/"+file+" -rw-------")
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("files, with no temporary file left (-want +got):\n%s", diff)
	}
	b, err := os.ReadFile(filepath.Join(dir, "device.json"))
	if err != nil {
		t.Fatal(err)
	}
	var f credentialFile
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	if f.Entity != "device" || !strings.HasPrefix(f.PrivateKey, "-----BEGIN PRIVATE KEY-----\n") ||
		strings.Count(f.Chain, "-----BEGIN CERTIFICATE-----") != 1 {
		t.Errorf("device.json does not hold a PKCS#8 key PEM and the chain PEM:\n%s", b)
	}
}

func mustMode(t *testing.T, path string) os.FileMode {
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Mode()
}

func TestDirKeystoreDamaged(t *testing.T) {
	t.Parallel()
	c := testCredential(t, "a", time.Hour)
	other := testCredential(t, "b", time.Hour)
	good, err := encodeCredential("device", c)
	if err != nil {
		t.Fatal(err)
	}
	mismatched, err := encodeCredential("device", other)
	if err != nil {
		t.Fatal(err)
	}
	edit := func(f func(*credentialFile)) []byte {
		var cf credentialFile
		if err := json.Unmarshal(good, &cf); err != nil {
			t.Fatal(err)
		}
		f(&cf)
		b, _ := json.Marshal(cf)
		return b
	}
	var otherKey credentialFile
	json.Unmarshal(mismatched, &otherKey)
	tests := map[string]struct {
		content []byte
		mode    os.FileMode
	}{
		"not json":          {[]byte("{"), 0o600},
		"empty":             {nil, 0o600},
		"other version":     {edit(func(f *credentialFile) { f.Version = 2 }), 0o600},
		"other entity":      {edit(func(f *credentialFile) { f.Entity = "Device" }), 0o600},
		"key of another":    {edit(func(f *credentialFile) { f.PrivateKey = otherKey.PrivateKey }), 0o600},
		"no chain":          {edit(func(f *credentialFile) { f.Chain = "" }), 0o600},
		"garbage in chain":  {edit(func(f *credentialFile) { f.Chain += "junk" }), 0o600},
		"key as chain":      {edit(func(f *credentialFile) { f.Chain = f.PrivateKey }), 0o600},
		"two keys":          {edit(func(f *credentialFile) { f.PrivateKey += f.PrivateKey }), 0o600},
		"too large":         {append(good, make([]byte, maxCredentialBytes)...), 0o600},
		"readable by group": {good, 0o640},
		"readable by all":   {good, 0o604},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			path := filepath.Join(dir, "device.json")
			if err := os.WriteFile(path, tt.content, 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, tt.mode); err != nil {
				t.Fatal(err)
			}
			if _, err := DirKeystore(dir).Load("device"); !errors.Is(err, ErrKeystoreDamaged) {
				t.Errorf("Load: %v, want ErrKeystoreDamaged", err)
			}
		})
	}
	// The good file loads, so the cases above fail for their own reason.
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "device.json"), good, 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := DirKeystore(dir).Load("device")
	if err != nil {
		t.Fatal(err)
	}
	sameCredential(t, c, got)
}

// A credential never prints its key, whatever the verb.
func TestCredentialPrintsNoKey(t *testing.T) {
	t.Parallel()
	c := testCredential(t, "alice", time.Hour)
	raw, err := c.Key.(*ecdsa.PrivateKey).Bytes()
	if err != nil {
		t.Fatal(err)
	}
	d := new(big.Int).SetBytes(raw)
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		out := fmt.Sprintf(verb, c) + fmt.Sprintf(verb, *c) + fmt.Sprintf(verb, []*Credential{c})
		if strings.Contains(out, d.String()) || strings.Contains(out, d.Text(16)) || !strings.Contains(out, "redacted") ||
			!strings.Contains(out, "CN=alice") {
			t.Errorf("%s prints %q", verb, out)
		}
	}
}

func TestMemoryKeystoreEntities(t *testing.T) {
	t.Parallel()
	var ks MemoryKeystore
	c := testCredential(t, "a", time.Hour)
	for _, e := range []string{"user:r", "device", "group:g"} {
		if err := ks.Store(e, c); err != nil {
			t.Fatal(err)
		}
	}
	if diff := cmp.Diff([]string{"device", "group:g", "user:r"}, ks.Entities()); diff != "" {
		t.Errorf("Entities (-want +got):\n%s", diff)
	}
	// The keystore keeps its own copy: changing the caller's credential changes nothing.
	c.Chain = nil
	if got, err := ks.Load("device"); err != nil || len(got.Chain) != 1 {
		t.Errorf("Load after the caller changed its credential: %v, %v", got, err)
	}
}
