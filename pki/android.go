package pki

import (
	"crypto/subtle"
	"crypto/x509"
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
