package adapters

import (
	"bytes"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"flag"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/realmgate/realmgate/internal/rfc4514"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

// The samples the converters are tested with: certificates of this package's testdata, and the
// CSR samples and the Android attestation chain it shares with pki in the repository's testdata
// (see the READMEs there).
const (
	certsDir     = "testdata/certs/"
	csrDir       = "../testdata/csr/"
	androidChain = "../testdata/android/blueline-sdk28-tee-ec.pem"
)

// TestCertificateObjectGolden renders the certificate object of every fixture certificate and
// compares it with testdata/certobj/<name>.json (-update rewrites them).
func TestCertificateObjectGolden(t *testing.T) {
	t.Parallel()
	for _, name := range []string{certsDir + "ecdsa-ca.pem", certsDir + "ecdsa-client.pem", certsDir + "ed25519-ca.pem", certsDir + "openssl-rsa-root.pem", certsDir + "v2-unique-ids.pem", androidChain} {
		t.Run(path.Base(name), func(t *testing.T) {
			t.Parallel()
			cert := readCerts(t, name)[0]
			got, err := json.MarshalIndent(CertificateObject(cert), "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			golden := filepath.Join("testdata", "certobj", strings.TrimSuffix(path.Base(name), ".pem")+".json")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if d := cmp.Diff(string(want), string(got)); d != "" {
				t.Errorf("certificate object (-%s +got):\n%s", golden, d)
			}
		})
	}
}

// TestCertificateObject checks the object's fields against facts known apart from this package:
// how the fixtures were made, and what `openssl x509 -text` prints for them.
func TestCertificateObject(t *testing.T) {
	t.Parallel()
	type facts struct {
		KeyAlg, SigAlg        string
		Version               int
		DN, CN                string
		IssuerDN, IssuerCN    string
		IssuerUID, SubjectUID string
		NotBefore, NotAfter   int64
		Serial                string
	}
	tests := []struct {
		file string
		want facts
	}{
		{certsDir + "openssl-rsa-root.pem", facts{KeyAlg: "RSA", SigAlg: "SHA256withRSA", Version: 3,
			DN: "CN=Example RSA Root,OU=PKI,O=Example Corp,ST=CA,C=US", CN: "Example RSA Root",
			IssuerDN: "CN=Example RSA Root,OU=PKI,O=Example Corp,ST=CA,C=US", IssuerCN: "Example RSA Root", Serial: "c0ffee"}},
		{certsDir + "v2-unique-ids.pem", facts{KeyAlg: "EC", SigAlg: "SHA256withECDSA", Version: 2,
			DN: "CN=v2 subject,O=Legacy", CN: "v2 subject", IssuerDN: "CN=Realmgate Test CA,O=Example", IssuerCN: "Realmgate Test CA",
			IssuerUID: "cafe", SubjectUID: "0102030405", Serial: "1234",
			NotBefore: 1795680000, NotAfter: 1795680000 + 365*24*3600}},
		{certsDir + "ed25519-ca.pem", facts{KeyAlg: "Ed25519", SigAlg: "Ed25519", Version: 3,
			DN: "CN=Ed25519 Test CA", CN: "Ed25519 Test CA", IssuerDN: "CN=Ed25519 Test CA", IssuerCN: "Ed25519 Test CA"}},
		{certsDir + "ecdsa-client.pem", facts{KeyAlg: "EC", SigAlg: "SHA256withECDSA", Version: 3,
			DN: `CN=Ann\+Bob \<ann@example.com\>,L=Paris+OU=Mobile,O=Example\, Inc.,C=FR`, CN: "Ann+Bob <ann@example.com>",
			IssuerDN: "CN=Realmgate Test CA,O=Example", IssuerCN: "Realmgate Test CA",
			NotBefore: 1795680000 - 300, NotAfter: 1795680000 + 365*24*3600}},
		// A genuine Android Keystore leaf: serial 1, valid from 1970 to 2106-02-07T06:28:15Z.
		{androidChain, facts{KeyAlg: "EC", SigAlg: "SHA256withECDSA", Version: 3,
			DN: "CN=Android Keystore Key", CN: "Android Keystore Key", IssuerDN: "2.5.4.12=#0c03544545,SERIALNUMBER=a0b63a35743673b7",
			Serial: "1", NotBefore: 0, NotAfter: 4294967295}},
	}
	for _, tt := range tests {
		t.Run(path.Base(tt.file), func(t *testing.T) {
			t.Parallel()
			cert := readCerts(t, tt.file)[0]
			o := CertificateObject(cert)
			got := facts{o.PublicKey.Algorithm, o.Signature.Algorithm, o.Version, o.DN, o.CN, o.Issuer.DN, o.Issuer.CN,
				o.Issuer.UniqueID, o.SubjectUniqueID, o.Valid.NotBefore, o.Valid.NotAfter, o.SerialNumber}
			want := tt.want
			if want.Serial == "" { // random serials: check the form only
				want.Serial = got.Serial
				if strings.ToLower(got.Serial) != got.Serial || len(got.Serial) < 16 {
					t.Errorf("serial %q is not lower-case hex of a random serial", got.Serial)
				}
			}
			if want.NotAfter == 0 && tt.file != androidChain {
				want.NotBefore, want.NotAfter = cert.NotBefore.Unix(), cert.NotAfter.Unix()
			}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("certificate object (-want +got):\n%s", d)
			}
			for what, pair := range map[string][2][]byte{
				"base64":    {cert.Raw, decode(t, o.Base64)},
				"publicKey": {cert.RawSubjectPublicKeyInfo, decode(t, o.PublicKey.Base64)},
				"signature": {cert.Signature, decode(t, o.Signature.Base64)},
			} {
				if !bytes.Equal(pair[0], pair[1]) {
					t.Errorf("%s is not the certificate's", what)
				}
			}
		})
	}
	// The JSON member names are PROTOCOL.md section 7's.
	b, _ := json.Marshal(CertificateObject(readCerts(t, certsDir+"v2-unique-ids.pem")[0]))
	var m map[string]any
	json.Unmarshal(b, &m)
	var names []string
	for k := range m {
		names = append(names, k)
	}
	want := []string{"base64", "cn", "dn", "issuer", "publicKey", "serialNumber", "signature", "subjectUniqueId", "valid", "version"}
	if d := cmp.Diff(want, names, cmpopts.SortSlices(func(a, b string) bool { return a < b })); d != "" {
		t.Errorf("members (-want +got):\n%s", d)
	}
}

func decode(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestCSRObject(t *testing.T) {
	t.Parallel()
	der := readFile(t, csrDir+"openssl-rsa2048.csr")
	csr := parseCSR(t, der)
	want := CSRInfo{
		DN: "CN=bob,OU=Mobile,O=Example",
		CN: "bob",
		PublicKey: KeyInfo{
			Base64:    base64.StdEncoding.EncodeToString(csr.RawSubjectPublicKeyInfo),
			Algorithm: "RSA",
		},
		Signature: SigInfo{
			Base64:    base64.StdEncoding.EncodeToString(csr.Signature),
			Algorithm: "SHA256withRSA",
		},
		DNSNames: []string{"bob.example.com"},
		Emails:   []string{"bob@example.com"},
	}
	if d := cmp.Diff(want, CSRObject(csr)); d != "" {
		t.Errorf("CSRObject (-want +got):\n%s", d)
	}
	// A multi-valued RDN and an escaped comma survive.
	tests := []struct{ file, dn, keyAlg, sigAlg string }{
		{csrDir + "openssl-ed25519.csr", "OU=Mobile+O=Example,CN=ed", "Ed25519", "Ed25519"}, // DER sorts the SET,
		{csrDir + "openssl-p256.csr", `CN=ann@example.com,OU=Mobile,O=Example\, Inc.,C=FR`, "EC", "SHA256withECDSA"},
	}
	for _, tt := range tests {
		o := CSRObject(parseCSR(t, readFile(t, tt.file)))
		if o.DN != tt.dn || o.PublicKey.Algorithm != tt.keyAlg || o.Signature.Algorithm != tt.sigAlg {
			t.Errorf("%s: DN %q, key %s, signature %s; want %q, %s, %s", tt.file, o.DN, o.PublicKey.Algorithm, o.Signature.Algorithm, tt.dn, tt.keyAlg, tt.sigAlg)
		}
	}
}

// TestJavaAlgorithmNames checks the algorithm names of certificate and CSR objects: those of
// java.security (X509Certificate.getSigAlgName, PublicKey.getAlgorithm), which Worklight's
// adapters compared, and the dotted OID for an algorithm without a name, as Java gives it.
func TestJavaAlgorithmNames(t *testing.T) {
	t.Parallel()
	sigs := map[x509.SignatureAlgorithm]string{
		x509.MD2WithRSA: "MD2withRSA", x509.MD5WithRSA: "MD5withRSA", x509.SHA1WithRSA: "SHA1withRSA",
		x509.SHA256WithRSA: "SHA256withRSA", x509.SHA384WithRSA: "SHA384withRSA", x509.SHA512WithRSA: "SHA512withRSA",
		x509.DSAWithSHA1: "SHA1withDSA", x509.DSAWithSHA256: "SHA256withDSA",
		x509.ECDSAWithSHA1: "SHA1withECDSA", x509.ECDSAWithSHA256: "SHA256withECDSA",
		x509.ECDSAWithSHA384: "SHA384withECDSA", x509.ECDSAWithSHA512: "SHA512withECDSA",
		x509.SHA256WithRSAPSS: "RSASSA-PSS", x509.SHA384WithRSAPSS: "RSASSA-PSS", x509.SHA512WithRSAPSS: "RSASSA-PSS",
		x509.PureEd25519: "Ed25519",
	}
	for alg := x509.UnknownSignatureAlgorithm + 1; alg <= x509.PureEd25519; alg++ {
		if got, want := javaSignatureName(alg, nil), sigs[alg]; got != want {
			t.Errorf("signature algorithm %v: %q, want %q", alg, got, want)
		}
	}
	keys := map[x509.PublicKeyAlgorithm]string{x509.RSA: "RSA", x509.DSA: "DSA", x509.ECDSA: "EC", x509.Ed25519: "Ed25519"}
	for alg := x509.UnknownPublicKeyAlgorithm + 1; alg <= x509.Ed25519; alg++ {
		if got, want := javaKeyName(alg, nil), keys[alg]; got != want {
			t.Errorf("key algorithm %v: %q, want %q", alg, got, want)
		}
	}
	// Algorithms crypto/x509 does not know: the signature of a certificate or CSR (whose DER
	// shape is SEQUENCE {tbs, AlgorithmIdentifier, BIT STRING}) and the key of a
	// SubjectPublicKeyInfo by their OIDs, named where Java names them.
	signed := func(oid asn1.ObjectIdentifier) []byte {
		der, err := asn1.Marshal(struct {
			TBS       asn1.RawValue
			Algorithm pkix.AlgorithmIdentifier
			Signature asn1.BitString
		}{asn1.RawValue{FullBytes: []byte{0x30, 0}}, pkix.AlgorithmIdentifier{Algorithm: oid}, asn1.BitString{Bytes: []byte{1}, BitLength: 8}})
		if err != nil {
			t.Fatal(err)
		}
		return der
	}
	spki := func(oid asn1.ObjectIdentifier) []byte {
		der, err := asn1.Marshal(struct {
			Algorithm pkix.AlgorithmIdentifier
			Key       asn1.BitString
		}{pkix.AlgorithmIdentifier{Algorithm: oid}, asn1.BitString{Bytes: make([]byte, 32), BitLength: 256}})
		if err != nil {
			t.Fatal(err)
		}
		return der
	}
	for _, tt := range []struct {
		what, got, want string
	}{
		{"Ed448 signature", javaSignatureName(x509.UnknownSignatureAlgorithm, signed(asn1.ObjectIdentifier{1, 3, 101, 113})), "Ed448"},
		{"SM2 signature", javaSignatureName(x509.UnknownSignatureAlgorithm, signed(asn1.ObjectIdentifier{1, 2, 156, 10197, 1, 501})), "1.2.156.10197.1.501"},
		{"signature of no DER", javaSignatureName(x509.UnknownSignatureAlgorithm, []byte("junk")), ""},
		{"X25519 key", javaKeyName(x509.UnknownPublicKeyAlgorithm, spki(asn1.ObjectIdentifier{1, 3, 101, 110})), "X25519"},
		{"X448 key", javaKeyName(x509.UnknownPublicKeyAlgorithm, spki(asn1.ObjectIdentifier{1, 3, 101, 111})), "X448"},
		{"Ed448 key", javaKeyName(x509.UnknownPublicKeyAlgorithm, spki(asn1.ObjectIdentifier{1, 3, 101, 113})), "Ed448"},
		{"unnamed key", javaKeyName(x509.UnknownPublicKeyAlgorithm, spki(asn1.ObjectIdentifier{1, 2, 3, 4})), "1.2.3.4"},
		{"key of no DER", javaKeyName(x509.UnknownPublicKeyAlgorithm, nil), ""},
	} {
		if tt.got != tt.want {
			t.Errorf("%s: %q, want %q", tt.what, tt.got, tt.want)
		}
	}
}

// FuzzFormatDN feeds rfc4514.Format and uniqueIDs, which read DER that crypto/x509 only skims.
func FuzzFormatDN(f *testing.F) {
	for _, name := range []string{certsDir + "ecdsa-client.pem", certsDir + "v2-unique-ids.pem", androidChain} {
		c := readCerts(f, name)[0]
		f.Add(c.RawSubject)
		f.Add(c.RawIssuer)
		f.Add(c.RawTBSCertificate)
	}
	f.Fuzz(func(t *testing.T, der []byte) {
		rfc4514.Format(der)
		uniqueIDs(der)
		javaSignatureName(x509.UnknownSignatureAlgorithm, der)
		javaKeyName(x509.UnknownPublicKeyAlgorithm, der)
	})
}

// FuzzCSRObject checks that the input of validateCSR for any CSR crypto/x509 parses carries its
// DER and the algorithm of its key.
func FuzzCSRObject(f *testing.F) {
	names, _ := filepath.Glob(filepath.FromSlash(csrDir + "*.csr"))
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, der []byte) {
		csr, err := x509.ParseCertificateRequest(der)
		if err != nil {
			return
		}
		in := NewCSRInput(IdentityInput{}, csr)
		if in.CSR != base64.StdEncoding.EncodeToString(der[:len(csr.Raw)]) || in.CSRInfo.PublicKey.Algorithm == "" {
			t.Fatalf("incomplete CSR input %+v", in)
		}
	})
}

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.FromSlash(name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// readCerts reads the certificates of a PEM file.
func readCerts(t testing.TB, name string) []*x509.Certificate {
	t.Helper()
	var certs []*x509.Certificate
	for rest := readFile(t, name); ; {
		var block *pem.Block
		if block, rest = pem.Decode(rest); block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			t.Fatalf("%s holds a %s block", name, block.Type)
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		t.Fatalf("no certificate in %s", name)
	}
	return certs
}

func parseCSR(t testing.TB, der []byte) *x509.CertificateRequest {
	t.Helper()
	csr, err := x509.ParseCertificateRequest(der)
	if err != nil {
		t.Fatal(err)
	}
	return csr
}
