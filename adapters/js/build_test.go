package js_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/realmgate/realmgate/adapters/js"
	"github.com/realmgate/realmgate/adapters/js/jstest"
)

// TestEngineBuildIsReproducible builds the engine module twice, from this checkout and from a
// copy of its sources in another folder, with a wasm-opt on the PATH that fails if run: the two
// modules must be equal byte for byte, since a production configuration pins the module's
// SHA-256 (jsEngineSHA256) and EngineKey promises equal modules for equal keys. A folder's name
// that reaches the module (assert's __FILE__), or clang running binaryen's optimizer where one is
// installed, would each break that.
func TestEngineBuildIsReproducible(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the JavaScript engine twice")
	}
	jstest.EngineModule(t) // skips, or fails under REALMGATE_REQUIRE_TOOLCHAINS, without the toolchain
	src, err := js.EngineSource()
	if err != nil {
		t.Fatal(err)
	}
	fake := t.TempDir()
	if err := os.WriteFile(filepath.Join(fake, "wasm-opt"), []byte("#!/bin/sh\necho wasm-opt ran >&2\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", fake+string(os.PathListSeparator)+os.Getenv("PATH"))

	// The copy keeps the layout build.sh expects: its folder three levels below the C SDK's.
	root := filepath.Join(src, "..", "..", "..")
	copyRoot := filepath.Join(t.TempDir(), "elsewhere")
	files, err := js.EngineInputs(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		rel, err := filepath.Rel(root, f)
		if err != nil || strings.HasPrefix(rel, "..") {
			continue // QuickJS's own source, read from where it is installed
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dst := filepath.Join(copyRoot, rel)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	ctx := context.Background()
	out := t.TempDir()
	sums := make([][32]byte, 2)
	for i, dir := range []string{src, filepath.Join(copyRoot, "adapters", "js", "quickjs")} {
		module := filepath.Join(out, fmt.Sprintf("engine-%d.wasm", i))
		if err := js.BuildEngine(ctx, dir, module); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(module)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte(root)) || bytes.Contains(b, []byte(copyRoot)) || bytes.Contains(b, []byte(os.TempDir()+"/")) {
			t.Errorf("the module built from %s names a folder it was built in", dir)
		}
		sums[i] = sha256.Sum256(b)
	}
	if sums[0] != sums[1] {
		t.Errorf("two builds of the same sources differ: %x and %x", sums[0], sums[1])
	}
}
