package engine

import (
	"encoding/base64"
	"errors"
	"testing"

	"github.com/realmgate/realmgate/pki"
)

// FuzzX5CLeaf feeds x5cLeaf, which reads the certificate of a sign-in payload and of a
// re-provisioning proof before anything is verified: it never panics, and it either returns a
// certificate or fails with CodeBadRequest.
func FuzzX5CLeaf(f *testing.F) {
	hdr := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	for _, s := range []string{
		"", ".", "..", "a.b.c", hdr(`{"alg":"ES256"}`) + ".e30.sig", hdr(`{"x5c":[]}`) + ".e30.",
		hdr(`{"x5c":["AAAA"]}`) + ".e30.", hdr(`{"x5c":["not base64"]}`) + ".e30.", hdr(`{"x5c":"x"}`) + ".e30.",
		hdr(`{"x5c":[7]}`) + ".e30.", "!!!.e30.",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, jws string) {
		leaf, err := x5cLeaf(jws)
		if err == nil {
			if leaf == nil || len(leaf.Raw) > pki.MaxCertSize {
				t.Fatalf("x5cLeaf(%q) = %v without an error", jws, leaf)
			}
			return
		}
		var e *Error
		if !errors.As(err, &e) || e.Code != CodeBadRequest {
			t.Fatalf("x5cLeaf(%q): %#v, want an *Error with %s", jws, err, CodeBadRequest)
		}
	})
}
