package pkcs10

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestNew checks that a request holds its subject and attributes and verifies; openssl reads the
// same requests in client's tests.
func TestNew(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	subject := pkix.RDNSequence{{{Type: asn1.ObjectIdentifier{2, 5, 4, 10}, Value: "IBM"}}, {{Type: asn1.ObjectIdentifier{2, 5, 4, 3}, Value: "ann"}}}
	pw := asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 7}
	name := asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 2}
	for _, attrs := range [][]Attribute{nil, {{pw, "s3cret"}, {name, "phone 7 ☃"}}} {
		der, err := New(key, subject, attrs)
		if err != nil {
			t.Fatal(err)
		}
		csr, err := x509.ParseCertificateRequest(der)
		if err != nil {
			t.Fatal(err)
		}
		if err := csr.CheckSignature(); err != nil {
			t.Fatal(err)
		}
		if got := csr.Subject.String(); got != "CN=ann,O=IBM" {
			t.Errorf("subject %q", got)
		}
		var info struct {
			Version    int
			Subject    asn1.RawValue
			PublicKey  asn1.RawValue
			Attributes []struct {
				Type   asn1.ObjectIdentifier
				Values []string `asn1:"set"`
			} `asn1:"tag:0"`
		}
		if _, err := asn1.Unmarshal(csr.RawTBSCertificateRequest, &info); err != nil {
			t.Fatal(err)
		}
		got := map[string][]string{}
		for _, a := range info.Attributes {
			got[a.Type.String()] = a.Values
		}
		want := map[string][]string{}
		for _, a := range attrs {
			want[a.Type.String()] = []string{a.Value}
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("attributes (-want +got):\n%s", d)
		}
	}
}
