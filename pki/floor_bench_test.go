package pki

import (
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"testing"
	"time"
)

// BenchmarkIssuanceCryptoFloor measures, in alternating blocks of one run, the cryptography a
// device provisioning cannot do without against that of a bare CA signing a CSR (what `cfssl
// serve` does for /api/v1/cfssl/sign):
//
//   - provisioning: ParseCSR (the CSR's self-signature), VerifyJWK (the payload over the
//     session's nonce, signed by the CSR's key) and Issue (signing, and crypto/x509's check of
//     the signature it made);
//   - bare: x509.ParseCertificateRequest and CheckSignature, then x509.CreateCertificate (the
//     same signing and self-check).
//
// floor/bare is the ratio no change outside the cryptography can take a provisioning under:
// with every other cost (HTTP, sessions, the store) at zero, a provisioning still costs this
// many bare signings.
func BenchmarkIssuanceCryptoFloor(b *testing.B) {
	ca, err := NewCA(CAOptions{})
	if err != nil {
		b.Fatal(err)
	}
	key := testKey(b, "p256")
	der := newCSR(b, key, pkix.Name{CommonName: "device"})
	jws, err := SignJWK(key, testPayload)
	if err != nil {
		b.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "device"},
		NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
	b.ReportAllocs()
	t := alternate(b, func() {
		csr, err := ParseCSR(der)
		if err != nil {
			b.Fatal(err)
		}
		if _, _, err := VerifyJWK(jws); err != nil {
			b.Fatal(err)
		}
		if _, err := ca.Issue(csr, IssueOptions{Subject: pkix.Name{CommonName: "device", Organization: []string{"device"}}}); err != nil {
			b.Fatal(err)
		}
	}, func() {
		csr, err := x509.ParseCertificateRequest(der)
		if err != nil {
			b.Fatal(err)
		}
		if err := csr.CheckSignature(); err != nil {
			b.Fatal(err)
		}
		if _, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, csr.PublicKey, ca.Key); err != nil {
			b.Fatal(err)
		}
	})
	floor, bare := t[0], t[1]
	n := float64(b.N)
	b.ReportMetric(float64(floor.Nanoseconds())/n, "floor-ns/op")
	b.ReportMetric(float64(bare.Nanoseconds())/n, "bare-ns/op")
	b.ReportMetric(float64(floor)/float64(bare), "floor/bare")
}
