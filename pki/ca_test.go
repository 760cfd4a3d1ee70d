package pki

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/pem"
	"io/fs"
	"math/big"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"software.sslmate.com/src/go-pkcs12"
)

func TestInitCALoadCA(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		opts    CAOptions
		wantCN  string
		wantOrg []string
		wantAlg x509.PublicKeyAlgorithm
		wantEnd time.Time
	}{
		{"defaults", CAOptions{Now: now}, DefaultCACommonName, nil, x509.ECDSA, now.Add(DefaultCAValidity)},
		{"ecdsa named", CAOptions{CommonName: "Provisioning", Organization: "Example", KeyAlgorithm: KeyECDSAP256, Now: now}, "Provisioning", []string{"Example"}, x509.ECDSA, now.Add(DefaultCAValidity)},
		{"rsa", CAOptions{KeyAlgorithm: KeyRSA3072, Validity: 48 * time.Hour, Now: now}, DefaultCACommonName, nil, x509.RSA, now.Add(48 * time.Hour)},
		{"ed25519", CAOptions{KeyAlgorithm: KeyEd25519, Now: now}, DefaultCACommonName, nil, x509.Ed25519, now.Add(DefaultCAValidity)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(t.TempDir(), "ca") // InitCA creates it
			ca, err := InitCA(dir, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			c := ca.Cert
			if !c.IsCA || !c.BasicConstraintsValid || c.KeyUsage&x509.KeyUsageCertSign == 0 {
				t.Errorf("not a CA certificate: IsCA %v, key usage %b", c.IsCA, c.KeyUsage)
			}
			got := struct {
				CN        string
				Org       []string
				Alg       x509.PublicKeyAlgorithm
				NotBefore time.Time
				NotAfter  time.Time
				SelfSign  bool
			}{c.Subject.CommonName, c.Subject.Organization, c.PublicKeyAlgorithm, c.NotBefore, c.NotAfter, c.CheckSignatureFrom(c) == nil}
			want := got
			want.CN, want.Org, want.Alg, want.NotBefore, want.NotAfter, want.SelfSign = tt.wantCN, tt.wantOrg, tt.wantAlg, now.Add(-Backdate), tt.wantEnd, true
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("CA certificate (-want +got):\n%s", d)
			}
			for name, mode := range map[string]os.FileMode{CACertFile: 0o644, CAKeyFile: 0o600} {
				fi, err := os.Stat(filepath.Join(dir, name))
				if err != nil {
					t.Fatal(err)
				}
				if fi.Mode().Perm() != mode {
					t.Errorf("%s has mode %#o, want %#o", name, fi.Mode().Perm(), mode)
				}
			}
			keyPEM, _ := os.ReadFile(filepath.Join(dir, CAKeyFile))
			if b, _ := pem.Decode(keyPEM); b == nil || b.Type != "PRIVATE KEY" {
				t.Errorf("%s is not a PKCS#8 PEM key", CAKeyFile)
			}

			loaded, err := LoadCA(dir)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(loaded.Cert.Raw, c.Raw) || !SamePublicKey(loaded.Key.Public(), ca.Key.Public()) || len(loaded.Chain) != 0 {
				t.Error("LoadCA does not give back the CA InitCA made")
			}

			// A second InitCA changes nothing.
			before, _ := os.ReadFile(filepath.Join(dir, CACertFile))
			_, err = InitCA(dir, tt.opts)
			checkErr(t, err, errs(ErrCAExists, fs.ErrExist), CACertFile)
			after, _ := os.ReadFile(filepath.Join(dir, CACertFile))
			if !bytes.Equal(before, after) {
				t.Error("a refused InitCA rewrote the certificate")
			}
		})
	}
}

func TestInitCARefusals(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		setup func(dir string)
		opts  CAOptions
		want  []error
		msg   string
	}{
		{"key file alone exists", func(dir string) { os.WriteFile(filepath.Join(dir, CAKeyFile), []byte("x"), 0o600) }, CAOptions{}, errs(ErrCAExists, fs.ErrExist), CAKeyFile},
		{"unknown algorithm", nil, CAOptions{KeyAlgorithm: "dsa"}, nil, `unknown key algorithm "dsa"`},
		{"negative validity", nil, CAOptions{Validity: -time.Hour}, nil, "negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			if tt.setup != nil {
				tt.setup(dir)
			}
			_, err := InitCA(dir, tt.opts)
			if err == nil {
				t.Fatal("no error")
			}
			checkErr(t, err, tt.want, tt.msg)
			if _, err := os.Stat(filepath.Join(dir, CACertFile)); err == nil {
				t.Error("a refused InitCA wrote a certificate")
			}
		})
	}
}

// newSubCA issues an intermediate CA under parent.
func newSubCA(t testing.TB, parent *CA, cn string, notAfter time.Time) *CA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := randomSerial()
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: cn},
		NotBefore: parent.Cert.NotBefore, NotAfter: notAfter,
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent.Cert, key.Public(), parent.Key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	chain := []*x509.Certificate{}
	if !isSelfSigned(parent.Cert) {
		chain = append(chain, parent.Cert)
		chain = append(chain, parent.Chain...)
	}
	return &CA{Cert: cert, Key: key, Chain: chain}
}

// newLeaf issues a non-CA certificate and returns it with its key.
func newLeaf(t testing.TB, parent *CA) (*x509.Certificate, crypto.Signer) {
	t.Helper()
	key := testKey(t, "p256b")
	csr := mustParseCSR(t, newCSR(t, key, pkix.Name{CommonName: "leaf"}))
	cert, err := parent.Issue(csr, IssueOptions{Subject: pkix.Name{CommonName: "leaf"}})
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}

func pkcs8PEM(t testing.TB, key crypto.Signer) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

func TestLoadCAFiles(t *testing.T) {
	t.Parallel()
	root := testCA(t)
	other, err := NewCA(CAOptions{})
	if err != nil {
		t.Fatal(err)
	}
	inter := newSubCA(t, root, "Intermediate", root.Cert.NotAfter)
	inter2 := newSubCA(t, inter, "Intermediate 2", root.Cert.NotAfter)
	leaf, leafKey := newLeaf(t, root)
	ecKey := root.Key.(*ecdsa.PrivateKey)
	sec1, _ := x509.MarshalECPrivateKey(ecKey)
	rsaCA, err := NewCA(CAOptions{KeyAlgorithm: KeyRSA3072})
	if err != nil {
		t.Fatal(err)
	}
	pkcs1 := x509.MarshalPKCS1PrivateKey(rsaCA.Key.(*rsa.PrivateKey))
	certPEM := func(cs ...*x509.Certificate) []byte {
		var out []byte
		for _, c := range cs {
			out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
		}
		return out
	}

	tests := []struct {
		name       string
		cert, key  []byte // nil: file absent
		keyMode    os.FileMode
		want       []error
		msg        string
		wantCert   *x509.Certificate
		wantChainN int
	}{
		{name: "pkcs8", cert: certPEM(root.Cert), key: pkcs8PEM(t, root.Key), wantCert: root.Cert},
		{name: "sec1", cert: certPEM(root.Cert), key: pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1}), wantCert: root.Cert},
		{name: "pkcs1", cert: certPEM(rsaCA.Cert), key: pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: pkcs1}), wantCert: rsaCA.Cert},
		{name: "intermediate, root left out", cert: certPEM(inter.Cert, root.Cert), key: pkcs8PEM(t, inter.Key), wantCert: inter.Cert},
		{name: "intermediate with chain", cert: certPEM(inter2.Cert, root.Cert, inter.Cert), key: pkcs8PEM(t, inter2.Key), wantCert: inter2.Cert, wantChainN: 1},
		{name: "no files", want: errs(fs.ErrNotExist), msg: CACertFile},
		{name: "no key", cert: certPEM(root.Cert), want: errs(fs.ErrNotExist), msg: CAKeyFile},
		{name: "no certificate", key: pkcs8PEM(t, root.Key), want: errs(fs.ErrNotExist), msg: CACertFile},
		{name: "certificate not PEM", cert: []byte("hello"), key: pkcs8PEM(t, root.Key), want: errs(ErrMalformed), msg: "no PEM CERTIFICATE"},
		{name: "certificate damaged", cert: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: root.Cert.Raw[:100]}), key: pkcs8PEM(t, root.Key), want: errs(ErrMalformed)},
		{name: "key where the certificate goes", cert: pkcs8PEM(t, root.Key), key: pkcs8PEM(t, root.Key), want: errs(ErrMalformed), msg: `"PRIVATE KEY" where a CERTIFICATE`},
		{name: "garbage after certificate", cert: append(certPEM(root.Cert), "junk"...), key: pkcs8PEM(t, root.Key), want: errs(ErrMalformed), msg: "not PEM"},
		{name: "key not PEM", cert: certPEM(root.Cert), key: []byte("secret"), want: errs(ErrMalformed), msg: "no PEM block"},
		{name: "key damaged", cert: certPEM(root.Cert), key: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{0x30, 0x03, 1, 2, 3}}), want: errs(ErrMalformed)},
		{name: "key encrypted", cert: certPEM(root.Cert), key: pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte{1}}), want: errs(ErrMalformed), msg: "encrypted"},
		{name: "two keys", cert: certPEM(root.Cert), key: append(pkcs8PEM(t, root.Key), pkcs8PEM(t, other.Key)...), want: errs(ErrMalformed), msg: "more than one"},
		{name: "key of another CA", cert: certPEM(root.Cert), key: pkcs8PEM(t, other.Key), want: errs(ErrKeyMismatch)},
		{name: "key readable by others", cert: certPEM(root.Cert), key: pkcs8PEM(t, root.Key), keyMode: 0o644, want: errs(ErrInsecureKeyFile), msg: "chmod 600"},
		{name: "not a CA", cert: certPEM(leaf), key: pkcs8PEM(t, leafKey), want: errs(ErrMalformed), msg: "not a CA"},
		{name: "too large", cert: bytes.Repeat([]byte("A"), maxFileSize+1), key: pkcs8PEM(t, root.Key), want: errs(ErrTooLarge, ErrMalformed)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			if tt.cert != nil {
				os.WriteFile(filepath.Join(dir, CACertFile), tt.cert, 0o644)
			}
			if tt.key != nil {
				mode := tt.keyMode
				if mode == 0 {
					mode = 0o600
				}
				os.WriteFile(filepath.Join(dir, CAKeyFile), tt.key, 0o600)
				os.Chmod(filepath.Join(dir, CAKeyFile), mode)
			}
			ca, err := LoadCA(dir)
			checkErr(t, err, tt.want, tt.msg)
			if err != nil {
				return
			}
			if !ca.Cert.Equal(tt.wantCert) || len(ca.Chain) != tt.wantChainN {
				t.Errorf("loaded %q with %d chain certificates, want %q with %d", ca.Cert.Subject, len(ca.Chain), tt.wantCert.Subject, tt.wantChainN)
			}
		})
	}
}

// p12Encoders make PKCS#12 files: OpenSSL 3 with its defaults when the binary is there, and
// go-pkcs12's encoders.
var p12Encoders = []struct {
	name   string
	encode func(t *testing.T, key crypto.Signer, cert *x509.Certificate, chain []*x509.Certificate, password string) []byte
}{
	{"openssl", func(t *testing.T, key crypto.Signer, cert *x509.Certificate, chain []*x509.Certificate, password string) []byte {
		bin, err := exec.LookPath("openssl")
		if err != nil {
			t.Skip("openssl not installed (.ci/install-pki.sh installs it)")
		}
		dir := t.TempDir()
		keyPath, certPath, chainPath, out := filepath.Join(dir, "key.pem"), filepath.Join(dir, "cert.pem"), filepath.Join(dir, "chain.pem"), filepath.Join(dir, "ca.p12")
		os.WriteFile(keyPath, pkcs8PEM(t, key), 0o600)
		writePEM(t, certPath, "CERTIFICATE", cert.Raw)
		args := []string{"pkcs12", "-export", "-inkey", keyPath, "-in", certPath, "-passout", "pass:" + password, "-out", out}
		if len(chain) > 0 {
			var ders [][]byte
			for _, c := range chain {
				ders = append(ders, c.Raw)
			}
			writePEM(t, chainPath, "CERTIFICATE", ders...)
			args = append(args, "-certfile", chainPath)
		}
		if b, err := exec.Command(bin, args...).CombinedOutput(); err != nil {
			t.Fatalf("openssl %v: %v\n%s", args, err, b)
		}
		data, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		return data
	}},
	{"go-pkcs12 modern", func(t *testing.T, key crypto.Signer, cert *x509.Certificate, chain []*x509.Certificate, password string) []byte {
		data, err := pkcs12.Modern2023.Encode(key, cert, chain, password)
		if err != nil {
			t.Fatal(err)
		}
		return data
	}},
	{"go-pkcs12 legacy", func(t *testing.T, key crypto.Signer, cert *x509.Certificate, chain []*x509.Certificate, password string) []byte {
		data, err := pkcs12.LegacyDES.Encode(key, cert, chain, password)
		if err != nil {
			t.Fatal(err)
		}
		return data
	}},
}

func TestLoadPKCS12(t *testing.T) {
	t.Parallel()
	root := testCA(t)
	inter1 := newSubCA(t, root, "Intermediate 1", root.Cert.NotAfter)
	inter2 := newSubCA(t, inter1, "Intermediate 2", root.Cert.NotAfter)
	leaf, leafKey := newLeaf(t, root)
	const password = "test-only-password"

	tests := []struct {
		name      string
		key       crypto.Signer
		cert      *x509.Certificate
		chain     []*x509.Certificate
		encodePw  string
		loadPw    string
		damage    bool
		want      []error
		wantCert  *x509.Certificate
		wantChain []*x509.Certificate
	}{
		{name: "root alone", key: root.Key, cert: root.Cert, encodePw: password, loadPw: password, wantCert: root.Cert},
		{name: "intermediate with chain out of order", key: inter2.Key, cert: inter2.Cert, chain: []*x509.Certificate{root.Cert, inter1.Cert}, encodePw: password, loadPw: password,
			wantCert: inter2.Cert, wantChain: []*x509.Certificate{inter1.Cert}},
		{name: "empty password", key: root.Key, cert: root.Cert, wantCert: root.Cert},
		{name: "wrong password", key: root.Key, cert: root.Cert, encodePw: password, loadPw: "other", want: errs(ErrPassword)},
		{name: "damaged", key: root.Key, cert: root.Cert, encodePw: password, loadPw: password, damage: true, want: errs(ErrMalformed)},
		{name: "not a CA", key: leafKey, cert: leaf, encodePw: password, loadPw: password, want: errs(ErrMalformed)},
	}
	for _, enc := range p12Encoders {
		t.Run(enc.name, func(t *testing.T) {
			t.Parallel()
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					data := enc.encode(t, tt.key, tt.cert, tt.chain, tt.encodePw)
					if tt.damage {
						data = data[:len(data)/2]
					}
					path := filepath.Join(t.TempDir(), "ca.p12")
					os.WriteFile(path, data, 0o600)
					ca, err := LoadPKCS12(path, tt.loadPw)
					checkErr(t, err, tt.want)
					if err != nil {
						return
					}
					var chain []string
					for _, c := range ca.Chain {
						chain = append(chain, c.Subject.CommonName)
					}
					var wantChain []string
					for _, c := range tt.wantChain {
						wantChain = append(wantChain, c.Subject.CommonName)
					}
					if !ca.Cert.Equal(tt.wantCert) || !SamePublicKey(ca.Key.Public(), tt.key.Public()) {
						t.Errorf("loaded %q, want %q", ca.Cert.Subject, tt.wantCert.Subject)
					}
					if d := cmp.Diff(wantChain, chain); d != "" {
						t.Errorf("chain (-want +got):\n%s", d)
					}
				})
			}
		})
	}
	t.Run("missing file", func(t *testing.T) {
		t.Parallel()
		_, err := LoadPKCS12(filepath.Join(t.TempDir(), "none.p12"), "")
		checkErr(t, err, errs(fs.ErrNotExist))
	})
}

func TestIssue(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	ca, err := NewCA(CAOptions{CommonName: "Issuing CA", Now: now.Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	shortCA, err := NewCA(CAOptions{CommonName: "Short CA", Validity: 30 * 24 * time.Hour, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	youngCA, err := NewCA(CAOptions{CommonName: "Young CA", Now: now.Add(4 * time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	expiredCA, err := NewCA(CAOptions{CommonName: "Old CA", Validity: time.Hour, Now: now.Add(-2 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	rsaCA, err := NewCA(CAOptions{KeyAlgorithm: KeyRSA3072, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	edCA, err := NewCA(CAOptions{KeyAlgorithm: KeyEd25519, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	// An intermediate whose issuer ends sooner than itself: issued certificates end with the
	// issuer.
	parentEnd := now.Add(60 * 24 * time.Hour)
	parent := newSubCA(t, ca, "Parent", parentEnd)
	sub := newSubCA(t, parent, "Sub", now.Add(2*DefaultCertValidity))
	ecCSR := mustParseCSR(t, newCSR(t, testKey(t, "p256"), pkix.Name{CommonName: "ann", Organization: []string{"Example"}}))
	rsaCSR := mustParseCSR(t, newCSR(t, testKey(t, "rsa2048"), pkix.Name{CommonName: "rsa"}))
	edCSR := mustParseCSR(t, newCSR(t, testKey(t, "ed25519"), pkix.Name{CommonName: "ed"}))
	weakCSR := &x509.CertificateRequest{PublicKey: testKey(t, "rsa1024").Public()}
	spiffe, _ := url.Parse("spiffe://example.com/device/42")
	entityExt := pkix.Extension{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 99999, 1}, Value: []byte{0x0c, 0x05, 'g', 'r', 'o', 'u', 'p'}}

	type result struct {
		Subject        string
		NotBefore      time.Time
		NotAfter       time.Time
		KeyUsage       x509.KeyUsage
		ExtKeyUsage    []x509.ExtKeyUsage
		IsCA           bool
		DNSNames       []string
		URIs           []string
		ExtraExtension bool
	}
	ann := pkix.Name{CommonName: "ann", Organization: []string{"Example"}}
	// The CSR asks for more than it may have: the issued certificate carries none of it.
	greedyCSR := mustParseCSR(t, newCSRFrom(t, testKey(t, "p256"), &x509.CertificateRequest{
		Subject:        pkix.Name{CommonName: "ann", Organization: []string{"Example"}, OrganizationalUnit: []string{"admins"}},
		DNSNames:       []string{"admin.example.com"},
		EmailAddresses: []string{"root@example.com"},
		URIs:           []*url.URL{spiffe},
		ExtraExtensions: []pkix.Extension{
			{Id: asn1.ObjectIdentifier{2, 5, 29, 19}, Critical: true, Value: []byte{0x30, 0x03, 0x01, 0x01, 0xff}}, // CA:TRUE
			entityExt,
		},
	}))
	oidUID := asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 1}
	multi := pkix.RDNSequence{
		{{Type: asn1.ObjectIdentifier{2, 5, 4, 10}, Value: "Example Corp"}},
		{{Type: oidCommonName, Value: "carol"}, {Type: oidUID, Value: "c42"}},
	}
	tests := []struct {
		name string
		ca   *CA
		csr  *x509.CertificateRequest
		opts IssueOptions
		want result
		err  []error
		msg  string
	}{
		{name: "defaults", ca: ca, csr: ecCSR, opts: IssueOptions{Subject: ann, Now: now},
			want: result{Subject: "CN=ann,O=Example", NotBefore: now.Add(-Backdate), NotAfter: now.Add(DefaultCertValidity)}},
		{name: "subject from options", ca: ca, csr: ecCSR, opts: IssueOptions{Now: now, Subject: pkix.Name{CommonName: "device:42", OrganizationalUnit: []string{"group:sales"}}},
			want: result{Subject: "CN=device:42,OU=group:sales", NotBefore: now.Add(-Backdate), NotAfter: now.Add(DefaultCertValidity)}},
		{name: "not after", ca: ca, csr: ecCSR, opts: IssueOptions{Subject: ann, Now: now, NotAfter: now.Add(48 * time.Hour)},
			want: result{Subject: "CN=ann,O=Example", NotBefore: now.Add(-Backdate), NotAfter: now.Add(48 * time.Hour)}},
		{name: "validity", ca: ca, csr: ecCSR, opts: IssueOptions{Subject: ann, Now: now, Validity: 7 * 24 * time.Hour},
			want: result{Subject: "CN=ann,O=Example", NotBefore: now.Add(-Backdate), NotAfter: now.Add(7 * 24 * time.Hour)}},
		{name: "never past the CA", ca: shortCA, csr: ecCSR, opts: IssueOptions{Subject: ann, Now: now},
			want: result{Subject: "CN=ann,O=Example", NotBefore: now.Add(-Backdate), NotAfter: shortCA.Cert.NotAfter}},
		{name: "never past the chain", ca: sub, csr: ecCSR, opts: IssueOptions{Subject: ann, Now: now},
			want: result{Subject: "CN=ann,O=Example", NotBefore: now.Add(-Backdate), NotAfter: parentEnd}},
		{name: "never before the CA", ca: youngCA, csr: ecCSR, opts: IssueOptions{Subject: ann, Now: now},
			want: result{Subject: "CN=ann,O=Example", NotBefore: youngCA.Cert.NotBefore, NotAfter: now.Add(DefaultCertValidity)}},
		{name: "names and extensions", ca: ca, csr: ecCSR, opts: IssueOptions{Subject: ann, Now: now, DNSNames: []string{"d.example.com"}, URIs: []*url.URL{spiffe}, ExtraExtensions: []pkix.Extension{entityExt}},
			want: result{Subject: "CN=ann,O=Example", NotBefore: now.Add(-Backdate), NotAfter: now.Add(DefaultCertValidity), DNSNames: []string{"d.example.com"}, URIs: []string{spiffe.String()}, ExtraExtension: true}},
		{name: "rsa key, rsa CA", ca: rsaCA, csr: rsaCSR, opts: IssueOptions{Subject: pkix.Name{CommonName: "rsa"}, Now: now},
			want: result{Subject: "CN=rsa", NotBefore: now.Add(-Backdate), NotAfter: now.Add(DefaultCertValidity)}},
		{name: "ed25519 key, ed25519 CA", ca: edCA, csr: edCSR, opts: IssueOptions{Subject: pkix.Name{CommonName: "ed"}, Now: now},
			want: result{Subject: "CN=ed", NotBefore: now.Add(-Backdate), NotAfter: now.Add(DefaultCertValidity)}},
		{name: "expired CA", ca: expiredCA, csr: ecCSR, opts: IssueOptions{Subject: ann, Now: now}, msg: "expired"},
		{name: "not after in the past", ca: ca, csr: ecCSR, opts: IssueOptions{Subject: ann, Now: now, NotAfter: now.Add(-time.Minute)}, msg: "not after now"},
		{name: "weak key", ca: ca, csr: weakCSR, opts: IssueOptions{Subject: ann, Now: now}, err: errs(ErrWeakKey), msg: "1024"},
		{name: "no CSR", ca: ca, opts: IssueOptions{Subject: ann, Now: now}, err: errs(ErrMalformed)},
		{name: "subject RDNs, multi-valued", ca: ca, csr: ecCSR, opts: IssueOptions{Now: now, SubjectRDNs: multi},
			want: result{Subject: "CN=carol+UID=c42,O=Example Corp", NotBefore: now.Add(-Backdate), NotAfter: now.Add(DefaultCertValidity)}},
		{name: "nothing the CSR asks for", ca: ca, csr: greedyCSR, opts: IssueOptions{Subject: ann, Now: now},
			want: result{Subject: "CN=ann,O=Example", NotBefore: now.Add(-Backdate), NotAfter: now.Add(DefaultCertValidity)}},
		{name: "no subject", ca: ca, csr: ecCSR, opts: IssueOptions{Now: now}, err: errs(ErrMalformed), msg: "never the CSR"},
		{name: "two subjects", ca: ca, csr: ecCSR, opts: IssueOptions{Now: now, Subject: ann, SubjectRDNs: multi}, err: errs(ErrMalformed), msg: "once"},
		{name: "an empty RDN", ca: ca, csr: ecCSR, opts: IssueOptions{Now: now, SubjectRDNs: pkix.RDNSequence{{}}}, err: errs(ErrMalformed), msg: "empty RDN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cert, err := tt.ca.Issue(tt.csr, tt.opts)
			if tt.err != nil || tt.msg != "" {
				if err == nil {
					t.Fatal("no error")
				}
				checkErr(t, err, tt.err, tt.msg)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := tt.want
			want.KeyUsage = x509.KeyUsageDigitalSignature
			want.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
			got := result{
				Subject: dnString(cert.RawSubject, cert.Subject), NotBefore: cert.NotBefore, NotAfter: cert.NotAfter,
				KeyUsage: cert.KeyUsage, ExtKeyUsage: cert.ExtKeyUsage, IsCA: cert.IsCA, DNSNames: cert.DNSNames,
			}
			for _, u := range cert.URIs {
				got.URIs = append(got.URIs, u.String())
			}
			for _, e := range cert.Extensions {
				if e.Id.Equal(entityExt.Id) && bytes.Equal(e.Value, entityExt.Value) {
					got.ExtraExtension = true
				}
			}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("certificate (-want +got):\n%s", d)
			}
			if len(cert.EmailAddresses) != 0 || len(cert.IPAddresses) != 0 {
				t.Errorf("names the CSR asked for were copied: %v %v", cert.EmailAddresses, cert.IPAddresses)
			}
			if !SamePublicKey(cert.PublicKey, tt.csr.PublicKey) {
				t.Error("the certificate is not for the CSR's key")
			}
			if cert.SerialNumber.Sign() <= 0 || cert.SerialNumber.BitLen() > 128 || cert.SerialNumber.BitLen() < 64 {
				t.Errorf("serial %x is not a positive 128-bit random number", cert.SerialNumber)
			}
			ski, _ := subjectKeyID(tt.csr.PublicKey)
			if !bytes.Equal(cert.SubjectKeyId, ski) || !bytes.Equal(cert.AuthorityKeyId, tt.ca.Cert.SubjectKeyId) || len(cert.AuthorityKeyId) == 0 {
				t.Errorf("key identifiers: subject %x (want %x), authority %x (want %x)", cert.SubjectKeyId, ski, cert.AuthorityKeyId, tt.ca.Cert.SubjectKeyId)
			}
			if err := cert.CheckSignatureFrom(tt.ca.Cert); err != nil {
				t.Errorf("not signed by the CA: %v", err)
			}
			if tt.ca != sub {
				if _, err := cert.Verify(x509.VerifyOptions{Roots: tt.ca.Roots(), CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
					t.Errorf("does not verify as a client certificate under the CA: %v", err)
				}
			}
		})
	}

	t.Run("serials differ", func(t *testing.T) {
		t.Parallel()
		seen := map[string]bool{}
		for range 20 {
			cert, err := ca.Issue(ecCSR, IssueOptions{Subject: ann})
			if err != nil {
				t.Fatal(err)
			}
			if seen[cert.SerialNumber.String()] {
				t.Fatal("a serial number repeats")
			}
			seen[cert.SerialNumber.String()] = true
		}
	})
}

func TestCAHelpers(t *testing.T) {
	t.Parallel()
	root := testCA(t)
	inter := newSubCA(t, root, "Intermediate", root.Cert.NotAfter)
	inter2 := newSubCA(t, inter, "Intermediate 2", root.Cert.NotAfter)
	if d := cmp.Diff([][]byte{inter2.Cert.Raw, inter.Cert.Raw}, inter2.ChainDER()); d != "" {
		t.Errorf("ChainDER (-want +got):\n%s", d)
	}
	// Roots makes the CA certificate itself the anchor, intermediate or not.
	cert, err := inter.Issue(mustParseCSR(t, newCSR(t, testKey(t, "p256"), pkix.Name{CommonName: "x"})), IssueOptions{Subject: pkix.Name{CommonName: "x"}})
	if err != nil {
		t.Fatal(err)
	}
	chains, err := cert.Verify(x509.VerifyOptions{Roots: inter.Roots(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	if err != nil || len(chains[0]) != 2 {
		t.Errorf("Verify under Roots: %v", err)
	}
	if _, err := cert.Verify(x509.VerifyOptions{Roots: root.Roots(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err == nil {
		t.Error("a certificate verified under a root without its intermediate")
	}
}

func TestSamePublicKey(t *testing.T) {
	t.Parallel()
	p256, other := testKey(t, "p256").Public(), testKey(t, "p256b").Public()
	// The same key, decoded anew, is the same.
	der, _ := x509.MarshalPKIXPublicKey(p256)
	again, _ := x509.ParsePKIXPublicKey(der)
	ed := testKey(t, "ed25519").Public().(ed25519.PublicKey)
	tests := []struct {
		name string
		a, b crypto.PublicKey
		want bool
	}{
		{"same", p256, again, true},
		{"ed25519 same", ed, append(ed25519.PublicKey{}, ed...), true},
		{"rsa same", testKey(t, "rsa2048").Public(), testKey(t, "rsa2048").Public(), true},
		{"different", p256, other, false},
		{"different kinds", p256, ed, false},
		{"nil", nil, p256, false},
		{"both nil", nil, nil, false},
		{"not a key", "x", "x", false},
	}
	for _, tt := range tests {
		if got := SamePublicKey(tt.a, tt.b); got != tt.want {
			t.Errorf("%s: SamePublicKey = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// newCSRFrom makes a CSR of key from a template (names, extensions).
func newCSRFrom(t testing.TB, key crypto.Signer, tmpl *x509.CertificateRequest) []byte {
	t.Helper()
	der, err := x509.CreateCertificateRequest(rand.Reader, tmpl, key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func TestKeyThumbprint(t *testing.T) {
	t.Parallel()
	// RFC 7638 section 3.1.
	n, err := base64.RawURLEncoding.DecodeString("0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw")
	if err != nil {
		t.Fatal(err)
	}
	rfc := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: 65537}
	p256, other := testKey(t, "p256").Public(), testKey(t, "p256b").Public()
	tests := []struct {
		name string
		key  crypto.PublicKey
		want string
		err  []error
	}{
		{"RFC 7638 example", rfc, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs", nil},
		{"no key", nil, "", errs(ErrWeakKey)},
		{"a private key", testKey(t, "p256"), "", errs(ErrWeakKey)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := KeyThumbprint(tt.key)
			if tt.err != nil {
				checkErr(t, err, tt.err, "")
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("KeyThumbprint = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
	a, errA := KeyThumbprint(p256)
	a2, _ := KeyThumbprint(p256)
	b, errB := KeyThumbprint(other)
	if errA != nil || errB != nil || a != a2 || a == b || len(a) != 43 {
		t.Errorf("P-256 thumbprints %q %q %q (%v, %v): want stable, distinct, 43 characters", a, a2, b, errA, errB)
	}
}
