package policybundle_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/realmgate/realmgate/hostd/internal/policybundle"
	"github.com/realmgate/realmgate/hostd/internal/policybundle/bundletest"
)

const limitsRego = `package realmgate.user.limits

deny contains "over the limit" if {
	input.request.parameters[0].amount > data.realmgate.user.limits.max
}
`

const limitsTest = `package realmgate.user.limits_test

test_limit if { data.realmgate.user.limits.max == 100 }
`

func spec(rev string, max int) bundletest.Spec {
	return bundletest.Spec{
		Revision: rev,
		Roots:    []string{"realmgate/user"},
		Modules:  map[string]string{"policies/limits.rego": limitsRego, "policies/limits_test.rego": limitsTest},
		Data:     map[string]any{"realmgate": map[string]any{"user": map[string]any{"limits": map[string]any{"max": max}}}},
	}
}

type summary struct {
	Revision string
	Modules  []string
	Tests    []string
	Max      any
}

func summarize(b *policybundle.Bundle) summary {
	s := summary{Revision: b.Revision}
	for _, m := range b.Modules {
		s.Modules = append(s.Modules, m.Path)
	}
	for _, m := range b.Tests {
		s.Tests = append(s.Tests, m.Path)
	}
	if b.Data != nil {
		s.Max = b.Data["realmgate"].(map[string]any)["user"].(map[string]any)["limits"].(map[string]any)["max"]
	}
	return s
}

func TestReadDirectoryAndTarball(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for p, src := range map[string]string{
		".manifest":                       `{"revision": "dir-1", "roots": ["realmgate/user"]}`,
		"policies/limits.rego":            limitsRego,
		"policies/limits_test.rego":       limitsTest,
		"realmgate/user/limits/data.json": `{"max": 100}`,
	} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, p), []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	file := filepath.Join(t.TempDir(), "bundle.tar.gz")
	bundletest.WriteFile(t, file, spec("tar-1", 100), nil, "")
	for _, tc := range []struct {
		name, path string
		want       summary
	}{
		{"directory", dir, summary{Revision: "dir-1", Modules: []string{"/policies/limits.rego"}, Tests: []string{"/policies/limits_test.rego"}, Max: 100.0}},
		{"tarball", file, summary{Revision: "tar-1", Modules: []string{"/policies/limits.rego"}, Tests: []string{"/policies/limits_test.rego"}, Max: 100.0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := policybundle.ReadPath(tc.path, policybundle.Options{})
			if err != nil {
				t.Fatal(err)
			}
			got := summarize(b)
			if n, ok := got.Max.(interface{ String() string }); ok { // json.Number
				got.Max = n.String()
				tc.want.Max = "100"
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("bundle (-want +got):\n%s", d)
			}
			if len(b.Digest) != 64 {
				t.Errorf("digest %q", b.Digest)
			}
		})
	}
}

func TestRefused(t *testing.T) {
	t.Parallel()
	key := bundletest.NewKey(t)
	other := bundletest.NewKey(t)
	vc, err := policybundle.VerificationConfig(key.PublicFile, "ES256", "prod", "")
	if err != nil {
		t.Fatal(err)
	}
	signed := policybundle.Options{Verification: vc}

	noRoots := spec("r", 1)
	noRoots.Roots = nil
	wideRoot := spec("r", 1)
	wideRoot.Roots = []string{"realmgate"}
	escape := spec("r", 1)
	escape.Roots = []string{"realmgate/user/../tests"}
	otherPkg := spec("r", 1)
	otherPkg.Modules = map[string]string{"p.rego": "package realmgate.tests\n\nx := 1\n"}

	for _, tc := range []struct {
		name string
		raw  []byte
		opts policybundle.Options
		want string
	}{
		{"not a tarball", []byte("not gzip at all"), policybundle.Options{}, "gzip"},
		{"no roots", bundletest.Tarball(t, noRoots, nil, ""), policybundle.Options{}, "declares no roots"},
		{"root too wide", bundletest.Tarball(t, wideRoot, nil, ""), policybundle.Options{}, "outside realmgate/user"},
		{"root escapes", bundletest.Tarball(t, escape, nil, ""), policybundle.Options{}, "roots"},
		{"package outside roots", bundletest.Tarball(t, otherPkg, nil, ""), policybundle.Options{}, "roots"},
		{"unsigned where signatures are required", bundletest.Tarball(t, spec("r", 1), nil, ""), signed, "signature"},
		{"signed by another key", bundletest.Tarball(t, spec("r", 1), &other, "prod"), signed, "verif"},
		{"tampered after signing", tamper(t, bundletest.Tarball(t, spec("r", 1), &key, "prod")), signed, "digest"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := policybundle.ReadTarball(tc.raw, tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one containing %q", err, tc.want)
			}
		})
	}
	t.Run("signed accepted", func(t *testing.T) {
		b, err := policybundle.ReadTarball(bundletest.Tarball(t, spec("signed-1", 7), &key, "prod"), signed)
		if err != nil {
			t.Fatal(err)
		}
		if b.Revision != "signed-1" {
			t.Errorf("revision %q", b.Revision)
		}
	})
}

// tamper rewrites the data of a signed bundle file, keeping its .signatures.json.
func tamper(t *testing.T, signed []byte) []byte {
	t.Helper()
	return rewriteTar(t, signed, "/data.json", []byte(`{"realmgate": {"user": {"limits": {"max": 1000000000}}}}`))
}

func TestFetchWithETag(t *testing.T) {
	t.Parallel()
	var body atomic.Pointer[[]byte]
	first := bundletest.Tarball(t, spec("http-1", 100), nil, "")
	body.Store(&first)
	var gets, notModified atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gets.Add(1)
		raw := *body.Load()
		etag := `"` + policybundleDigest(raw) + `"`
		if r.Header.Get("If-None-Match") == etag {
			notModified.Add(1)
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", etag)
		w.Write(raw)
	}))
	defer srv.Close()
	f := &policybundle.Fetcher{URL: srv.URL + "/bundle.tar.gz", Client: srv.Client()}
	ctx := context.Background()
	b, err := f.Fetch(ctx)
	if err != nil || b.Revision != "http-1" {
		t.Fatalf("first fetch: %v, %v", b, err)
	}
	if _, err := f.Fetch(ctx); !errors.Is(err, policybundle.ErrNotModified) {
		t.Fatalf("second fetch: %v, want ErrNotModified", err)
	}
	next := bundletest.Tarball(t, spec("http-2", 200), nil, "")
	body.Store(&next)
	if b, err = f.Fetch(ctx); err != nil || b.Revision != "http-2" {
		t.Fatalf("third fetch: %v, %v", b, err)
	}
	if gets.Load() != 3 || notModified.Load() != 1 {
		t.Errorf("%d GETs, %d answered 304; want 3 and 1", gets.Load(), notModified.Load())
	}

	// A bundle larger than the bound is refused without reading it whole.
	small := &policybundle.Fetcher{URL: srv.URL, Client: srv.Client(), Opts: policybundle.Options{MaxBytes: 64}}
	if _, err := small.Fetch(ctx); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("oversized bundle: %v", err)
	}
}
