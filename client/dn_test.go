package client

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/asn1"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/realmgate/realmgate/adapters"
	"github.com/realmgate/realmgate/pki"
)

var fuzzKey = sync.OnceValue(func() *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	return k
})

// FuzzSubjectMeetsRequirements checks that a CSR built to requirements the server can check
// always meets them. The additional subject comes as the JSON object the server sends.
func FuzzSubjectMeetsRequirements(f *testing.F) {
	for _, s := range []string{`{}`, `{"O":"Example"}`, `{"O":"Example","OU":"Mobile"}`, `{"O":"Example, Inc.","ou":"R&D"}`, `{"2.5.4.10":"x","DC":"a"}`, `{"X":"unknown"}`, `{"O":"a","o":"b"}`} {
		f.Add(s, "alice")
	}
	f.Add(`{"O":"Example"}`, `Ann \, Smith`)
	f.Fuzz(func(t *testing.T, subject, cn string) {
		var additional map[string]string
		if json.Unmarshal([]byte(subject), &additional) != nil {
			return
		}
		req := csrRequirements{CommonName: cn, AdditionalSubject: additional}
		seq, err := subjectFor(req)
		if err != nil {
			return
		}
		der, err := buildCSR(fuzzKey(), seq, nil)
		if err != nil {
			// asn1 cannot encode some strings; the client then fails cleanly.
			return
		}
		csr, err := pki.ParseCSR(der)
		if err != nil {
			t.Fatalf("the server refuses the CSR for %q: %v", subject, err)
		}
		err = pki.CheckRequirements(csr, pki.Requirements{CommonName: cn, AdditionalSubject: additional})
		if err != nil && !errors.Is(err, pki.ErrBadRequirements) {
			t.Fatalf("a CSR built for CN=%q and %q does not meet them: %v", cn, subject, err)
		}
	})
}

func TestSubjectFor(t *testing.T) {
	t.Parallel()
	type subj = map[string]string
	tests := []struct {
		req     csrRequirements
		want    string // RFC 4514 as the server writes it, in DER order reversed
		wantErr error
	}{
		{req: csrRequirements{CommonName: "alice"}, want: "CN=alice"},
		{req: csrRequirements{CommonName: "alice", AdditionalSubject: subj{"OU": "Mobile", "O": "Example"}}, want: "CN=alice,OU=Mobile,O=Example"},
		{req: csrRequirements{CommonName: "alice", AdditionalSubject: subj{"o": "IBM", "c": "US", "ou": "Mobile"}}, want: "CN=alice,OU=Mobile,O=IBM,C=US"},
		{req: csrRequirements{CommonName: "Ann, Smith", AdditionalSubject: subj{"O": "Example, Inc."}}, want: `CN=Ann\, Smith,O=Example\, Inc.`},
		{req: csrRequirements{CommonName: "alice", AdditionalSubject: subj{"CN": "alice", "O": "Example"}}, wantErr: ErrMalformedResponse},
		{req: csrRequirements{CommonName: "alice", AdditionalSubject: subj{"X": "1"}}, wantErr: ErrMalformedResponse},
		{req: csrRequirements{CommonName: "alice", AdditionalSubject: subj{"O": "a", "o": "b"}}, wantErr: ErrMalformedResponse},
		{req: csrRequirements{AdditionalSubject: subj{"O": "Example"}}, wantErr: ErrMalformedResponse},
	}
	for _, tt := range tests {
		seq, err := subjectFor(tt.req)
		if tt.wantErr != nil {
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("%+v: error %v, want %v", tt.req, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%+v: %v", tt.req, err)
			continue
		}
		der, err := buildCSR(fuzzKey(), seq, nil)
		if err != nil {
			t.Fatal(err)
		}
		csr, err := pki.ParseCSR(der)
		if err != nil {
			t.Fatal(err)
		}
		if got := adapters.CSRObject(csr).DN; got != tt.want {
			t.Errorf("%+v: subject %q, want %q", tt.req, got, tt.want)
		}
		if err := pki.CheckRequirements(csr, pki.Requirements{CommonName: tt.req.CommonName, AdditionalSubject: tt.req.AdditionalSubject}); err != nil {
			t.Errorf("%+v: %v", tt.req, err)
		}
	}
}

// csrAttributeValues reads the string attributes of a DER CSR.
func csrAttributeValues(t *testing.T, der []byte) map[string]string {
	t.Helper()
	var req struct {
		TBS struct {
			Version    int
			Subject    asn1.RawValue
			PublicKey  asn1.RawValue
			Attributes []struct {
				Type   asn1.ObjectIdentifier
				Values []asn1.RawValue `asn1:"set"`
			} `asn1:"tag:0,set"`
		}
		Algorithm asn1.RawValue
		Signature asn1.BitString
	}
	if rest, err := asn1.Unmarshal(der, &req); err != nil || len(rest) != 0 {
		t.Fatalf("CSR: %v", err)
	}
	out := map[string]string{}
	for _, a := range req.TBS.Attributes {
		if len(a.Values) != 1 || a.Values[0].Tag != asn1.TagUTF8String {
			t.Fatalf("attribute %v: %d values, first of tag %d", a.Type, len(a.Values), a.Values[0].Tag)
		}
		out[a.Type.String()] = string(a.Values[0].Bytes)
	}
	return out
}

func TestBuildCSRWithAttributes(t *testing.T) {
	t.Parallel()
	attrs, err := csrAttributes(map[string]string{"challengePassword": "s3cret", "unstructuredName": "phone 7", "1.3.6.1.4.1.99999.1": "x"})
	if err != nil {
		t.Fatal(err)
	}
	seq, err := subjectFor(csrRequirements{CommonName: "alice", AdditionalSubject: map[string]string{"O": "Example"}})
	if err != nil {
		t.Fatal(err)
	}
	der, err := buildCSR(fuzzKey(), seq, attrs)
	if err != nil {
		t.Fatal(err)
	}
	csr, err := pki.ParseCSR(der) // parses and checks the self-signature
	if err != nil {
		t.Fatal(err)
	}
	if got := adapters.CSRObject(csr).DN; got != "CN=alice,O=Example" {
		t.Errorf("subject %q", got)
	}
	want := map[string]string{"1.2.840.113549.1.9.7": "s3cret", "1.2.840.113549.1.9.2": "phone 7", "1.3.6.1.4.1.99999.1": "x"}
	if diff := cmp.Diff(want, csrAttributeValues(t, der)); diff != "" {
		t.Errorf("attributes (-want +got):\n%s", diff)
	}

	// OpenSSL reads the same request and checks its signature.
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not installed (.ci/install-client.sh installs it)")
	}
	path := filepath.Join(t.TempDir(), "req.der")
	if err := os.WriteFile(path, der, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("openssl", "req", "-inform", "DER", "-in", path, "-noout", "-verify", "-text").CombinedOutput()
	if err != nil {
		t.Fatalf("openssl: %v\n%s", err, out)
	}
	for _, s := range []string{"verify OK", "challengePassword", "s3cret", "unstructuredName", "phone 7", "CN = alice"} {
		if !strings.Contains(string(out), s) {
			t.Errorf("openssl output lacks %q:\n%s", s, out)
		}
	}
}

func TestCSRAttributesRefused(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		attrs map[string]string
		want  error
	}{
		"unknown name":      {map[string]string{"favouriteColour": "blue"}, ErrUnsupportedChallenge},
		"extension request": {map[string]string{"1.2.840.113549.1.9.14": "x"}, ErrUnsupportedChallenge},
		"bad oid":           {map[string]string{"1.2.": "x"}, ErrMalformedResponse},
		"control character": {map[string]string{"challengePassword": "a\nb"}, ErrMalformedResponse},
		"long value":        {map[string]string{"challengePassword": strings.Repeat("a", 1025)}, ErrMalformedResponse},
	}
	for name, tt := range tests {
		if _, err := csrAttributes(tt.attrs); !errors.Is(err, tt.want) {
			t.Errorf("%s: %v, want %v", name, err, tt.want)
		}
	}
	many := map[string]string{}
	for i := range maxCSRAttributes + 1 {
		many["1.2.3."+strings.Repeat("1", i+1)] = "x"
	}
	if _, err := csrAttributes(many); !errors.Is(err, ErrMalformedResponse) {
		t.Errorf("too many attributes: %v", err)
	}
	// The standard library parses what the client builds without attributes, too.
	der, err := buildCSR(fuzzKey(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := x509.ParseCertificateRequest(der); err != nil {
		t.Error(err)
	}
}
