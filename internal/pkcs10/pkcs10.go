// Package pkcs10 writes certificate signing requests (RFC 2986) with string attributes
// (challengePassword, unstructuredName, ...), which crypto/x509 cannot write: the Go client
// builds its CSRs with it, and the adapter conformance suite the CSRs it hands a PKI bridge, so
// that both meet a bridge's CSR requirements the way the server checks them.
package pkcs10

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"sort"
)

// Attribute is a request attribute with one string value (written as a UTF8String).
type Attribute struct {
	Type  asn1.ObjectIdentifier
	Value string
}

// New makes a DER PKCS #10 request for key with exactly the given subject and attributes,
// signed ECDSA with SHA-256.
func New(key *ecdsa.PrivateKey, subject pkix.RDNSequence, attrs []Attribute) ([]byte, error) {
	rawSubject, err := asn1.Marshal(subject)
	if err != nil {
		return nil, fmt.Errorf("CSR subject: %w", err)
	}
	if len(attrs) == 0 {
		der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
			RawSubject:         rawSubject,
			SignatureAlgorithm: x509.ECDSAWithSHA256,
		}, key)
		if err != nil {
			return nil, fmt.Errorf("CSR: %w", err)
		}
		return der, nil
	}
	// crypto/x509 writes attributes only in the shape of extensionRequest, so a request with
	// string attributes is put together here.
	spki, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		return nil, fmt.Errorf("CSR key: %w", err)
	}
	encoded := make([][]byte, len(attrs))
	for i, a := range attrs {
		v, err := asn1.MarshalWithParams(a.Value, "utf8")
		if err != nil {
			return nil, fmt.Errorf("CSR attribute: %w", err)
		}
		if encoded[i], err = asn1.Marshal(struct {
			Type   asn1.ObjectIdentifier
			Values []asn1.RawValue `asn1:"set"`
		}{a.Type, []asn1.RawValue{{FullBytes: v}}}); err != nil {
			return nil, fmt.Errorf("CSR attribute: %w", err)
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
		return nil, fmt.Errorf("CSR: %w", err)
	}
	digest := sha256.Sum256(tbs)
	sig, err := ecdsa.SignASN1(rand.Reader, key, digest[:])
	if err != nil {
		return nil, fmt.Errorf("signing the CSR: %w", err)
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
		return nil, fmt.Errorf("CSR: %w", err)
	}
	return der, nil
}
