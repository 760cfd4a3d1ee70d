package adapters

import (
	"crypto/x509"
	"encoding/asn1"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// Worklight's adapters compared the algorithms of a certificate object with the names
// java.security gives them (X509Certificate.getSigAlgName, PublicKey.getAlgorithm), so the
// objects carry those names, not Go's: "SHA256withECDSA", not "ECDSA-SHA256"; "EC", not "ECDSA".

// javaSignatureNames are Java's standard names of the signature algorithms crypto/x509 knows.
var javaSignatureNames = map[x509.SignatureAlgorithm]string{
	x509.MD2WithRSA:       "MD2withRSA",
	x509.MD5WithRSA:       "MD5withRSA",
	x509.SHA1WithRSA:      "SHA1withRSA",
	x509.SHA256WithRSA:    "SHA256withRSA",
	x509.SHA384WithRSA:    "SHA384withRSA",
	x509.SHA512WithRSA:    "SHA512withRSA",
	x509.DSAWithSHA1:      "SHA1withDSA",
	x509.DSAWithSHA256:    "SHA256withDSA",
	x509.ECDSAWithSHA1:    "SHA1withECDSA",
	x509.ECDSAWithSHA256:  "SHA256withECDSA",
	x509.ECDSAWithSHA384:  "SHA384withECDSA",
	x509.ECDSAWithSHA512:  "SHA512withECDSA",
	x509.SHA256WithRSAPSS: "RSASSA-PSS", // Java names PSS alone; the hash is in its parameters
	x509.SHA384WithRSAPSS: "RSASSA-PSS",
	x509.SHA512WithRSAPSS: "RSASSA-PSS",
	x509.PureEd25519:      "Ed25519",
}

// javaKeyNames are Java's names of the key algorithms crypto/x509 knows.
var javaKeyNames = map[x509.PublicKeyAlgorithm]string{
	x509.RSA:     "RSA",
	x509.DSA:     "DSA",
	x509.ECDSA:   "EC",
	x509.Ed25519: "Ed25519",
}

// javaOIDNames name algorithms crypto/x509 does not know but Java does, by OID.
var javaOIDNames = map[string]string{
	"1.3.101.110": "X25519",
	"1.3.101.111": "X448",
	"1.3.101.112": "Ed25519",
	"1.3.101.113": "Ed448",
}

// javaSignatureName is Java's name of a certificate's or CSR's signature algorithm. For one
// crypto/x509 does not know, it reads the algorithm's OID from signed, the DER of the
// certificate or CSR, and gives its Java name or, as Java does for an algorithm it cannot name,
// the dotted OID; "" when signed does not parse.
func javaSignatureName(alg x509.SignatureAlgorithm, signed []byte) string {
	if name, ok := javaSignatureNames[alg]; ok {
		return name
	}
	in := cryptobyte.String(signed)
	var outer cryptobyte.String
	if !in.ReadASN1(&outer, cbasn1.SEQUENCE) || !outer.SkipASN1(cbasn1.SEQUENCE) {
		return ""
	}
	return algorithmName(outer)
}

// javaKeyName is Java's name of a key algorithm; for one crypto/x509 does not know, the name of
// the OID in spki (the DER SubjectPublicKeyInfo), or the dotted OID; "" when spki does not parse.
func javaKeyName(alg x509.PublicKeyAlgorithm, spki []byte) string {
	if name, ok := javaKeyNames[alg]; ok {
		return name
	}
	in := cryptobyte.String(spki)
	var s cryptobyte.String
	if !in.ReadASN1(&s, cbasn1.SEQUENCE) {
		return ""
	}
	return algorithmName(s)
}

// algorithmName reads an AlgorithmIdentifier at the start of s and names its OID.
func algorithmName(s cryptobyte.String) string {
	var ai cryptobyte.String
	var oid asn1.ObjectIdentifier
	if !s.ReadASN1(&ai, cbasn1.SEQUENCE) || !ai.ReadASN1ObjectIdentifier(&oid) {
		return ""
	}
	if name, ok := javaOIDNames[oid.String()]; ok {
		return name
	}
	return oid.String()
}
