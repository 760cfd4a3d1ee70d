package pki

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"math/big"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/realmgate/realmgate/internal/rfc4514"
)

func TestParseCSR(t *testing.T) {
	t.Parallel()
	good := newCSR(t, testKey(t, "p256"), pkix.Name{CommonName: "ann"})
	badSig := append([]byte(nil), good...)
	badSig[len(badSig)-1] ^= 0x01
	// The same request with another key put in: the signature no longer matches the key.
	swapped := swapCSRKey(t, newCSR(t, testKey(t, "p256"), pkix.Name{CommonName: "x"}), testKey(t, "p256b").Public())

	tests := []struct {
		name    string
		der     []byte
		wantAlg x509.PublicKeyAlgorithm
		wantCN  string
		want    []error
		msg     string
	}{
		{name: "go p256", der: good, wantAlg: x509.ECDSA, wantCN: "ann"},
		{name: "go p384", der: newCSR(t, testKey(t, "p384"), pkix.Name{CommonName: "p384"}), wantAlg: x509.ECDSA, wantCN: "p384"},
		{name: "go rsa 2048", der: newCSR(t, testKey(t, "rsa2048"), pkix.Name{CommonName: "rsa"}), wantAlg: x509.RSA, wantCN: "rsa"},
		{name: "go ed25519", der: newCSR(t, testKey(t, "ed25519"), pkix.Name{CommonName: "ed"}), wantAlg: x509.Ed25519, wantCN: "ed"},
		{name: "openssl p256", der: readFile(t, "csr/openssl-p256.csr"), wantAlg: x509.ECDSA, wantCN: "ann@example.com"},
		{name: "openssl rsa 2048", der: readFile(t, "csr/openssl-rsa2048.csr"), wantAlg: x509.RSA, wantCN: "bob"},
		{name: "openssl ed25519", der: readFile(t, "csr/openssl-ed25519.csr"), wantAlg: x509.Ed25519, wantCN: "ed"},
		{name: "go rsa 1024", der: newCSR(t, testKey(t, "rsa1024"), pkix.Name{CommonName: "weak"}), want: errs(ErrWeakKey), msg: "RSA key of 1024 bits"},
		{name: "openssl rsa 1024", der: readFile(t, "csr/openssl-rsa1024.csr"), want: errs(ErrWeakKey), msg: "at least 2048"},
		{name: "go p224", der: newCSR(t, testKey(t, "p224"), pkix.Name{CommonName: "p224"}), want: errs(ErrWeakKey), msg: "P-224"},
		{name: "go p521", der: newCSR(t, testKey(t, "p521"), pkix.Name{CommonName: "p521"}), want: errs(ErrWeakKey), msg: "P-521"},
		{name: "openssl p521", der: readFile(t, "csr/openssl-p521.csr"), want: errs(ErrWeakKey), msg: "P-256 or P-384"},
		{name: "openssl secp256k1", der: readFile(t, "csr/openssl-secp256k1.csr"), want: errs(ErrMalformed)}, // crypto/x509 does not know the curve
		{name: "openssl dsa", der: readFile(t, "csr/openssl-dsa.csr"), want: errs(ErrWeakKey)},
		{name: "bad signature", der: badSig, want: errs(ErrBadSignature), msg: "not signed by the private key"},
		{name: "key swapped", der: swapped, want: errs(ErrBadSignature)},
		{name: "empty", der: nil, want: errs(ErrMalformed), msg: "empty CSR"},
		{name: "garbage", der: []byte("-----BEGIN CERTIFICATE REQUEST-----"), want: errs(ErrMalformed), msg: "PEM must be decoded"},
		{name: "truncated", der: good[:len(good)-10], want: errs(ErrMalformed)},
		{name: "trailing data", der: append(append([]byte(nil), good...), 0), want: errs(ErrMalformed)},
		{name: "too large", der: make([]byte, MaxCSRSize+1), want: errs(ErrTooLarge, ErrMalformed)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			csr, err := ParseCSR(tt.der)
			checkErr(t, err, tt.want, tt.msg)
			if err != nil {
				return
			}
			if csr.PublicKeyAlgorithm != tt.wantAlg || csr.Subject.CommonName != tt.wantCN {
				t.Errorf("got %s key, CN %q; want %s, %q", csr.PublicKeyAlgorithm, csr.Subject.CommonName, tt.wantAlg, tt.wantCN)
			}
		})
	}
}

// swapCSRKey replaces the public key of a DER CSR, leaving its signature as it was.
func swapCSRKey(t *testing.T, der []byte, pub any) []byte {
	t.Helper()
	var req struct {
		Info struct {
			Version    int
			Subject    asn1.RawValue
			PublicKey  asn1.RawValue
			Attributes asn1.RawValue `asn1:"tag:0"`
		}
		SigAlg pkix.AlgorithmIdentifier
		Sig    asn1.BitString
	}
	if _, err := asn1.Unmarshal(der, &req); err != nil {
		t.Fatal(err)
	}
	spki, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	req.Info.PublicKey = asn1.RawValue{FullBytes: spki}
	out, err := asn1.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestCheckPublicKey(t *testing.T) {
	t.Parallel()
	rsa2048 := testKey(t, "rsa2048").Public().(*rsa.PublicKey)
	big9000 := new(big.Int).Lsh(big.NewInt(1), 9000)
	tests := []struct {
		name string
		key  any
		msg  string // "" accepted
	}{
		{"p256", testKey(t, "p256").Public(), ""},
		{"p384", testKey(t, "p384").Public(), ""},
		{"rsa 2048", rsa2048, ""},
		{"ed25519", testKey(t, "ed25519").Public(), ""},
		{"p224", testKey(t, "p224").Public(), "P-224"},
		{"p521", testKey(t, "p521").Public(), "P-521"},
		{"rsa 1024", testKey(t, "rsa1024").Public(), "1024 bits"},
		{"rsa 9001", &rsa.PublicKey{N: big9000.Add(big9000, big.NewInt(1)), E: 65537}, "at most 8192"},
		{"rsa exponent 3 is fine", &rsa.PublicKey{N: rsa2048.N, E: 3}, ""},
		{"rsa exponent 1", &rsa.PublicKey{N: rsa2048.N, E: 1}, "exponent 1"},
		{"rsa even exponent", &rsa.PublicKey{N: rsa2048.N, E: 65536}, "exponent 65536"},
		{"short ed25519", ed25519.PublicKey(make([]byte, 31)), "31 bytes"},
		{"nil", nil, "no public key"},
		{"ecdh", mustECDH(t), "use ECDSA"},
	}
	for _, tt := range tests {
		err := checkPublicKey(tt.key)
		if tt.msg == "" {
			if err != nil {
				t.Errorf("%s: %v", tt.name, err)
			}
			continue
		}
		checkErr(t, err, errs(ErrWeakKey), tt.msg)
	}
}

func mustECDH(t *testing.T) any {
	k, err := testKey(t, "p256").(*ecdsa.PrivateKey).ECDH()
	if err != nil {
		t.Fatal(err)
	}
	return k.PublicKey()
}

func TestCheckRequirements(t *testing.T) {
	t.Parallel()
	key := testKey(t, "p256")
	rawSubject := func(rdns ...pkix.RelativeDistinguishedNameSET) *x509.CertificateRequest {
		der, err := asn1.Marshal(pkix.RDNSequence(rdns))
		if err != nil {
			t.Fatal(err)
		}
		csrDER, err := x509.CreateCertificateRequest(nil, &x509.CertificateRequest{RawSubject: der}, key)
		if err != nil {
			t.Fatal(err)
		}
		return mustParseCSR(t, csrDER)
	}
	atv := func(oid asn1.ObjectIdentifier, v any) pkix.AttributeTypeAndValue {
		return pkix.AttributeTypeAndValue{Type: oid, Value: v}
	}
	var (
		cn = asn1.ObjectIdentifier{2, 5, 4, 3}
		o  = asn1.ObjectIdentifier{2, 5, 4, 10}
		ou = asn1.ObjectIdentifier{2, 5, 4, 11}
		dc = asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 25}
	)
	set := func(a ...pkix.AttributeTypeAndValue) pkix.RelativeDistinguishedNameSET { return a }
	plain := mustParseCSR(t, newCSR(t, key, pkix.Name{CommonName: "ann", Organization: []string{"Example"}, OrganizationalUnit: []string{"Mobile"}, Country: []string{"FR"}}))
	escaped := rawSubject(set(atv(o, "Example, Inc.")), set(atv(ou, "R+D")), set(atv(cn, "ann")))
	multi := rawSubject(set(atv(o, "Example"), atv(ou, "Mobile")), set(atv(cn, "ann")))
	split := rawSubject(set(atv(o, "Example")), set(atv(ou, "Mobile")), set(atv(cn, "ann")))
	twoCN := rawSubject(set(atv(cn, "ann")), set(atv(cn, "bob")))
	noCN := rawSubject(set(atv(o, "Example")))
	dcs := rawSubject(set(atv(dc, "com")), set(atv(dc, "example")), set(atv(cn, "ann")))
	unicode := rawSubject(set(atv(o, "Société Générale")), set(atv(cn, "ann")))
	openssl := mustParseCSR(t, readFile(t, "csr/openssl-p256.csr"))

	type subj = map[string]string
	tests := []struct {
		name string
		csr  *x509.CertificateRequest
		req  Requirements
		want []error
		msg  string
	}{
		{"cn only", plain, Requirements{CommonName: "ann"}, nil, ""},
		{"cn and subject", plain, Requirements{CommonName: "ann", AdditionalSubject: subj{"O": "Example", "OU": "Mobile"}}, nil, ""},
		{"lower-case types", plain, Requirements{CommonName: "ann", AdditionalSubject: subj{"ou": "Mobile", "c": "FR", "o": "Example"}}, nil, ""},
		{"values with RFC 4514 specials", escaped, Requirements{CommonName: "ann", AdditionalSubject: subj{"O": "Example, Inc.", "OU": "R+D"}}, nil, ""},
		{"dotted oid", plain, Requirements{CommonName: "ann", AdditionalSubject: subj{"2.5.4.10": "Example"}}, nil, ""},
		{"utf-8", unicode, Requirements{CommonName: "ann", AdditionalSubject: subj{"O": "Société Générale"}}, nil, ""},
		{"one of a repeated type", dcs, Requirements{CommonName: "ann", AdditionalSubject: subj{"DC": "example"}}, nil, ""},
		{"both attributes of a multi-valued RDN", multi, Requirements{CommonName: "ann", AdditionalSubject: subj{"OU": "Mobile", "O": "Example"}}, nil, ""},
		{"one attribute of a multi-valued RDN", multi, Requirements{CommonName: "ann", AdditionalSubject: subj{"O": "Example"}}, nil, ""},
		{"attributes in separate RDNs", split, Requirements{CommonName: "ann", AdditionalSubject: subj{"O": "Example", "OU": "Mobile"}}, nil, ""},
		{"openssl subject", openssl, Requirements{CommonName: "ann@example.com", AdditionalSubject: subj{"O": "Example, Inc.", "C": "FR"}}, nil, ""},

		{"wrong cn", plain, Requirements{CommonName: "bob"}, errs(ErrRequirements), `the subject's CN is "ann"; it must be "bob"`},
		{"cn differs in case", plain, Requirements{CommonName: "Ann"}, errs(ErrRequirements), "must be"},
		{"no cn", noCN, Requirements{CommonName: "ann"}, errs(ErrRequirements), "put CN=ann"},
		{"two cns", twoCN, Requirements{CommonName: "ann"}, errs(ErrRequirements), "2 CNs"},
		{"missing attributes", plain, Requirements{CommonName: "ann", AdditionalSubject: subj{"O": "Example", "OU": "Desktop", "L": "Paris"}}, errs(ErrRequirements), "lacks OU=Desktop, L=Paris"},
		{"value differs in case", plain, Requirements{CommonName: "ann", AdditionalSubject: subj{"O": "example"}}, errs(ErrRequirements), "lacks O=example"},
		{"value with specials", plain, Requirements{CommonName: "ann", AdditionalSubject: subj{"O": "Example, Inc."}}, errs(ErrRequirements), `lacks O=Example\, Inc.`},

		{"no CSR", nil, Requirements{CommonName: "ann"}, errs(ErrMalformed), "no CSR"},
		{"no common name required", plain, Requirements{}, errs(ErrBadRequirements), "no commonName"},
		{"unknown type", plain, Requirements{CommonName: "ann", AdditionalSubject: subj{"FOO": "bar"}}, errs(ErrBadRequirements), `unknown attribute type "FOO"`},
		{"empty type", plain, Requirements{CommonName: "ann", AdditionalSubject: subj{"": "bar"}}, errs(ErrBadRequirements), "empty attribute type"},
		{"empty value", plain, Requirements{CommonName: "ann", AdditionalSubject: subj{"O": ""}}, errs(ErrBadRequirements), "the value of O is empty"},
		{"a type twice", plain, Requirements{CommonName: "ann", AdditionalSubject: subj{"O": "Example", "o": "Other"}}, errs(ErrBadRequirements), "names O twice"},
		{"a CN in the additional subject", plain, Requirements{CommonName: "ann", AdditionalSubject: subj{"CN": "ann"}}, errs(ErrBadRequirements), "holds a CN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			checkErr(t, CheckRequirements(tt.csr, tt.req), tt.want, tt.msg)
		})
	}
}

func TestValidateRequirements(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		req  Requirements
		msg  string // "" when valid
	}{
		{"documented form", Requirements{CommonName: "ann", AdditionalSubject: map[string]string{"O": "IBM", "OU": "Mobile"},
			AdditionalAttributes: map[string]string{"challengePassword": "pw", "unstructuredName": "phone"}}, ""},
		{"common name only", Requirements{CommonName: "ann"}, ""},
		{"no common name", Requirements{AdditionalSubject: map[string]string{"O": "IBM"}}, "no commonName"},
		{"unknown subject type", Requirements{CommonName: "ann", AdditionalSubject: map[string]string{"Colour": "blue"}}, `unknown attribute type "Colour"`},
		{"CN in the subject", Requirements{CommonName: "ann", AdditionalSubject: map[string]string{"cn": "ann"}}, "holds a CN"},
		{"unknown attribute", Requirements{CommonName: "ann", AdditionalAttributes: map[string]string{"colour": "blue"}}, `"colour"`},
		{"empty attribute value", Requirements{CommonName: "ann", AdditionalAttributes: map[string]string{"challengePassword": ""}}, "empty"},
		{"too many attributes", Requirements{CommonName: "ann", AdditionalAttributes: func() map[string]string {
			m := map[string]string{}
			for i := range 17 {
				m[fmt.Sprintf("1.3.6.1.4.1.99999.%d", i)] = "x"
			}
			return m
		}()}, "at most 16"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := ValidateRequirements(tt.req)
			if tt.msg == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			checkErr(t, err, errs(ErrBadRequirements), tt.msg)
		})
	}
}

func TestRequiredSubject(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		req  Requirements
		want string // RFC 4514, most specific first
		err  []error
		msg  string
	}{
		{"common name only", Requirements{CommonName: "carol"}, "CN=carol", nil, ""},
		{"additional subject", Requirements{CommonName: "carol", AdditionalSubject: map[string]string{"O": "Example Corp"}}, "CN=carol,O=Example Corp", nil, ""},
		{"most general last", Requirements{CommonName: "carol", AdditionalSubject: map[string]string{"C": "FR", "OU": "Mobile", "O": "Example"}}, "CN=carol,OU=Mobile,O=Example,C=FR", nil, ""},
		{"escapes", Requirements{CommonName: "carol, jr", AdditionalSubject: map[string]string{"O": "Example, Inc."}}, `CN=carol\, jr,O=Example\, Inc.`, nil, ""},
		{"attributes are not the subject's", Requirements{CommonName: "carol", AdditionalAttributes: map[string]string{"challengePassword": "x"}}, "CN=carol", nil, ""},

		{"no common name", Requirements{AdditionalSubject: map[string]string{"O": "Example"}}, "", errs(ErrBadRequirements), "no commonName"},
		{"a common name that is not UTF-8", Requirements{CommonName: "\xeb"}, "", errs(ErrBadRequirements), "not UTF-8"},
		{"a CN in the additional subject", Requirements{CommonName: "carol", AdditionalSubject: map[string]string{"CN": "alice", "O": "Example"}}, "", errs(ErrBadRequirements), "holds a CN"},
		{"bad additional subject", Requirements{CommonName: "carol", AdditionalSubject: map[string]string{"X": "y"}}, "", errs(ErrBadRequirements), `unknown attribute type "X"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			seq, err := RequiredSubject(tt.req)
			if tt.err != nil {
				checkErr(t, err, tt.err, tt.msg)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			der, err := asn1.Marshal(seq)
			if err != nil {
				t.Fatal(err)
			}
			got, err := rfc4514.Format(der)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("subject (-want +got):\n%s", d)
			}
			// A CSR of exactly that subject meets the subject requirements.
			tt.req.AdditionalAttributes = nil
			if err := CheckRequirements(&x509.CertificateRequest{RawSubject: der}, tt.req); err != nil {
				t.Errorf("the required subject does not meet the requirements: %v", err)
			}
		})
	}
}

func TestParseDN(t *testing.T) {
	t.Parallel()
	var (
		cn = asn1.ObjectIdentifier{2, 5, 4, 3}
		o  = asn1.ObjectIdentifier{2, 5, 4, 10}
		ou = asn1.ObjectIdentifier{2, 5, 4, 11}
	)
	atv := func(oid asn1.ObjectIdentifier, v string) pkix.AttributeTypeAndValue {
		return pkix.AttributeTypeAndValue{Type: oid, Value: v}
	}
	tests := []struct {
		in   string
		want pkix.RDNSequence // DER order
		msg  string
	}{
		{"", nil, ""},
		{"   ", nil, ""},
		{"CN=ann", pkix.RDNSequence{{atv(cn, "ann")}}, ""},
		{"CN=ann,O=Example", pkix.RDNSequence{{atv(o, "Example")}, {atv(cn, "ann")}}, ""},
		{"OU=a+O=b", pkix.RDNSequence{{atv(ou, "a"), atv(o, "b")}}, ""},
		{`CN=a\,b\+c\;d\<e\>f\"g\\h\=i\#j`, pkix.RDNSequence{{atv(cn, `a,b+c;d<e>f"g\h=i#j`)}}, ""},
		{`CN=\ lead and trail\ `, pkix.RDNSequence{{atv(cn, " lead and trail ")}}, ""},
		{`CN=\#hash`, pkix.RDNSequence{{atv(cn, "#hash")}}, ""},
		{"CN=x=y", pkix.RDNSequence{{atv(cn, "x=y")}}, ""},
		{"CN=", pkix.RDNSequence{{atv(cn, "")}}, ""},
		{"CN=a  b  ", pkix.RDNSequence{{atv(cn, "a  b")}}, ""},
		{`CN=\E2\82\AC`, pkix.RDNSequence{{atv(cn, "€")}}, ""},
		{"CN=#13026162", pkix.RDNSequence{{atv(cn, "ab")}}, ""}, // PrintableString
		{"0.9.2342.19200300.100.1.1=u1", pkix.RDNSequence{{atv(asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 1}, "u1")}}, ""},
		{"emailAddress=a@b", pkix.RDNSequence{{atv(asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 1}, "a@b")}}, ""},

		{"CN", nil, "'=' expected"},
		{"=x", nil, "attribute type is missing"},
		{"CN=a,", nil, "attribute type is missing"},
		{"CN=a,,O=b", nil, "attribute type is missing"},
		{"CN=a+", nil, "attribute type is missing"},
		{`CN=a"b`, nil, "must be escaped"},
		{"CN=a<b", nil, "must be escaped"},
		{`CN=a\`, nil, "backslash ends"},
		{`CN=a\x`, nil, "bad escape"},
		{`CN=a\4`, nil, "bad escape"},
		{`CN=\FF`, nil, "not UTF-8"},
		{"CN=#zz", nil, "bad hex"},
		{"CN=#0201", nil, "not the DER of a string"},
		{"CN=#0c0361", nil, "not the DER of a string"},
		{"CN=#0c016100", nil, "not the DER of a string"},
		{"CN=#0c0161x", nil, `unexpected 'x'`},
		{"C N=a", nil, "'=' expected"},
		{"C_N=a", nil, `'=' expected after "C"`},
		{"XX=a", nil, `unknown attribute type "XX"`},
		{"1=a", nil, "bad OID"},
		{"1.02=a", nil, "bad OID"},
		{"1..2=a", nil, "bad OID"},
		{"1.99999999999=a", nil, "bad OID"},
		{"10.0=a", nil, "bad OID"},
		{"1.40=a", nil, "bad OID"},
		{"2.999.1=a", pkix.RDNSequence{{atv(asn1.ObjectIdentifier{2, 999, 1}, "a")}}, ""},
	}
	for _, tt := range tests {
		got, err := ParseDN(tt.in)
		if tt.msg != "" {
			checkErr(t, err, errs(ErrMalformed), tt.msg)
			continue
		}
		if err != nil {
			t.Errorf("ParseDN(%q): %v", tt.in, err)
			continue
		}
		if d := cmp.Diff(tt.want, got); d != "" {
			t.Errorf("ParseDN(%q) (-want +got):\n%s", tt.in, d)
		}
	}
	long := make([]byte, rfc4514.MaxLength+1)
	for i := range long {
		long[i] = 'a'
	}
	_, err := ParseDN("CN=" + string(long))
	checkErr(t, err, errs(ErrTooLarge))
}

// TestParseDNRoundTrip parses what crypto/x509 writes for names it escapes.
func TestParseDNRoundTrip(t *testing.T) {
	t.Parallel()
	names := []pkix.Name{
		{CommonName: "plain"},
		{CommonName: ` lead, "quoted" + <angle> \ back; trail `, Organization: []string{"#hash"}},
		{CommonName: "ünïcödé €", OrganizationalUnit: []string{"a", "b"}, Country: []string{"FR"}},
	}
	for _, n := range names {
		s := n.ToRDNSequence().String()
		got, err := ParseDN(s)
		if err != nil {
			t.Errorf("ParseDN(%q): %v", s, err)
			continue
		}
		if d := cmp.Diff(n.ToRDNSequence(), got); d != "" {
			t.Errorf("ParseDN(%q) (-want +got):\n%s", s, d)
		}
	}
	if got := escapeValue(" a\x00#"); got != `\ a\00#` {
		t.Errorf("escapeValue = %q", got)
	}
}

// csrWithAttributes makes a CSR for subject carrying attrs as they are (PKCS #10 attributes,
// each the DER of a SEQUENCE {type, SET OF values}), signed ECDSA with SHA-256 by key: what
// crypto/x509 cannot write.
func csrWithAttributes(t testing.TB, key *ecdsa.PrivateKey, subject pkix.Name, attrs ...[]byte) *x509.CertificateRequest {
	t.Helper()
	rawSubject, err := asn1.Marshal(subject.ToRDNSequence())
	if err != nil {
		t.Fatal(err)
	}
	spki, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		t.Fatal(err)
	}
	var set []byte
	for _, a := range attrs {
		set = append(set, a...)
	}
	tbs, err := asn1.Marshal(struct {
		Version    int
		Subject    asn1.RawValue
		PublicKey  asn1.RawValue
		Attributes asn1.RawValue
	}{0, asn1.RawValue{FullBytes: rawSubject}, asn1.RawValue{FullBytes: spki},
		asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: set}})
	if err != nil {
		t.Fatal(err)
	}
	digest := sha256.Sum256(tbs)
	sig, err := ecdsa.SignASN1(rand.Reader, key, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	der, err := asn1.Marshal(struct {
		TBS       asn1.RawValue
		Algorithm pkix.AlgorithmIdentifier
		Signature asn1.BitString
	}{asn1.RawValue{FullBytes: tbs}, pkix.AlgorithmIdentifier{Algorithm: asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}},
		asn1.BitString{Bytes: sig, BitLength: 8 * len(sig)}})
	if err != nil {
		t.Fatal(err)
	}
	csr, err := ParseCSR(der)
	if err != nil {
		t.Fatal(err)
	}
	return csr
}

// attribute is the DER of a PKCS #10 attribute of type oid with the given values (each
// marshalled with encoding/asn1: a Go string becomes a PrintableString or UTF8String).
func attribute(t testing.TB, oid asn1.ObjectIdentifier, values ...any) []byte {
	t.Helper()
	raws := make([]asn1.RawValue, len(values))
	for i, v := range values {
		der, err := asn1.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		raws[i] = asn1.RawValue{FullBytes: der}
	}
	der, err := asn1.Marshal(struct {
		Type   asn1.ObjectIdentifier
		Values []asn1.RawValue `asn1:"set"`
	}{oid, raws})
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// TestCheckRequirementsAttributes checks that the additionalAttributes of a PKI bridge's CSR
// requirements are enforced on the CSR's PKCS #9 attributes: each named attribute present, with
// exactly the one string value asked for. Messages never repeat the value (a challengePassword
// is a secret).
func TestCheckRequirementsAttributes(t *testing.T) {
	t.Parallel()
	var (
		challengePassword = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 7}
		private           = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 99999, 1}
	)
	key := testKey(t, "p256").(*ecdsa.PrivateKey)
	ann := pkix.Name{CommonName: "ann", Organization: []string{"Example"}}
	openssl := mustParseCSR(t, readFile(t, "csr/openssl-p256-attributes.csr")) // challengePassword s3cret-2026, unstructuredName ann-phone-1
	plain := mustParseCSR(t, newCSR(t, key, ann))
	bmp := asn1.RawValue{Tag: asn1.TagBMPString, Bytes: []byte{0, 's', 0, '3', 0, 'c'}}
	type attrs = map[string]string
	tests := []struct {
		name string
		csr  *x509.CertificateRequest
		want attrs
		errs []error
		msg  string
	}{
		{"openssl request", openssl, attrs{"challengePassword": "s3cret-2026", "unstructuredName": "ann-phone-1"}, nil, ""},
		{"one of two", openssl, attrs{"challengePassword": "s3cret-2026"}, nil, ""},
		{"names in any case", openssl, attrs{"CHALLENGEPASSWORD": "s3cret-2026", "unstructuredname": "ann-phone-1"}, nil, ""},
		{"dotted OID", openssl, attrs{"1.2.840.113549.1.9.7": "s3cret-2026"}, nil, ""},
		{"PrintableString", csrWithAttributes(t, key, ann, attribute(t, challengePassword, "s3c")), attrs{"challengePassword": "s3c"}, nil, ""},
		{"BMPString", csrWithAttributes(t, key, ann, attribute(t, challengePassword, bmp)), attrs{"challengePassword": "s3c"}, nil, ""},
		{"private OID", csrWithAttributes(t, key, ann, attribute(t, private, "blue")), attrs{"1.3.6.1.4.1.99999.1": "blue"}, nil, ""},
		{"none asked, any present", openssl, nil, nil, ""},

		{"missing", plain, attrs{"challengePassword": "s3cret-2026"}, errs(ErrRequirements), "lacks the attribute challengePassword"},
		{"missing one of two", csrWithAttributes(t, key, ann, attribute(t, challengePassword, "s3cret-2026")), attrs{"challengePassword": "s3cret-2026", "unstructuredName": "x"}, errs(ErrRequirements), "lacks the attribute unstructuredName"},
		{"another value", openssl, attrs{"challengePassword": "guess"}, errs(ErrRequirements), "the CSR's challengePassword is not the value"},
		{"value differs in case", openssl, attrs{"unstructuredName": "ANN-PHONE-1"}, errs(ErrRequirements), "the CSR's unstructuredName is not the value"},
		{"two values", csrWithAttributes(t, key, ann, attribute(t, challengePassword, "a", "b")), attrs{"challengePassword": "a"}, errs(ErrRequirements), "holds 2 values"},
		{"twice", csrWithAttributes(t, key, ann, attribute(t, challengePassword, "a"), attribute(t, challengePassword, "a")), attrs{"challengePassword": "a"}, errs(ErrRequirements), "more than once"},
		{"not a string", csrWithAttributes(t, key, ann, attribute(t, challengePassword, 42)), attrs{"challengePassword": "42"}, errs(ErrRequirements), "is not a string"},

		{"unknown name", openssl, attrs{"favouriteColour": "blue"}, errs(ErrBadRequirements), `"favouriteColour"`},
		{"extensionRequest", openssl, attrs{"1.2.840.113549.1.9.14": "x"}, errs(ErrBadRequirements), "extensionRequest"},
		{"empty value", openssl, attrs{"challengePassword": ""}, errs(ErrBadRequirements), "empty"},
		{"a name twice", openssl, attrs{"challengePassword": "s3cret-2026", "1.2.840.113549.1.9.7": "s3cret-2026"}, errs(ErrBadRequirements), "twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := CheckRequirements(tt.csr, Requirements{CommonName: tt.csr.Subject.CommonName, AdditionalAttributes: tt.want})
			checkErr(t, err, tt.errs, tt.msg)
			for _, v := range tt.want {
				if err != nil && len(v) > 2 && strings.Contains(err.Error(), v) {
					t.Errorf("the error %q repeats the value asked for", err)
				}
			}
		})
	}
}
