package pki_test

import (
	"errors"
	"testing"
	"time"

	"github.com/realmgate/realmgate/pki"
	"github.com/realmgate/realmgate/pki/pkitest"
)

// TestVerifyAndroidKeyAttestationRefusals verifies chains that pkitest builds broken in one way
// each, and inputs that are not chains at all.
func TestVerifyAndroidKeyAttestationRefusals(t *testing.T) {
	t.Parallel()
	root := pki.SharedCA(t)
	challenge := []byte("nonce")
	build := func(o pkitest.AttestationOptions) [][]byte {
		t.Helper()
		if o.Challenge == nil {
			o.Challenge = challenge
		}
		chain, _, err := pkitest.NewAttestationWith(root, o)
		if err != nil {
			t.Fatal(err)
		}
		return chain
	}
	good := build(pkitest.AttestationOptions{PackageName: "com.example"})
	garbage := append([][]byte{[]byte("not a certificate")}, good[1:]...)
	tooMany := append(append([][]byte{}, good...), good[1], good[1], good[1], good[1], good[1], good[1])
	errs := pki.Errs
	tests := []struct {
		name  string
		chain [][]byte
		want  []error
		msg   string
	}{
		{"good", good, nil, ""},
		{"another challenge", build(pkitest.AttestationOptions{Challenge: []byte("other")}), errs(pki.ErrChallenge), ""},
		{"no key description", build(pkitest.AttestationOptions{NoExtension: true}), errs(pki.ErrMalformed), "no Android key description"},
		{"key description above the leaf", build(pkitest.AttestationOptions{ExtensionInIntermediate: true}), errs(pki.ErrUntrusted), "above the leaf"},
		{"damaged key description", build(pkitest.AttestationOptions{KeyDescription: []byte{0x30, 0x03, 0x02, 0x01}}), errs(pki.ErrMalformed), "key description"},
		{"empty chain", nil, errs(pki.ErrMalformed), "empty"},
		{"not a certificate", garbage, errs(pki.ErrMalformed), "certificate 0"},
		{"too many certificates", tooMany, errs(pki.ErrTooLarge), "9 certificates"},
		{"certificate too large", [][]byte{make([]byte, pki.MaxCertSize+1)}, errs(pki.ErrTooLarge), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := pki.VerifyAndroidKeyAttestation(tt.chain, root.Roots(), challenge, time.Now())
			pki.CheckErr(t, err, tt.want, tt.msg)
		})
	}
}

func FuzzAndroidKeyDescription(f *testing.F) {
	genuine := pki.ReadCerts(f, "android/blueline-sdk28-tee-ec.pem")[0]
	ext, err := pki.KeyDescriptionExtension(genuine)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(ext)
	kd, err := pkitest.KeyDescription([]byte("challenge"), "com.example", []byte{1, 2, 3}, time.Unix(0, 0))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(kd)
	f.Add([]byte{0x30, 0x00})
	f.Fuzz(func(t *testing.T, der []byte) {
		att, err := pki.ParseAndroidKeyDescription(der)
		if err != nil {
			if !errors.Is(err, pki.ErrMalformed) {
				t.Fatalf("error without ErrMalformed: %v", err)
			}
			return
		}
		if len(att.PackageNames) != len(att.PackageVersions) {
			t.Fatalf("%d package names, %d versions", len(att.PackageNames), len(att.PackageVersions))
		}
	})
}
