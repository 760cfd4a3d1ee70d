package adapters_test

import (
	"context"
	"crypto/x509"
	"crypto/x509/pkix"
	"testing"

	"github.com/realmgate/realmgate/adapters"
	"github.com/realmgate/realmgate/adapters/adaptertest"
)

// TestVerifiedCSR: the carried CSR is found under its exact DER only.
func TestVerifiedCSR(t *testing.T) {
	_, csr := adaptertest.NewCSR(t, pkix.Name{CommonName: "alice"})
	_, other := adaptertest.NewCSR(t, pkix.Name{CommonName: "alice"})
	truncated := csr.Raw[:len(csr.Raw)-1]
	ctx := adapters.WithVerifiedCSR(context.Background(), csr)
	for _, tc := range []struct {
		name string
		ctx  context.Context
		der  []byte
		want *x509.CertificateRequest
	}{
		{"the carried CSR", ctx, append([]byte(nil), csr.Raw...), csr},
		{"another CSR", ctx, other.Raw, nil},
		{"a prefix of the carried CSR", ctx, truncated, nil},
		{"nothing carried", context.Background(), csr.Raw, nil},
		{"nil carried", adapters.WithVerifiedCSR(context.Background(), nil), csr.Raw, nil},
	} {
		if got := adapters.VerifiedCSR(tc.ctx, tc.der); got != tc.want {
			t.Errorf("%s: VerifiedCSR = %p, want %p", tc.name, got, tc.want)
		}
	}
}
