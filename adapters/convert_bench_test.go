package adapters

import (
	"crypto/x509"
	"testing"
	"time"
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

// BenchmarkCertificateObject measures CertificateObject of a client certificate (multi-valued
// RDN, escaped characters) against its peer, x509.ParseCertificate of the same DER: the parse
// the host makes before it builds the object.
func BenchmarkCertificateObject(b *testing.B) {
	cert := readCerts(b, certsDir+"ecdsa-client.pem")[0]
	b.ReportAllocs()
	t := alternate(b, func() {
		if CertificateObject(cert).DN == "" {
			b.Fatal("no DN")
		}
	}, func() {
		if _, err := x509.ParseCertificate(cert.Raw); err != nil {
			b.Fatal(err)
		}
	})
	object, parse := t[0], t[1]
	n := float64(b.N)
	b.ReportMetric(float64(object.Nanoseconds())/n, "object-ns/op")
	b.ReportMetric(float64(parse.Nanoseconds())/n, "parse-ns/op")
	b.ReportMetric(float64(object)/float64(parse), "object/parse")
}

// BenchmarkCSRObject measures CSRObject of an OpenSSL RSA 2048 request with SANs against its
// peer, x509.ParseCertificateRequest of the same DER.
func BenchmarkCSRObject(b *testing.B) {
	der := readFile(b, csrDir+"openssl-rsa2048.csr")
	csr := parseCSR(b, der)
	b.ReportAllocs()
	t := alternate(b, func() {
		if CSRObject(csr).DN == "" {
			b.Fatal("no DN")
		}
	}, func() {
		if _, err := x509.ParseCertificateRequest(der); err != nil {
			b.Fatal(err)
		}
	})
	object, parse := t[0], t[1]
	n := float64(b.N)
	b.ReportMetric(float64(object.Nanoseconds())/n, "object-ns/op")
	b.ReportMetric(float64(parse.Nanoseconds())/n, "parse-ns/op")
	b.ReportMetric(float64(object)/float64(parse), "object/parse")
}
