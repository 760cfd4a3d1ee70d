package pkitest_test

import (
	"crypto/sha256"
	"sort"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/realmgate/realmgate/pki"
	"github.com/realmgate/realmgate/pki/pkitest"
)

func TestNewAttestation(t *testing.T) {
	t.Parallel()
	root, err := pki.NewCA(pki.CAOptions{CommonName: "Test attestation root"})
	if err != nil {
		t.Fatal(err)
	}
	challenge := []byte("nonce-42")
	digest := sha256.Sum256([]byte("app signing certificate"))
	chain, leafKey, err := pkitest.NewAttestation(root, challenge, "com.example.app", digest[:])
	if err != nil {
		t.Fatal(err)
	}
	if len(chain) != 3 {
		t.Fatalf("chain of %d certificates, want leaf, intermediate, root", len(chain))
	}
	att, err := pki.VerifyAndroidKeyAttestation(chain, root.Roots(), challenge, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	type summary struct {
		AttestationVersion, AttestationSecurityLevel, KeymasterVersion, KeymasterSecurityLevel int
		Challenge                                                                              string
		PackageNames                                                                           []string
		PackageVersions                                                                        []int64
		SignatureDigests                                                                       [][]byte
		DeviceLocked                                                                           bool
		VerifiedBootState                                                                      int
		SoftwareTags, TeeTags                                                                  []int
	}
	want := summary{200, pki.SecurityLevelTrustedEnvironment, 200, pki.SecurityLevelTrustedEnvironment, "nonce-42",
		[]string{"com.example.app"}, []int64{1}, [][]byte{digest[:]}, true, 0,
		[]int{701, 709}, []int{1, 2, 3, 5, 10, 503, 702, 704, 705, 706, 718, 719}}
	got := summary{att.AttestationVersion, att.AttestationSecurityLevel, att.KeymasterVersion, att.KeymasterSecurityLevel,
		string(att.Challenge), att.PackageNames, att.PackageVersions, att.SignatureDigests,
		att.RootOfTrust.DeviceLocked, att.RootOfTrust.VerifiedBootState, tags(att.SoftwareEnforced), tags(att.TeeEnforced)}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("attestation (-want +got):\n%s", d)
	}
	if !pki.SamePublicKey(att.Leaf.PublicKey, leafKey.Public()) {
		t.Error("the leaf certificate is not for the returned key")
	}
	if _, _, err := pkitest.NewAttestation(nil, challenge, "x", nil); err == nil {
		t.Error("NewAttestation without a root did not fail")
	}
}

func tags(l pki.AuthorizationList) []int {
	var out []int
	for k := range l {
		out = append(out, k)
	}
	sort.Ints(out)
	return out
}
