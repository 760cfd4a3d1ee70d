package pki

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// Bounds of signed payloads.
const (
	// MaxJWSSize bounds a compact JWS: a payload and a chain of MaxX5CCerts certificates fit.
	MaxJWSSize = 64 << 10
	// MaxX5CCerts bounds the certificates in an x5c header (leaf first).
	MaxX5CCerts = 5
	// MaxCertSize bounds the DER of one certificate in x5c or an attestation chain.
	MaxCertSize = 8 << 10
)

// acceptedAlgorithms are the only JWS algorithms accepted (PROTOCOL.md section 5).
var acceptedAlgorithms = []jose.SignatureAlgorithm{jose.ES256, jose.RS256}

// Payload is the claim set of a device's signed payload (PROTOCOL.md section 5). Unknown members
// are ignored.
type Payload struct {
	Token  string     `json:"token"`
	Device DeviceInfo `json:"device"`
	App    AppInfo    `json:"app"`
	// NewKey, in the proof of a re-provisioning only, is the KeyThumbprint of the new key the
	// device's current key hands the device over to.
	NewKey string `json:"newKey,omitempty"`
}

// DeviceInfo describes the device that signs a payload.
type DeviceInfo struct {
	ID          string `json:"id"`
	OS          string `json:"os"`
	Model       string `json:"model"`
	DisplayName string `json:"displayName"`
}

// AppInfo describes the application that signs a payload.
type AppInfo struct {
	ID          string `json:"id"`
	Version     string `json:"version"`
	Environment string `json:"environment"`
}

// VerifyX5C verifies a payload whose header carries x5c (leaf first, at most MaxX5CCerts
// certificates): the signature by the leaf's key (ES256 with a P-256 key or RS256 with an RSA key
// of 2048 bits or more), and the chain up to one of roots at now (the leaf must allow clientAuth:
// no extended key usage, anyExtendedKeyUsage and clientAuth do). It returns the payload and the
// verified chain, leaf first, root last. It does not check nonces or revocation: the caller does.
// A zero now is time.Now(). A nil roots is refused: the system roots are never used.
func VerifyX5C(jws string, roots *x509.CertPool, now time.Time) (*Payload, []*x509.Certificate, error) {
	h, err := parseHeader(jws)
	if err != nil {
		return nil, nil, err
	}
	if h.jwk != nil && h.x5c != nil {
		return nil, nil, errorf(ErrMalformed, "the header carries both x5c and jwk; send x5c alone")
	}
	if h.x5c == nil {
		return nil, nil, errorf(ErrMalformed, "the header has no x5c certificate chain")
	}
	certs, err := parseX5C(h.x5c)
	if err != nil {
		return nil, nil, err
	}
	leaf := certs[0]
	if err := checkAlgorithmKey(h.alg, leaf.PublicKey); err != nil {
		return nil, nil, fmt.Errorf("%w (the x5c leaf's key)", err)
	}
	payload, err := verifyCompact(jws, h.alg, leaf.PublicKey)
	if err != nil {
		return nil, nil, err
	}
	if roots == nil {
		return nil, nil, errorf(ErrUntrusted, "no trusted roots configured")
	}
	if now.IsZero() {
		now = time.Now()
	}
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	chains, err := leaf.Verify(x509.VerifyOptions{
		Roots:         roots,
		Intermediates: inter,
		CurrentTime:   now,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
	if err != nil {
		return nil, nil, wrapf(ErrUntrusted, err, "the x5c chain of %q", leaf.Subject.String())
	}
	return payload, chains[0], nil
}

// VerifyJWK verifies a payload whose header carries the signer's public key as "jwk" (and no
// x5c): an EC P-256 key for ES256 or an RSA key of 2048 to 4096 bits for RS256; a jwk with
// private members is refused. It returns the payload and that key (*ecdsa.PublicKey or
// *rsa.PublicKey), which the caller compares with the CSR's (SamePublicKey).
func VerifyJWK(jws string) (*Payload, crypto.PublicKey, error) {
	h, err := parseHeader(jws)
	if err != nil {
		return nil, nil, err
	}
	if h.jwk != nil && h.x5c != nil {
		return nil, nil, errorf(ErrMalformed, "the header carries both x5c and jwk; send jwk alone")
	}
	if h.jwk == nil {
		return nil, nil, errorf(ErrMalformed, "the header has no jwk public key")
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(h.jwk, &members); err != nil {
		return nil, nil, wrapf(ErrMalformed, err, "the jwk header is not a JSON object")
	}
	for _, private := range []string{"d", "p", "q", "dp", "dq", "qi", "oth", "k"} {
		if _, ok := members[private]; ok {
			return nil, nil, errorf(ErrMalformed, "the jwk header holds private key material (%q); send the public key only", private)
		}
	}
	// go-jose decodes the jwk header as it parses the JWS: that key is the one used, so the
	// header is decoded once.
	obj, err := parseCompact(jws, h.alg)
	if err != nil {
		return nil, nil, err
	}
	jwk := obj.Signatures[0].Protected.JSONWebKey
	if jwk == nil || !jwk.Valid() || !jwk.IsPublic() {
		return nil, nil, errorf(ErrMalformed, "the jwk header is not a valid public key")
	}
	key := jwk.Key
	if err := checkAlgorithmKey(h.alg, key); err != nil {
		return nil, nil, fmt.Errorf("%w (the jwk header)", err)
	}
	payload, err := verifyParsed(obj, key)
	if err != nil {
		return nil, nil, err
	}
	return payload, key, nil
}

// header is what parseHeader reads from a JWS protected header.
type header struct {
	alg string
	x5c []string        // nil when absent
	jwk json.RawMessage // nil when absent
}

// parseHeader reads and checks a compact JWS's protected header before go-jose sees it, so that
// refusals are precise and bounds apply first: one "alg" of ES256 or RS256, no duplicate
// members, no "crit", no remote keys ("jku", "x5u").
func parseHeader(jws string) (*header, error) {
	if len(jws) > MaxJWSSize {
		return nil, tooLarge("the JWS is %d bytes; at most %d are accepted", len(jws), MaxJWSSize)
	}
	if strings.HasPrefix(strings.TrimSpace(jws), "{") {
		return nil, errorf(ErrMalformed, "JWS JSON serialization; send the compact serialization")
	}
	parts := strings.Split(jws, ".")
	if len(parts) != 3 {
		return nil, errorf(ErrMalformed, "a compact JWS has three base64url parts separated by '.', this has %d", len(parts))
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		return nil, wrapf(ErrMalformed, err, "the JWS header is not base64url without padding")
	}
	members, err := objectMembers(raw)
	if err != nil {
		return nil, wrapf(ErrMalformed, err, "the JWS header")
	}
	h := &header{}
	algRaw, ok := members["alg"]
	if !ok {
		return nil, errorf(ErrAlgorithm, "the JWS header has no alg")
	}
	if err := json.Unmarshal(algRaw, &h.alg); err != nil {
		return nil, errorf(ErrMalformed, "the JWS header's alg is not a string")
	}
	switch {
	case h.alg == string(jose.ES256) || h.alg == string(jose.RS256):
	case strings.EqualFold(h.alg, "none"):
		return nil, errorf(ErrAlgorithm, "unsigned JWS (alg none); sign with ES256 or RS256")
	case strings.HasPrefix(h.alg, "HS"):
		return nil, errorf(ErrAlgorithm, "HMAC (%s) proves nothing about a device key; sign with ES256 or RS256", h.alg)
	default:
		return nil, errorf(ErrAlgorithm, "alg %q; sign with ES256 or RS256", h.alg)
	}
	if _, ok := members["crit"]; ok {
		return nil, errorf(ErrMalformed, "the JWS header has crit; no critical extension is supported")
	}
	for _, remote := range []string{"jku", "x5u"} {
		if _, ok := members[remote]; ok {
			return nil, errorf(ErrMalformed, "the JWS header has %s; keys are never fetched, send x5c or jwk", remote)
		}
	}
	if v, ok := members["x5c"]; ok {
		if err := json.Unmarshal(v, &h.x5c); err != nil || h.x5c == nil {
			return nil, errorf(ErrMalformed, "the JWS header's x5c is not an array of base64 strings")
		}
	}
	if v, ok := members["jwk"]; ok {
		h.jwk = v
	}
	return h, nil
}

// objectMembers decodes a JSON object into its members, refusing duplicate names (which JSON
// parsers resolve differently) and trailing data.
func objectMembers(data []byte) (map[string]json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, errors.New("not a JSON object")
	}
	members := map[string]json.RawMessage{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, err
		}
		name, _ := t.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		if _, dup := members[name]; dup {
			return nil, fmt.Errorf("member %q appears twice", name)
		}
		members[name] = v
	}
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("data after the JSON object")
	}
	return members, nil
}

// parseX5C decodes an x5c header (standard base64 DER, leaf first) within the bounds.
func parseX5C(x5c []string) ([]*x509.Certificate, error) {
	if len(x5c) == 0 {
		return nil, errorf(ErrMalformed, "the x5c header is empty")
	}
	if len(x5c) > MaxX5CCerts {
		return nil, tooLarge("x5c has %d certificates; at most %d are accepted", len(x5c), MaxX5CCerts)
	}
	certs := make([]*x509.Certificate, len(x5c))
	for i, s := range x5c {
		if base64.StdEncoding.DecodedLen(len(s)) > MaxCertSize {
			return nil, tooLarge("x5c certificate %d is over %d bytes", i, MaxCertSize)
		}
		der, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return nil, wrapf(ErrMalformed, err, "x5c certificate %d is not standard base64", i)
		}
		if certs[i], err = x509.ParseCertificate(der); err != nil {
			return nil, wrapf(ErrMalformed, err, "x5c certificate %d", i)
		}
	}
	return certs, nil
}

// checkAlgorithmKey checks that key is of the kind alg needs and within the key policy.
func checkAlgorithmKey(alg string, key crypto.PublicKey) error {
	switch alg {
	case string(jose.ES256):
		k, ok := key.(*ecdsa.PublicKey)
		if !ok || k.Curve != elliptic.P256() {
			return errorf(ErrAlgorithm, "ES256 needs an ECDSA P-256 key, not %s", describeKey(key))
		}
	case string(jose.RS256):
		if _, ok := key.(*rsa.PublicKey); !ok {
			return errorf(ErrAlgorithm, "RS256 needs an RSA key, not %s", describeKey(key))
		}
		return checkPublicKey(key)
	default:
		return errorf(ErrAlgorithm, "alg %q", alg)
	}
	return nil
}

func describeKey(key crypto.PublicKey) string {
	switch k := key.(type) {
	case *ecdsa.PublicKey:
		return "an ECDSA " + curveName(k.Curve) + " key"
	case *rsa.PublicKey:
		return fmt.Sprintf("an RSA %d key", k.N.BitLen())
	default:
		return "a " + keyAlgorithm(key) + " key"
	}
}

// verifyCompact parses jws with go-jose (ES256 and RS256 only), verifies its one signature with
// key, and decodes the payload.
func verifyCompact(jws, alg string, key crypto.PublicKey) (*Payload, error) {
	obj, err := parseCompact(jws, alg)
	if err != nil {
		return nil, err
	}
	return verifyParsed(obj, key)
}

// parseCompact parses jws with go-jose (ES256 and RS256 only): one signature, whose protected
// header's alg is alg, the one parseHeader read.
func parseCompact(jws, alg string) (*jose.JSONWebSignature, error) {
	obj, err := jose.ParseSignedCompact(jws, acceptedAlgorithms)
	if err != nil {
		return nil, wrapf(ErrMalformed, err, "the JWS does not parse")
	}
	if len(obj.Signatures) != 1 {
		return nil, errorf(ErrMalformed, "the JWS has %d signatures; exactly one is accepted", len(obj.Signatures))
	}
	if got := obj.Signatures[0].Protected.Algorithm; got != alg {
		return nil, errorf(ErrMalformed, "the JWS header's alg reads as %q and %q", alg, got)
	}
	return obj, nil
}

// verifyParsed verifies the one signature of obj (parseCompact) with key and decodes the
// payload.
func verifyParsed(obj *jose.JSONWebSignature, key crypto.PublicKey) (*Payload, error) {
	data, err := obj.Verify(key)
	if err != nil {
		return nil, wrapf(ErrBadSignature, err, "the JWS signature does not verify with the key in its header")
	}
	return decodePayload(data)
}

// decodePayload decodes the claims: one JSON object whose known members have the right types.
func decodePayload(data []byte) (*Payload, error) {
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return nil, errorf(ErrMalformed, "the JWS payload is not a JSON object of claims {token, device, app}")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	var p Payload
	if err := dec.Decode(&p); err != nil {
		return nil, wrapf(ErrMalformed, err, "the JWS payload's claims {token, device, app}")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errorf(ErrMalformed, "data after the JWS payload's JSON object")
	}
	return &p, nil
}

// SignJWK signs p as a compact JWS with the signer's public key in the header as "jwk": what a
// device not yet provisioned sends with its CSR. key is an *ecdsa.PrivateKey on P-256 (ES256)
// or an *rsa.PrivateKey (RS256).
func SignJWK(key crypto.Signer, p Payload) (string, error) {
	return sign(key, p, &jose.SignerOptions{EmbedJWK: true})
}

// SignX5C signs p as a compact JWS with chain (the signer's certificate first, then its
// issuers) in the header as "x5c": what a provisioned device sends.
func SignX5C(key crypto.Signer, chain []*x509.Certificate, p Payload) (string, error) {
	x5c := make([]string, len(chain))
	for i, c := range chain {
		x5c[i] = base64.StdEncoding.EncodeToString(c.Raw)
	}
	return sign(key, p, (&jose.SignerOptions{}).WithHeader("x5c", x5c))
}

func sign(key crypto.Signer, p Payload, opts *jose.SignerOptions) (string, error) {
	var alg jose.SignatureAlgorithm
	switch k := key.(type) {
	case *ecdsa.PrivateKey:
		if k.Curve != elliptic.P256() {
			return "", errorf(ErrAlgorithm, "ES256 needs a P-256 key, not %s", curveName(k.Curve))
		}
		alg = jose.ES256
	case *rsa.PrivateKey:
		alg = jose.RS256
	default:
		return "", errorf(ErrAlgorithm, "cannot sign a payload with a %T; use ECDSA P-256 or RSA", key)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		return "", fmt.Errorf("pki: sign payload: %w", err)
	}
	claims, err := json.Marshal(p)
	if err != nil {
		return "", fmt.Errorf("pki: sign payload: %w", err)
	}
	obj, err := signer.Sign(claims)
	if err != nil {
		return "", fmt.Errorf("pki: sign payload: %w", err)
	}
	return obj.CompactSerialize()
}
