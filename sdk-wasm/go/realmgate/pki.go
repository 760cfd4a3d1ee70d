package realmgate

import (
	"fmt"
	"strings"
)

// The PKI-bridge types: the JSON inputs and outputs of the seven procedures the PKI bridge
// calls (Worklight's adapter-based PKI bridge). They mirror the host's adapters/pki.go field for
// field; a host-side test compares the two so that they cannot drift.

// Verdicts.
const (
	Yes                     = "YES"
	No                      = "NO"
	NoUseDependentRealmOnly = "NO_USE_DEPENDENT_REALM_ONLY"
)

// InitInput is the input of init: the realm definition's parameters as one flat object,
// parameter name to value, as Worklight's documentation gives it. init runs on an instance
// before its first other bridge procedure (and again when the parameters change), so that the
// instance can configure itself once.
type InitInput map[string]string

// UserIdentity is Worklight's standard user identity, as the dependent realm proved it.
type UserIdentity struct {
	UserName    string         `json:"userName"`
	DisplayName string         `json:"displayName"`
	Attributes  map[string]any `json:"attributes"`
}

// ClientData is what the client sent with its answer beyond the protocol's own fields, for
// example the MDM activation code ("activationCode"): a member the host adds to the documented
// inputs.
type ClientData map[string]any

// IdentityInput is the input of validateIdentity and getCSRRequirements: Worklight's user
// certificate identity {"deviceId", "userIdentity", "appId"}, plus the host's clientData.
type IdentityInput struct {
	DeviceID     string       `json:"deviceId"`
	UserIdentity UserIdentity `json:"userIdentity"`
	AppID        string       `json:"appId"`
	ClientData   ClientData   `json:"clientData,omitempty"`
}

// Valid is the output of validateIdentity ("YES", "NO", "NO_USE_DEPENDENT_REALM_ONLY"),
// validateCSR and validateCertificate ("YES", "NO").
type Valid struct {
	Valid string `json:"valid"`
}

// CSRRequirements is the output of getCSRRequirements: what the client must put into its CSR.
// AdditionalSubject maps RDN types to values ({"O": "IBM", "OU": "Mobile"}); AdditionalAttributes
// maps PKCS #9 attribute names (challengePassword, unstructuredName, unstructuredAddress) or
// dotted OIDs to the value the CSR must carry. The host enforces all of them on the CSR.
type CSRRequirements struct {
	CommonName           string            `json:"commonName"`
	AdditionalSubject    map[string]string `json:"additionalSubject,omitempty"`
	AdditionalAttributes map[string]string `json:"additionalAttributes,omitempty"`
}

// CSRInfo is what the host parsed from a CSR, so that a guest need not parse PKCS#10 itself.
// The host has already checked the CSR's self-signature and the requirements.
type CSRInfo struct {
	DN        string   `json:"dn"`
	CN        string   `json:"cn"`
	PublicKey KeyInfo  `json:"publicKey"`
	Signature SigInfo  `json:"signature"`
	DNSNames  []string `json:"dnsNames,omitempty"`
	Emails    []string `json:"emails,omitempty"`
}

// CSRInput is the input of validateCSR and generateCertificate: the documented members (CSR is
// the base64 of the request's DER) and the host's own, csrInfo and clientData.
type CSRInput struct {
	DeviceID     string       `json:"deviceId"`
	CSR          string       `json:"csr"`
	UserIdentity UserIdentity `json:"userIdentity"`
	AppID        string       `json:"appId"`
	CSRInfo      CSRInfo      `json:"csrInfo"`
	ClientData   ClientData   `json:"clientData,omitempty"`
}

// GeneratedCertificate is the output of generateCertificate: the DER certificate, base64.
type GeneratedCertificate struct {
	CertificateBase64 string `json:"certificateBase64"`
}

// KeyInfo describes a public key: base64 of its DER SubjectPublicKeyInfo and its algorithm
// as java.security names it ("EC", "RSA", "Ed25519").
type KeyInfo struct {
	Base64    string `json:"base64"`
	Algorithm string `json:"algorithm"`
}

// SigInfo describes a signature: base64 of its bytes and its algorithm as java.security names it
// ("SHA256withECDSA", "SHA256withRSA", "Ed25519", ...).
type SigInfo struct {
	Base64    string `json:"base64,omitempty"`
	Algorithm string `json:"algorithm"`
}

// Issuer is the issuer part of Certificate.
type Issuer struct {
	DN       string `json:"dn"`
	CN       string `json:"cn"`
	UniqueID string `json:"uniqueId,omitempty"`
}

// Validity is the validity period of Certificate, in Unix seconds.
type Validity struct {
	NotBefore int64 `json:"notBefore"`
	NotAfter  int64 `json:"notAfter"`
}

// Certificate is the certificate object Worklight hands to getIdentityFromCertificate and
// validateCertificate, built from the real X.509 certificate. SerialNumber is hex.
type Certificate struct {
	PublicKey       KeyInfo  `json:"publicKey"`
	Signature       SigInfo  `json:"signature"`
	SubjectUniqueID string   `json:"subjectUniqueId,omitempty"`
	Version         int      `json:"version"`
	Issuer          Issuer   `json:"issuer"`
	DN              string   `json:"dn"`
	CN              string   `json:"cn"`
	Valid           Validity `json:"valid"`
	SerialNumber    string   `json:"serialNumber"`
	Base64          string   `json:"base64"`
}

// CertificateInput is the input of getIdentityFromCertificate and validateCertificate: the
// certificate object itself, as documented, and the host's clientData.
type CertificateInput struct {
	Certificate
	ClientData ClientData `json:"clientData,omitempty"`
}

// IdentityFromCertificate is the output of getIdentityFromCertificate.
type IdentityFromCertificate struct {
	UserName    string         `json:"userName"`
	DisplayName string         `json:"displayName,omitempty"`
	Attributes  map[string]any `json:"attributes,omitempty"`
	AppID       string         `json:"appID,omitempty"`
	DeviceID    string         `json:"deviceId,omitempty"`
}

// ParseSubject reads a subject setting of the form "O=Example,OU=Mobile" into the object
// getCSRRequirements answers as additionalSubject ({"O": "Example", "OU": "Mobile"}): TYPE=VALUE
// pairs separated by commas, spaces around them ignored. A value cannot hold a comma; an empty
// string is no attributes (nil).
func ParseSubject(s string) (map[string]string, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	out := map[string]string{}
	for _, part := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(part, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || k == "" || v == "" {
			return nil, fmt.Errorf("subject %q: %q is not TYPE=VALUE", s, strings.TrimSpace(part))
		}
		if _, dup := out[k]; dup {
			return nil, fmt.Errorf("subject %q names %s twice", s, k)
		}
		out[k] = v
	}
	return out, nil
}

// Verdict returns Valid{Yes} when ok, else Valid{No}.
func Verdict(ok bool) Valid {
	if ok {
		return Valid{Valid: Yes}
	}
	return Valid{Valid: No}
}

// The typed helpers below serve one PKI-bridge procedure each; export them under the procedure
// names the realm configures (adapter-pki-bridge-<role>-procedure), conventionally:
//
//	//go:wasmexport realmgate_proc_generateCertificate
//	func generateCertificate(ptr, size uint32) uint64 {
//		return realmgate.GenerateCertificate(ptr, size, bridge.generate)
//	}

// Init serves init: the realm's parameters (one flat object), once per instance and parameter
// set, before the instance's first other PKI-bridge procedure. Its output is an empty object.
func Init(ptr, size uint32, f func(InitInput) error) uint64 {
	return Handle(ptr, size, func(in InitInput) (struct{}, error) { return struct{}{}, f(in) })
}

// ValidateIdentity serves validateIdentity: Yes, No or NoUseDependentRealmOnly.
func ValidateIdentity(ptr, size uint32, f func(IdentityInput) (Valid, error)) uint64 {
	return Handle(ptr, size, f)
}

// GetCSRRequirements serves getCSRRequirements: the subject the client must request.
func GetCSRRequirements(ptr, size uint32, f func(IdentityInput) (CSRRequirements, error)) uint64 {
	return Handle(ptr, size, f)
}

// ValidateCSR serves validateCSR: Yes or No.
func ValidateCSR(ptr, size uint32, f func(CSRInput) (Valid, error)) uint64 {
	return Handle(ptr, size, f)
}

// GenerateCertificate serves generateCertificate: the DER certificate for the CSR, base64.
func GenerateCertificate(ptr, size uint32, f func(CSRInput) (GeneratedCertificate, error)) uint64 {
	return Handle(ptr, size, f)
}

// GetIdentityFromCertificate serves getIdentityFromCertificate: the user a certificate names.
func GetIdentityFromCertificate(ptr, size uint32, f func(CertificateInput) (IdentityFromCertificate, error)) uint64 {
	return Handle(ptr, size, f)
}

// ValidateCertificate serves validateCertificate: Yes or No.
func ValidateCertificate(ptr, size uint32, f func(CertificateInput) (Valid, error)) uint64 {
	return Handle(ptr, size, f)
}
