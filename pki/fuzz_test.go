package pki

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/realmgate/realmgate/internal/pkcs9"
	"github.com/realmgate/realmgate/internal/rfc4514"
)

// isPackageError reports whether err matches one of the sentinels a parser may return.
func isPackageError(err error, sentinels ...error) bool {
	for _, s := range sentinels {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

func addFiles(f *testing.F, pattern string) {
	names, _ := filepath.Glob(filepath.Join(sharedTestdata, pattern))
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

func FuzzParseCSR(f *testing.F) {
	addFiles(f, "csr/*.csr")
	f.Add(newCSR(f, testKey(f, "p256"), pkix.Name{CommonName: "fuzz"}))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, der []byte) {
		csr, err := ParseCSR(der)
		if err != nil {
			if !isPackageError(err, ErrMalformed, ErrBadSignature, ErrWeakKey) {
				t.Fatalf("error without a sentinel: %v", err)
			}
			return
		}
		if err := csr.CheckSignature(); err != nil {
			t.Fatalf("accepted a CSR whose signature fails: %v", err)
		}
		if err := checkPublicKey(csr.PublicKey); err != nil {
			t.Fatalf("accepted a key the policy refuses: %v", err)
		}
		subject := map[string]string{}
		for _, atv := range csr.Subject.Names {
			if s, ok := atv.Value.(string); ok && !atv.Type.Equal(oidCommonName) {
				subject[atv.Type.String()] = s
			}
		}
		err = CheckRequirements(csr, Requirements{CommonName: csr.Subject.CommonName, AdditionalSubject: subject,
			AdditionalAttributes: map[string]string{"challengePassword": "x", "unstructuredName": "y"}})
		if err != nil && !isPackageError(err, ErrRequirements, ErrBadRequirements, ErrMalformed) {
			t.Fatalf("error without a sentinel: %v", err)
		}
	})
}

// fuzzJWSSeeds are valid and near-valid payloads for both JWS targets.
func fuzzJWSSeeds(f *testing.F) (*CA, time.Time) {
	ca := testCA(f)
	now := time.Now()
	key := testKey(f, "p256")
	leaf := issueFor(f, ca, key, now, nil)
	x5c, err := SignX5C(key, nil, testPayload)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(x5c)
	if x5c, err = SignX5C(key, []*x509.Certificate{leaf, ca.Cert}, testPayload); err != nil {
		f.Fatal(err)
	}
	f.Add(x5c)
	jwk, err := SignJWK(key, testPayload)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(jwk)
	rsaJWK, err := SignJWK(testKey(f, "rsa2048"), testPayload)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(rsaJWK)
	f.Add(forge(f, `{"alg":"none"}`, []byte(`{}`), "none", nil, nil))
	f.Add("..")
	f.Add("")
	return ca, now
}

func FuzzVerifyX5C(f *testing.F) {
	ca, now := fuzzJWSSeeds(f)
	roots := ca.Roots()
	f.Fuzz(func(t *testing.T, jws string) {
		p, chain, err := VerifyX5C(jws, roots, now)
		if err != nil {
			if !isPackageError(err, ErrMalformed, ErrAlgorithm, ErrWeakKey, ErrBadSignature, ErrUntrusted) {
				t.Fatalf("error without a sentinel: %v", err)
			}
			return
		}
		if p == nil || len(chain) < 2 || !chain[len(chain)-1].Equal(ca.Cert) {
			t.Fatalf("accepted without a payload or a chain to the CA: %v, %d certificates", p, len(chain))
		}
	})
}

func FuzzVerifyJWK(f *testing.F) {
	fuzzJWSSeeds(f)
	f.Fuzz(func(t *testing.T, jws string) {
		p, key, err := VerifyJWK(jws)
		if err != nil {
			if !isPackageError(err, ErrMalformed, ErrAlgorithm, ErrWeakKey, ErrBadSignature) {
				t.Fatalf("error without a sentinel: %v", err)
			}
			return
		}
		if p == nil || key == nil {
			t.Fatal("accepted without a payload or a key")
		}
		if err := checkPublicKey(key); err != nil {
			t.Fatalf("accepted a key the policy refuses: %v", err)
		}
	})
}

// FuzzParseDN checks that ParseDN reads back what rfc4514.Format writes for whatever it accepts.
func FuzzParseDN(f *testing.F) {
	for _, s := range []string{"", "CN=ann,O=Example", `O=Example\, Inc.+OU=R\2BD`, "CN=#0c0161", "2.5.4.3=x ; c=FR", `CN=\ a\ `, "E=a@b,T=x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		seq, err := ParseDN(s)
		if err != nil {
			if !isPackageError(err, ErrMalformed) {
				t.Fatalf("error without ErrMalformed: %v", err)
			}
			return
		}
		der, err := asn1.Marshal(seq)
		if err != nil {
			t.Fatalf("ParseDN(%q) = %v, which does not marshal: %v", s, seq, err)
		}
		formatted, err := rfc4514.Format(der)
		if err != nil {
			t.Fatalf("rfc4514.Format of ParseDN(%q): %v", s, err)
		}
		if len(formatted) > rfc4514.MaxLength {
			return // hex forms are longer than the input
		}
		again, err := ParseDN(formatted)
		if err != nil {
			t.Fatalf("ParseDN(%q) = %v, written %q, which does not parse: %v", s, seq, formatted, err)
		}
		// DER sorts the attributes of a multi-valued RDN.
		sortATVs := cmpopts.SortSlices(func(a, b pkix.AttributeTypeAndValue) bool {
			return a.Type.String()+"="+a.Value.(string) < b.Type.String()+"="+b.Value.(string)
		})
		if d := cmp.Diff(seq, again, sortATVs); d != "" {
			t.Fatalf("round trip of %q through %q (-first +second):\n%s", s, formatted, d)
		}
	})
}

// FuzzRequiredSubject checks that a subject built from any requirements RequiredSubject accepts
// has exactly one CN, the required one, and meets the requirements it was built from; refusals
// match ErrBadRequirements. The additional subject comes as the JSON object a bridge answers.
func FuzzRequiredSubject(f *testing.F) {
	for _, s := range [][2]string{{"carol", `{"O":"Example Corp"}`}, {"carol", `{}`}, {"", `{"O":"x"}`}, {"a,b", `{"O":"Example, Inc.","ou":"R+D"}`},
		{"x", `{"CN":"y"}`}, {"x", `{"cn":"y","o":"z"}`}, {"\x00", `{"2.5.4.10":"a"}`}, {"x", `{"O":"a","o":"b"}`}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, cn, additional string) {
		var subject map[string]string
		if json.Unmarshal([]byte(additional), &subject) != nil {
			return
		}
		req := Requirements{CommonName: cn, AdditionalSubject: subject}
		seq, err := RequiredSubject(req)
		if err != nil {
			if !isPackageError(err, ErrBadRequirements) {
				t.Fatalf("RequiredSubject(%q, %q): error without ErrBadRequirements: %v", cn, additional, err)
			}
			return
		}
		der, err := asn1.Marshal(seq)
		if err != nil {
			t.Fatalf("RequiredSubject(%q, %q) = %v, which does not marshal: %v", cn, additional, seq, err)
		}
		var cns []any
		for _, rdn := range seq {
			for _, atv := range rdn {
				if atv.Type.Equal(oidCommonName) {
					cns = append(cns, atv.Value)
				}
			}
		}
		if len(cns) != 1 || cns[0] != cn {
			t.Fatalf("RequiredSubject(%q, %q) has CNs %q, want exactly %q", cn, additional, cns, cn)
		}
		if err := CheckRequirements(&x509.CertificateRequest{RawSubject: der}, req); err != nil {
			t.Fatalf("RequiredSubject(%q, %q) does not meet its requirements: %v", cn, additional, err)
		}
	})
}

// FuzzCSRAttributes feeds the PKCS #10 attribute reader the TBS part of requests with and
// without attributes: it never panics, and what it reads from a request that parses is what
// CheckRequirements then accepts.
func FuzzCSRAttributes(f *testing.F) {
	addTBS := func(der []byte) {
		if csr, err := x509.ParseCertificateRequest(der); err == nil {
			f.Add(csr.RawTBSCertificateRequest)
		}
	}
	names, _ := filepath.Glob(filepath.Join(sharedTestdata, "csr/*.csr"))
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			f.Fatal(err)
		}
		addTBS(b)
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, tbs []byte) {
		attrs, err := csrAttributes(tbs)
		if err != nil {
			if !isPackageError(err, ErrMalformed) {
				t.Fatalf("error without ErrMalformed: %v", err)
			}
			return
		}
		for _, a := range attrs {
			if len(a.values) != 1 {
				continue
			}
			s, ok := attributeString(a.values[0])
			if !ok || s == "" {
				continue
			}
			if _, err := pkcs9.AttributeOID(a.oid.String()); err != nil {
				continue // extensionRequest
			}
			n := 0
			for _, b := range attrs {
				if b.oid.Equal(a.oid) {
					n++
				}
			}
			err := checkAttributes(attrs, map[string]string{a.oid.String(): s})
			if n == 1 && err != nil || err != nil && !isPackageError(err, ErrRequirements) {
				t.Fatalf("attribute %v = %q read from the request (%d times), then: %v", a.oid, s, n, err)
			}
		}
	})
}
