package client

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"

	"github.com/realmgate/realmgate/internal/pkcs10"
	"github.com/realmgate/realmgate/internal/pkcs9"
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

// csrRequirements is what a user-certificate realm asks of the CSR (the PKI bridge's
// getCSRRequirements): the common name, further subject attributes as an object of RDN type to
// value ({"O": "IBM"}), and PKCS #9 attributes by name ({"challengePassword": "..."}).
type csrRequirements struct {
	CommonName           string            `json:"commonName"`
	AdditionalSubject    map[string]string `json:"additionalSubject"`
	AdditionalAttributes map[string]string `json:"additionalAttributes"`
}

// oidCommonName is the attribute type of CN.
var oidCommonName = asn1.ObjectIdentifier{2, 5, 4, 3}

// subjectFor builds the subject the requirements ask for, as the server checks it: the
// attributes of AdditionalSubject, one RDN each, the most general first (rfc4514.RDNs), and the
// common name as the last RDN, so the subject reads "CN=<commonName>,<additionalSubject>".
func subjectFor(req csrRequirements) (pkix.RDNSequence, error) {
	if req.CommonName == "" {
		return nil, fmt.Errorf("%w: the CSR requirements name no commonName", ErrMalformedResponse)
	}
	seq, err := rfc4514.RDNs(req.AdditionalSubject)
	if err != nil {
		return nil, fmt.Errorf("%w: additionalSubject: %w", ErrMalformedResponse, err)
	}
	for _, rdn := range seq {
		if rdn[0].Type.Equal(oidCommonName) {
			return nil, fmt.Errorf("%w: additionalSubject holds a CN; the common name is commonName alone", ErrMalformedResponse)
		}
	}
	return append(seq, pkix.RelativeDistinguishedNameSET{{Type: oidCommonName, Value: req.CommonName}}), nil
}

const maxCSRAttributes = 16

// csrAttributes resolves additionalAttributes: names of PKCS #9 attributes (challengePassword,
// unstructuredName, unstructuredAddress) or dotted OIDs, each with one string value.
func csrAttributes(attrs map[string]string) ([]pkcs10.Attribute, error) {
	if len(attrs) > maxCSRAttributes {
		return nil, fmt.Errorf("%w: %d additionalAttributes (at most %d)", ErrMalformedResponse, len(attrs), maxCSRAttributes)
	}
	out := make([]pkcs10.Attribute, 0, len(attrs))
	for name, value := range attrs {
		oid, err := pkcs9.AttributeOID(name)
		switch {
		case errors.Is(err, pkcs9.ErrUnsupported):
			return nil, fmt.Errorf("%w: CSR attribute %q; this client knows challengePassword, unstructuredName, unstructuredAddress and dotted OIDs",
				ErrUnsupportedChallenge, sanitize(name, 64))
		case err != nil:
			return nil, fmt.Errorf("%w: CSR attribute: %w", ErrMalformedResponse, err)
		}
		if len(value) > 1024 || !validUTF8NoControls(value) {
			return nil, fmt.Errorf("%w: the value of CSR attribute %q", ErrMalformedResponse, sanitize(name, 64))
		}
		out = append(out, pkcs10.Attribute{Type: oid, Value: value})
	}
	return out, nil
}

// buildCSR makes a DER PKCS #10 request for key with exactly the given subject and attributes,
// signed ECDSA with SHA-256.
func buildCSR(key *ecdsa.PrivateKey, subject pkix.RDNSequence, attrs []pkcs10.Attribute) ([]byte, error) {
	der, err := pkcs10.New(key, subject, attrs)
	if err != nil {
		return nil, fmt.Errorf("realmgate: %w", err)
	}
	return der, nil
}
