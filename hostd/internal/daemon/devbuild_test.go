package daemon

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

// TestDevBuildHashesTheGuestSDK: a development build is cached under a hash that covers the
// packages the adapter imports, so that a fix to the guest SDK rebuilds the adapters using it.
func TestDevBuildHashesTheGuestSDK(t *testing.T) {
	env := append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
	files, err := dependencyFiles(context.Background(), "go", "../../../examples/banking/adapters/Accounts/src", env)
	if err != nil {
		t.Fatal(err)
	}
	root, _ := filepath.Abs("../../..")
	for _, want := range []string{
		"sdk-wasm/go/realmgate/realmgate.go",
		"sdk-wasm/go/realmgate/host_wasip1.go",
		"internal/adapterjson/adapterjson.go",
		"go.mod",
	} {
		if !slices.Contains(files, filepath.Join(root, want)) {
			t.Errorf("the build hash misses %s (files: %v)", want, files)
		}
	}
	// The JSON library the SDK decodes with, from the module cache: its sources and its go.mod.
	var library, libraryMod bool
	for _, f := range files {
		if strings.Contains(filepath.ToSlash(f), "github.com/go-json-experiment/json@") && filepath.Base(f) == "arshal.go" {
			library = true
		}
		if strings.Contains(filepath.ToSlash(f), "github.com/go-json-experiment/json/@v/") && strings.HasSuffix(f, ".mod") {
			libraryMod = true
		}
	}
	if !library || !libraryMod {
		t.Errorf("the build hash misses the JSON library (sources %v, go.mod %v; files: %v)", library, libraryMod, files)
	}
	for _, f := range files {
		if filepath.Base(f) == "host_other.go" {
			t.Errorf("%s is not built for wasip1", f)
		}
	}
}

// TestDevBuildsAtOnce: builds of one module that run at once (daemons, or test processes,
// starting together on one cache) all succeed, and leave the module and no temporary file.
func TestDevBuildsAtOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a Go guest eight times at once")
	}
	// The Go tool's own caches stay where they are; the adapter builds go to a new folder.
	out, err := exec.Command("go", "env", "GOCACHE", "GOMODCACHE", "GOPATH").Output()
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range strings.Fields(string(out)) {
		t.Setenv([]string{"GOCACHE", "GOMODCACHE", "GOPATH"}[i], v)
	}
	cache := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", cache) // os.UserCacheDir on Linux
	t.Setenv("HOME", cache)           // and elsewhere
	var wg sync.WaitGroup
	outs, errs := make([]string, 8), make([]error, 8)
	for i := range outs {
		wg.Go(func() {
			outs[i], errs[i] = buildFromSource(t.Context(), "Accounts", "../../../examples/banking/adapters/Accounts/src")
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("build %d: %v", i, err)
		}
	}
	if outs[0] == "" || slices.ContainsFunc(outs, func(o string) bool { return o != outs[0] }) {
		t.Fatalf("modules %q, want one path", outs)
	}
	if fi, err := os.Stat(outs[0]); err != nil || fi.Size() == 0 {
		t.Errorf("the module: %v %v", fi, err)
	}
	left, _ := filepath.Glob(filepath.Join(filepath.Dir(outs[0]), "*.tmp"))
	if len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
}
