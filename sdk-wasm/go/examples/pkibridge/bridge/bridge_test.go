package bridge_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/realmgate/realmgate/sdk-wasm/go/examples/pkibridge/bridge"
	"github.com/realmgate/realmgate/sdk-wasm/go/realmgate"
)

type ca struct {
	key     *ecdsa.PrivateKey
	cert    *x509.Certificate
	certPEM string
	keyPEM  string
}

func newCA(t *testing.T, isCA bool) ca {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Bridge test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		BasicConstraintsValid: true, IsCA: isCA, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	ec, _ := x509.MarshalECPrivateKey(key)
	return ca{key: key, cert: cert,
		certPEM: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		keyPEM:  string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: ec}))}
}

func TestNewRefusesBadSettings(t *testing.T) {
	good, other, leaf := newCA(t, true), newCA(t, true), newCA(t, false)
	for _, tc := range []struct {
		name     string
		settings map[string]string
		err      string
	}{
		{"no certificate", map[string]string{"ca-key": good.keyPEM}, "ca-cert: no PEM CERTIFICATE block"},
		{"no key", map[string]string{"ca-cert": good.certPEM}, "ca-key: no PEM block"},
		{"key of another CA", map[string]string{"ca-cert": good.certPEM, "ca-key": other.keyPEM}, "not the key of the CA certificate"},
		{"not a CA", map[string]string{"ca-cert": leaf.certPEM, "ca-key": leaf.keyPEM}, "is not a CA certificate"},
		{"bad validity", map[string]string{"ca-cert": good.certPEM, "ca-key": good.keyPEM, "validity-days": "0"}, "validity-days"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := bridge.New(tc.settings, nil)
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("New: %v, want an error containing %q", err, tc.err)
			}
		})
	}
}

func csrFor(t *testing.T, cn string, key any) string {
	t.Helper()
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: cn}}, key)
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(der)
}

func TestEnrollment(t *testing.T) {
	c := newCA(t, true)
	b, err := bridge.New(map[string]string{"ca-cert": c.certPEM, "ca-key": c.keyPEM, "denied-users": "mallory, eve", "validity-days": "30"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	alice := realmgate.UserIdentity{UserName: "alice"}
	for _, tc := range []struct {
		user string
		want string
	}{{"alice", realmgate.Yes}, {"eve", realmgate.No}, {"", realmgate.No}} {
		v, _ := b.ValidateIdentity(realmgate.IdentityInput{UserIdentity: realmgate.UserIdentity{UserName: tc.user}})
		if v.Valid != tc.want {
			t.Errorf("ValidateIdentity(%q) = %s, want %s", tc.user, v.Valid, tc.want)
		}
	}
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	smallRSA, _ := rsa.GenerateKey(rand.Reader, 1024)
	for _, tc := range []struct {
		name string
		csr  string
		want string
	}{
		{"good", csrFor(t, "alice", ecKey), realmgate.Yes},
		{"other user", csrFor(t, "bob", ecKey), realmgate.No},
		{"weak RSA key", csrFor(t, "alice", smallRSA), realmgate.No},
		{"garbage", "AAAA", realmgate.No},
	} {
		v, _ := b.ValidateCSR(realmgate.CSRInput{CSR: tc.csr, UserIdentity: alice})
		if v.Valid != tc.want {
			t.Errorf("ValidateCSR(%s) = %s, want %s", tc.name, v.Valid, tc.want)
		}
	}
	g, err := b.GenerateCertificate(realmgate.CSRInput{CSR: csrFor(t, "alice", ecKey), UserIdentity: alice})
	if err != nil {
		t.Fatal(err)
	}
	der, _ := base64.StdEncoding.DecodeString(g.CertificateBase64)
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	if err := cert.CheckSignatureFrom(c.cert); err != nil {
		t.Errorf("the certificate does not verify against the CA: %v", err)
	}
	if life := cert.NotAfter.Sub(cert.NotBefore); life < 30*24*time.Hour || life > 31*24*time.Hour {
		t.Errorf("certificate lifetime %v, want 30 days", life)
	}
	if _, err := b.GenerateCertificate(realmgate.CSRInput{CSR: csrFor(t, "bob", ecKey), UserIdentity: alice}); err == nil {
		t.Error("GenerateCertificate signed a CSR for another user")
	}
	v, _ := b.ValidateCertificate(realmgate.CertificateInput{Certificate: realmgate.Certificate{Base64: g.CertificateBase64}})
	if v.Valid != realmgate.Yes {
		t.Errorf("ValidateCertificate(own) = %s", v.Valid)
	}
	foreign := newCA(t, true)
	v, _ = b.ValidateCertificate(realmgate.CertificateInput{Certificate: realmgate.Certificate{Base64: base64.StdEncoding.EncodeToString(foreign.cert.Raw)}})
	if v.Valid != realmgate.No {
		t.Errorf("ValidateCertificate(foreign) = %s, want NO", v.Valid)
	}
}

// TestIssuedSubjectIsTheRequiredOne: a CSR that asks for more than its requirements (another
// OU, another user's UID) gets a certificate with the required subject only.
func TestIssuedSubjectIsTheRequiredOne(t *testing.T) {
	c := newCA(t, true)
	inModule, err := bridge.New(map[string]string{"ca-cert": c.certPEM, "ca-key": c.keyPEM, "subject": "O=Example Corp"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	host := &standIn{t: t, ca: c}
	onHost, err := bridge.New(map[string]string{"subject": "O=Example Corp"}, host)
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string]*bridge.Bridge{"in-module": inModule, "host": onHost} {
		t.Run(name, func(t *testing.T) { checkRequiredSubject(t, b) })
	}
	if got := host.templates; len(got) != 1 || got[0].Subject.CommonName != "carol" ||
		len(got[0].Subject.AdditionalSubject) != 1 || got[0].Subject.AdditionalSubject["O"] != "Example Corp" {
		t.Errorf("templates sent to the host: %+v, want one for CN=carol,O=Example Corp", got)
	}
	if _, err := bridge.New(map[string]string{"subject": "UID=x"}, host); err == nil {
		t.Error("a subject setting with a type the bridge cannot issue was accepted (host mode)")
	}
}

func checkRequiredSubject(t *testing.T, b *bridge.Bridge) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	greedy := pkix.Name{CommonName: "carol", Organization: []string{"Example Corp"}, OrganizationalUnit: []string{"admins"},
		ExtraNames: []pkix.AttributeTypeAndValue{{Type: []int{0, 9, 2342, 19200300, 100, 1, 1}, Value: "alice"}}}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: greedy}, key)
	if err != nil {
		t.Fatal(err)
	}
	g, err := b.GenerateCertificate(realmgate.CSRInput{CSR: base64.StdEncoding.EncodeToString(der), UserIdentity: realmgate.UserIdentity{UserName: "carol"}})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := base64.StdEncoding.DecodeString(g.CertificateBase64)
	cert, err := x509.ParseCertificate(raw)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := cert.Subject.String(), "CN=carol,O=Example Corp"; got != want {
		t.Errorf("issued subject %q, want %q", got, want)
	}
}

func TestInModuleSubjectSetting(t *testing.T) {
	c := newCA(t, true)
	if _, err := bridge.New(map[string]string{"ca-cert": c.certPEM, "ca-key": c.keyPEM, "subject": "UID=x"}, nil); err == nil {
		t.Error("a subject setting with a type the bridge cannot issue was accepted")
	}
}

// standIn plays the host PKI capability natively, as adapters/wasm does: it parses and
// verifies CSRs and signs templates with the test CA, recording the templates.
type standIn struct {
	t         *testing.T
	ca        ca
	templates []realmgate.CertificateTemplate
	parses    int // ParseCSR calls
}

func (s *standIn) ParseCSR(b64 string) (*realmgate.ParsedCSR, error) {
	s.parses++
	der, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, &realmgate.PKIError{Message: "csr is not base64"}
	}
	csr, err := x509.ParseCertificateRequest(der)
	if err != nil || csr.CheckSignature() != nil {
		return nil, &realmgate.PKIError{Message: "bad CSR"}
	}
	if k, ok := csr.PublicKey.(*rsa.PublicKey); ok && k.N.BitLen() < 2048 {
		return nil, &realmgate.PKIError{Message: "weak key"}
	}
	return &realmgate.ParsedCSR{CN: csr.Subject.CommonName, DN: csr.Subject.String()}, nil
}

func (s *standIn) SignCertificate(tmpl realmgate.CertificateTemplate) (*realmgate.SignedCertificate, error) {
	s.templates = append(s.templates, tmpl)
	der, _ := base64.StdEncoding.DecodeString(tmpl.CSR)
	csr, err := x509.ParseCertificateRequest(der)
	if err != nil {
		return nil, err
	}
	name := pkix.Name{CommonName: tmpl.Subject.CommonName}
	if o, ok := tmpl.Subject.AdditionalSubject["O"]; ok {
		name.Organization = []string{o}
	}
	now := time.Now()
	cert, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{SerialNumber: big.NewInt(7), Subject: name,
		NotBefore: now.Add(-time.Minute), NotAfter: now.Add(time.Duration(tmpl.ValidityDays) * 24 * time.Hour)},
		s.ca.cert, csr.PublicKey, s.ca.key)
	if err != nil {
		return nil, err
	}
	return &realmgate.SignedCertificate{CertificateBase64: base64.StdEncoding.EncodeToString(cert), SerialNumber: "7"}, nil
}

func (s *standIn) VerifyCertificate(b64 string) (realmgate.Verification, error) {
	der, _ := base64.StdEncoding.DecodeString(b64)
	cert, err := x509.ParseCertificate(der)
	if err != nil || cert.CheckSignatureFrom(s.ca.cert) != nil {
		return realmgate.Verification{Reason: "not ours"}, nil
	}
	return realmgate.Verification{Valid: true}, nil
}

// TestEnrollmentOnHost: the bridge's verdicts and certificates when the host parses and signs.
func TestEnrollmentOnHost(t *testing.T) {
	c := newCA(t, true)
	host := &standIn{t: t, ca: c}
	b, err := bridge.New(map[string]string{"denied-users": "mallory", "validity-days": "30"}, host)
	if err != nil {
		t.Fatal(err)
	}
	alice := realmgate.UserIdentity{UserName: "alice"}
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	smallRSA, _ := rsa.GenerateKey(rand.Reader, 1024)
	for _, tc := range []struct {
		name, csr, want string
	}{
		{"good", csrFor(t, "alice", ecKey), realmgate.Yes},
		{"other user", csrFor(t, "bob", ecKey), realmgate.No},
		{"weak RSA key", csrFor(t, "alice", smallRSA), realmgate.No},
		{"garbage", "AAAA", realmgate.No},
	} {
		if v, _ := b.ValidateCSR(realmgate.CSRInput{CSR: tc.csr, UserIdentity: alice}); v.Valid != tc.want {
			t.Errorf("ValidateCSR(%s) = %s, want %s", tc.name, v.Valid, tc.want)
		}
	}
	// In a realm's call the host's csrInfo describes the CSR it verified: the verdict reads it,
	// without asking the host to parse the CSR again.
	parses := host.parses
	for _, tc := range []struct {
		name, cn, want string
	}{
		{"csrInfo for the user", "alice", realmgate.Yes},
		{"csrInfo for another user", "bob", realmgate.No},
		{"csrInfo for the user in another case", "Alice", realmgate.No},
	} {
		in := realmgate.CSRInput{CSR: csrFor(t, "alice", ecKey), UserIdentity: alice,
			CSRInfo: realmgate.CSRInfo{CN: tc.cn, PublicKey: realmgate.KeyInfo{Base64: "MFkw", Algorithm: "EC"}}}
		if v, _ := b.ValidateCSR(in); v.Valid != tc.want {
			t.Errorf("ValidateCSR(%s) = %s, want %s", tc.name, v.Valid, tc.want)
		}
	}
	if host.parses != parses {
		t.Errorf("ValidateCSR with the host's csrInfo asked the host to parse the CSR %d times", host.parses-parses)
	}
	g, err := b.GenerateCertificate(realmgate.CSRInput{CSR: csrFor(t, "alice", ecKey), UserIdentity: alice})
	if err != nil {
		t.Fatal(err)
	}
	if len(host.templates) != 1 || host.templates[0].ValidityDays != 30 || host.templates[0].IsCA {
		t.Errorf("template %+v, want 30 days and no CA", host.templates)
	}
	if _, err := b.GenerateCertificate(realmgate.CSRInput{CSR: csrFor(t, "bob", ecKey), UserIdentity: alice}); err == nil {
		t.Error("GenerateCertificate signed a CSR for another user")
	}
	bobInfo := realmgate.CSRInfo{CN: "bob", PublicKey: realmgate.KeyInfo{Base64: "MFkw", Algorithm: "EC"}}
	if _, err := b.GenerateCertificate(realmgate.CSRInput{CSR: csrFor(t, "bob", ecKey), UserIdentity: alice, CSRInfo: bobInfo}); err == nil {
		t.Error("GenerateCertificate signed a CSR the host's csrInfo says is for another user")
	}
	if v, _ := b.ValidateCertificate(realmgate.CertificateInput{Certificate: realmgate.Certificate{Base64: g.CertificateBase64}}); v.Valid != realmgate.Yes {
		t.Errorf("ValidateCertificate(own) = %s", v.Valid)
	}
	foreign := newCA(t, true)
	if v, _ := b.ValidateCertificate(realmgate.CertificateInput{Certificate: realmgate.Certificate{Base64: base64.StdEncoding.EncodeToString(foreign.cert.Raw)}}); v.Valid != realmgate.No {
		t.Errorf("ValidateCertificate(foreign) = %s, want NO", v.Valid)
	}
	if _, err := bridge.New(map[string]string{}, nil); err == nil {
		t.Error("New without a host PKI and without a CA was accepted")
	}
}
