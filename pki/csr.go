package pki

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"strings"
	"unicode/utf8"
)

// MaxCSRSize bounds the DER of a CSR: an RSA 8192 request with a long subject and a few
// extensions stays well under it.
const MaxCSRSize = 16 << 10

// ParseCSR parses a DER PKCS#10 request of at most MaxCSRSize bytes, checks its self-signature
// and its key (ECDSA P-256/P-384, RSA 2048 to 8192 bits, Ed25519). Errors match ErrMalformed (or
// ErrTooLarge), ErrBadSignature or ErrWeakKey and say what the client should change.
func ParseCSR(der []byte) (*x509.CertificateRequest, error) {
	if len(der) > MaxCSRSize {
		return nil, tooLarge("the CSR is %d bytes; at most %d are accepted", len(der), MaxCSRSize)
	}
	if len(der) == 0 {
		return nil, errorf(ErrMalformed, "empty CSR; send the DER of a PKCS#10 request")
	}
	csr, err := x509.ParseCertificateRequest(der)
	if err != nil {
		return nil, wrapf(ErrMalformed, err, "the CSR is not DER PKCS#10 (PEM must be decoded to DER, then base64)")
	}
	if err := checkPublicKey(csr.PublicKey); err != nil {
		return nil, err
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, wrapf(ErrBadSignature, err, "the CSR is not signed by the private key of the public key it carries")
	}
	return csr, nil
}

// Requirements are what a CSR's subject must hold, as a PKI bridge's getCSRRequirements names
// them (adapters.CSRRequirements, whose additionalAttributes are advisory and have no
// counterpart here). The package declares its own type so that it needs nothing of the adapter
// contract; the caller copies the two fields.
type Requirements struct {
	// CommonName is the one CN the subject must have.
	CommonName string
	// AdditionalSubject is an RFC 4514 string of further RDNs, such as "O=Example,OU=Mobile".
	AdditionalSubject string
}

// CheckRequirements checks a CSR's subject against what a PKI bridge's getCSRRequirements asked
// for: exactly one CN, equal to req.CommonName, and every attribute of req.AdditionalSubject
// (an RFC 4514 string such as "O=Example,OU=Mobile"). A multi-valued RDN ("O=A+OU=B") must appear
// as one RDN of the subject holding at least those attributes. Attribute types compare without
// regard to case ("o" is "O"), values exactly. The order of RDNs, and further attributes in the
// subject, do not matter.
//
// An error matching ErrRequirements names what is missing; one matching ErrBadRequirements
// means the requirements themselves cannot be checked.
func CheckRequirements(csr *x509.CertificateRequest, req Requirements) error {
	if csr == nil {
		return errorf(ErrMalformed, "no CSR")
	}
	if req.CommonName == "" {
		return errorf(ErrBadRequirements, "no commonName")
	}
	required, err := ParseDN(req.AdditionalSubject)
	if err != nil {
		return wrapf(ErrBadRequirements, err, "additionalSubject %q", req.AdditionalSubject)
	}
	var subject pkix.RDNSequence
	if rest, err := asn1.Unmarshal(csr.RawSubject, &subject); err != nil || len(rest) != 0 {
		return errorf(ErrMalformed, "the CSR subject does not parse")
	}
	var cns []string
	for _, rdn := range subject {
		for _, atv := range rdn {
			if atv.Type.Equal(oidCommonName) {
				s, _ := atv.Value.(string)
				cns = append(cns, s)
			}
		}
	}
	switch {
	case len(cns) == 0:
		return errorf(ErrRequirements, "the subject has no CN; put CN=%s in it", escapeValue(req.CommonName))
	case len(cns) > 1:
		return errorf(ErrRequirements, "the subject has %d CNs; put exactly one, CN=%s", len(cns), escapeValue(req.CommonName))
	case cns[0] != req.CommonName:
		return errorf(ErrRequirements, "the subject's CN is %q; it must be %q", cns[0], req.CommonName)
	}
	var missing []string
	for i := len(required) - 1; i >= 0; i-- { // in the order of the string
		if !hasRDN(subject, required[i]) {
			missing = append(missing, pkix.RDNSequence{required[i]}.String())
		}
	}
	if len(missing) > 0 {
		return errorf(ErrRequirements, "the subject %q lacks %s", subject.String(), strings.Join(missing, ", "))
	}
	return nil
}

// RequiredSubject is the subject of a certificate issued to a PKI bridge's requirements, in DER
// order: the RDNs of req.AdditionalSubject, then CN=req.CommonName as the most specific RDN
// ("CN=<commonName>,<additionalSubject>" as a string), and nothing else. A CSR that passed
// CheckRequirements may hold more; an issuer that signs this subject instead of the CSR's gives
// the client no say in it. Errors match ErrBadRequirements: no common name, an additional
// subject that does not parse or that holds a CN of its own.
func RequiredSubject(req Requirements) (pkix.RDNSequence, error) {
	switch {
	case req.CommonName == "":
		return nil, errorf(ErrBadRequirements, "no commonName")
	case !utf8.ValidString(req.CommonName):
		return nil, errorf(ErrBadRequirements, "the commonName is not UTF-8")
	}
	extra, err := ParseDN(req.AdditionalSubject)
	if err != nil {
		return nil, wrapf(ErrBadRequirements, err, "additionalSubject %q", req.AdditionalSubject)
	}
	for _, rdn := range extra {
		for _, atv := range rdn {
			if atv.Type.Equal(oidCommonName) {
				return nil, errorf(ErrBadRequirements, "additionalSubject %q holds a CN; the common name is commonName alone", req.AdditionalSubject)
			}
		}
	}
	cn := pkix.RelativeDistinguishedNameSET{{Type: oidCommonName, Value: req.CommonName}}
	return append(extra, cn), nil
}

// hasRDN reports whether some RDN of subject holds every attribute of want.
func hasRDN(subject pkix.RDNSequence, want pkix.RelativeDistinguishedNameSET) bool {
	for _, rdn := range subject {
		all := true
		for _, w := range want {
			if !hasATV(rdn, w) {
				all = false
				break
			}
		}
		if all {
			return true
		}
	}
	return false
}

func hasATV(rdn pkix.RelativeDistinguishedNameSET, w pkix.AttributeTypeAndValue) bool {
	for _, atv := range rdn {
		if s, ok := atv.Value.(string); ok && atv.Type.Equal(w.Type) && s == w.Value {
			return true
		}
	}
	return false
}
