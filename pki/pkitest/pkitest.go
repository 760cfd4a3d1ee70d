// Package pkitest builds PKI material that tests need and production code never makes: Android
// Key Attestation chains, as a TEE-backed device would send them, under a root the test controls.
// Package pki only parses and verifies attestations; keeping the builders here keeps them out
// of the daemon.
//
// A test that provisions a device with attestation:
//
//	root, _ := pki.NewCA(pki.CAOptions{CommonName: "Test attestation root"})
//	chain, key, err := pkitest.NewAttestation(root, []byte(challenge), "com.example.app", digest)
//	// configure root as the attestation root; answer with chain, sign with key
package pkitest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/realmgate/realmgate/pki"
)

// NewAttestation builds a realistic Android Key Attestation chain under root: root -> an
// intermediate CA -> a leaf whose key description has attestation and KeyMint versions 200 at
// the TEE security level, the challenge, a teeEnforced list (purpose, algorithm, key size,
// curve, origin, a locked and verified rootOfTrust, OS version and patch level) and a
// softwareEnforced list (creation time, attestationApplicationId with packageName at version 1
// and signatureDigest). It returns the chain as DER, leaf first, ending with root's
// certificates, and the leaf's (ECDSA P-256) private key.
func NewAttestation(root *pki.CA, challenge []byte, packageName string, signatureDigest []byte) (chain [][]byte, leafKey crypto.Signer, err error) {
	return NewAttestationWith(root, AttestationOptions{
		Challenge: challenge, PackageName: packageName, SignatureDigest: signatureDigest,
	})
}

// AttestationOptions describe the chain NewAttestationWith builds. The zero value of every
// field but the first three gives NewAttestation's chain; the others break it in one way each,
// for tests of refusals.
type AttestationOptions struct {
	Challenge       []byte
	PackageName     string
	SignatureDigest []byte
	// Now is the time the chain is made at (the leaf is valid from a minute before); zero is
	// time.Now().
	Now time.Time
	// KeyDescription, when set, is the leaf's extension value instead of a well-formed one.
	KeyDescription []byte
	// ExtensionInIntermediate puts the key description on the intermediate too.
	ExtensionInIntermediate bool
	// NoExtension leaves the key description out of the leaf.
	NoExtension bool
}

// NewAttestationWith builds an attestation chain under root as o describes; see NewAttestation.
func NewAttestationWith(root *pki.CA, o AttestationOptions) (chain [][]byte, leafKey crypto.Signer, err error) {
	if root == nil {
		return nil, nil, errors.New("pkitest: attestation: no root CA")
	}
	now := o.Now
	if now.IsZero() {
		now = time.Now()
	}
	kd := o.KeyDescription
	if kd == nil {
		if kd, err = KeyDescription(o.Challenge, o.PackageName, o.SignatureDigest, now); err != nil {
			return nil, nil, fmt.Errorf("pkitest: attestation: %w", err)
		}
	}
	ext := pkix.Extension{Id: pki.OIDAndroidKeyDescription, Value: kd}

	interKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	notAfter := root.Cert.NotAfter
	serial, err := randomSerial()
	if err != nil {
		return nil, nil, err
	}
	interTmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "Test Attestation Intermediate", Organization: []string{"Test TEE"}, SerialNumber: fmt.Sprintf("%x", serial.Bytes()[:8])},
		NotBefore:             now.Add(-24 * time.Hour),
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	if o.ExtensionInIntermediate {
		interTmpl.ExtraExtensions = []pkix.Extension{ext}
	}
	interDER, err := x509.CreateCertificate(rand.Reader, interTmpl, root.Cert, interKey.Public(), root.Key)
	if err != nil {
		return nil, nil, fmt.Errorf("pkitest: attestation intermediate: %w", err)
	}
	inter, err := x509.ParseCertificate(interDER)
	if err != nil {
		return nil, nil, err
	}
	leafTmpl := &x509.Certificate{
		// Keystore leaves have serial 1 and this subject on most devices.
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "Android Keystore Key"},
		NotBefore:    now.Add(-time.Minute),
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	if !o.NoExtension {
		leafTmpl.ExtraExtensions = []pkix.Extension{ext}
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, inter, key.Public(), interKey)
	if err != nil {
		return nil, nil, fmt.Errorf("pkitest: attestation leaf: %w", err)
	}
	chain = [][]byte{leafDER, interDER}
	return append(chain, root.ChainDER()...), key, nil
}

// KeyDescription encodes the value of the key description extension (pki.OIDAndroidKeyDescription)
// as a TEE-backed KeyMint 2 device would: the lists NewAttestation describes, created at created.
func KeyDescription(challenge []byte, packageName string, signatureDigest []byte, created time.Time) ([]byte, error) {
	appID, err := asn1.Marshal(attestationApplicationID{
		PackageInfos:     []attestationPackageInfo{{PackageName: []byte(packageName), Version: 1}},
		SignatureDigests: [][]byte{signatureDigest},
	})
	if err != nil {
		return nil, err
	}
	bootKey := make([]byte, 32)
	bootHash := make([]byte, 32)
	rand.Read(bootKey)
	rand.Read(bootHash)
	software, err := marshalAuthorizationList(
		authorizationEntry{tag: 701, value: created.UnixMilli()}, // creationDateTime
		authorizationEntry{tag: pki.TagAttestationApplicationID, value: appID},
	)
	if err != nil {
		return nil, err
	}
	tee, err := marshalAuthorizationList(
		authorizationEntry{tag: 1, value: []int{2, 3}, param: "set"}, // purpose: SIGN, VERIFY
		authorizationEntry{tag: 2, value: 3},                         // algorithm: EC
		authorizationEntry{tag: 3, value: 256},                       // keySize
		authorizationEntry{tag: 5, value: []int{4}, param: "set"},    // digest: SHA-2-256
		authorizationEntry{tag: 10, value: 1},                        // ecCurve: P-256
		authorizationEntry{tag: 503, value: asn1.NullRawValue},       // noAuthRequired
		authorizationEntry{tag: 702, value: 0},                       // origin: GENERATED
		authorizationEntry{tag: pki.TagRootOfTrust, value: rootOfTrust{VerifiedBootKey: bootKey, DeviceLocked: true, VerifiedBootState: 0, VerifiedBootHash: bootHash}},
		authorizationEntry{tag: 705, value: 140000},   // osVersion
		authorizationEntry{tag: 706, value: 202611},   // osPatchLevel
		authorizationEntry{tag: 718, value: 20261101}, // vendorPatchLevel
		authorizationEntry{tag: 719, value: 20261101}, // bootPatchLevel
	)
	if err != nil {
		return nil, err
	}
	return asn1.Marshal(keyDescription{
		AttestationVersion:       200,
		AttestationSecurityLevel: pki.SecurityLevelTrustedEnvironment,
		KeymasterVersion:         200,
		KeymasterSecurityLevel:   pki.SecurityLevelTrustedEnvironment,
		AttestationChallenge:     challenge,
		UniqueID:                 []byte{},
		SoftwareEnforced:         asn1.RawValue{FullBytes: software},
		TeeEnforced:              asn1.RawValue{FullBytes: tee},
	})
}

// The ASN.1 of the Android Keystore documentation, as a device writes it. Package pki declares
// the same structures to read them.
type (
	keyDescription struct {
		AttestationVersion       int
		AttestationSecurityLevel asn1.Enumerated
		KeymasterVersion         int
		KeymasterSecurityLevel   asn1.Enumerated
		AttestationChallenge     []byte
		UniqueID                 []byte
		SoftwareEnforced         asn1.RawValue
		TeeEnforced              asn1.RawValue
	}
	attestationApplicationID struct {
		PackageInfos     []attestationPackageInfo `asn1:"set"`
		SignatureDigests [][]byte                 `asn1:"set"`
	}
	attestationPackageInfo struct {
		PackageName []byte
		Version     int64
	}
	rootOfTrust struct {
		VerifiedBootKey   []byte
		DeviceLocked      bool
		VerifiedBootState asn1.Enumerated
		VerifiedBootHash  []byte `asn1:"optional"`
	}
)

// authorizationEntry is one entry of an AuthorizationList: a tag and the value to encode.
type authorizationEntry struct {
	tag   int
	value any
	param string // encoding/asn1 parameters of value ("set")
}

// marshalAuthorizationList encodes entries (in ascending tag order) as a SEQUENCE of EXPLICIT
// context-specific tags.
func marshalAuthorizationList(entries ...authorizationEntry) ([]byte, error) {
	var body []byte
	for _, e := range entries {
		inner, err := asn1.MarshalWithParams(e.value, e.param)
		if err != nil {
			return nil, err
		}
		tagged, err := asn1.Marshal(asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: e.tag, IsCompound: true, Bytes: inner})
		if err != nil {
			return nil, err
		}
		body = append(body, tagged...)
	}
	return asn1.Marshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSequence, IsCompound: true, Bytes: body})
}

// randomSerial returns a positive serial number of 128 random bits, as pki's CA makes them.
func randomSerial() (*big.Int, error) {
	var b [16]byte
	for {
		if _, err := rand.Read(b[:]); err != nil {
			return nil, fmt.Errorf("pkitest: serial number: %w", err)
		}
		if n := new(big.Int).SetBytes(b[:]); n.Sign() > 0 {
			return n, nil
		}
	}
}
