package adaptertest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
)

// CacheDirEnv names the environment variable that overrides where built test modules and
// compiled-module caches are kept (default: a "realmgate-test" folder in the user cache
// directory).
const CacheDirEnv = "REALMGATE_TEST_CACHE"

// CacheDir returns the directory that holds the builds of CachedBuild and BuildGoWasm, shared by
// every test process of the machine. When no cache directory is usable it returns a directory
// of the test, so builds still work, uncached.
func CacheDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv(CacheDirEnv)
	if dir == "" {
		if base, err := os.UserCacheDir(); err == nil {
			dir = filepath.Join(base, "realmgate-test")
		}
	}
	if dir != "" {
		if err := os.MkdirAll(dir, 0o755); err == nil {
			return dir
		}
	}
	return t.TempDir()
}

// CompilationCacheDir returns a directory for compiled wasm modules (adapters.Config.CacheDir)
// shared by the tests of the machine, so that a module compiled by one test package is not
// compiled again by the next. wazero keys its cache by module content and runtime version.
func CompilationCacheDir(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(CacheDir(t), "compiled")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("compilation cache: %v", err)
	}
	return dir
}

var (
	buildMu   sync.Mutex
	buildMemo = map[string]string{} // key -> path, for this process
)

// CachedBuild returns the path of an artifact named name that build writes to the path it is
// given. The build runs once per distinct content of the files in inputs (and of extra, for
// things such as tool versions): the artifact is kept in CacheDir under a hash of them, so that
// the test packages of one `go test ./...`, and later runs, reuse it. Several processes may
// build the same artifact at once; each writes to its own temporary file and renames it into
// place. Use it for modules built by non-Go toolchains.
func CachedBuild(t testing.TB, name string, inputs []string, extra string, build func(out string) error) string {
	t.Helper()
	h := sha256.New()
	fmt.Fprintf(h, "realmgate cached build v1\x00%s\x00%s\x00", name, extra)
	files := append([]string(nil), inputs...)
	sort.Strings(files)
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatalf("cached build %s: %v", name, err)
		}
		fmt.Fprintf(h, "%s\x00", f)
		_, err = io.Copy(h, fh)
		fh.Close()
		if err != nil {
			t.Fatalf("cached build %s: %v", name, err)
		}
		h.Write([]byte{0})
	}
	key := hex.EncodeToString(h.Sum(nil))[:24]
	base := filepath.Base(name)
	ext := filepath.Ext(base)
	file := strings.TrimSuffix(base, ext) + "-" + key + ext

	buildMu.Lock()
	defer buildMu.Unlock()
	if p, ok := buildMemo[file]; ok {
		return p
	}
	dir := CacheDir(t)
	path := filepath.Join(dir, file)
	if _, err := os.Stat(path); err == nil {
		buildMemo[file] = path
		return path
	}
	tmp, err := os.MkdirTemp(dir, "build-")
	if err != nil {
		t.Fatalf("cached build %s: %v", name, err)
	}
	defer os.RemoveAll(tmp)
	out := filepath.Join(tmp, base)
	if err := build(out); err != nil {
		t.Fatalf("building %s: %v", name, err)
	}
	if err := os.Rename(out, path); err != nil {
		t.Fatalf("cached build %s: %v", name, err)
	}
	buildMemo[file] = path
	return path
}

// BuildGoWasm builds the Go main package in dir as a wasm adapter module, as the Go SDK's
// build.sh does (GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared), and returns the path of
// the module. The build is cached (see CachedBuild) under a hash of the Go toolchain version and
// the source files of every non-standard package the module is built from, so a change to the
// guest SDK rebuilds its guests.
func BuildGoWasm(t testing.TB, dir string) string {
	t.Helper()
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	goTool := goCommand()
	env := append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
	// Every file that goes into the build, but the standard library (covered by the version).
	list := exec.Command(goTool, "list", "-deps", "-f",
		`{{if not .Standard}}{{.Dir}}{{range .GoFiles}}|{{.}}{{end}}{{range .EmbedFiles}}|{{.}}{{end}}{{with .Module}}{{if .GoMod}}|{{.GoMod}}{{end}}{{end}}{{end}}`, ".")
	list.Dir = abs
	list.Env = env
	var stderr bytes.Buffer
	list.Stderr = &stderr
	out, err := list.Output()
	if err != nil {
		t.Fatalf("go list in %s: %v\n%s", abs, err, stderr.Bytes())
	}
	seen := map[string]bool{}
	var inputs []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if line == "" {
			continue
		}
		parts := strings.Split(line, "|")
		pkgDir := parts[0]
		for _, f := range parts[1:] {
			if !filepath.IsAbs(f) {
				f = filepath.Join(pkgDir, f)
			}
			if !seen[f] {
				seen[f] = true
				inputs = append(inputs, f)
				if filepath.Base(f) == "go.mod" {
					if sum := strings.TrimSuffix(f, ".mod") + ".sum"; fileExists(sum) && !seen[sum] {
						seen[sum] = true
						inputs = append(inputs, sum)
					}
				}
			}
		}
	}
	version, err := exec.Command(goTool, "env", "GOVERSION").Output()
	if err != nil {
		t.Fatalf("go env GOVERSION: %v", err)
	}
	extra := fmt.Sprintf("go=%s flags=%s", strings.TrimSpace(string(version)), os.Getenv("GOFLAGS"))
	return CachedBuild(t, filepath.Base(abs)+".wasm", inputs, extra, func(dst string) error {
		cmd := exec.Command(goTool, "build", "-buildmode=c-shared", "-trimpath", "-o", dst, ".")
		cmd.Dir = abs
		cmd.Env = env
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared in %s: %v\n%s", abs, err, out)
		}
		return nil
	})
}

// goCommand finds the go command: $GOROOT/bin/go when GOROOT is set, else on PATH (go test
// puts its own GOROOT/bin first).
func goCommand() string {
	if root := os.Getenv("GOROOT"); root != "" {
		if p := filepath.Join(root, "bin", "go"); fileExists(p) {
			return p
		}
	}
	return "go"
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
