package client

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"sort"
	"strings"

	"github.com/realmgate/realmgate/internal/rfc4514"
)

// newKey makes the key pair of a new credential: ECDSA P-256, as PROTOCOL.md section 5 asks.
func newKey() (*ecdsa.PrivateKey, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("realmgate: generating a key pair: %w", err)
	}
	return k, nil
}

// csrRequirements is what a user-certificate realm asks of the CSR subject (the PKI bridge's
// getCSRRequirements).
type csrRequirements struct {
	CommonName           string            `json:"commonName"`
	AdditionalSubject    string            `json:"additionalSubject"`
	AdditionalAttributes map[string]string `json:"additionalAttributes"`
}

// subjectFor builds the subject the requirements ask for: the RDNs of AdditionalSubject and the
// common name as the last RDN, so the subject reads "CN=<commonName>,<additionalSubject>".
// oidCommonName is the attribute type of CN.
var oidCommonName = asn1.ObjectIdentifier{2, 5, 4, 3}

func subjectFor(req csrRequirements) (pkix.RDNSequence, error) {
	if req.CommonName == "" {
		return nil, fmt.Errorf("%w: the CSR requirements name no commonName", ErrMalformedResponse)
	}
	seq, err := rfc4514.ParseDN(req.AdditionalSubject)
	if err != nil {
		return nil, fmt.Errorf("%w: additionalSubject: %w", ErrMalformedResponse, err)
	}
	hasCN := false
	for _, rdn := range seq {
		for _, atv := range rdn {
			if atv.Type.Equal(oidCommonName) {
				if atv.Value != req.CommonName {
					return nil, fmt.Errorf("%w: additionalSubject holds a CN other than commonName", ErrMalformedResponse)
				}
				hasCN = true
			}
		}
	}
	if !hasCN {
		seq = append(seq, pkix.RelativeDistinguishedNameSET{{Type: oidCommonName, Value: req.CommonName}})
	}
	return seq, nil
}

// PKCS #9 attribute types a CSR may carry by name in additionalAttributes.
var csrAttributeTypes = map[string]asn1.ObjectIdentifier{
	"challengepassword": {1, 2, 840, 113549, 1, 9, 7},
	"unstructuredname":  {1, 2, 840, 113549, 1, 9, 2},
}

var oidExtensionRequest = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 14}

const maxCSRAttributes = 16

// csrAttribute is a PKCS #10 attribute with one string value.
type csrAttribute struct {
	Type  asn1.ObjectIdentifier
	Value string
}

// csrAttributes resolves additionalAttributes: names of PKCS #9 attributes (challengePassword,
// unstructuredName) or dotted OIDs, each with one string value.
func csrAttributes(attrs map[string]string) ([]csrAttribute, error) {
	if len(attrs) > maxCSRAttributes {
		return nil, fmt.Errorf("%w: %d additionalAttributes (at most %d)", ErrMalformedResponse, len(attrs), maxCSRAttributes)
	}
	out := make([]csrAttribute, 0, len(attrs))
	for name, value := range attrs {
		oid, ok := csrAttributeTypes[strings.ToLower(name)]
		if !ok {
			var err error
			if name == "" || name[0] < '0' || name[0] > '9' {
				return nil, fmt.Errorf("%w: CSR attribute %q; this client knows challengePassword, unstructuredName and dotted OIDs",
					ErrUnsupportedChallenge, sanitize(name, 64))
			}
			if oid, err = rfc4514.AttributeOID(name); err != nil {
				return nil, fmt.Errorf("%w: CSR attribute: %w", ErrMalformedResponse, err)
			}
		}
		if oid.Equal(oidExtensionRequest) {
			return nil, fmt.Errorf("%w: CSR attribute extensionRequest cannot be given as a string", ErrUnsupportedChallenge)
		}
		if len(value) > 1024 || !validUTF8NoControls(value) {
			return nil, fmt.Errorf("%w: the value of CSR attribute %q", ErrMalformedResponse, sanitize(name, 64))
		}
		out = append(out, csrAttribute{oid, value})
	}
	return out, nil
}

// buildCSR makes a DER PKCS #10 request for key with exactly the given subject and attributes,
// signed ECDSA with SHA-256.
func buildCSR(key *ecdsa.PrivateKey, subject pkix.RDNSequence, attrs []csrAttribute) ([]byte, error) {
	rawSubject, err := asn1.Marshal(subject)
	if err != nil {
		return nil, fmt.Errorf("realmgate: CSR subject: %w", err)
	}
	if len(attrs) == 0 {
		der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
			RawSubject:         rawSubject,
			SignatureAlgorithm: x509.ECDSAWithSHA256,
		}, key)
		if err != nil {
			return nil, fmt.Errorf("realmgate: CSR: %w", err)
		}
		return der, nil
	}
	// crypto/x509 writes attributes only in the shape of extensionRequest, so a request with
	// string attributes (challengePassword, ...) is put together here.
	spki, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		return nil, fmt.Errorf("realmgate: CSR key: %w", err)
	}
	encoded := make([][]byte, len(attrs))
	for i, a := range attrs {
		v, err := asn1.MarshalWithParams(a.Value, "utf8")
		if err != nil {
			return nil, fmt.Errorf("realmgate: CSR attribute: %w", err)
		}
		if encoded[i], err = asn1.Marshal(struct {
			Type   asn1.ObjectIdentifier
			Values []asn1.RawValue `asn1:"set"`
		}{a.Type, []asn1.RawValue{{FullBytes: v}}}); err != nil {
			return nil, fmt.Errorf("realmgate: CSR attribute: %w", err)
		}
	}
	sort.Slice(encoded, func(i, j int) bool { return bytes.Compare(encoded[i], encoded[j]) < 0 }) // DER SET OF order
	var set []byte
	for _, e := range encoded {
		set = append(set, e...)
	}
	tbs, err := asn1.Marshal(struct {
		Version    int
		Subject    asn1.RawValue
		PublicKey  asn1.RawValue
		Attributes asn1.RawValue
	}{
		0,
		asn1.RawValue{FullBytes: rawSubject},
		asn1.RawValue{FullBytes: spki},
		asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: set},
	})
	if err != nil {
		return nil, fmt.Errorf("realmgate: CSR: %w", err)
	}
	digest := sha256.Sum256(tbs)
	sig, err := ecdsa.SignASN1(rand.Reader, key, digest[:])
	if err != nil {
		return nil, fmt.Errorf("realmgate: signing the CSR: %w", err)
	}
	der, err := asn1.Marshal(struct {
		TBS       asn1.RawValue
		Algorithm pkix.AlgorithmIdentifier
		Signature asn1.BitString
	}{
		asn1.RawValue{FullBytes: tbs},
		pkix.AlgorithmIdentifier{Algorithm: asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}}, // ecdsa-with-SHA256
		asn1.BitString{Bytes: sig, BitLength: 8 * len(sig)},
	})
	if err != nil {
		return nil, fmt.Errorf("realmgate: CSR: %w", err)
	}
	return der, nil
}
