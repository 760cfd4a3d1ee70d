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
	return ca{cert: cert,
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
			_, err := bridge.New(tc.settings)
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
	b, err := bridge.New(map[string]string{"ca-cert": c.certPEM, "ca-key": c.keyPEM, "denied-users": "mallory, eve", "validity-days": "30"})
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
	b, err := bridge.New(map[string]string{"ca-cert": c.certPEM, "ca-key": c.keyPEM, "subject": "O=Example Corp"})
	if err != nil {
		t.Fatal(err)
	}
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
	if _, err := bridge.New(map[string]string{"ca-cert": c.certPEM, "ca-key": c.keyPEM, "subject": "UID=x"}); err == nil {
		t.Error("a subject setting with a type the bridge cannot issue was accepted")
	}
}
