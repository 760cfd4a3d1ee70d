package sdktest

import (
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/realmgate/realmgate/adapters/adaptertest"
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
	{Name: "assemblyscript", missing: func() string {
		return firstMissing(command("node"), command("npm"))
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

// sources lists the files a language's build reads: everything in its folder but build
// output and installed packages.
func sources(t testing.TB, lang string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(sdkDir(lang), func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case "build", "target", "node_modules":
				return filepath.SkipDir
			}
			return nil
		}
		if d.Name() != "README.md" {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if lang == "go" {
		// The Go SDK also builds from the module's internal/adapterjson and the versions of
		// go.mod and go.sum (its JSON library).
		more, _ := filepath.Glob(filepath.Join("..", "..", "internal", "adapterjson", "*.go"))
		files = append(files, append(more, filepath.Join("..", "..", "go.mod"), filepath.Join("..", "..", "go.sum"))...)
	}
	return files
}

// toolVersions describes the toolchain, so that a new compiler rebuilds the cached module.
func toolVersions(lang string) string {
	var cmds [][]string
	switch lang {
	case "c":
		cmds = [][]string{{"clang", "--version"}, {"dpkg-query", "-W", "wasi-libc"}}
	case "rust":
		cmds = [][]string{{"/usr/bin/rustc", "--version"}, {"dpkg-query", "-W", "librust-serde-json-dev", "librust-serde-dev", "librust-serde-derive-dev"}}
	case "assemblyscript":
		cmds = [][]string{{"node", "--version"}}
	}
	var b strings.Builder
	for _, c := range cmds {
		out, _ := exec.Command(c[0], c[1:]...).Output()
		b.Write(out)
	}
	return b.String()
}

// example builds lang's example adapter from source with its build.sh and returns the
// module's path and bytes. The module is cached by adaptertest.CachedBuild under a hash of the
// SDK's sources and the toolchain's version, so it is built once per change. It skips the
// test when the toolchain is absent, unless REALMGATE_REQUIRE_TOOLCHAINS is set.
func example(t testing.TB, lang language) (string, []byte) {
	t.Helper()
	if m := lang.missing(); m != "" {
		msg := fmt.Sprintf("%s toolchain absent: %s is missing (install with .ci/install-wasm-sdks.sh)", lang.Name, m)
		if os.Getenv(requireToolchains) != "" {
			t.Fatalf("%s; %s is set, so this fails", msg, requireToolchains)
		}
		t.Skip(msg)
	}
	path := adaptertest.CachedBuild(t, "sdk-"+lang.Name+"-example.wasm", sources(t, lang.Name), toolVersions(lang.Name),
		func(out string) error {
			cmd := exec.Command("bash", filepath.Join(sdkDir(lang.Name), "build.sh"), out)
			if b, err := cmd.CombinedOutput(); err != nil {
				return fmt.Errorf("%s build.sh: %w\n%s", lang.Name, err, b)
			}
			return nil
		})
	wasm, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return path, wasm
}
