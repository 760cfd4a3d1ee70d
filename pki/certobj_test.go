package pki

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// TestCertificateObjectGolden renders the certificate object of every fixture certificate and
// compares it with testdata/<name>.json (-update rewrites them).
func TestCertificateObjectGolden(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"ecdsa-ca.pem", "ecdsa-client.pem", "ed25519-ca.pem", "openssl-rsa-root.pem", "v2-unique-ids.pem", "android/blueline-sdk28-tee-ec.pem"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cert := readCerts(t, name)[0]
			got, err := json.MarshalIndent(CertificateObject(cert), "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			golden := filepath.Join("testdata", strings.TrimSuffix(name, ".pem")+".json")
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
		{"openssl-rsa-root.pem", facts{KeyAlg: "RSA", SigAlg: "SHA256-RSA", Version: 3,
			DN: "CN=Example RSA Root,OU=PKI,O=Example Corp,ST=CA,C=US", CN: "Example RSA Root",
			IssuerDN: "CN=Example RSA Root,OU=PKI,O=Example Corp,ST=CA,C=US", IssuerCN: "Example RSA Root", Serial: "c0ffee"}},
		{"v2-unique-ids.pem", facts{KeyAlg: "ECDSA", SigAlg: "ECDSA-SHA256", Version: 2,
			DN: "CN=v2 subject,O=Legacy", CN: "v2 subject", IssuerDN: "CN=Realmgate Test CA,O=Example", IssuerCN: "Realmgate Test CA",
			IssuerUID: "cafe", SubjectUID: "0102030405", Serial: "1234",
			NotBefore: 1795680000, NotAfter: 1795680000 + 365*24*3600}},
		{"ed25519-ca.pem", facts{KeyAlg: "Ed25519", SigAlg: "Ed25519", Version: 3,
			DN: "CN=Ed25519 Test CA", CN: "Ed25519 Test CA", IssuerDN: "CN=Ed25519 Test CA", IssuerCN: "Ed25519 Test CA"}},
		{"ecdsa-client.pem", facts{KeyAlg: "ECDSA", SigAlg: "ECDSA-SHA256", Version: 3,
			DN: `CN=Ann\+Bob \<ann@example.com\>,L=Paris+OU=Mobile,O=Example\, Inc.,C=FR`, CN: "Ann+Bob <ann@example.com>",
			IssuerDN: "CN=Realmgate Test CA,O=Example", IssuerCN: "Realmgate Test CA",
			NotBefore: 1795680000 - 300, NotAfter: 1795680000 + 365*24*3600}},
		// A genuine Android Keystore leaf: serial 1, valid from 1970 to 2106-02-07T06:28:15Z.
		{"android/blueline-sdk28-tee-ec.pem", facts{KeyAlg: "ECDSA", SigAlg: "ECDSA-SHA256", Version: 3,
			DN: "CN=Android Keystore Key", CN: "Android Keystore Key", IssuerDN: "2.5.4.12=#0c03544545,SERIALNUMBER=a0b63a35743673b7",
			Serial: "1", NotBefore: 0, NotAfter: 4294967295}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
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
			if want.NotAfter == 0 && tt.file != "android/blueline-sdk28-tee-ec.pem" {
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
	b, _ := json.Marshal(CertificateObject(readCerts(t, "v2-unique-ids.pem")[0]))
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
