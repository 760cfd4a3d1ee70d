package pki

import (
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"sort"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func derChain(certs []*x509.Certificate) [][]byte {
	out := make([][]byte, len(certs))
	for i, c := range certs {
		out[i] = c.Raw
	}
	return out
}

func tags(l AuthorizationList) []int {
	var out []int
	for k := range l {
		out = append(out, k)
	}
	sort.Ints(out)
	return out
}

func b64(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestAndroidGenuineChain verifies a chain a Pixel 3 made, against the values Google's own
// verifier expects for it (android/keyattestation testdata/blueline/sdk28/TEE_EC_NONE.json).
func TestAndroidGenuineChain(t *testing.T) {
	t.Parallel()
	certs := readCerts(t, "android/blueline-sdk28-tee-ec.pem")
	googleRoot := x509.NewCertPool()
	googleRoot.AddCert(certs[3])
	chain := derChain(certs)
	inValidity := time.Date(2019, 9, 1, 0, 0, 0, 0, time.UTC)

	att, err := VerifyAndroidKeyAttestation(chain, googleRoot, []byte("challenge"), inValidity)
	if err != nil {
		t.Fatal(err)
	}
	type summary struct {
		AttestationVersion, AttestationSecurityLevel, KeymasterVersion, KeymasterSecurityLevel int
		Challenge, UniqueID                                                                    string
		PackageNames                                                                           []string
		PackageVersions                                                                        []int64
		SignatureDigests                                                                       [][]byte
		RootOfTrust                                                                            RootOfTrust
		SoftwareTags, TeeTags                                                                  []int
		ChainLength                                                                            int
	}
	want := summary{
		AttestationVersion: 3, AttestationSecurityLevel: SecurityLevelTrustedEnvironment,
		KeymasterVersion: 4, KeymasterSecurityLevel: SecurityLevelTrustedEnvironment,
		Challenge:        "challenge",
		PackageNames:     []string{"com.google.wireless.android.security.attestationverifier.collector"},
		PackageVersions:  []int64{0},
		SignatureDigests: [][]byte{b64(t, "EDk47kU35Z6O55L2VFBPuDRvxrNG0LvEQV/DOfz8jsE=")},
		RootOfTrust: RootOfTrust{VerifiedBootKey: []byte{}, DeviceLocked: false, VerifiedBootState: 2,
			VerifiedBootHash: b64(t, "bp0MW+os2pnz5cdvsnQM34eT0dNjQizQZdIr8KK7W60=")},
		SoftwareTags: []int{701, TagAttestationApplicationID},
		// purpose, algorithm, keySize, ecCurve, noAuthRequired, origin, rootOfTrust, osVersion,
		// osPatchLevel, vendorPatchLevel, bootPatchLevel
		TeeTags:     []int{1, 2, 3, 10, 503, 702, TagRootOfTrust, 705, 706, 718, 719},
		ChainLength: 4,
	}
	got := summary{att.AttestationVersion, att.AttestationSecurityLevel, att.KeymasterVersion, att.KeymasterSecurityLevel,
		string(att.Challenge), string(att.UniqueID), att.PackageNames, att.PackageVersions, att.SignatureDigests,
		*att.RootOfTrust, tags(att.SoftwareEnforced), tags(att.TeeEnforced), len(att.Chain)}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("attestation (-want +got):\n%s", d)
	}
	if !att.Leaf.Equal(certs[0]) {
		t.Error("Leaf is not the chain's first certificate")
	}
	// osVersion 90000 (Android 9), as DER INTEGER.
	var osVersion int
	if _, err := asn1.Unmarshal(att.TeeEnforced[705], &osVersion); err != nil || osVersion != 90000 {
		t.Errorf("osVersion %d (%v)", osVersion, err)
	}

	tampered := append([]byte(nil), chain[0]...)
	tampered[len(tampered)-1] ^= 1
	ownCA := testCA(t)
	tests := []struct {
		name      string
		chain     [][]byte
		roots     *x509.CertPool
		challenge string
		now       time.Time
		want      []error
		msg       string
	}{
		{"wrong challenge", chain, googleRoot, "challengf", inValidity, errs(ErrChallenge), "another challenge"},
		{"empty challenge", chain, googleRoot, "", inValidity, errs(ErrChallenge), ""},
		{"root expired", chain, googleRoot, "challenge", time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC), errs(ErrUntrusted), "expired"},
		{"before the intermediates", chain, googleRoot, "challenge", time.Date(2018, 1, 1, 0, 0, 0, 0, time.UTC), errs(ErrUntrusted), ""},
		{"another root", chain, ownCA.Roots(), "challenge", inValidity, errs(ErrUntrusted), "unknown authority"},
		{"intermediates missing", chain[:1], googleRoot, "challenge", inValidity, errs(ErrUntrusted), ""},
		{"leaf signature changed", append([][]byte{tampered}, chain[1:]...), googleRoot, "challenge", inValidity, errs(ErrUntrusted), ""},
		{"leaf not first", [][]byte{chain[1], chain[0], chain[2], chain[3]}, googleRoot, "challenge", inValidity, errs(ErrMalformed), "no Android key description"},
		{"no roots", chain, nil, "challenge", inValidity, errs(ErrUntrusted), "no attestation roots"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			att, err := VerifyAndroidKeyAttestation(tt.chain, tt.roots, []byte(tt.challenge), tt.now)
			checkErr(t, err, tt.want, tt.msg)
			if att != nil {
				t.Error("a refusal returned an attestation")
			}
		})
	}
}

func TestParseAndroidKeyDescription(t *testing.T) {
	t.Parallel()
	// kd encodes a KeyDescription with the given AuthorizationLists (DER).
	kd := func(software, tee []byte) []byte {
		b, err := asn1.Marshal(keyDescription{
			AttestationVersion: 4, AttestationSecurityLevel: 2, KeymasterVersion: 41, KeymasterSecurityLevel: 2,
			AttestationChallenge: []byte("c"), UniqueID: []byte("u"),
			SoftwareEnforced: asn1.RawValue{FullBytes: software}, TeeEnforced: asn1.RawValue{FullBytes: tee},
		})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	seq := func(entries ...[]byte) []byte {
		var body []byte
		for _, e := range entries {
			body = append(body, e...)
		}
		b, _ := asn1.Marshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSequence, IsCompound: true, Bytes: body})
		return b
	}
	explicit := func(tag int, inner []byte) []byte {
		b, _ := asn1.Marshal(asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: tag, IsCompound: true, Bytes: inner})
		return b
	}
	der := func(v any, params ...string) []byte {
		p := ""
		if len(params) > 0 {
			p = params[0]
		}
		b, err := asn1.MarshalWithParams(v, p)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	appID := der(der(attestationApplicationID{
		PackageInfos:     []attestationPackageInfo{{[]byte("com.a"), 3}, {[]byte("com.b"), 1 << 40}},
		SignatureDigests: [][]byte{{1}, {2}},
	}))
	empty := seq()
	manyEntries := make([][]byte, maxAuthorizationTags+1)
	for i := range manyEntries {
		manyEntries[i] = explicit(1000+i, der(1))
	}
	octets := der([]byte{1, 2})
	ctxPrimitive, _ := asn1.Marshal(asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 3, Bytes: []byte{1}})
	universal := der(5)

	tests := []struct {
		name         string
		in           []byte
		wantPackages []string
		wantVersions []int64
		want         []error
		msg          string
	}{
		{name: "minimal", in: kd(empty, empty)},
		{name: "application id", in: kd(seq(explicit(TagAttestationApplicationID, appID)), empty),
			wantPackages: []string{"com.a", "com.b"}, wantVersions: []int64{3, 1 << 40}},
		{name: "application id in tee is ignored", in: kd(empty, seq(explicit(TagAttestationApplicationID, appID)))},
		{name: "trailing members of a later version", in: appendToSequence(kd(empty, empty), der(7))},

		{name: "not a sequence", in: der(5), want: errs(ErrMalformed)},
		{name: "truncated", in: kd(empty, empty)[:10], want: errs(ErrMalformed)},
		{name: "trailing data", in: append(kd(empty, empty), 0), want: errs(ErrMalformed), msg: "after the key description"},
		{name: "authorization list not a sequence", in: kd(octets, empty), want: errs(ErrMalformed), msg: "not a SEQUENCE (softwareEnforced)"},
		{name: "entry not context-specific", in: kd(empty, seq(universal)), want: errs(ErrMalformed), msg: "(teeEnforced)"},
		{name: "entry implicit", in: kd(seq(ctxPrimitive), empty), want: errs(ErrMalformed), msg: "EXPLICIT"},
		{name: "duplicate tag", in: kd(seq(explicit(3, der(256)), explicit(3, der(256))), empty), want: errs(ErrMalformed), msg: "tag 3 appears twice"},
		{name: "entry with two values", in: kd(seq(explicit(3, append(der(1), der(2)...))), empty), want: errs(ErrMalformed), msg: "exactly one value"},
		{name: "empty entry", in: kd(seq(explicit(3, nil)), empty), want: errs(ErrMalformed)},
		{name: "too many entries", in: kd(seq(manyEntries...), empty), want: errs(ErrTooLarge)},
		{name: "application id not octets", in: kd(seq(explicit(TagAttestationApplicationID, der(5))), empty), want: errs(ErrMalformed), msg: "not an OCTET STRING"},
		{name: "application id damaged", in: kd(seq(explicit(TagAttestationApplicationID, der([]byte{0x30, 0x01}))), empty), want: errs(ErrMalformed), msg: "does not parse"},
		{name: "root of trust damaged", in: kd(empty, seq(explicit(TagRootOfTrust, der(5)))), want: errs(ErrMalformed), msg: "rootOfTrust"},
		{name: "too large", in: make([]byte, MaxCertSize+1), want: errs(ErrTooLarge)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			att, err := ParseAndroidKeyDescription(tt.in)
			checkErr(t, err, tt.want, tt.msg)
			if err != nil {
				return
			}
			if att.AttestationVersion != 4 || att.KeymasterSecurityLevel != SecurityLevelStrongBox || string(att.Challenge) != "c" || string(att.UniqueID) != "u" {
				t.Errorf("fields: %+v", att)
			}
			if d := cmp.Diff(tt.wantPackages, att.PackageNames); d != "" {
				t.Errorf("packages (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tt.wantVersions, att.PackageVersions); d != "" {
				t.Errorf("versions (-want +got):\n%s", d)
			}
		})
	}
}

// appendToSequence adds extra DER after the last member of a SEQUENCE.
func appendToSequence(seq, extra []byte) []byte {
	var v asn1.RawValue
	asn1.Unmarshal(seq, &v)
	v.Bytes = append(v.Bytes, extra...)
	v.FullBytes = nil
	out, _ := asn1.Marshal(v)
	return out
}
