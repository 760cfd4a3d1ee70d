package engine

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/realmgate/realmgate/adapters"
	"github.com/realmgate/realmgate/internal/rfc4514"
	"github.com/realmgate/realmgate/pki"
)

// TestPKIRequirements checks that a bridge's CSR requirements reach pki as they are: the
// additional subject object and the additional attributes are checked on the CSR, and the
// subject the embedded CA signs holds the subject requirements alone, never the attributes.
func TestPKIRequirements(t *testing.T) {
	t.Parallel()
	attrs := map[string]string{"challengePassword": "x"}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{
		CommonName: "ann", Organization: []string{"IBM"}, OrganizationalUnit: []string{"Mobile"}, Country: []string{"FR"},
	}}, key)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := pki.ParseCSR(der)
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name    string
		req     adapters.CSRRequirements
		csr     *x509.CertificateRequest
		csrErr  error  // what CheckRequirements says of csr
		subject string // what RequiredSubject gives, RFC 4514
	}{
		{"cn and subject", adapters.CSRRequirements{CommonName: "ann", AdditionalSubject: map[string]string{"O": "IBM", "OU": "Mobile"}}, plain, nil, "CN=ann,OU=Mobile,O=IBM"},
		{"additional attributes are enforced", adapters.CSRRequirements{CommonName: "ann", AdditionalAttributes: attrs}, plain, pki.ErrRequirements, "CN=ann"},
		{"additional attributes are not subject", adapters.CSRRequirements{CommonName: "carol", AdditionalAttributes: attrs}, nil, nil, "CN=carol"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := pkiRequirements(tt.req)
			want := pki.Requirements{CommonName: tt.req.CommonName, AdditionalSubject: tt.req.AdditionalSubject, AdditionalAttributes: tt.req.AdditionalAttributes}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("requirements (-want +got):\n%s", d)
			}
			if tt.csr != nil {
				if err := pki.CheckRequirements(tt.csr, got); !errors.Is(err, tt.csrErr) {
					t.Errorf("CheckRequirements: %v, want %v", err, tt.csrErr)
				}
			}
			seq, err := pki.RequiredSubject(got)
			if err != nil {
				t.Fatal(err)
			}
			subject, err := asn1.Marshal(seq)
			if err != nil {
				t.Fatal(err)
			}
			s, err := rfc4514.Format(subject)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.subject, s); d != "" {
				t.Errorf("required subject (-want +got):\n%s", d)
			}
		})
	}
}
