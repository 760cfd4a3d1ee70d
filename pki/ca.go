package pki

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/big"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"software.sslmate.com/src/go-pkcs12"

	"github.com/realmgate/realmgate/internal/secretfile"
)

// File names of a CA directory.
const (
	CACertFile = "ca.pem"     // the CA certificate, then any intermediates above it, PEM
	CAKeyFile  = "ca-key.pem" // the CA private key, PKCS#8 PEM, mode 0600
)

// Defaults.
const (
	DefaultCACommonName = "Realmgate CA"
	DefaultCAValidity   = 10 * 365 * 24 * time.Hour
	DefaultCertValidity = 365 * 24 * time.Hour
	// Backdate is how far before "now" an issued certificate starts, to absorb clock skew
	// between the server and the devices that check it.
	Backdate = 5 * time.Minute
)

// maxFileSize bounds CA and PKCS#12 files read from disk.
const maxFileSize = 1 << 20

// KeyAlgorithm names the kind of key InitCA generates.
type KeyAlgorithm string

// Key algorithms for InitCA.
const (
	KeyECDSAP256 KeyAlgorithm = "ecdsa-p256" // the default
	KeyRSA3072   KeyAlgorithm = "rsa-3072"
	KeyEd25519   KeyAlgorithm = "ed25519"
)

// KeyAlgorithms lists the accepted KeyAlgorithm values, for configuration errors.
var KeyAlgorithms = []KeyAlgorithm{KeyECDSAP256, KeyRSA3072, KeyEd25519}

// CA is a certificate authority that signs CSRs: the built-in provisioning CA or the CA of an
// embedded PKI bridge's PKCS#12 file. A CA is read-only after loading and safe for concurrent use.
type CA struct {
	Cert  *x509.Certificate
	Key   crypto.Signer
	Chain []*x509.Certificate // intermediates above Cert, if any (not the root), nearest first
}

// CAOptions configures InitCA. The zero value gives an ECDSA P-256 CA named DefaultCACommonName,
// valid for DefaultCAValidity from now.
type CAOptions struct {
	CommonName   string
	Organization string       // optional subject O
	KeyAlgorithm KeyAlgorithm // "" is KeyECDSAP256
	Validity     time.Duration
	Now          time.Time // zero: time.Now()
}

// InitCA creates a self-signed CA in dir (created with mode 0700 if missing): CACertFile and
// CAKeyFile with mode 0600. It refuses, with an error matching ErrCAExists and fs.ErrExist, when
// either file is already there, so that a CA in use is never replaced by accident.
func InitCA(dir string, opts CAOptions) (*CA, error) {
	certPath, keyPath := filepath.Join(dir, CACertFile), filepath.Join(dir, CAKeyFile)
	for _, p := range []string{certPath, keyPath} {
		if _, err := os.Lstat(p); err == nil {
			return nil, fmt.Errorf("pki: %w: %s is there; remove it first to create a new CA (%w)", ErrCAExists, p, fs.ErrExist)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("pki: init CA: %w", err)
		}
	}
	ca, err := NewCA(opts)
	if err != nil {
		return nil, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(ca.Key)
	if err != nil {
		return nil, fmt.Errorf("pki: init CA: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("pki: init CA: %w", err)
	}
	if err := writeNew(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return nil, err
	}
	if err := writeNew(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Cert.Raw}), 0o644); err != nil {
		os.Remove(keyPath)
		return nil, err
	}
	return ca, nil
}

// NewCA creates a self-signed CA in memory, as InitCA does without files (tests, ephemeral CAs).
func NewCA(opts CAOptions) (*CA, error) {
	if opts.CommonName == "" {
		opts.CommonName = DefaultCACommonName
	}
	if opts.Validity == 0 {
		opts.Validity = DefaultCAValidity
	}
	if opts.Validity < 0 {
		return nil, fmt.Errorf("pki: CA validity %s is negative", opts.Validity)
	}
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	key, err := generateKey(opts.KeyAlgorithm)
	if err != nil {
		return nil, err
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	subject := pkix.Name{CommonName: opts.CommonName}
	if opts.Organization != "" {
		subject.Organization = []string{opts.Organization}
	}
	ski, err := subjectKeyID(key.Public())
	if err != nil {
		return nil, fmt.Errorf("pki: CA key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               subject,
		NotBefore:             opts.Now.Add(-Backdate),
		NotAfter:              opts.Now.Add(opts.Validity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		SubjectKeyId:          ski,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("pki: create CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("pki: create CA certificate: %w", err)
	}
	return &CA{Cert: cert, Key: key}, nil
}

func generateKey(alg KeyAlgorithm) (crypto.Signer, error) {
	switch alg {
	case "", KeyECDSAP256:
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case KeyRSA3072:
		return rsa.GenerateKey(rand.Reader, 3072)
	case KeyEd25519:
		_, key, err := ed25519.GenerateKey(rand.Reader)
		return key, err
	default:
		return nil, fmt.Errorf("pki: unknown key algorithm %q; known: %q", alg, KeyAlgorithms)
	}
}

// writeNew writes data to a file that must not exist yet, and syncs it.
func writeNew(path string, data []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("pki: %w: %s appeared while the CA was being created (%w)", ErrCAExists, path, err)
		}
		return fmt.Errorf("pki: init CA: %w", err)
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return fmt.Errorf("pki: init CA: write %s: %w", path, err)
	}
	return nil
}

// LoadCA loads the CA that InitCA wrote to dir (or files laid out the same way: CACertFile may
// hold, after the CA certificate, the intermediates above it, which become Chain; a self-signed
// root there is left out. CAKeyFile may hold a PKCS#8, SEC 1 or PKCS#1 key).
// A missing file gives an error matching fs.ErrNotExist; a damaged one ErrMalformed; a key file
// that others may read ErrInsecureKeyFile; a key of another certificate ErrKeyMismatch.
func LoadCA(dir string) (*CA, error) {
	certPath, keyPath := filepath.Join(dir, CACertFile), filepath.Join(dir, CAKeyFile)
	certPEM, err := readBounded(certPath)
	if err != nil {
		return nil, err
	}
	// The key is read through the one reader of secret files, which refuses a file that other
	// users may read and checks the mode of the very file it reads.
	keyPEM, err := secretfile.Read(keyPath)
	switch {
	case errors.Is(err, secretfile.ErrNotPrivate):
		return nil, fmt.Errorf("pki: %w: %w", ErrInsecureKeyFile, err)
	case err != nil:
		return nil, fmt.Errorf("pki: CA key: %w", err)
	}
	certs, err := parseCertificatesPEM(certPEM)
	if err != nil {
		return nil, fmt.Errorf("pki: CA certificate %s: %w", certPath, err)
	}
	key, err := parsePrivateKeyPEM(keyPEM)
	if err != nil {
		return nil, fmt.Errorf("pki: CA key %s: %w", keyPath, err)
	}
	ca := &CA{Cert: certs[0], Key: key, Chain: chainAbove(certs[0], certs[1:])}
	if err := ca.check(); err != nil {
		return nil, fmt.Errorf("pki: CA in %s: %w", dir, err)
	}
	return ca, nil
}

// LoadPKCS12 loads a CA from a PKCS#12 file (as OpenSSL 3 writes it by default, or legacy
// 3DES/RC2 files): the certificate whose public key matches the file's one private key is the CA,
// and the other certificates that lead from it upwards (self-signed roots excluded) are its Chain.
func LoadPKCS12(path, password string) (*CA, error) {
	data, err := readBounded(path)
	if err != nil {
		return nil, err
	}
	ca, err := parsePKCS12(data, password)
	if err != nil {
		return nil, fmt.Errorf("pki: PKCS#12 %s: %w", path, err)
	}
	return ca, nil
}

func parsePKCS12(data []byte, password string) (*CA, error) {
	priv, first, others, err := pkcs12.DecodeChain(data, password)
	if err != nil {
		if errors.Is(err, pkcs12.ErrIncorrectPassword) {
			return nil, fmt.Errorf("%w: %w", ErrPassword, err)
		}
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	key, ok := priv.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("%w: private key of type %T cannot sign", ErrMalformed, priv)
	}
	all := append([]*x509.Certificate{first}, others...)
	var cert *x509.Certificate
	for _, c := range all {
		if SamePublicKey(c.PublicKey, key.Public()) {
			cert = c
			break
		}
	}
	if cert == nil {
		return nil, fmt.Errorf("%w: no certificate in the file matches its private key", ErrKeyMismatch)
	}
	ca := &CA{Cert: cert, Key: key, Chain: chainAbove(cert, all)}
	if err := ca.check(); err != nil {
		return nil, err
	}
	return ca, nil
}

// chainAbove follows issuers from cert through pool, stopping at a self-signed certificate or
// a loop, and returns the certificates found, nearest first.
func chainAbove(cert *x509.Certificate, pool []*x509.Certificate) []*x509.Certificate {
	var chain []*x509.Certificate
	seen := map[*x509.Certificate]bool{cert: true}
	for cur := cert; ; {
		var next *x509.Certificate
		for _, c := range pool {
			if !seen[c] && bytes.Equal(c.RawSubject, cur.RawIssuer) && cur.CheckSignatureFrom(c) == nil {
				next = c
				break
			}
		}
		if next == nil || isSelfSigned(next) {
			return chain
		}
		seen[next] = true
		chain = append(chain, next)
		cur = next
	}
}

func isSelfSigned(c *x509.Certificate) bool {
	return bytes.Equal(c.RawSubject, c.RawIssuer) && c.CheckSignatureFrom(c) == nil
}

// check makes sure the CA can issue: a CA certificate allowed to sign certificates, a key that
// belongs to it and is strong enough.
func (ca *CA) check() error {
	c := ca.Cert
	if !c.BasicConstraintsValid || !c.IsCA {
		return fmt.Errorf("%w: certificate %q is not a CA (basicConstraints CA:TRUE missing)", ErrMalformed, c.Subject.String())
	}
	if c.KeyUsage != 0 && c.KeyUsage&x509.KeyUsageCertSign == 0 {
		return fmt.Errorf("%w: certificate %q may not sign certificates (keyUsage lacks keyCertSign)", ErrMalformed, c.Subject.String())
	}
	if !SamePublicKey(c.PublicKey, ca.Key.Public()) {
		return fmt.Errorf("%w: the private key is not the key of certificate %q", ErrKeyMismatch, c.Subject.String())
	}
	if k, ok := c.PublicKey.(*ecdsa.PublicKey); ok && k.Curve == elliptic.P521() {
		return nil // P-521 is fine for a CA, though clients may not bring it
	}
	if err := checkPublicKey(c.PublicKey); err != nil {
		return fmt.Errorf("CA key: %w", err)
	}
	return nil
}

func readBounded(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("pki: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("pki: read %s: %w", path, err)
	}
	if len(data) > maxFileSize {
		return nil, tooLarge("%s is over %d bytes", path, maxFileSize)
	}
	return data, nil
}

// parseCertificatesPEM returns the CERTIFICATE blocks of data, at least one; any other block or
// trailing garbage is an error.
func parseCertificatesPEM(data []byte) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	rest := data
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("%w: PEM block %q where a CERTIFICATE was expected", ErrMalformed, b.Type)
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, fmt.Errorf("%w: no PEM CERTIFICATE block", ErrMalformed)
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		return nil, fmt.Errorf("%w: data that is not PEM after certificate %d", ErrMalformed, len(certs))
	}
	return certs, nil
}

// parsePrivateKeyPEM returns the one private key in data: PKCS#8 ("PRIVATE KEY"), SEC 1
// ("EC PRIVATE KEY") or PKCS#1 ("RSA PRIVATE KEY"). Encrypted keys are refused with a hint.
func parsePrivateKeyPEM(data []byte) (crypto.Signer, error) {
	b, rest := pem.Decode(data)
	if b == nil {
		return nil, fmt.Errorf("%w: no PEM block", ErrMalformed)
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		return nil, fmt.Errorf("%w: more than one PEM block; the key file holds the key alone", ErrMalformed)
	}
	var (
		key any
		err error
	)
	switch b.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(b.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(b.Bytes)
	case "RSA PRIVATE KEY":
		if _, encrypted := b.Headers["DEK-Info"]; encrypted {
			return nil, fmt.Errorf("%w: the key is encrypted; store it unencrypted with mode 0600 (openssl pkcs8 -topk8 -nocrypt)", ErrMalformed)
		}
		key, err = x509.ParsePKCS1PrivateKey(b.Bytes)
	case "ENCRYPTED PRIVATE KEY":
		return nil, fmt.Errorf("%w: the key is encrypted; store it unencrypted with mode 0600 (openssl pkcs8 -topk8 -nocrypt)", ErrMalformed)
	default:
		return nil, fmt.Errorf("%w: PEM block %q where a PRIVATE KEY was expected", ErrMalformed, b.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	s, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("%w: a %T key cannot sign", ErrMalformed, key)
	}
	return s, nil
}

// Roots returns a pool holding the CA certificate as the trust anchor of the certificates it
// issues: what VerifyX5C needs for this CA's devices.
func (ca *CA) Roots() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.Cert)
	return p
}

// ChainDER returns the DER of the CA certificate and its Chain, nearest first: the certificates
// a client sends after its own in x5c.
func (ca *CA) ChainDER() [][]byte {
	out := [][]byte{ca.Cert.Raw}
	for _, c := range ca.Chain {
		out = append(out, c.Raw)
	}
	return out
}

// IssueOptions configures Issue. Exactly one of Subject and SubjectRDNs names the subject: the
// issuer decides it, never the CSR. The validity defaults to now-Backdate for
// DefaultCertValidity.
type IssueOptions struct {
	// Subject of the certificate, as crypto/x509 encodes a pkix.Name.
	Subject pkix.Name
	// SubjectRDNs is the subject RDN for RDN, in DER order (least specific first), multi-valued
	// RDNs kept: what RequiredSubject returns for a PKI bridge's requirements.
	SubjectRDNs pkix.RDNSequence
	// Now is the issuance time; zero: time.Now().
	Now time.Time
	// NotAfter ends the validity; zero: Now + Validity. Never past the CA's own NotAfter.
	NotAfter time.Time
	// Validity is used when NotAfter is zero; zero: DefaultCertValidity.
	Validity time.Duration
	// Subject alternative names. The CSR's own are not copied: the client chose them. No other
	// extension a CSR requests is copied either.
	DNSNames       []string
	EmailAddresses []string
	URIs           []*url.URL
	// ExtraExtensions are added as they are (for example an entity binding).
	ExtraExtensions []pkix.Extension
}

// Issue signs a client certificate for the CSR's public key: a positive serial of 128 random
// bits, NotBefore now-Backdate (not before the CA's), NotAfter as opts say but never past the
// CA's or its chain's, KeyUsage digitalSignature, ExtKeyUsage clientAuth, AuthorityKeyId and
// SubjectKeyId, and the subject opts name. Nothing of the CSR but its public key reaches the
// certificate: not its subject, not the names or extensions it requests. It enforces the key
// policy but does not check the CSR's signature again: pass a CSR from ParseCSR.
func (ca *CA) Issue(csr *x509.CertificateRequest, opts IssueOptions) (*x509.Certificate, error) {
	if csr == nil {
		return nil, errorf(ErrMalformed, "no CSR")
	}
	rawSubject, err := issuedSubject(opts)
	if err != nil {
		return nil, err
	}
	if err := checkPublicKey(csr.PublicKey); err != nil {
		return nil, err
	}
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	validity := opts.Validity
	if validity == 0 {
		validity = DefaultCertValidity
	}
	notAfter := opts.NotAfter
	if notAfter.IsZero() {
		notAfter = now.Add(validity)
	}
	notBefore := now.Add(-Backdate)
	for _, c := range append([]*x509.Certificate{ca.Cert}, ca.Chain...) {
		if c.NotAfter.Before(notAfter) {
			notAfter = c.NotAfter
		}
		if notBefore.Before(c.NotBefore) {
			notBefore = c.NotBefore
		}
	}
	if !notAfter.After(now) || !notAfter.After(notBefore) {
		return nil, fmt.Errorf("pki: cannot issue: the certificate would end at %s, not after now (%s); is the CA %q expired?",
			notAfter.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339), ca.Cert.Subject.String())
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	ski, err := subjectKeyID(csr.PublicKey)
	if err != nil {
		return nil, errorf(ErrWeakKey, "%v", err)
	}
	aki := ca.Cert.SubjectKeyId
	if len(aki) == 0 {
		if aki, err = subjectKeyID(ca.Cert.PublicKey); err != nil {
			return nil, fmt.Errorf("pki: CA key: %w", err)
		}
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		RawSubject:            rawSubject,
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
		SubjectKeyId:          ski,
		AuthorityKeyId:        aki,
		DNSNames:              opts.DNSNames,
		EmailAddresses:        opts.EmailAddresses,
		URIs:                  opts.URIs,
		ExtraExtensions:       opts.ExtraExtensions,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, csr.PublicKey, ca.Key)
	if err != nil {
		return nil, fmt.Errorf("pki: issue: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("pki: issue: %w", err)
	}
	return cert, nil
}

// issuedSubject encodes the subject opts name; exactly one of Subject and SubjectRDNs must.
func issuedSubject(opts IssueOptions) ([]byte, error) {
	name, rdns := opts.Subject.ToRDNSequence(), opts.SubjectRDNs
	switch {
	case len(name) > 0 && len(rdns) > 0:
		return nil, errorf(ErrMalformed, "both Subject and SubjectRDNs are set; name the subject once")
	case len(rdns) > 0:
		name = rdns
	case len(name) == 0:
		return nil, errorf(ErrMalformed, "no subject: the issuer names it (IssueOptions.Subject or SubjectRDNs), never the CSR")
	}
	for _, rdn := range name {
		if len(rdn) == 0 {
			return nil, errorf(ErrMalformed, "the subject has an empty RDN")
		}
	}
	der, err := asn1.Marshal(name)
	if err != nil {
		return nil, wrapf(ErrMalformed, err, "the subject cannot be encoded")
	}
	return der, nil
}

// randomSerial returns a positive serial number of 128 random bits (RFC 5280 allows 20 octets;
// CA/Browser Forum rules ask for at least 64 random bits).
func randomSerial() (*big.Int, error) {
	var b [16]byte
	for {
		if _, err := rand.Read(b[:]); err != nil {
			return nil, fmt.Errorf("pki: serial number: %w", err)
		}
		if n := new(big.Int).SetBytes(b[:]); n.Sign() > 0 {
			return n, nil
		}
	}
}
