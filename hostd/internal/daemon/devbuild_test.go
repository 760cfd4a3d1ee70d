package daemon

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
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
