// Package plugintest builds plugin binaries from source for tests, once per source tree: the
// binaries are cached in the temporary directory under a hash of the sources they are built
// from, so test packages and repeated runs share them.
package plugintest

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
)

var (
	mu    sync.Mutex
	built = map[string][2]string{}
)

// Build compiles the main package pkg, a directory relative to the module root such as
// "plugins/examples/pkibridge", and returns the binary's path and the hex SHA-256 of its
// content.
func Build(t testing.TB, pkg string) (path, sum string) {
	t.Helper()
	mu.Lock()
	defer mu.Unlock()
	if b, ok := built[pkg]; ok {
		return b[0], b[1]
	}
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	key, err := sourceHash(root, pkg)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(os.TempDir(), "realmgate-plugintest", key)
	path = filepath.Join(dir, filepath.Base(pkg))
	if _, err := os.Stat(path); err != nil {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		tmp := fmt.Sprintf("%s.%d.tmp", path, os.Getpid())
		cmd := exec.Command("go", "build", "-o", tmp, "./"+filepath.ToSlash(pkg))
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", pkg, err, out)
		}
		if err := os.Rename(tmp, path); err != nil { // atomic: concurrent builders race harmlessly
			t.Fatal(err)
		}
	}
	sum, err = FileSHA256(path)
	if err != nil {
		t.Fatal(err)
	}
	built[pkg] = [2]string{path, sum}
	return path, sum
}

// FileSHA256 returns the hex SHA-256 of the file at path.
func FileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("plugintest: no go.mod above the working directory")
		}
		dir = parent
	}
}

// sourceHash hashes what a plugin binary is built from: the Go version, go.mod, go.sum and the
// non-test Go files of the module's plugins, adapters and internal trees (a plugin imports
// nothing else of the module; the plugin SDK decodes inputs with internal/adapterjson).
func sourceHash(root, pkg string) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00", runtime.Version(), pkg)
	files := []string{"go.mod", "go.sum"}
	for _, tree := range []string{"plugins", "adapters", "internal"} {
		err := filepath.WalkDir(filepath.Join(root, tree), func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() && strings.HasSuffix(p, ".go") && !strings.HasSuffix(p, "_test.go") {
				rel, err := filepath.Rel(root, p)
				if err != nil {
					return err
				}
				files = append(files, rel)
			}
			return nil
		})
		if err != nil {
			return "", err
		}
	}
	slices.Sort(files)
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", f, len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))[:24], nil
}
