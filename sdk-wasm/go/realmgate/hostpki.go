package realmgate

import (
	"bytes"
	"fmt"

	jsonv2 "github.com/go-json-experiment/json"
)

// The host PKI capability (ABI.md, "Host PKI"): the host parses CSRs and signs certificates
// with a key it holds, which never enters the module's memory. The adapter needs the grant
// <capability name="pki" ca="..."/> in its <backend>; without it every call fails with an
// error that says so.

// PKIKeyInfo describes a CSR's public key: the documented KeyInfo, its RFC 7638 JWK
// thumbprint (SHA-256, base64url) and the SHA-256 of its SubjectPublicKeyInfo (base64).
type PKIKeyInfo struct {
	KeyInfo
	Thumbprint string `json:"thumbprint"`
	SPKISHA256 string `json:"spkiSha256"`
}

// Extension is an X.509 extension: dotted OID, criticality, base64 DER value.
type Extension struct {
	OID         string `json:"oid"`
	Critical    bool   `json:"critical,omitempty"`
	ValueBase64 string `json:"valueBase64"`
}

// ParsedCSR is what the host parsed from a CSR whose signature it verified: the documented
// CSR object (CSRInfo) with the key's thumbprints, the URIs, the extensions the request asks
// for and its PKCS #9 string attributes (challengePassword, unstructuredName, ... or OIDs).
type ParsedCSR struct {
	DN         string            `json:"dn"`
	CN         string            `json:"cn"`
	PublicKey  PKIKeyInfo        `json:"publicKey"`
	Signature  SigInfo           `json:"signature"`
	DNSNames   []string          `json:"dnsNames,omitempty"`
	Emails     []string          `json:"emails,omitempty"`
	URIs       []string          `json:"uris,omitempty"`
	Extensions []Extension       `json:"extensions,omitempty"`
	Attributes map[string]string `json:"attributes,omitempty"`
}

// Subject names a certificate's subject as getCSRRequirements names a CSR's: CN=CommonName
// plus AdditionalSubject ({"O": "Example"}).
type Subject struct {
	CommonName        string            `json:"commonName"`
	AdditionalSubject map[string]string `json:"additionalSubject,omitempty"`
}

// CertificateTemplate is what a bridge asks the host to sign. The certified key is the CSR's
// (CSR: its base64 DER), so the guest never handles key bytes. ValidityDays 0 means 365 days (or
// the grant's bound if shorter); KeyUsage defaults to digitalSignature and ExtKeyUsage to
// clientAuth. IsCA and the usages keyCertSign and cRLSign are refused unless the grant allows
// CA certificates. The host picks the serial number.
type CertificateTemplate struct {
	CSR          string      `json:"csr"`
	Subject      Subject     `json:"subject"`
	ValidityDays int         `json:"validityDays,omitempty"`
	KeyUsage     []string    `json:"keyUsage,omitempty"`
	ExtKeyUsage  []string    `json:"extKeyUsage,omitempty"`
	DNSNames     []string    `json:"dnsNames,omitempty"`
	Emails       []string    `json:"emails,omitempty"`
	URIs         []string    `json:"uris,omitempty"`
	IsCA         bool        `json:"isCA,omitempty"`
	Extensions   []Extension `json:"extensions,omitempty"`
}

// SignedCertificate is the host's answer to a template: the DER certificate in base64, its
// serial number (lower-case hex) and validity in Unix seconds.
type SignedCertificate struct {
	CertificateBase64 string `json:"certificateBase64"`
	SerialNumber      string `json:"serialNumber"`
	NotBefore         int64  `json:"notBefore"`
	NotAfter          int64  `json:"notAfter"`
}

// Verification is the host's answer to VerifyCertificate.
type Verification struct {
	Valid  bool   `json:"valid"`
	Reason string `json:"reason,omitempty"`
}

// PKIError is a refusal of the host PKI capability (no grant, a bad CSR, a template beyond the
// grant); Message is the host's reason.
type PKIError struct{ Message string }

func (e *PKIError) Error() string { return "realmgate: pki: " + e.Message }

// ParseCSR has the host parse and verify the CSR whose DER is csrBase64 (the "csr" of a
// bridge's input). A CSR that does not parse, whose signature does not verify or whose key the
// host does not accept is a *PKIError.
func ParseCSR(csrBase64 string) (*ParsedCSR, error) {
	var out ParsedCSR
	return &out, pkiDo(map[string]any{"op": "parseCSR", "csr": csrBase64}, &out)
}

// SignCertificate has the host sign t with the adapter's host-held key.
func SignCertificate(t CertificateTemplate) (*SignedCertificate, error) {
	req := struct {
		Op string `json:"op"`
		CertificateTemplate
	}{"sign", t}
	var out SignedCertificate
	return &out, pkiDo(req, &out)
}

// VerifyCertificate asks the host whether the certificate (base64 DER) was signed by the
// adapter's host-held key and is valid now.
func VerifyCertificate(certificateBase64 string) (Verification, error) {
	var out Verification
	return out, pkiDo(map[string]any{"op": "verify", "certificate": certificateBase64}, &out)
}

// HostPKI calls the functions above: a value to hand to code that declares the interface it
// consumes, so that native tests can put a stand-in in its place.
type HostPKI struct{}

func (HostPKI) ParseCSR(csrBase64 string) (*ParsedCSR, error) { return ParseCSR(csrBase64) }
func (HostPKI) SignCertificate(t CertificateTemplate) (*SignedCertificate, error) {
	return SignCertificate(t)
}
func (HostPKI) VerifyCertificate(c string) (Verification, error) { return VerifyCertificate(c) }

func pkiDo(req, out any) error {
	b, err := jsonv2.Marshal(req)
	if err != nil {
		return fmt.Errorf("realmgate: pki: %w", err)
	}
	return decodePKIAnswer(pkiCall(b), out)
}

// decodePKIAnswer reads the host's answer: a refusal, {"error": "..."} (the host writes it
// with that one member, first), or the operation's object. An answer is decoded once: in a wasm
// guest, decoding a certificate's base64 twice costs as much as the host's signature. Requests
// and answers go through JSON v2, whose member names match exactly, as ABI.md asks of guests.
func decodePKIAnswer(b []byte, out any) error {
	if bytes.HasPrefix(b, []byte(`{"error":`)) {
		var e struct {
			Error string `json:"error"`
		}
		if err := jsonv2.Unmarshal(b, &e); err != nil {
			return fmt.Errorf("realmgate: pki: the host's answer is not valid: %w", err)
		}
		return &PKIError{Message: e.Error}
	}
	if err := jsonv2.Unmarshal(b, out); err != nil {
		return fmt.Errorf("realmgate: pki: the host's answer is not valid: %w", err)
	}
	return nil
}

// PKIRequest sends one request of the host PKI capability, as ABI.md's JSON ({"op": "parseCSR",
// "csr": ...}), and returns the host's answer as it is: the operation's object or {"error":
// "..."}. It is for guests that speak JSON themselves (the JavaScript engine's WL.Server.pki);
// Go code uses ParseCSR, SignCertificate and VerifyCertificate.
func PKIRequest(request []byte) []byte { return pkiCall(request) }
