package adapters

import (
	"crypto"
	"crypto/x509"
	"time"
)

// PKIGrant is an adapter's grant of the host's PKI capability (sdk-wasm/ABI.md, "Host PKI"):
// the host parses CSRs for the guest and signs certificate templates with a key the host holds,
// so that a bridge never holds a CA key in its own memory and never pays for parsing and signing
// in wasm. The daemon builds it from the adapter's <capability name="pki"> element and loads
// the key once from the data folder; the key never crosses into the guest.
type PKIGrant struct {
	// Issuer is the certificate whose key signs, and Key that key. A grant without a Key lets
	// the guest parse CSRs only; signing and verifying fail with a guest-visible error.
	Issuer *x509.Certificate
	Key    crypto.Signer
	// KeyName names the key in logs and error messages (the grant's ca folder); never its bytes.
	KeyName string
	// MaxValidity bounds the validity of the certificates the guest asks for; zero:
	// DefaultPKIMaxValidity.
	MaxValidity time.Duration
	// AllowCA lets a template ask for a CA certificate (basicConstraints CA:TRUE, keyCertSign,
	// cRLSign). Without it such a template is refused.
	AllowCA bool
}

// DefaultPKIMaxValidity is the longest validity a PKI grant allows when it names none: 397 days,
// the CA/Browser Forum's bound for subscriber certificates.
const DefaultPKIMaxValidity = 397 * 24 * time.Hour

// CanSign reports whether the grant holds a signing key.
func (g *PKIGrant) CanSign() bool { return g != nil && g.Key != nil && g.Issuer != nil }
