package client

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"
)

// versusInternal runs own and peer alternately b.N times and reports own's time relative to
// peer's under unit (ns/op and allocations cover both).
func versusInternal(b *testing.B, unit string, own, peer func()) {
	own()
	peer()
	b.ReportAllocs()
	b.ResetTimer()
	var ownT, peerT time.Duration
	for range b.N {
		t0 := time.Now()
		peer()
		t1 := time.Now()
		own()
		ownT += time.Since(t1)
		peerT += t1.Sub(t0)
	}
	b.StopTimer()
	b.ReportMetric(float64(ownT)/float64(peerT), unit)
}

var benchClaims = payloadClaims{
	Token:  "9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d",
	Device: DeviceInfo{ID: "dev-1", OS: "android", Model: "Pixel 9", DisplayName: "Test phone"},
	App:    AppInfo{ID: "BankApp", Version: "2.1.0", Environment: "android"},
}

// BenchmarkSignX5C measures the signed payload a provisioned device sends (claims, JOSE header
// with the chain, ES256) against the bare ECDSA signature of the same claims: x-ecdsa is the
// cost of the JWS around the signature.
func BenchmarkSignX5C(b *testing.B) {
	cred := testCredential(b, "dev-1", time.Hour)
	key := cred.Key.(*ecdsa.PrivateKey)
	claims, _ := json.Marshal(benchClaims)
	versusInternal(b, "x-ecdsa",
		func() {
			if _, err := signX5C(cred, benchClaims); err != nil {
				b.Fatal(err)
			}
		},
		func() {
			d := sha256.Sum256(claims)
			if _, err := ecdsa.SignASN1(rand.Reader, key, d[:]); err != nil {
				b.Fatal(err)
			}
		})
}

// BenchmarkBuildCSR measures the CSR of an enrollment with string attributes (assembled by the
// client) against crypto/x509's CSR of the same subject without them.
func BenchmarkBuildCSR(b *testing.B) {
	key := fuzzKey()
	seq, err := subjectFor(csrRequirements{CommonName: "alice", AdditionalSubject: map[string]string{"OU": "Mobile", "O": "Example"}})
	if err != nil {
		b.Fatal(err)
	}
	attrs, err := csrAttributes(map[string]string{"challengePassword": "pw"})
	if err != nil {
		b.Fatal(err)
	}
	versusInternal(b, "x-x509.CreateCertificateRequest",
		func() {
			if _, err := buildCSR(key, seq, attrs); err != nil {
				b.Fatal(err)
			}
		},
		func() {
			if _, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "alice"}}, key); err != nil {
				b.Fatal(err)
			}
		})
}

// BenchmarkDirKeystoreLoad measures loading a credential file (open, permission check, JSON,
// PEM, parse, key-certificate match) against parsing the same key and certificate DER alone.
func BenchmarkDirKeystoreLoad(b *testing.B) {
	cred := testCredential(b, "dev-1", time.Hour)
	ks := DirKeystore(filepath.Join(b.TempDir(), "keys"))
	if err := ks.Store("device", cred); err != nil {
		b.Fatal(err)
	}
	keyDER, _ := x509.MarshalPKCS8PrivateKey(cred.Key)
	certDER := cred.Chain[0].Raw
	versusInternal(b, "x-parse-DER",
		func() {
			if _, err := ks.Load("device"); err != nil {
				b.Fatal(err)
			}
		},
		func() {
			if _, err := x509.ParsePKCS8PrivateKey(keyDER); err != nil {
				b.Fatal(err)
			}
			if _, err := x509.ParseCertificate(certDER); err != nil {
				b.Fatal(err)
			}
		})
}
