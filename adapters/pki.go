package adapters

// The PKI bridge is an adapter with up to seven procedures, the ones Worklight's adapter-based PKI
// bridge (com.worklight.core.auth.ext.UserCertificateAdapterBasedPKI) calls. The types below are
// their JSON inputs and outputs; every guest SDK in sdk-wasm mirrors them field for field.
//
// Each procedure's input is the JSON object Worklight's documentation of the adapter-based PKI
// bridge gives it; the host may add members of its own, under names the documentation does not
// use (clientData, csrInfo), so that a bridge written from the documentation alone works.

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

// InitInput is the input of init: the realm definition's parameters as one flat object,
// parameter name to value ({"dependent-user-auth-realm": "Login", "pki-bridge-class": "...",
// "adapter-pki-bridge-init-procedure": "PKIAdapter.init", ...}), as Worklight's documentation
// gives it. Worklight ran init before every other procedure; Realmgate runs it once per guest
// instance and parameter set, before the instance's first other bridge procedure (see [Init]),
// so that a guest configures itself once and keeps that configuration for the instance's life.
type InitInput map[string]string

// UserIdentity is Worklight's standard user identity, as the dependent realm proved it. The host
// always sends its three members (attributes {} when there are none), as Worklight did.
type UserIdentity struct {
	UserName    string         `json:"userName"`
	DisplayName string         `json:"displayName"`
	Attributes  map[string]any `json:"attributes"`
}

// ClientData is what the client sent with its answer beyond the protocol's own fields, for
// example the MDM activation code ("activationCode"), and the device of a signed payload
// ("device"). It is a member the host adds to the documented inputs, under a name the
// documentation does not use.
type ClientData map[string]any

// IdentityInput is the input of validateIdentity and getCSRRequirements: Worklight's user
// certificate identity, {"deviceId", "userIdentity": {"userName", "displayName", "attributes"},
// "appId"}, the standard user identity of the dependent realm plus the device and application it
// enrolls from (for a provisioning realm: the device, whose id is also the user name). ClientData
// is the host's own member.
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
// AdditionalSubject maps RDN types to values ({"O": "IBM", "OU": "Mobile"}; types are O, OU, C,
// L, ST, STREET, DC, UID, ... in any case, or dotted OIDs), each of which the CSR's subject must
// hold beside CN=CommonName. AdditionalAttributes maps PKCS #9 attribute names
// (challengePassword, unstructuredName, unstructuredAddress) or dotted OIDs to the one string
// value the CSR must carry in that attribute. The host enforces all three on the CSR, whatever
// validateCSR says.
type CSRRequirements struct {
	CommonName           string            `json:"commonName"`
	AdditionalSubject    map[string]string `json:"additionalSubject,omitempty"`
	AdditionalAttributes map[string]string `json:"additionalAttributes,omitempty"`
}

// CSRInfo is what the host parsed from a CSR, so that a guest need not parse PKCS#10 itself:
// its subject as an RFC 4514 string and its CN, its key and signature, and the names it asks
// for. The host has already checked the CSR's self-signature and the requirements.
type CSRInfo struct {
	DN        string   `json:"dn"`
	CN        string   `json:"cn"`
	PublicKey KeyInfo  `json:"publicKey"`
	Signature SigInfo  `json:"signature"`
	DNSNames  []string `json:"dnsNames,omitempty"`
	Emails    []string `json:"emails,omitempty"`
}

// CSRInput is the input of validateCSR, documented as {"csr"}, and of generateCertificate,
// documented as {"deviceId", "csr", "userIdentity", "appId"}: the host hands both procedures the
// same object, the documented members (CSR is the base64 of the request's DER) and its own,
// CSRInfo (what it parsed from the CSR) and ClientData.
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
// certificate object itself, as documented, and the host's own member ClientData (with the
// "device" of the signed payload that presented the certificate).
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

// DefaultValidateIdentity is the answer when no identity-validation procedure is configured.
func DefaultValidateIdentity() Valid { return Valid{Valid: Yes} }

// DefaultCSRRequirements is the answer when no csr-requirements procedure is configured: the
// common name is the user name.
func DefaultCSRRequirements(id IdentityInput) CSRRequirements {
	return CSRRequirements{CommonName: id.UserIdentity.UserName}
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
