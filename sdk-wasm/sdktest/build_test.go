package sdktest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// requireToolchains makes a missing toolchain a failure instead of a skip. CI sets it.
const requireToolchains = "REALMGATE_REQUIRE_TOOLCHAINS"

// A language is one guest SDK with its example adapter.
type language struct {
	Name string // also the folder under sdk-wasm
	// missing reports what of the toolchain is absent, or "" when everything is there.
	missing func() string
}

var languages = []language{
	{Name: "c", missing: func() string {
		return firstMissing(
			command("clang"), command("wasm-ld"),
			file("/usr/include/wasm32-wasi/stdlib.h", "wasi-libc"),
			glob("/usr/lib/llvm-*/lib/clang/*/lib/wasi/libclang_rt.builtins-wasm32.a", "libclang-rt-dev-wasm32"))
	}},
	{Name: "rust", missing: func() string {
		return firstMissing(
			file("/usr/bin/rustc", "rustc"), file("/usr/bin/cargo", "cargo"),
			file("/usr/lib/rustlib/wasm32-wasi/lib", "libstd-rust-dev-wasm32"),
			glob("/usr/share/cargo/registry/serde_json-*", "librust-serde-json-dev"),
			glob("/usr/share/cargo/registry/serde_derive-*", "librust-serde-derive-dev"))
	}},
}

func command(name string) func() string {
	return func() string {
		if _, err := exec.LookPath(name); err != nil {
			return name
		}
		return ""
	}
}

func file(path, pkg string) func() string {
	return func() string {
		if _, err := os.Stat(path); err != nil {
			return pkg + " (" + path + ")"
		}
		return ""
	}
}

func glob(pattern, pkg string) func() string {
	return func() string {
		if m, _ := filepath.Glob(pattern); len(m) == 0 {
			return pkg + " (" + pattern + ")"
		}
		return ""
	}
}

func firstMissing(checks ...func() string) string {
	for _, c := range checks {
		if m := c(); m != "" {
			return m
		}
	}
	return ""
}

// sdkDir is the folder of a language's SDK, from this package's folder.
func sdkDir(lang string) string { return filepath.Join("..", lang) }

type built struct {
	once sync.Once
	path string
	wasm []byte
	err  error
}

var (
	buildMu  sync.Mutex
	builds   = map[string]*built{}
	buildDir string
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "realmgate-sdktest-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	buildDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// example builds lang's example adapter from source once per test binary and returns the
// module's path and bytes. It skips the test when the toolchain is absent, unless
// REALMGATE_REQUIRE_TOOLCHAINS is set.
func example(t testing.TB, lang language) (string, []byte) {
	t.Helper()
	if m := lang.missing(); m != "" {
		msg := fmt.Sprintf("%s toolchain absent: %s is missing (install with .ci/install-wasm-sdks.sh)", lang.Name, m)
		if os.Getenv(requireToolchains) != "" {
			t.Fatalf("%s; %s is set, so this fails", msg, requireToolchains)
		}
		t.Skip(msg)
	}
	buildMu.Lock()
	b := builds[lang.Name]
	if b == nil {
		b = &built{}
		builds[lang.Name] = b
	}
	buildMu.Unlock()
	b.once.Do(func() {
		b.path = filepath.Join(buildDir, lang.Name+"-example.wasm")
		cmd := exec.Command("bash", filepath.Join(sdkDir(lang.Name), "build.sh"), b.path)
		out, err := cmd.CombinedOutput()
		if err != nil {
			b.err = fmt.Errorf("%s build.sh: %w\n%s", lang.Name, err, out)
			return
		}
		b.wasm, b.err = os.ReadFile(b.path)
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.path, b.wasm
}
