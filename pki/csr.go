package pki

import (
	"crypto/subtle"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"maps"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/realmgate/realmgate/internal/pkcs9"
	"github.com/realmgate/realmgate/internal/rfc4514"
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

// Requirements are what a CSR must hold, as a PKI bridge's getCSRRequirements names them
// (adapters.CSRRequirements). The package declares its own type so that it needs nothing of the
// adapter contract; the caller copies the fields.
type Requirements struct {
	// CommonName is the one CN the subject must have.
	CommonName string
	// AdditionalSubject maps RDN attribute types (O, OU, C, ... in any case, or dotted OIDs) to
	// the value the subject must hold: {"O": "IBM", "OU": "Mobile"} (rfc4514.RDNs).
	AdditionalSubject map[string]string
	// AdditionalAttributes maps PKCS #9 attribute names (challengePassword, unstructuredName,
	// unstructuredAddress, in any case) or dotted OIDs to the one string value the CSR must
	// carry in that attribute.
	AdditionalAttributes map[string]string
}

// CheckRequirements checks a CSR against what a PKI bridge's getCSRRequirements asked for:
// exactly one CN in the subject, equal to req.CommonName; every attribute of
// req.AdditionalSubject in some RDN of the subject (alone or in a multi-valued RDN); and every
// attribute of req.AdditionalAttributes among the CSR's attributes, once, with exactly one
// string value, the one asked for. Attribute types and names compare without regard to case
// ("o" is "O"), values exactly. The order of RDNs, and further attributes of the subject or the
// request, do not matter.
//
// An error matching ErrRequirements names what is missing (never an attribute's value: a
// challengePassword is a secret); one matching ErrBadRequirements means the requirements
// themselves cannot be checked.
func CheckRequirements(csr *x509.CertificateRequest, req Requirements) error {
	if csr == nil {
		return errorf(ErrMalformed, "no CSR")
	}
	if err := ValidateRequirements(req); err != nil {
		return err
	}
	required, err := additionalSubject(req)
	if err != nil {
		return err
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
	for i := len(required) - 1; i >= 0; i-- { // most specific first, as the string form reads
		if !hasRDN(subject, required[i]) {
			missing = append(missing, pkix.RDNSequence{required[i]}.String())
		}
	}
	if len(missing) > 0 {
		return errorf(ErrRequirements, "the subject %q lacks %s", subject.String(), strings.Join(missing, ", "))
	}
	if len(req.AdditionalAttributes) == 0 {
		return nil
	}
	attrs, err := csrAttributes(csr.RawTBSCertificateRequest)
	if err != nil {
		return err
	}
	return checkAttributes(attrs, req.AdditionalAttributes)
}

// ValidateRequirements checks that requirements can be enforced on a CSR: a common name, an
// additional subject that rfc4514.RDNs builds and that holds no CN, additional attributes that
// pkcs9.AttributeOID names, each once, with a value of 1 to 1024 bytes of UTF-8. Errors match
// ErrBadRequirements and say what is wrong with the requirements.
func ValidateRequirements(req Requirements) error {
	if req.CommonName == "" {
		return errorf(ErrBadRequirements, "no commonName")
	}
	if _, err := additionalSubject(req); err != nil {
		return err
	}
	_, err := requiredAttributes(req.AdditionalAttributes)
	return err
}

// additionalSubject resolves req.AdditionalSubject (rfc4514.RDNs), which may not hold a CN: the
// common name is commonName alone.
func additionalSubject(req Requirements) (pkix.RDNSequence, error) {
	seq, err := rfc4514.RDNs(req.AdditionalSubject)
	if err != nil {
		return nil, wrapf(ErrBadRequirements, err, "additionalSubject")
	}
	for _, rdn := range seq {
		for _, atv := range rdn {
			if atv.Type.Equal(oidCommonName) {
				return nil, errorf(ErrBadRequirements, "additionalSubject holds a CN; the common name is commonName alone")
			}
		}
	}
	return seq, nil
}

// RequiredSubject is the subject of a certificate issued to a PKI bridge's requirements, in DER
// order: the RDNs of req.AdditionalSubject (rfc4514.RDNs: one attribute each, the most general
// first), then CN=req.CommonName as the most specific RDN ("CN=<commonName>,<additionalSubject>"
// as a string), and nothing else; req.AdditionalAttributes are the request's, never the
// certificate's. A CSR that passed CheckRequirements may hold more; an issuer that signs this
// subject instead of the CSR's gives the client no say in it. Errors match ErrBadRequirements:
// no common name, an additional subject that cannot be built or that holds a CN of its own.
func RequiredSubject(req Requirements) (pkix.RDNSequence, error) {
	switch {
	case req.CommonName == "":
		return nil, errorf(ErrBadRequirements, "no commonName")
	case !utf8.ValidString(req.CommonName):
		return nil, errorf(ErrBadRequirements, "the commonName is not UTF-8")
	}
	extra, err := additionalSubject(req)
	if err != nil {
		return nil, err
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

// maxRequiredAttributes bounds additionalAttributes.
const maxRequiredAttributes = 16

// requiredAttributes resolves the names of additionalAttributes (pkcs9.AttributeOID) and checks
// their values: 1 to 1024 bytes of UTF-8, each type named once.
func requiredAttributes(want map[string]string) (map[string]asn1.ObjectIdentifier, error) {
	if len(want) > maxRequiredAttributes {
		return nil, errorf(ErrBadRequirements, "%d additionalAttributes; at most %d", len(want), maxRequiredAttributes)
	}
	oids := make(map[string]asn1.ObjectIdentifier, len(want))
	byOID := make(map[string]string, len(want))
	for _, name := range slices.Sorted(maps.Keys(want)) {
		oid, err := pkcs9.AttributeOID(name)
		if err != nil {
			return nil, wrapf(ErrBadRequirements, err, "additionalAttributes")
		}
		if other, ok := byOID[oid.String()]; ok {
			return nil, errorf(ErrBadRequirements, "additionalAttributes names %s twice (%q and %q)", oid, other, name)
		}
		byOID[oid.String()] = name
		switch v := want[name]; {
		case v == "":
			return nil, errorf(ErrBadRequirements, "additionalAttributes: the value of %s is empty", name)
		case len(v) > 1024 || !utf8.ValidString(v):
			return nil, errorf(ErrBadRequirements, "additionalAttributes: the value of %s is not 1 to 1024 bytes of UTF-8", name)
		}
		oids[name] = oid
	}
	return oids, nil
}

// checkAttributes checks that attrs, a CSR's attributes, hold every attribute of want
// (requiredAttributes) once, with the one string value asked for.
func checkAttributes(attrs []csrAttribute, want map[string]string) error {
	oids, err := requiredAttributes(want)
	if err != nil {
		return err
	}
	for _, name := range slices.Sorted(maps.Keys(want)) {
		var found []csrAttribute
		for _, a := range attrs {
			if a.oid.Equal(oids[name]) {
				found = append(found, a)
			}
		}
		switch {
		case len(found) == 0:
			return errorf(ErrRequirements, "the CSR lacks the attribute %s that csrRequirements.additionalAttributes asks for", name)
		case len(found) > 1:
			return errorf(ErrRequirements, "the CSR holds the attribute %s more than once", name)
		case len(found[0].values) != 1:
			return errorf(ErrRequirements, "the CSR's %s holds %d values; it must hold one", name, len(found[0].values))
		}
		s, ok := attributeString(found[0].values[0])
		switch {
		case !ok:
			return errorf(ErrRequirements, "the CSR's %s is not a string", name)
		case subtle.ConstantTimeCompare([]byte(s), []byte(want[name])) != 1:
			return errorf(ErrRequirements, "the CSR's %s is not the value csrRequirements.additionalAttributes gives", name)
		}
	}
	return nil
}

// csrAttribute is an attribute of a PKCS #10 request: its type and its values, as DER.
type csrAttribute struct {
	oid    asn1.ObjectIdentifier
	values []asn1.RawValue
}

// csrAttributes reads the attributes of a CertificationRequestInfo (RFC 2986 section 4.1),
// which crypto/x509 skips unless they are extension requests. Errors match ErrMalformed.
func csrAttributes(tbs []byte) ([]csrAttribute, error) {
	var info struct {
		Version    int
		Subject    asn1.RawValue
		PublicKey  asn1.RawValue
		Attributes []asn1.RawValue `asn1:"tag:0"`
	}
	if rest, err := asn1.Unmarshal(tbs, &info); err != nil || len(rest) != 0 {
		return nil, errorf(ErrMalformed, "the CSR's attributes do not parse")
	}
	out := make([]csrAttribute, 0, len(info.Attributes))
	for _, raw := range info.Attributes {
		var a struct {
			Type   asn1.ObjectIdentifier
			Values []asn1.RawValue `asn1:"set"`
		}
		if rest, err := asn1.Unmarshal(raw.FullBytes, &a); err != nil || len(rest) != 0 {
			return nil, errorf(ErrMalformed, "an attribute of the CSR does not parse")
		}
		out = append(out, csrAttribute{oid: a.Type, values: a.Values})
	}
	return out, nil
}

// attributeString reads a string value of an attribute: any of the ASN.1 string types a
// DirectoryString or an IA5String may be.
func attributeString(v asn1.RawValue) (string, bool) {
	if v.Class != asn1.ClassUniversal {
		return "", false
	}
	switch v.Tag {
	case asn1.TagUTF8String, asn1.TagPrintableString, asn1.TagIA5String, asn1.TagBMPString, asn1.TagT61String:
	default:
		return "", false
	}
	var s string
	if rest, err := asn1.Unmarshal(v.FullBytes, &s); err != nil || len(rest) != 0 {
		return "", false
	}
	return s, true
}
