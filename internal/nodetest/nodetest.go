// Package nodetest gives Go tests the Node.js toolchain that the repository's Node packages
// (resource/node, client/js) are tested with: node, and the package's locked dependencies.
package nodetest

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

var (
	mu       sync.Mutex
	installs = map[string]error{} // package folder → the outcome of its one npm ci
)

// Toolchain returns the node binary, with the dependencies of the package in dir installed as
// its package-lock.json locks them (npm ci, at most once per folder and test binary, and only
// when node_modules does not already hold them). Without node and npm the test is skipped, or
// fails when REALMGATE_REQUIRE_TOOLCHAINS is set (as .ci/run sets it).
func Toolchain(t testing.TB, dir string) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err == nil {
		_, err = exec.LookPath("npm")
	}
	if err != nil {
		if os.Getenv("REALMGATE_REQUIRE_TOOLCHAINS") != "" {
			t.Fatalf("node and npm are required (REALMGATE_REQUIRE_TOOLCHAINS is set): %v; run .ci/install-node.sh", err)
		}
		t.Skipf("node or npm not installed: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	ierr, done := installs[abs]
	if !done {
		if !LockedInstalled(abs) {
			cmd := exec.Command("npm", "ci", "--no-audit", "--no-fund", "--loglevel=error")
			cmd.Dir = abs
			if out, err := cmd.CombinedOutput(); err != nil {
				ierr = errors.New("npm ci in " + dir + ": " + err.Error() + "\n" + string(out))
			}
		}
		installs[abs] = ierr
	}
	if ierr != nil {
		t.Fatal(ierr)
	}
	return node
}

// LockedInstalled reports whether dir/node_modules holds every package of dir/package-lock.json
// at its locked version; an optional one (a binary for another platform) only when present.
func LockedInstalled(dir string) bool {
	var lock struct {
		Packages map[string]struct {
			Version  string
			Optional bool
		} `json:"packages"`
	}
	b, err := os.ReadFile(filepath.Join(dir, "package-lock.json"))
	if err != nil || json.Unmarshal(b, &lock) != nil {
		return false
	}
	for path, p := range lock.Packages {
		if path == "" {
			continue
		}
		var installed struct{ Version string }
		b, err := os.ReadFile(filepath.Join(dir, path, "package.json"))
		if p.Optional && errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil || json.Unmarshal(b, &installed) != nil || installed.Version != p.Version {
			return false
		}
	}
	return true
}
