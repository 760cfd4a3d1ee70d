package adapters

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/realmgate/realmgate/internal/rfc4514"
)

// The converters below build the objects a PKI bridge is handed (CSR, Certificate) from the
// parsed X.509 values. They sit beside the bridge types so that the engine, which calls bridges,
// and the conformance suite, which tests them, hand a bridge the very same object. They check
// nothing: the caller has parsed and verified the CSR or certificate first.

// CSRObject describes what the host parsed from a CSR for a PKI bridge (CSRInfo): its subject
// as an RFC 4514 string and CN, its key and signature (algorithms named as in
// CertificateObject), and the names it asks for.
func CSRObject(csr *x509.CertificateRequest) CSRInfo {
	return CSRInfo{
		DN: dnString(csr.RawSubject, csr.Subject),
		CN: csr.Subject.CommonName,
		PublicKey: KeyInfo{
			Base64:    base64.StdEncoding.EncodeToString(csr.RawSubjectPublicKeyInfo),
			Algorithm: javaKeyName(csr.PublicKeyAlgorithm, csr.RawSubjectPublicKeyInfo),
		},
		Signature: SigInfo{
			Base64:    base64.StdEncoding.EncodeToString(csr.Signature),
			Algorithm: javaSignatureName(csr.SignatureAlgorithm, csr.Raw),
		},
		DNSNames: csr.DNSNames,
		Emails:   csr.EmailAddresses,
	}
}

// NewCSRInput is the input of validateCSR and generateCertificate for a CSR of the identity id:
// the documented members (the CSR's DER in base64, the identity's device, user and application)
// and the host's own (what it parsed from the CSR, the client's data).
func NewCSRInput(id IdentityInput, csr *x509.CertificateRequest) CSRInput {
	return CSRInput{
		DeviceID:     id.DeviceID,
		CSR:          base64.StdEncoding.EncodeToString(csr.Raw),
		UserIdentity: id.UserIdentity,
		AppID:        id.AppID,
		CSRInfo:      CSRObject(csr),
		ClientData:   id.ClientData,
	}
}

// NewCertificateInput is the input of getIdentityFromCertificate and validateCertificate: the
// certificate object and the client's data.
func NewCertificateInput(cert *x509.Certificate, cd ClientData) CertificateInput {
	return CertificateInput{Certificate: CertificateObject(cert), ClientData: cd}
}

// CertificateObject builds Worklight's certificate object (PROTOCOL.md section 7) from a
// certificate: its key (base64 SubjectPublicKeyInfo, "EC"/"RSA"/"Ed25519"), its signature
// (base64, "SHA256withECDSA", "SHA256withRSA", ... as java.security names them),
// version (1 to 3), issuer and subject as RFC 4514 strings with their CNs, validity in Unix
// seconds, serial number in lower-case hex ("-" first if negative), the DER in base64, and the
// X.509 v2 unique identifiers in lower-case hex when the certificate has them.
func CertificateObject(cert *x509.Certificate) Certificate {
	issuerUID, subjectUID := uniqueIDs(cert.RawTBSCertificate)
	serial := ""
	if cert.SerialNumber != nil {
		serial = cert.SerialNumber.Text(16)
	}
	return Certificate{
		PublicKey: KeyInfo{
			Base64:    base64.StdEncoding.EncodeToString(cert.RawSubjectPublicKeyInfo),
			Algorithm: javaKeyName(cert.PublicKeyAlgorithm, cert.RawSubjectPublicKeyInfo),
		},
		Signature: SigInfo{
			Base64:    base64.StdEncoding.EncodeToString(cert.Signature),
			Algorithm: javaSignatureName(cert.SignatureAlgorithm, cert.Raw),
		},
		SubjectUniqueID: subjectUID,
		Version:         cert.Version,
		Issuer: Issuer{
			DN:       dnString(cert.RawIssuer, cert.Issuer),
			CN:       cert.Issuer.CommonName,
			UniqueID: issuerUID,
		},
		DN:           dnString(cert.RawSubject, cert.Subject),
		CN:           cert.Subject.CommonName,
		Valid:        Validity{NotBefore: cert.NotBefore.Unix(), NotAfter: cert.NotAfter.Unix()},
		SerialNumber: serial,
		Base64:       base64.StdEncoding.EncodeToString(cert.Raw),
	}
}

// dnString renders a DER Name as an RFC 4514 string (rfc4514.Format), falling back to the
// parsed name when raw does not parse.
func dnString(raw []byte, parsed pkix.Name) string {
	if s, err := rfc4514.Format(raw); err == nil {
		return s
	}
	return parsed.String()
}

// uniqueIDs returns the hex of the issuerUniqueID and subjectUniqueID bit strings of a
// TBSCertificate (RFC 5280 section 4.1.2.8), which crypto/x509 skips; "" when absent.
func uniqueIDs(tbs []byte) (issuer, subject string) {
	in := cryptobyte.String(tbs)
	var s cryptobyte.String
	if !in.ReadASN1(&s, cbasn1.SEQUENCE) ||
		!s.SkipOptionalASN1(cbasn1.Tag(0).Constructed().ContextSpecific()) || // version
		!s.SkipASN1(cbasn1.INTEGER) || // serialNumber
		!s.SkipASN1(cbasn1.SEQUENCE) || // signature
		!s.SkipASN1(cbasn1.SEQUENCE) || // issuer
		!s.SkipASN1(cbasn1.SEQUENCE) || // validity
		!s.SkipASN1(cbasn1.SEQUENCE) || // subject
		!s.SkipASN1(cbasn1.SEQUENCE) { // subjectPublicKeyInfo
		return "", ""
	}
	read := func(tag cbasn1.Tag) string {
		var v cryptobyte.String
		var present bool
		// IMPLICIT BIT STRING: the first content octet counts unused bits.
		if !s.ReadOptionalASN1(&v, &present, tag) || !present || len(v) == 0 {
			return ""
		}
		return hex.EncodeToString(v[1:])
	}
	issuer = read(cbasn1.Tag(1).ContextSpecific())
	subject = read(cbasn1.Tag(2).ContextSpecific())
	return issuer, subject
}
