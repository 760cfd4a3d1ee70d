package policybundle_test

import (
	"testing"

	"github.com/realmgate/realmgate/hostd/internal/policybundle"
	"github.com/realmgate/realmgate/hostd/internal/policybundle/bundletest"
)

// FuzzReadTarball feeds arbitrary bytes to the bundle reader: it returns a bundle or an error,
// never panics, and a bundle it returns keeps to its roots.
func FuzzReadTarball(f *testing.F) {
	f.Add(bundletest.Tarball(f, spec("seed", 1), nil, ""))
	noRoots := spec("seed", 1)
	noRoots.Roots = nil
	f.Add(bundletest.Tarball(f, noRoots, nil, ""))
	f.Add([]byte{0x1f, 0x8b, 0x08, 0x00})
	f.Fuzz(func(t *testing.T, raw []byte) {
		b, err := policybundle.ReadTarball(raw, policybundle.Options{MaxBytes: 1 << 20})
		if err != nil {
			return
		}
		if len(b.Roots) == 0 || b.Revision == "" || len(b.Digest) != 64 {
			t.Fatalf("accepted a bundle without roots, revision or digest: %+v", b)
		}
		for k := range b.Data {
			if k != "realmgate" {
				t.Fatalf("accepted data.%s", k)
			}
		}
	})
}
