// Package pki is the certificate work behind Realmgate's provisioning and user-certificate realms:
// a certificate authority that signs CSRs, CSR parsing and subject checks, the signed payloads
// (JWS) that devices answer with, and Android Key Attestation. The objects a PKI bridge is
// handed for a CSR or a certificate are built beside the bridge types, in package adapters
// (CSRObject, CertificateObject); the attestation chains tests need are built by pki/pkitest.
//
// It is pure crypto: no HTTP, no store. Callers pass the time ("now"; zero means the current
// time) so that a decision can be replayed and tested, and they check nonces and revocation
// themselves.
//
// Everything that parses untrusted bytes bounds its input first and returns errors that match
// one of the package's sentinels with errors.Is, so that the HTTP layer can choose a status:
//
//	ErrMalformed, ErrTooLarge       the input does not parse (400)
//	ErrBadSignature, ErrAlgorithm   a signature that does not verify or an algorithm not accepted
//	ErrWeakKey                      a key of a kind or size not accepted
//	ErrUntrusted                    a chain that does not lead to a trusted root at the given time
//	ErrRequirements                 a CSR subject that lacks what the PKI bridge required
//	ErrBadRequirements              requirements from the PKI bridge that cannot be checked
//	ErrChallenge                    an attestation made for another challenge
//
// and, when loading a CA, ErrCAExists, ErrKeyMismatch, ErrPassword, ErrInsecureKeyFile or
// fs.ErrNotExist.
//
// A typical provisioning answer is checked like this:
//
//	csr, err := pki.ParseCSR(der)                 // self-signature and key policy
//	payload, key, err := pki.VerifyJWK(jws)       // signed by the key in its header
//	if !pki.SamePublicKey(csr.PublicKey, key) { ... }
//	cert, err := ca.Issue(csr, pki.IssueOptions{Subject: pkix.Name{CommonName: payload.Device.ID}})
//
// and a provisioned device's later answer with
//
//	payload, chain, err := pki.VerifyX5C(jws, ca.Roots(), now)
package pki
