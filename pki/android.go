package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/subtle"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"time"
)

// OIDAndroidKeyDescription is the extension of an Android Keystore attestation certificate.
var OIDAndroidKeyDescription = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 11129, 2, 1, 17}

// Bounds of an attestation chain. Real chains have three to five certificates.
const (
	MaxAttestationChain = 8
	// maxAuthorizationTags bounds the entries of one AuthorizationList.
	maxAuthorizationTags = 128
)

// Security levels of KeyDescription (attestationSecurityLevel, keymasterSecurityLevel).
const (
	SecurityLevelSoftware           = 0
	SecurityLevelTrustedEnvironment = 1
	SecurityLevelStrongBox          = 2
)

// Tags of AuthorizationList entries this package reads.
const (
	TagRootOfTrust              = 704
	TagAttestationApplicationID = 709
)

// AndroidAttestation is what a verified Android Key Attestation says about the attested key and
// the app that asked for it.
type AndroidAttestation struct {
	AttestationVersion       int
	AttestationSecurityLevel int
	KeymasterVersion         int
	KeymasterSecurityLevel   int
	Challenge                []byte
	UniqueID                 []byte
	// PackageNames and SignatureDigests come from attestationApplicationId (softwareEnforced,
	// tag 709): the packages of the calling UID and the SHA-256 digests of their signing
	// certificates.
	PackageNames     []string
	PackageVersions  []int64 // versionCode of each entry of PackageNames
	SignatureDigests [][]byte
	// RootOfTrust is teeEnforced tag 704, when present: the device's verified-boot state.
	RootOfTrust *RootOfTrust
	// SoftwareEnforced and TeeEnforced hold every AuthorizationList entry by tag, for checks
	// this package does not make (purpose, algorithm, OS patch level, ...).
	SoftwareEnforced AuthorizationList
	TeeEnforced      AuthorizationList
	// Leaf is the attestation certificate; its public key is the attested key.
	Leaf *x509.Certificate
	// Chain is the verified chain, leaf first, root last.
	Chain []*x509.Certificate
}

// AuthorizationList maps the tag of each entry of a KeyDescription AuthorizationList to the DER
// of its value (the content of the EXPLICIT tag).
type AuthorizationList map[int][]byte

// RootOfTrust is the verified-boot information of KeyDescription.
type RootOfTrust struct {
	VerifiedBootKey   []byte
	DeviceLocked      bool
	VerifiedBootState int // 0 Verified, 1 SelfSigned, 2 Unverified, 3 Failed
	VerifiedBootHash  []byte
}

// keyDescription is the KeyDescription SEQUENCE of the Android Keystore documentation. Later
// attestation versions may append members; encoding/asn1 ignores them.
type keyDescription struct {
	AttestationVersion       int
	AttestationSecurityLevel asn1.Enumerated
	KeymasterVersion         int
	KeymasterSecurityLevel   asn1.Enumerated
	AttestationChallenge     []byte
	UniqueID                 []byte
	SoftwareEnforced         asn1.RawValue
	TeeEnforced              asn1.RawValue
}

type attestationApplicationID struct {
	PackageInfos     []attestationPackageInfo `asn1:"set"`
	SignatureDigests [][]byte                 `asn1:"set"`
}

type attestationPackageInfo struct {
	PackageName []byte
	Version     int64
}

type rootOfTrust struct {
	VerifiedBootKey   []byte
	DeviceLocked      bool
	VerifiedBootState asn1.Enumerated
	VerifiedBootHash  []byte `asn1:"optional"`
}

// VerifyAndroidKeyAttestation verifies an Android Key Attestation: chain is DER, leaf first (at
// most MaxAttestationChain certificates of at most MaxCertSize bytes); it must lead to one of
// roots at now, only the leaf may carry the key description, and the leaf's attestationChallenge
// must equal challenge (compared in constant time). A zero now is time.Now(); a nil roots is
// refused. It checks neither revocation (Google's attestation status list) nor security levels:
// the caller decides what it requires.
func VerifyAndroidKeyAttestation(chain [][]byte, roots *x509.CertPool, challenge []byte, now time.Time) (*AndroidAttestation, error) {
	if len(chain) == 0 {
		return nil, errorf(ErrMalformed, "empty attestation chain")
	}
	if len(chain) > MaxAttestationChain {
		return nil, tooLarge("the attestation chain has %d certificates; at most %d are accepted", len(chain), MaxAttestationChain)
	}
	certs := make([]*x509.Certificate, len(chain))
	for i, der := range chain {
		if len(der) > MaxCertSize {
			return nil, tooLarge("attestation certificate %d is %d bytes; at most %d are accepted", i, len(der), MaxCertSize)
		}
		var err error
		if certs[i], err = x509.ParseCertificate(der); err != nil {
			return nil, wrapf(ErrMalformed, err, "attestation certificate %d", i)
		}
	}
	leaf := certs[0]
	ext, err := keyDescriptionExtension(leaf)
	if err != nil {
		return nil, err
	}
	for i, c := range certs[1:] {
		for _, e := range c.Extensions {
			if e.Id.Equal(OIDAndroidKeyDescription) {
				return nil, errorf(ErrUntrusted, "attestation certificate %d above the leaf carries a key description", i+1)
			}
		}
	}
	att, err := ParseAndroidKeyDescription(ext)
	if err != nil {
		return nil, err
	}
	if roots == nil {
		return nil, errorf(ErrUntrusted, "no attestation roots configured")
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
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	})
	if err != nil {
		return nil, wrapf(ErrUntrusted, err, "the attestation chain")
	}
	if subtle.ConstantTimeCompare(att.Challenge, challenge) != 1 {
		return nil, errorf(ErrChallenge, "the attested key was made for another challenge; attest a new key with the current nonce")
	}
	att.Leaf = leaf
	att.Chain = chains[0]
	return att, nil
}

func keyDescriptionExtension(leaf *x509.Certificate) ([]byte, error) {
	var found []byte
	for _, e := range leaf.Extensions {
		if e.Id.Equal(OIDAndroidKeyDescription) {
			if found != nil {
				return nil, errorf(ErrMalformed, "the attestation certificate carries two key descriptions")
			}
			found = e.Value
		}
	}
	if found == nil {
		return nil, errorf(ErrMalformed, "the leaf certificate has no Android key description (extension %s)", OIDAndroidKeyDescription)
	}
	return found, nil
}

// ParseAndroidKeyDescription parses the DER of a KeyDescription extension value. It does not
// verify anything; VerifyAndroidKeyAttestation does.
func ParseAndroidKeyDescription(der []byte) (*AndroidAttestation, error) {
	if len(der) > MaxCertSize {
		return nil, tooLarge("key description of %d bytes", len(der))
	}
	var kd keyDescription
	rest, err := asn1.Unmarshal(der, &kd)
	if err != nil {
		return nil, wrapf(ErrMalformed, err, "the key description")
	}
	if len(rest) != 0 {
		return nil, errorf(ErrMalformed, "data after the key description")
	}
	att := &AndroidAttestation{
		AttestationVersion:       kd.AttestationVersion,
		AttestationSecurityLevel: int(kd.AttestationSecurityLevel),
		KeymasterVersion:         kd.KeymasterVersion,
		KeymasterSecurityLevel:   int(kd.KeymasterSecurityLevel),
		Challenge:                kd.AttestationChallenge,
		UniqueID:                 kd.UniqueID,
	}
	if att.SoftwareEnforced, err = parseAuthorizationList(kd.SoftwareEnforced); err != nil {
		return nil, fmt.Errorf("%w (softwareEnforced)", err)
	}
	if att.TeeEnforced, err = parseAuthorizationList(kd.TeeEnforced); err != nil {
		return nil, fmt.Errorf("%w (teeEnforced)", err)
	}
	if v, ok := att.SoftwareEnforced[TagAttestationApplicationID]; ok {
		var octets []byte
		if rest, err := asn1.Unmarshal(v, &octets); err != nil || len(rest) != 0 {
			return nil, errorf(ErrMalformed, "attestationApplicationId is not an OCTET STRING")
		}
		var id attestationApplicationID
		if rest, err := asn1.Unmarshal(octets, &id); err != nil || len(rest) != 0 {
			return nil, errorf(ErrMalformed, "attestationApplicationId does not parse: %v", err)
		}
		for _, p := range id.PackageInfos {
			att.PackageNames = append(att.PackageNames, string(p.PackageName))
			att.PackageVersions = append(att.PackageVersions, p.Version)
		}
		att.SignatureDigests = id.SignatureDigests
	}
	if v, ok := att.TeeEnforced[TagRootOfTrust]; ok {
		var r rootOfTrust
		if rest, err := asn1.Unmarshal(v, &r); err != nil || len(rest) != 0 {
			return nil, errorf(ErrMalformed, "rootOfTrust does not parse: %v", err)
		}
		att.RootOfTrust = &RootOfTrust{
			VerifiedBootKey:   r.VerifiedBootKey,
			DeviceLocked:      r.DeviceLocked,
			VerifiedBootState: int(r.VerifiedBootState),
			VerifiedBootHash:  r.VerifiedBootHash,
		}
	}
	return att, nil
}

// parseAuthorizationList reads a SEQUENCE of EXPLICIT context-specific tagged values, each tag
// at most once.
func parseAuthorizationList(seq asn1.RawValue) (AuthorizationList, error) {
	if seq.Class != asn1.ClassUniversal || seq.Tag != asn1.TagSequence || !seq.IsCompound {
		return nil, errorf(ErrMalformed, "an AuthorizationList is not a SEQUENCE")
	}
	list := AuthorizationList{}
	for rest := seq.Bytes; len(rest) > 0; {
		if len(list) == maxAuthorizationTags {
			return nil, tooLarge("an AuthorizationList has over %d entries", maxAuthorizationTags)
		}
		var v asn1.RawValue
		var err error
		if rest, err = asn1.Unmarshal(rest, &v); err != nil {
			return nil, wrapf(ErrMalformed, err, "an AuthorizationList entry")
		}
		if v.Class != asn1.ClassContextSpecific || !v.IsCompound {
			return nil, errorf(ErrMalformed, "an AuthorizationList entry is not an EXPLICIT context-specific tag")
		}
		if _, dup := list[v.Tag]; dup {
			return nil, errorf(ErrMalformed, "AuthorizationList tag %d appears twice", v.Tag)
		}
		var inner asn1.RawValue
		if r, err := asn1.Unmarshal(v.Bytes, &inner); err != nil || len(r) != 0 {
			return nil, errorf(ErrMalformed, "AuthorizationList tag %d does not hold exactly one value", v.Tag)
		}
		list[v.Tag] = inner.FullBytes
	}
	return list, nil
}

// NewTestAttestation builds a realistic Android Key Attestation chain under root, for tests:
// root -> an intermediate CA -> a leaf whose key description has attestation and KeyMint
// versions 200 at the TEE security level, the challenge, a teeEnforced list (purpose, algorithm,
// key size, curve, origin, a locked and verified rootOfTrust, OS version and patch level) and a
// softwareEnforced list (creation time, attestationApplicationId with packageName at version 1
// and signatureDigest). It returns the chain as DER, leaf first, ending with root's certificates,
// and the leaf's (ECDSA P-256) private key.
func NewTestAttestation(root *CA, challenge []byte, packageName string, signatureDigest []byte) (chain [][]byte, leafKey crypto.Signer, err error) {
	return newTestAttestation(root, testAttestationOptions{
		challenge: challenge, packageName: packageName, signatureDigest: signatureDigest,
	})
}

type testAttestationOptions struct {
	challenge       []byte
	packageName     string
	signatureDigest []byte
	now             time.Time
	// keyDescription replaces the leaf's extension value; extensionInIntermediate adds one to
	// the intermediate (both for refusal tests).
	keyDescription          []byte
	extensionInIntermediate bool
	noExtension             bool
}

// authorizationEntry is one entry of a test AuthorizationList: a tag and the DER of its value.
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

// testKeyDescription encodes a KeyDescription as a TEE-backed KeyMint 2 device would.
func testKeyDescription(challenge []byte, packageName string, signatureDigest []byte, created time.Time) ([]byte, error) {
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
		authorizationEntry{tag: TagAttestationApplicationID, value: appID},
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
		authorizationEntry{tag: TagRootOfTrust, value: rootOfTrust{VerifiedBootKey: bootKey, DeviceLocked: true, VerifiedBootState: 0, VerifiedBootHash: bootHash}},
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
		AttestationSecurityLevel: SecurityLevelTrustedEnvironment,
		KeymasterVersion:         200,
		KeymasterSecurityLevel:   SecurityLevelTrustedEnvironment,
		AttestationChallenge:     challenge,
		UniqueID:                 []byte{},
		SoftwareEnforced:         asn1.RawValue{FullBytes: software},
		TeeEnforced:              asn1.RawValue{FullBytes: tee},
	})
}

func newTestAttestation(root *CA, o testAttestationOptions) ([][]byte, crypto.Signer, error) {
	if root == nil {
		return nil, nil, fmt.Errorf("pki: test attestation: no root CA")
	}
	now := o.now
	if now.IsZero() {
		now = time.Now()
	}
	kd := o.keyDescription
	if kd == nil {
		var err error
		if kd, err = testKeyDescription(o.challenge, o.packageName, o.signatureDigest, now); err != nil {
			return nil, nil, fmt.Errorf("pki: test attestation: %w", err)
		}
	}
	ext := pkix.Extension{Id: OIDAndroidKeyDescription, Value: kd}

	interKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
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
	if o.extensionInIntermediate {
		interTmpl.ExtraExtensions = []pkix.Extension{ext}
	}
	interDER, err := x509.CreateCertificate(rand.Reader, interTmpl, root.Cert, interKey.Public(), root.Key)
	if err != nil {
		return nil, nil, fmt.Errorf("pki: test attestation intermediate: %w", err)
	}
	inter, err := x509.ParseCertificate(interDER)
	if err != nil {
		return nil, nil, err
	}
	leafTmpl := &x509.Certificate{
		// Keystore leaves have serial 1 and this subject on most devices.
		SerialNumber: bigOne(),
		Subject:      pkix.Name{CommonName: "Android Keystore Key"},
		NotBefore:    now.Add(-time.Minute),
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	if !o.noExtension {
		leafTmpl.ExtraExtensions = []pkix.Extension{ext}
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, inter, leafKey.Public(), interKey)
	if err != nil {
		return nil, nil, fmt.Errorf("pki: test attestation leaf: %w", err)
	}
	chain := [][]byte{leafDER, interDER}
	return append(chain, root.ChainDER()...), leafKey, nil
}
