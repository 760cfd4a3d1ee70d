package pki

import (
	"errors"
	"fmt"
)

// Sentinels that every error of this package matches (errors.Is) according to its cause. The
// message of the error itself says what to change.
var (
	// ErrMalformed: the input does not parse (bad DER, base64, JSON, PEM, or the wrong shape).
	ErrMalformed = errors.New("malformed input")
	// ErrTooLarge: the input is over its size or count limit; such errors also match ErrMalformed.
	ErrTooLarge = errors.New("input too large")
	// ErrBadSignature: a signature does not verify with the key it claims.
	ErrBadSignature = errors.New("bad signature")
	// ErrAlgorithm: a signature algorithm that is not accepted, or that does not fit the key.
	ErrAlgorithm = errors.New("algorithm not accepted")
	// ErrWeakKey: a public key of a kind or size not accepted (RSA under 2048 bits, curves other
	// than P-256 and P-384, DSA, ...).
	ErrWeakKey = errors.New("key not accepted")
	// ErrUntrusted: a certificate chain that does not lead to a trusted root, or that is not valid
	// at the time given.
	ErrUntrusted = errors.New("certificate not trusted")
	// ErrRequirements: a CSR subject that does not carry what the requirements ask for.
	ErrRequirements = errors.New("CSR does not meet the requirements")
	// ErrBadRequirements: requirements that cannot be checked (an additionalSubject that is not an
	// RFC 4514 string, no common name). The fault is the PKI bridge's, not the client's.
	ErrBadRequirements = errors.New("invalid CSR requirements")
	// ErrChallenge: an attestation made for another challenge.
	ErrChallenge = errors.New("attestation challenge mismatch")
	// ErrCAExists: InitCA found a CA file already there and wrote nothing.
	ErrCAExists = errors.New("CA already exists")
	// ErrKeyMismatch: a CA certificate and private key that do not belong together.
	ErrKeyMismatch = errors.New("certificate and key do not match")
	// ErrPassword: a PKCS#12 file that the password does not open.
	ErrPassword = errors.New("wrong PKCS#12 password")
	// ErrInsecureKeyFile: a private key file that users other than its owner may read or write.
	ErrInsecureKeyFile = errors.New("private key file is not private")
)

// errorf returns an error matching sentinel whose message is "pki: <sentinel>: <detail>".
func errorf(sentinel error, format string, args ...any) error {
	return fmt.Errorf("pki: %w: %s", sentinel, fmt.Sprintf(format, args...))
}

// wrapf is errorf that also wraps cause.
func wrapf(sentinel, cause error, format string, args ...any) error {
	return fmt.Errorf("pki: %w: %s: %w", sentinel, fmt.Sprintf(format, args...), cause)
}

// tooLarge returns an error matching ErrTooLarge and ErrMalformed.
func tooLarge(format string, args ...any) error {
	return fmt.Errorf("pki: %w (%w): %s", ErrTooLarge, ErrMalformed, fmt.Sprintf(format, args...))
}
