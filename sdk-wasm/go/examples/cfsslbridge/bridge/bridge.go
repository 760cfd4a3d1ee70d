// Package bridge is the logic of the CFSSL PKI-bridge adapter: enrolling users get certificates
// signed by a CloudFlare CFSSL server over its REST API (POST /api/v1/cfssl/sign), reached only
// through the host's outbound HTTP, so the adapter holds no CA key at all. It is plain Go on the
// SDK's types, with the HTTP transport passed in, so it runs natively in tests as well as inside
// the wasm module that package main builds.
package bridge

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/realmgate/realmgate/sdk-wasm/go/realmgate"
)

// The settings the bridge reads.
const (
	// SettingURL is the CFSSL server's base URL, e.g. "http://127.0.0.1:8888" (required). Its host
	// and port must also be on the adapter's allow-list.
	SettingURL = "cfssl-url"
	// SettingProfile is the CFSSL signing profile ("profile" of the sign request); empty: the
	// server's default profile.
	SettingProfile = "profile"
	// SettingCACert is the PEM certificate of the CA CFSSL signs with. validateCertificate checks
	// certificates against it; without it the bridge asks CFSSL's /api/v1/cfssl/info once.
	SettingCACert = "ca-cert"
	// SettingSubject is the attributes every CSR subject must carry besides the CN, e.g.
	// "O=Example,OU=Mobile" (realmgate.ParseSubject).
	SettingSubject = "subject"
)

// The CFSSL API paths, under SettingURL.
const (
	signPath = "/api/v1/cfssl/sign"
	infoPath = "/api/v1/cfssl/info"
)

// Doer makes one outbound HTTP request: realmgate.HTTP in the wasm module, a stand-in in tests.
type Doer func(realmgate.HTTPRequest) (*realmgate.HTTPResponse, error)

// Bridge enrolls users through one CFSSL server.
type Bridge struct {
	base    string // SettingURL without a trailing slash
	profile string
	subject map[string]string
	ca      *x509.Certificate // from SettingCACert, or from CFSSL's info endpoint on first use
	do      Doer
	now     func() time.Time
}

// New reads the bridge's settings; do carries its requests to CFSSL.
func New(settings map[string]string, do Doer) (*Bridge, error) {
	base, err := parseBaseURL(settings[SettingURL])
	if err != nil {
		return nil, fmt.Errorf("setting %s: %w", SettingURL, err)
	}
	subject, err := realmgate.ParseSubject(settings[SettingSubject])
	if err != nil {
		return nil, fmt.Errorf("setting %s: %w", SettingSubject, err)
	}
	b := &Bridge{base: base, profile: settings[SettingProfile], subject: subject, do: do, now: time.Now}
	if p := settings[SettingCACert]; p != "" {
		if b.ca, err = parseCACert([]byte(p)); err != nil {
			return nil, fmt.Errorf("setting %s: %w", SettingCACert, err)
		}
	}
	return b, nil
}

// parseBaseURL accepts an http or https URL with a host, no credentials, no query and no
// fragment: the bridge appends the API paths to it.
func parseBaseURL(s string) (string, error) {
	if s == "" {
		return "", errors.New("required: the CFSSL server's URL, e.g. http://127.0.0.1:8888")
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", err
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return "", fmt.Errorf("%q is not an http or https URL", s)
	case u.Host == "":
		return "", fmt.Errorf("%q has no host", s)
	case u.User != nil:
		return "", errors.New("the URL carries credentials; CFSSL's sign endpoint takes none")
	case u.RawQuery != "" || u.Fragment != "":
		return "", fmt.Errorf("%q has a query or fragment; give the server's base URL", s)
	}
	return strings.TrimRight(u.Scheme+"://"+u.Host+u.EscapedPath(), "/"), nil
}

func parseCACert(p []byte) (*x509.Certificate, error) {
	block, _ := pem.Decode(p)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, errors.New("no PEM CERTIFICATE block")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, err
	}
	if !cert.IsCA {
		return nil, fmt.Errorf("%q is not a CA certificate", cert.Subject)
	}
	return cert, nil
}

// Init accepts the realm's parameters; this bridge needs none.
func (b *Bridge) Init(realmgate.InitInput) error { return nil }

// ValidateIdentity accepts every identity with a user name: who may enroll is the dependent
// realm's decision, what gets signed is CFSSL's policy.
func (b *Bridge) ValidateIdentity(in realmgate.IdentityInput) (realmgate.Valid, error) {
	return realmgate.Verdict(in.UserIdentity.UserName != ""), nil
}

// CSRRequirements asks for the user name as common name, under the configured subject.
func (b *Bridge) CSRRequirements(in realmgate.IdentityInput) (realmgate.CSRRequirements, error) {
	if in.UserIdentity.UserName == "" {
		return realmgate.CSRRequirements{}, errors.New("the identity has no user name")
	}
	return realmgate.CSRRequirements{CommonName: in.UserIdentity.UserName, AdditionalSubject: b.subject}, nil
}

// ValidateCSR accepts a correctly self-signed CSR whose common name is the user's name, with an
// ECDSA, Ed25519 or RSA (2048 bits or more) key.
func (b *Bridge) ValidateCSR(in realmgate.CSRInput) (realmgate.Valid, error) {
	csr, err := parseCSR(in.CSR)
	if err != nil {
		return realmgate.Verdict(false), nil
	}
	u := in.UserIdentity.UserName
	return realmgate.Verdict(u != "" && csr.Subject.CommonName == u && acceptableKey(csr.PublicKey)), nil
}

func acceptableKey(k crypto.PublicKey) bool {
	switch k := k.(type) {
	case *ecdsa.PublicKey, ed25519.PublicKey:
		return true
	case *rsa.PublicKey:
		return k.N.BitLen() >= 2048
	}
	return false
}

// parseCSR parses the base64 DER of a CSR (the input's "csr").
func parseCSR(b64 string) (*x509.CertificateRequest, error) {
	der, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, fmt.Errorf("the CSR is not base64: %w", err)
	}
	csr, err := x509.ParseCertificateRequest(der)
	if err != nil {
		return nil, fmt.Errorf("the CSR is not valid: %w", err)
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, fmt.Errorf("the CSR's signature is not valid: %w", err)
	}
	return csr, nil
}

// signRequest is the body of CFSSL's sign endpoint.
type signRequest struct {
	CertificateRequest string `json:"certificate_request"`
	Profile            string `json:"profile,omitempty"`
}

// GenerateCertificate has CFSSL sign the CSR and returns the certificate, after checking that it
// is for the CSR's key and, when the CA is known, that the CA signed it: the bridge vouches for
// what it hands the client, whatever the server answered.
func (b *Bridge) GenerateCertificate(in realmgate.CSRInput) (realmgate.GeneratedCertificate, error) {
	// The CSR's self-signature is not checked again here: the host has checked it and CFSSL
	// checks it before signing, and one ECDSA verification costs milliseconds in wasm.
	der, err := base64.StdEncoding.DecodeString(in.CSR)
	if err != nil {
		return realmgate.GeneratedCertificate{}, fmt.Errorf("the CSR is not base64: %w", err)
	}
	csr, err := x509.ParseCertificateRequest(der)
	if err != nil {
		return realmgate.GeneratedCertificate{}, fmt.Errorf("the CSR is not valid: %w", err)
	}
	if csr.Subject.CommonName != in.UserIdentity.UserName || in.UserIdentity.UserName == "" {
		return realmgate.GeneratedCertificate{}, fmt.Errorf("the CSR is for %q, not for the user %q", csr.Subject.CommonName, in.UserIdentity.UserName)
	}
	body, err := json.Marshal(signRequest{
		CertificateRequest: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csr.Raw})),
		Profile:            b.profile,
	})
	if err != nil {
		return realmgate.GeneratedCertificate{}, err
	}
	cert, err := b.call(signPath, body)
	if err != nil {
		return realmgate.GeneratedCertificate{}, err
	}
	if !bytes.Equal(cert.RawSubjectPublicKeyInfo, csr.RawSubjectPublicKeyInfo) {
		return realmgate.GeneratedCertificate{}, errors.New("CFSSL returned a certificate for another key than the CSR's")
	}
	ca, err := b.caCert()
	if err != nil {
		return realmgate.GeneratedCertificate{}, err
	}
	if err := cert.CheckSignatureFrom(ca); err != nil {
		return realmgate.GeneratedCertificate{}, fmt.Errorf("CFSSL returned a certificate that the CA %q did not sign: %w", ca.Subject, err)
	}
	return realmgate.GeneratedCertificate{CertificateBase64: base64.StdEncoding.EncodeToString(cert.Raw)}, nil
}

// caCert returns the CA the bridge checks certificates against: the ca-cert setting, or what
// CFSSL's info endpoint names for the profile, asked once per instance.
func (b *Bridge) caCert() (*x509.Certificate, error) {
	if b.ca != nil {
		return b.ca, nil
	}
	body, err := json.Marshal(map[string]string{"profile": b.profile})
	if err != nil {
		return nil, err
	}
	cert, err := b.call(infoPath, body)
	if err != nil {
		return nil, fmt.Errorf("learning the CA certificate (or set %s): %w", SettingCACert, err)
	}
	if !cert.IsCA {
		return nil, fmt.Errorf("CFSSL's info endpoint named %q, which is not a CA certificate", cert.Subject)
	}
	b.ca = cert
	return cert, nil
}

// call POSTs body to one CFSSL endpoint and returns the certificate of its answer.
func (b *Bridge) call(path string, body []byte) (*x509.Certificate, error) {
	u := b.base + path
	resp, err := b.do(realmgate.HTTPRequest{
		Method:  "POST",
		URL:     u,
		Headers: map[string]string{"Content-Type": "application/json", "Accept": "application/json"},
		Body:    body,
	})
	if err != nil {
		return nil, fmt.Errorf("CFSSL at %s: %w", u, err)
	}
	cert, err := DecodeResponse(resp.Status, resp.Body)
	if err != nil {
		return nil, fmt.Errorf("CFSSL at %s: %w", u, err)
	}
	return cert, nil
}

// ErrRefused is wrapped by the errors of DecodeResponse for an answer in which CFSSL refused the
// request (success false), as opposed to an answer that is not CFSSL's.
var ErrRefused = errors.New("CFSSL refused the request")

// cfsslResponse is CFSSL's API envelope, with the result of the sign and info endpoints.
type cfsslResponse struct {
	Success bool `json:"success"`
	Result  *struct {
		Certificate string `json:"certificate"`
	} `json:"result"`
	Errors []struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"errors"`
}

// maxMessage bounds the part of a server's message that goes into an error.
const maxMessage = 200

// DecodeResponse reads the answer of CFSSL's sign or info endpoint, {"success": true,
// "result": {"certificate": PEM}}, and returns the certificate. A refusal (success false, or an
// HTTP error status with CFSSL's envelope) wraps ErrRefused and carries CFSSL's error codes and
// messages, cut and made printable.
func DecodeResponse(status int, body []byte) (*x509.Certificate, error) {
	var r cfsslResponse
	if err := json.Unmarshal(body, &r); err != nil {
		if status/100 != 2 {
			return nil, fmt.Errorf("HTTP status %d, and the body is not CFSSL's JSON: %q", status, printable(string(body)))
		}
		return nil, fmt.Errorf("the answer is not CFSSL's JSON: %w", err)
	}
	if !r.Success || status/100 != 2 {
		var msgs []string
		for _, e := range r.Errors {
			msgs = append(msgs, fmt.Sprintf("%d %s", e.Code, printable(e.Message)))
		}
		if len(msgs) == 0 {
			msgs = append(msgs, "no reason given")
		}
		return nil, fmt.Errorf("%w (HTTP status %d): %s", ErrRefused, status, strings.Join(msgs, "; "))
	}
	if r.Result == nil || r.Result.Certificate == "" {
		return nil, errors.New("the answer carries no result.certificate")
	}
	block, _ := pem.Decode([]byte(r.Result.Certificate))
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, errors.New("result.certificate is not a PEM CERTIFICATE")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("result.certificate: %w", err)
	}
	return cert, nil
}

// printable cuts s to maxMessage bytes of valid UTF-8 and quotes control characters, so that
// a server's message cannot forge lines in the host's log or bloat the caller's error.
func printable(s string) string {
	if len(s) > maxMessage {
		s = s[:maxMessage]
		for !utf8.ValidString(s) {
			s = s[:len(s)-1]
		}
		s += "..."
	}
	s = strings.ToValidUTF8(s, "?")
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return '?'
		}
		return r
	}, s)
}

// IdentityFromCertificate names the user by the certificate's common name.
func (b *Bridge) IdentityFromCertificate(in realmgate.CertificateInput) (realmgate.IdentityFromCertificate, error) {
	if in.CN == "" {
		return realmgate.IdentityFromCertificate{}, errors.New("the certificate has no common name")
	}
	return realmgate.IdentityFromCertificate{UserName: in.CN, DisplayName: in.CN}, nil
}

// ValidateCertificate accepts a certificate that the CFSSL CA signed and that is valid now. It
// checks the signature itself rather than asking CFSSL's certinfo endpoint, which only parses a
// certificate and says nothing about who issued it.
func (b *Bridge) ValidateCertificate(in realmgate.CertificateInput) (realmgate.Valid, error) {
	ca, err := b.caCert()
	if err != nil {
		return realmgate.Valid{}, err
	}
	der, err := base64.StdEncoding.DecodeString(in.Base64)
	if err != nil {
		return realmgate.Verdict(false), nil
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return realmgate.Verdict(false), nil
	}
	now := b.now()
	ok := bytes.Equal(cert.RawIssuer, ca.RawSubject) && cert.CheckSignatureFrom(ca) == nil &&
		!now.Before(cert.NotBefore) && !now.After(cert.NotAfter)
	return realmgate.Verdict(ok), nil
}
