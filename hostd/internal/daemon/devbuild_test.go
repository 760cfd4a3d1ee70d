package daemon

import (
	"context"
	"os"
	"path/filepath"
	"slices"
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
		"internal/exactjson/exactjson.go",
		"go.mod",
	} {
		if !slices.Contains(files, filepath.Join(root, want)) {
			t.Errorf("the build hash misses %s (files: %v)", want, files)
		}
	}
	for _, f := range files {
		if filepath.Base(f) == "host_other.go" {
			t.Errorf("%s is not built for wasip1", f)
		}
	}
}
