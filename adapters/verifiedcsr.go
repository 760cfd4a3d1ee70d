package adapters

import (
	"bytes"
	"context"
	"crypto/x509"
)

// A PKI-bridge call carries the CSR the host already parsed and verified for it, so that a host
// capability serving that call (the wasm host PKI capability's parseCSR and sign) need not
// verify the same CSR again: an ECDSA verify is the costliest step of a capability call after
// the signature itself. The CSR is found only under its exact DER bytes, and only within the
// call whose context carries it.

type verifiedCSRKey struct{}

// WithVerifiedCSR returns ctx carrying csr, which the caller parsed from csr.Raw and verified
// (its self-signature and the key policy, as pki.ParseCSR does) before handing it to an
// adapter call made with the returned context.
func WithVerifiedCSR(ctx context.Context, csr *x509.CertificateRequest) context.Context {
	if csr == nil {
		return ctx
	}
	return context.WithValue(ctx, verifiedCSRKey{}, csr)
}

// VerifiedCSR returns the CSR that ctx carries when its DER is exactly der, else nil: a
// capability asked about any other CSR parses and verifies it itself.
func VerifiedCSR(ctx context.Context, der []byte) *x509.CertificateRequest {
	csr, _ := ctx.Value(verifiedCSRKey{}).(*x509.CertificateRequest)
	if csr == nil || !bytes.Equal(csr.Raw, der) {
		return nil
	}
	return csr
}
