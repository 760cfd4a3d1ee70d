package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"fmt"

	jose "github.com/go-jose/go-jose/v4"
)

// Key policy bounds. MinRSABits follows NIST SP 800-131A; MaxRSABits bounds the work one
// signature check can cost.
const (
	MinRSABits = 2048
	MaxRSABits = 8192
)

// checkPublicKey enforces the key policy for keys that clients bring: ECDSA P-256 or P-384, RSA of
// MinRSABits to MaxRSABits bits with an odd exponent of at least 3, or Ed25519.
func checkPublicKey(pub crypto.PublicKey) error {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() && k.Curve != elliptic.P384() {
			return errorf(ErrWeakKey, "ECDSA key on curve %s; use P-256 or P-384", curveName(k.Curve))
		}
	case *rsa.PublicKey:
		bits := k.N.BitLen()
		if bits < MinRSABits {
			return errorf(ErrWeakKey, "RSA key of %d bits; use at least %d bits, or ECDSA P-256", bits, MinRSABits)
		}
		if bits > MaxRSABits {
			return errorf(ErrWeakKey, "RSA key of %d bits; at most %d bits are accepted", bits, MaxRSABits)
		}
		if k.E < 3 || k.E%2 == 0 {
			return errorf(ErrWeakKey, "RSA public exponent %d; use 65537", k.E)
		}
	case ed25519.PublicKey:
		if len(k) != ed25519.PublicKeySize {
			return errorf(ErrWeakKey, "Ed25519 key of %d bytes", len(k))
		}
	case nil:
		return errorf(ErrWeakKey, "no public key")
	default:
		return errorf(ErrWeakKey, "%s key; use ECDSA P-256/P-384, RSA %d+ or Ed25519", keyAlgorithm(pub), MinRSABits)
	}
	return nil
}

func curveName(c elliptic.Curve) string {
	if c == nil || c.Params() == nil {
		return "unknown"
	}
	return c.Params().Name
}

// keyAlgorithm names a public key's algorithm the way x509.PublicKeyAlgorithm.String does:
// "ECDSA", "RSA", "Ed25519".
func keyAlgorithm(pub crypto.PublicKey) string {
	switch pub.(type) {
	case *ecdsa.PublicKey:
		return x509.ECDSA.String()
	case *rsa.PublicKey:
		return x509.RSA.String()
	case ed25519.PublicKey:
		return x509.Ed25519.String()
	default:
		return fmt.Sprintf("%T", pub)
	}
}

// SamePublicKey reports whether a and b are the same public key (for example a CSR's key and the
// key in a JWS header). Keys of different kinds, and nil keys, are never the same.
func SamePublicKey(a, b crypto.PublicKey) bool {
	if a == nil || b == nil {
		return false
	}
	k, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && k.Equal(b)
}

// KeyThumbprint returns the RFC 7638 JWK thumbprint (SHA-256, base64url without padding) of an
// ECDSA, RSA or Ed25519 public key: how a signed payload names a key it does not carry (the
// "newKey" of a re-provisioning proof). Other keys give an error matching ErrWeakKey.
func KeyThumbprint(pub crypto.PublicKey) (string, error) {
	switch pub.(type) {
	case *ecdsa.PublicKey, *rsa.PublicKey, ed25519.PublicKey:
	default:
		return "", errorf(ErrWeakKey, "a %T key has no JWK thumbprint", pub)
	}
	tp, err := (&jose.JSONWebKey{Key: pub}).Thumbprint(crypto.SHA256)
	if err != nil {
		return "", wrapf(ErrWeakKey, err, "JWK thumbprint")
	}
	return base64.RawURLEncoding.EncodeToString(tp), nil
}

// subjectKeyID computes a key identifier as RFC 7093 section 2 method 1 does: the leftmost 160
// bits of the SHA-256 of the subjectPublicKey bits (what crypto/x509 itself now generates).
func subjectKeyID(pub crypto.PublicKey) ([]byte, error) {
	spki, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, err
	}
	var info struct {
		Algorithm asn1.RawValue
		PublicKey asn1.BitString
	}
	if _, err := asn1.Unmarshal(spki, &info); err != nil {
		return nil, err
	}
	sum := sha256.Sum256(info.PublicKey.Bytes)
	return sum[:20], nil
}
