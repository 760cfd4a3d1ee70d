// Package bridge is the logic of the example PKI-bridge adapter: a small certificate authority
// for enrolling users. The host parses their CSRs and signs their certificates with a key it
// holds (the adapter's grant <capability name="pki" ca="..."/>, ABI.md "Host PKI"): the key
// never enters the module's memory, and parsing and signing run natively. Given the settings
// ca-cert and ca-key instead, it parses and signs inside the module, with the key in its
// memory; that mode is kept for deployments without the grant, and its validateCSR costs
// about 14 times the granted one, which reads the host's csrInfo (BenchmarkValidateCSRHostKey
// in adapters/wasm). It is plain Go on the SDK's types, so it runs natively in tests as well as
// inside the wasm module that package main builds.
package bridge

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/realmgate/realmgate/sdk-wasm/go/realmgate"
)

// The settings the bridge reads.
const (
	SettingCACert       = "ca-cert"       // PEM CA certificate (in-module signing only; see the package doc)
	SettingCAKey        = "ca-key"        // PEM CA private key: PKCS#8, EC or PKCS#1 RSA (in-module signing only)
	SettingSubject      = "subject"       // attributes every certificate subject carries, e.g. "O=Example,OU=Mobile" (realmgate.ParseSubject)
	SettingValidityDays = "validity-days" // lifetime of issued certificates (default 365)
	SettingDeniedUsers  = "denied-users"  // comma-separated user names validateIdentity refuses
	// SettingDependentOnlyUsers lists users validateIdentity lets in with the dependent realm's
	// identity alone, without a certificate (NO_USE_DEPENDENT_REALM_ONLY).
	SettingDependentOnlyUsers = "dependent-only-users"
)

// PKI is the host PKI capability as the bridge uses it: realmgate.HostPKI in the module, a
// stand-in in native tests.
type PKI interface {
	ParseCSR(csrBase64 string) (*realmgate.ParsedCSR, error)
	SignCertificate(t realmgate.CertificateTemplate) (*realmgate.SignedCertificate, error)
	VerifyCertificate(certificateBase64 string) (realmgate.Verification, error)
}

// Bridge issues and checks user certificates with one CA: the host's (host) or, in-module
// signing, its own (caCert and caKey).
type Bridge struct {
	host PKI
	// validityDays is the validity-days setting, 0 when unset: the host then applies its
	// default within the grant's bound.
	validityDays int
	caCert       *x509.Certificate
	caKey        crypto.Signer
	subject      map[string]string
	validity     time.Duration
	denied       []string
	depOnly      []string
	now          func() time.Time
}

// New reads the bridge's settings. Without the settings ca-cert and ca-key the bridge has host
// parse and sign (host must not be nil); with them, it does both itself.
func New(settings map[string]string, host PKI) (*Bridge, error) {
	subject, err := realmgate.ParseSubject(settings[SettingSubject])
	if err == nil {
		_, err = issuedSubject("", subject) // every type the setting names can be issued
	}
	if err != nil {
		return nil, fmt.Errorf("setting %s: %w", SettingSubject, err)
	}
	b := &Bridge{subject: subject, validity: 365 * 24 * time.Hour, now: time.Now}
	if d := settings[SettingValidityDays]; d != "" {
		days, err := strconv.Atoi(d)
		if err != nil || days < 1 || days > 3650 {
			return nil, fmt.Errorf("setting %s: %q is not a number of days from 1 to 3650", SettingValidityDays, d)
		}
		b.validity, b.validityDays = time.Duration(days)*24*time.Hour, days
	}
	for _, u := range strings.Split(settings[SettingDeniedUsers], ",") {
		if u = strings.TrimSpace(u); u != "" {
			b.denied = append(b.denied, u)
		}
	}
	for _, u := range strings.Split(settings[SettingDependentOnlyUsers], ",") {
		if u = strings.TrimSpace(u); u != "" {
			b.depOnly = append(b.depOnly, u)
		}
	}
	if settings[SettingCACert] == "" && settings[SettingCAKey] == "" {
		if host == nil {
			return nil, errors.New("no host PKI and no ca-cert and ca-key settings: grant the adapter <capability name=\"pki\" ca=\"...\"/>")
		}
		b.host = host
		return b, nil
	}
	block, _ := pem.Decode([]byte(settings[SettingCACert]))
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("setting %s: no PEM CERTIFICATE block", SettingCACert)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("setting %s: %w", SettingCACert, err)
	}
	if !cert.IsCA {
		return nil, fmt.Errorf("setting %s: %q is not a CA certificate", SettingCACert, cert.Subject)
	}
	b.caCert = cert
	if b.caKey, err = parseKey(settings[SettingCAKey]); err != nil {
		return nil, fmt.Errorf("setting %s: %w", SettingCAKey, err)
	}
	if !publicKeysEqual(b.caKey.Public(), cert.PublicKey) {
		return nil, fmt.Errorf("setting %s: the key is not the key of the CA certificate", SettingCAKey)
	}
	return b, nil
}

func parseKey(p string) (crypto.Signer, error) {
	block, _ := pem.Decode([]byte(p))
	if block == nil {
		return nil, errors.New("no PEM block")
	}
	var key any
	var err error
	switch block.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("unsupported PEM block %q", block.Type)
	}
	if err != nil {
		return nil, err
	}
	s, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("a %T cannot sign", key)
	}
	return s, nil
}

func publicKeysEqual(a, b crypto.PublicKey) bool {
	e, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && e.Equal(b)
}

// Init accepts the realm's parameters; this bridge needs none.
func (b *Bridge) Init(realmgate.InitInput) error { return nil }

// ValidateIdentity accepts every named user but the denied ones, and lets the dependent-only ones
// in without a certificate.
func (b *Bridge) ValidateIdentity(in realmgate.IdentityInput) (realmgate.Valid, error) {
	u := in.UserIdentity.UserName
	if u != "" && slices.Contains(b.depOnly, u) {
		return realmgate.Valid{Valid: realmgate.NoUseDependentRealmOnly}, nil
	}
	return realmgate.Verdict(u != "" && !slices.Contains(b.denied, u)), nil
}

// CSRRequirements asks for the user name as common name, under the configured subject.
func (b *Bridge) CSRRequirements(in realmgate.IdentityInput) (realmgate.CSRRequirements, error) {
	if in.UserIdentity.UserName == "" {
		return realmgate.CSRRequirements{}, errors.New("the identity has no user name")
	}
	return realmgate.CSRRequirements{CommonName: in.UserIdentity.UserName, AdditionalSubject: b.subject}, nil
}

// ValidateCSR accepts a correctly self-signed CSR for the user's name with an ECDSA, Ed25519 or
// RSA (2048 bits or more) key.
func (b *Bridge) ValidateCSR(in realmgate.CSRInput) (realmgate.Valid, error) {
	if b.host != nil {
		// In a realm's call the host parsed and verified the CSR before the call (its
		// signature, its key policy and the requirements) and describes it in csrInfo: asking
		// the host to parse it again would cost a round trip of JSON, the guest's costliest
		// work. Without csrInfo, the host verifies it now; a CSR it refuses is a NO.
		if in.CSRInfo.PublicKey.Base64 != "" {
			return realmgate.Verdict(in.CSRInfo.CN == in.UserIdentity.UserName), nil
		}
		csr, err := b.host.ParseCSR(in.CSR)
		if err != nil {
			return realmgate.Verdict(false), nil
		}
		return realmgate.Verdict(csr.CN == in.UserIdentity.UserName), nil
	}
	csr, err := parseCSR(in.CSR)
	if err != nil {
		return realmgate.Verdict(false), nil
	}
	return realmgate.Verdict(csr.Subject.CommonName == in.UserIdentity.UserName && acceptableKey(csr.PublicKey)), nil
}

func acceptableKey(k crypto.PublicKey) bool {
	switch k := k.(type) {
	case *ecdsa.PublicKey, ed25519.PublicKey:
		return true
	case *rsa.PublicKey:
		return k.N.BitLen() >= 2048
	}
	return false
}

// parseCSR parses the base64 DER of a CSR (the input's "csr").
func parseCSR(b64 string) (*x509.CertificateRequest, error) {
	der, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, fmt.Errorf("the CSR is not base64: %w", err)
	}
	csr, err := x509.ParseCertificateRequest(der)
	if err != nil {
		return nil, fmt.Errorf("the CSR is not valid: %w", err)
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, fmt.Errorf("the CSR's signature is not valid: %w", err)
	}
	return csr, nil
}

// GenerateCertificate signs a client certificate for the CSR's key. The subject is the one the
// bridge requires (the user as CN, plus the subject setting), never the CSR's: a CSR may carry
// more attributes than the requirements ask for, and a user must not choose what a certificate
// says about them (OU=admins, UID=someone-else).
func (b *Bridge) GenerateCertificate(in realmgate.CSRInput) (realmgate.GeneratedCertificate, error) {
	if b.host != nil {
		return b.generateOnHost(in)
	}
	csr, err := parseCSR(in.CSR)
	if err != nil {
		return realmgate.GeneratedCertificate{}, err
	}
	if csr.Subject.CommonName != in.UserIdentity.UserName {
		return realmgate.GeneratedCertificate{}, fmt.Errorf("the CSR is for %q, not for the user %q", csr.Subject.CommonName, in.UserIdentity.UserName)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return realmgate.GeneratedCertificate{}, err
	}
	subject, err := issuedSubject(in.UserIdentity.UserName, b.subject)
	if err != nil {
		return realmgate.GeneratedCertificate{}, err
	}
	now := b.now()
	tmpl := &x509.Certificate{
		SerialNumber: serial.Add(serial, big.NewInt(1)),
		Subject:      subject,
		NotBefore:    now.Add(-5 * time.Minute),
		NotAfter:     now.Add(b.validity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, b.caCert, csr.PublicKey, b.caKey)
	if err != nil {
		return realmgate.GeneratedCertificate{}, fmt.Errorf("signing the certificate: %w", err)
	}
	return realmgate.GeneratedCertificate{CertificateBase64: base64.StdEncoding.EncodeToString(der)}, nil
}

// generateOnHost has the host sign: it checks the CSR's common name as the in-module path does,
// and names the subject itself (the user as CN plus the subject setting), never the CSR's.
func (b *Bridge) generateOnHost(in realmgate.CSRInput) (realmgate.GeneratedCertificate, error) {
	// The host's csrInfo already names the CSR's CN (a realm's call); without it, ask the host.
	// Either way the host verifies the CSR again before it signs for the CSR's key.
	cn := in.CSRInfo.CN
	if in.CSRInfo.PublicKey.Base64 == "" {
		csr, err := b.host.ParseCSR(in.CSR)
		if err != nil {
			return realmgate.GeneratedCertificate{}, err
		}
		cn = csr.CN
	}
	if cn != in.UserIdentity.UserName {
		return realmgate.GeneratedCertificate{}, fmt.Errorf("the CSR is for %q, not for the user %q", cn, in.UserIdentity.UserName)
	}
	if _, err := issuedSubject(in.UserIdentity.UserName, b.subject); err != nil {
		return realmgate.GeneratedCertificate{}, err
	}
	signed, err := b.host.SignCertificate(realmgate.CertificateTemplate{
		CSR:          in.CSR,
		Subject:      realmgate.Subject{CommonName: in.UserIdentity.UserName, AdditionalSubject: b.subject},
		ValidityDays: b.validityDays,
		KeyUsage:     []string{"digitalSignature"},
		ExtKeyUsage:  []string{"clientAuth"},
	})
	if err != nil {
		return realmgate.GeneratedCertificate{}, fmt.Errorf("signing the certificate: %w", err)
	}
	return realmgate.GeneratedCertificate{CertificateBase64: signed.CertificateBase64}, nil
}

// IdentityFromCertificate names the user by the certificate's common name.
func (b *Bridge) IdentityFromCertificate(in realmgate.CertificateInput) (realmgate.IdentityFromCertificate, error) {
	if in.CN == "" {
		return realmgate.IdentityFromCertificate{}, errors.New("the certificate has no common name")
	}
	return realmgate.IdentityFromCertificate{UserName: in.CN, DisplayName: in.CN}, nil
}

// ValidateCertificate accepts a certificate this bridge's CA signed that is valid now.
func (b *Bridge) ValidateCertificate(in realmgate.CertificateInput) (realmgate.Valid, error) {
	if b.host != nil {
		v, err := b.host.VerifyCertificate(in.Base64)
		if err != nil {
			return realmgate.Valid{}, err
		}
		return realmgate.Verdict(v.Valid), nil
	}
	der, err := base64.StdEncoding.DecodeString(in.Base64)
	if err != nil {
		return realmgate.Verdict(false), nil
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return realmgate.Verdict(false), nil
	}
	now := b.now()
	ok := cert.CheckSignatureFrom(b.caCert) == nil && !now.Before(cert.NotBefore) && !now.After(cert.NotAfter)
	return realmgate.Verdict(ok), nil
}

// issuedSubject is the subject of a certificate for user: CN=user plus the attributes of the
// subject setting. An attribute type the bridge cannot write is an error.
func issuedSubject(user string, extra map[string]string) (pkix.Name, error) {
	n := pkix.Name{CommonName: user}
	for k, v := range extra {
		switch strings.ToUpper(k) {
		case "O":
			n.Organization = []string{v}
		case "OU":
			n.OrganizationalUnit = []string{v}
		case "C":
			n.Country = []string{v}
		case "L":
			n.Locality = []string{v}
		case "ST":
			n.Province = []string{v}
		case "STREET":
			n.StreetAddress = []string{v}
		case "POSTALCODE":
			n.PostalCode = []string{v}
		default:
			return pkix.Name{}, fmt.Errorf("subject attribute %s is not one this bridge issues (O, OU, C, L, ST, STREET, POSTALCODE)", k)
		}
	}
	return n, nil
}
