package adapters

// The PKI bridge is an adapter with up to seven procedures, the ones Worklight's adapter-based PKI
// bridge (com.worklight.core.auth.ext.UserCertificateAdapterBasedPKI) calls. The types below are
// their JSON inputs and outputs; every guest SDK in sdk-wasm mirrors them field for field.
//
// Worklight passed positional arguments to JavaScript procedures; Realmgate passes one JSON object
// whose fields carry the same values under the names of those arguments.

// PKI-bridge procedure roles, as the realm parameters adapter-pki-bridge-<role>-procedure name them.
const (
	PKIInit                    = "init"
	PKIIdentityValidation      = "identity-validation"
	PKICSRRequirements         = "csr-requirements"
	PKICSRValidation           = "csr-validation"
	PKICertificateGeneration   = "certificate-generation"
	PKIIdentityFromCertificate = "identity-from-certificate"
	PKICertificateValidation   = "certificate-validation"
)

// PKIRoles lists the roles in the order of the enrollment flow.
var PKIRoles = []string{
	PKIInit, PKIIdentityValidation, PKICSRRequirements, PKICSRValidation,
	PKICertificateGeneration, PKIIdentityFromCertificate, PKICertificateValidation,
}

// PKIRequiredRoles must be configured; the others have defaults (see the Default* functions).
var PKIRequiredRoles = []string{PKICertificateGeneration}

// Verdicts.
const (
	Yes                     = "YES"
	No                      = "NO"
	NoUseDependentRealmOnly = "NO_USE_DEPENDENT_REALM_ONLY"
)

// InitInput is the input of init: the realm's name and parameters. Worklight ran init before
// every other procedure; Realmgate runs it once per guest instance and realm parameters, before
// the instance's first other bridge procedure (see [Init]), so that a guest configures itself
// once and keeps that configuration for the instance's life.
type InitInput struct {
	Realm      string            `json:"realm"`
	Parameters map[string]string `json:"parameters"`
}

// UserCertificateIdentity is Worklight's user certificate identity: the standard user identity of
// the dependent realm plus the device and application it enrolls from.
type UserCertificateIdentity struct {
	UserName    string         `json:"userName"`
	DisplayName string         `json:"displayName,omitempty"`
	Attributes  map[string]any `json:"attributes,omitempty"`
	AppID       string         `json:"appID,omitempty"`
	DeviceID    string         `json:"deviceId,omitempty"`
}

// ClientData is what the client sent with its answer beyond the protocol's own fields, for
// example the MDM activation code ("activationCode").
type ClientData map[string]any

// IdentityInput is the input of validateIdentity and getCSRRequirements.
type IdentityInput struct {
	Identity   UserCertificateIdentity `json:"identity"`
	ClientData ClientData              `json:"clientData,omitempty"`
}

// Valid is the output of validateIdentity ("YES", "NO", "NO_USE_DEPENDENT_REALM_ONLY"),
// validateCSR and validateCertificate ("YES", "NO").
type Valid struct {
	Valid string `json:"valid"`
}

// CSRRequirements is the output of getCSRRequirements: the subject the client must put into its
// CSR. AdditionalSubject is a string of RDNs such as "O=Example,OU=Mobile"; AdditionalAttributes
// are extra request attributes the client should add.
type CSRRequirements struct {
	CommonName           string            `json:"commonName"`
	AdditionalSubject    string            `json:"additionalSubject,omitempty"`
	AdditionalAttributes map[string]string `json:"additionalAttributes,omitempty"`
}

// CSR is a certificate signing request as the host hands it to a bridge: the DER bytes and what
// the host parsed from them, so that a guest need not parse PKCS#10 itself. The host has already
// checked the CSR's self-signature.
type CSR struct {
	Base64    string   `json:"base64"`
	DN        string   `json:"dn"`
	CN        string   `json:"cn"`
	PublicKey KeyInfo  `json:"publicKey"`
	Signature SigInfo  `json:"signature"`
	DNSNames  []string `json:"dnsNames,omitempty"`
	Emails    []string `json:"emails,omitempty"`
}

// CSRInput is the input of validateCSR and generateCertificate.
type CSRInput struct {
	CSR        CSR                     `json:"csr"`
	Identity   UserCertificateIdentity `json:"identity"`
	ClientData ClientData              `json:"clientData,omitempty"`
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

// CertificateInput is the input of getIdentityFromCertificate and validateCertificate.
type CertificateInput struct {
	Certificate Certificate `json:"certificate"`
	ClientData  ClientData  `json:"clientData,omitempty"`
}

// IdentityFromCertificate is the output of getIdentityFromCertificate.
type IdentityFromCertificate struct {
	UserName    string         `json:"userName"`
	DisplayName string         `json:"displayName,omitempty"`
	Attributes  map[string]any `json:"attributes,omitempty"`
	AppID       string         `json:"appID,omitempty"`
	DeviceID    string         `json:"deviceId,omitempty"`
}

// DefaultValidateIdentity is the answer when no identity-validation procedure is configured.
func DefaultValidateIdentity() Valid { return Valid{Valid: Yes} }

// DefaultCSRRequirements is the answer when no csr-requirements procedure is configured: the
// common name is the user name.
func DefaultCSRRequirements(id UserCertificateIdentity) CSRRequirements {
	return CSRRequirements{CommonName: id.UserName}
}

// DefaultValidateCSR is the answer when no csr-validation procedure is configured.
func DefaultValidateCSR() Valid { return Valid{Valid: Yes} }

// DefaultValidateCertificate is the answer when no certificate-validation procedure is configured.
func DefaultValidateCertificate() Valid { return Valid{Valid: Yes} }

// DefaultIdentityFromCertificate is the answer when no identity-from-certificate procedure is
// configured: the user name is the certificate's common name.
func DefaultIdentityFromCertificate(c Certificate) IdentityFromCertificate {
	return IdentityFromCertificate{UserName: c.CN, DisplayName: c.CN}
}
