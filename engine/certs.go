package engine

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"

	"strings"

	"github.com/realmgate/realmgate/pki"
	"github.com/realmgate/realmgate/store"
)

// CodeCSRRejected is the refusal of a CSR by the host's checks or the PKI bridge.
const CodeCSRRejected Code = "csr_rejected"

// decodeB64 decodes standard or URL-safe base64, padded or not, bounded.
func decodeB64(field, s string, max int) ([]byte, error) {
	if s == "" {
		return nil, errorf(CodeBadRequest, "%s is missing", field)
	}
	if len(s) > max*4/3+4 {
		return nil, errorf(CodeBadRequest, "%s is larger than %d bytes", field, max)
	}
	s = strings.TrimRight(s, "=")
	var b []byte
	var err error
	if strings.ContainsAny(s, "-_") {
		b, err = base64.RawURLEncoding.DecodeString(s)
	} else {
		b, err = base64.RawStdEncoding.DecodeString(s)
	}
	if err != nil {
		return nil, errorf(CodeBadRequest, "%s is not base64", field)
	}
	return b, nil
}

// pkiError maps an pki error to the engine's: malformed input is a bad request, every other
// refusal of a proof (signature, key, trust, requirements) too, with pki's message.
func pkiError(what string, err error) error {
	switch {
	case errors.Is(err, pki.ErrRequirements):
		return &Error{Code: CodeCSRRejected, Message: err.Error(), Err: err}
	case errors.Is(err, pki.ErrBadRequirements):
		return &Error{Code: CodeUnavailable, Message: "the PKI bridge gave CSR requirements that cannot be checked", Err: err}
	}
	return &Error{Code: CodeBadRequest, Message: what + ": " + strings.TrimPrefix(err.Error(), "pki: "), Err: err}
}

// x5cLeaf reads the leaf certificate of a JWS's x5c header without verifying anything: the
// caller looks the certificate up in the store and then verifies the JWS with it as the root.
func x5cLeaf(jws string) (*x509.Certificate, error) {
	if len(jws) > pki.MaxJWSSize {
		return nil, errorf(CodeBadRequest, "the payload is larger than %d bytes", pki.MaxJWSSize)
	}
	head, _, ok := strings.Cut(jws, ".")
	if !ok {
		return nil, errorf(CodeBadRequest, "the payload is not a JWS compact serialization")
	}
	raw, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		return nil, errorf(CodeBadRequest, "the payload's header is not base64url")
	}
	var h struct {
		X5C []string `json:"x5c"`
	}
	if err := json.Unmarshal(raw, &h); err != nil || len(h.X5C) == 0 {
		return nil, errorf(CodeBadRequest, "the payload's header carries no x5c certificate")
	}
	der, err := base64.StdEncoding.DecodeString(h.X5C[0])
	if err != nil || len(der) > pki.MaxCertSize {
		return nil, errorf(CodeBadRequest, "the payload's x5c leaf is not base64 DER")
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, errorf(CodeBadRequest, "the payload's x5c leaf is not a certificate")
	}
	return cert, nil
}

// serialHex is how certificates are keyed in the store.
func serialHex(c *x509.Certificate) string { return hex.EncodeToString(c.SerialNumber.Bytes()) }

// verifyIssued verifies a signed payload made with a certificate this server issued: the leaf must
// be the stored certificate of its serial, byte for byte, not revoked, and the JWS must verify at
// now (signature, validity, clientAuth), up to caRoots when the realm's CA is known. An unknown
// or revoked certificate is a retry: the client drops it and enrolls or provisions again.
func (e *Engine) verifyIssued(x *exchange, jws string, caRoots *x509.CertPool) (*pki.Payload, *store.CertificateRecord, *x509.Certificate, error) {
	leaf, err := x5cLeaf(jws)
	if err != nil {
		return nil, nil, nil, err
	}
	rec, err := e.store.GetCertificate(x.ctx, serialHex(leaf))
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, nil, nil, retryEnroll("this certificate was not issued here: enroll again")
	case err != nil:
		return nil, nil, nil, unavailable("the certificate store", err)
	}
	if !bytes.Equal(rec.DER, leaf.Raw) {
		return nil, nil, nil, retryEnroll("this certificate was not issued here: enroll again")
	}
	if rec.RevokedAt != nil {
		return nil, nil, nil, retryEnroll("this certificate was revoked: enroll again")
	}
	// One verification: against the CA the realm signs with when it has one, else with the stored
	// certificate itself as the root (a bridge's CA need not be configured: the record is the trust).
	roots, untrusted := caRoots, "the certificate does not chain to this server's CA or is not valid now: enroll again"
	if roots == nil {
		roots = x509.NewCertPool()
		roots.AddCert(leaf)
		untrusted = "the certificate is not valid now: enroll again"
	}
	payload, _, err := pki.VerifyX5C(jws, roots, x.now)
	if err != nil {
		if errors.Is(err, pki.ErrUntrusted) {
			return nil, nil, nil, retryEnroll(untrusted)
		}
		return nil, nil, nil, pkiError("the signed payload", err)
	}
	return payload, &rec, leaf, nil
}

// retryEnroll is a wrong answer after which the client should get a new certificate.
func retryEnroll(msg string) error { return &retryError{msg: msg, enroll: true} }

// storeIssued records an issued certificate.
func (e *Engine) storeIssued(x *exchange, cert *x509.Certificate, entity, owner, realm string) error {
	rec := store.CertificateRecord{
		Serial: serialHex(cert), Entity: entity, Owner: owner, Realm: realm,
		Issuer: cert.Issuer.String(), NotBefore: cert.NotBefore, NotAfter: cert.NotAfter,
		DER: cert.Raw, IssuedAt: x.now,
	}
	if err := e.store.PutCertificate(x.ctx, rec); err != nil {
		return unavailable("the certificate store", err)
	}
	e.obs.CertificateIssued(realm, e.bridgeOf(realm))
	// The certificate record is the durable trace of the issuance; the log says it too.
	e.log.Info("certificate issued", "serial", rec.Serial, "entity", entity, "owner", owner, "realm", realm,
		"session", SessionRef(x.s.rec.ID), "not_after", cert.NotAfter)
	return nil
}

// checkPayloadApp checks that a signed payload speaks for the application of the request.
func checkPayloadApp(x *exchange, p *pki.Payload) error {
	if p.App.ID != "" && p.App.ID != x.app.App {
		return errorf(CodeBadRequest, "the payload is for application %q, not %q", p.App.ID, x.app.App)
	}
	if p.App.Environment != "" && !strings.EqualFold(p.App.Environment, x.app.Env) {
		return errorf(CodeBadRequest, "the payload is for environment %q, not %q", p.App.Environment, x.app.Env)
	}
	return DeviceInfo{ID: p.Device.ID, OS: p.Device.OS, Model: p.Device.Model, DisplayName: p.Device.DisplayName}.validate()
}

func b64(der []byte) string { return base64.StdEncoding.EncodeToString(der) }

func chainB64(chain [][]byte) []string {
	out := make([]string, len(chain))
	for i, c := range chain {
		out[i] = b64(c)
	}
	return out
}
