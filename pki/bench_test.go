package pki

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// benchBlock is how many operations run before switching between the measured function and its
// peer, so that both see the same machine conditions.
const benchBlock = 64

// alternate runs each of fns b.N times, in alternating blocks, and returns their total times.
func alternate(b *testing.B, fns ...func()) []time.Duration {
	times := make([]time.Duration, len(fns))
	b.ResetTimer()
	for done := 0; done < b.N; done += benchBlock {
		k := min(benchBlock, b.N-done)
		for i, fn := range fns {
			t0 := time.Now()
			for range k {
				fn()
			}
			times[i] += time.Since(t0)
		}
	}
	return times
}

// BenchmarkIssue measures Issue for an ECDSA P-256 CA and CSR against its peer, a bare
// x509.CreateCertificate of a minimal certificate with the same keys (the signing primitive plus
// crypto/x509's encoding).
func BenchmarkIssue(b *testing.B) {
	ca, err := NewCA(CAOptions{})
	if err != nil {
		b.Fatal(err)
	}
	csr := mustParseCSR(b, newCSR(b, testKey(b, "p256"), pkix.Name{CommonName: "device", Organization: []string{"Example"}}))
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "device"},
		NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
	b.ReportAllocs()
	t := alternate(b, func() {
		if _, err := ca.Issue(csr, IssueOptions{Subject: pkix.Name{CommonName: "device", Organization: []string{"Example"}}}); err != nil {
			b.Fatal(err)
		}
	}, func() {
		if _, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, csr.PublicKey, ca.Key); err != nil {
			b.Fatal(err)
		}
	})
	issue, bare := t[0], t[1]
	n := float64(b.N)
	b.ReportMetric(n/issue.Seconds(), "certs/s")
	b.ReportMetric(float64(issue.Nanoseconds())/n, "issue-ns/op")
	b.ReportMetric(float64(bare.Nanoseconds())/n, "bare-ns/op")
	b.ReportMetric(float64(issue)/float64(bare), "issue/bare")
}

// BenchmarkVerifyX5C measures VerifyX5C of an ES256 payload with a one-certificate x5c against
// two peers: go-jose parsing and verifying the same JWS with the leaf's key already known (no
// header checks, no chain), and the raw ECDSA P-256 verification under it.
func BenchmarkVerifyX5C(b *testing.B) {
	ca := testCA(b)
	key := testKey(b, "p256")
	now := time.Now()
	leaf := issueFor(b, ca, key, now, nil)
	jws, err := SignX5C(key, []*x509.Certificate{leaf}, testPayload)
	if err != nil {
		b.Fatal(err)
	}
	roots := ca.Roots()
	digest := sha256.Sum256([]byte("message"))
	sig, err := ecdsa.SignASN1(rand.Reader, key.(*ecdsa.PrivateKey), digest[:])
	if err != nil {
		b.Fatal(err)
	}
	pub := key.Public().(*ecdsa.PublicKey)
	b.ReportAllocs()
	t := alternate(b, func() {
		if _, _, err := VerifyX5C(jws, roots, now); err != nil {
			b.Fatal(err)
		}
	}, func() {
		obj, err := jose.ParseSignedCompact(jws, acceptedAlgorithms)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := obj.Verify(pub); err != nil {
			b.Fatal(err)
		}
	}, func() {
		if !ecdsa.VerifyASN1(pub, digest[:], sig) {
			b.Fatal("ecdsa")
		}
	})
	verify, joseTime, raw := t[0], t[1], t[2]
	n := float64(b.N)
	b.ReportMetric(n/verify.Seconds(), "verifies/s")
	b.ReportMetric(float64(verify.Nanoseconds())/n, "x5c-ns/op")
	b.ReportMetric(float64(joseTime.Nanoseconds())/n, "jose-ns/op")
	b.ReportMetric(float64(raw.Nanoseconds())/n, "ecdsa-ns/op")
	b.ReportMetric(float64(verify)/float64(joseTime), "x5c/jose")
	b.ReportMetric(float64(verify)/float64(raw), "x5c/ecdsa")
}

// BenchmarkVerifyJWK measures VerifyJWK against go-jose verifying the same JWS with the key
// known.
func BenchmarkVerifyJWK(b *testing.B) {
	key := testKey(b, "p256")
	jws, err := SignJWK(key, testPayload)
	if err != nil {
		b.Fatal(err)
	}
	pub := key.Public()
	b.ReportAllocs()
	t := alternate(b, func() {
		if _, _, err := VerifyJWK(jws); err != nil {
			b.Fatal(err)
		}
	}, func() {
		obj, err := jose.ParseSignedCompact(jws, acceptedAlgorithms)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := obj.Verify(pub); err != nil {
			b.Fatal(err)
		}
	})
	verify, joseTime := t[0], t[1]
	n := float64(b.N)
	b.ReportMetric(float64(verify.Nanoseconds())/n, "jwk-ns/op")
	b.ReportMetric(float64(joseTime.Nanoseconds())/n, "jose-ns/op")
	b.ReportMetric(float64(verify)/float64(joseTime), "jwk/jose")
}
