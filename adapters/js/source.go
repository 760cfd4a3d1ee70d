package js

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
)

// The engine module is QuickJS embedded in a C guest of the wasm ABI (./quickjs: engine.c, the
// WL prelude prelude.js and build.sh), built with Debian's clang and wasi-libc from the QuickJS
// source that .ci/install-quickjs.sh unpacks and checks.

// QuickJSSourceEnv names the environment variable that points the build at a QuickJS source
// tree other than DefaultQuickJSSource.
const QuickJSSourceEnv = "REALMGATE_QUICKJS_SRC"

// DefaultQuickJSSource is where .ci/install-quickjs.sh unpacks QuickJS 2025-04-26.
const DefaultQuickJSSource = "/opt/realmgate/quickjs/quickjs-2025.04.26"

// ErrNoToolchain is wrapped by the build's errors when clang or the QuickJS source is missing.
var ErrNoToolchain = errors.New("the JavaScript engine's toolchain is missing")

// EngineSource returns the folder of the engine module's source (the build script, the glue and
// the prelude), for building it (development, tests, hostd adapter build-js-engine). It is found
// beside this file as the compiler saw it: a binary built with -trimpath has no such folder and
// gets an error that says to use a prebuilt engine module.
func EngineSource() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if ok && filepath.IsAbs(file) {
		dir := filepath.Join(filepath.Dir(file), "quickjs")
		if st, err := os.Stat(filepath.Join(dir, "build.sh")); err == nil && st.Mode().IsRegular() {
			return dir, nil
		}
	}
	return "", errors.New("the JavaScript engine's source is not beside this binary (built with -trimpath or moved): build the engine with hostd adapter build-js-engine from a checkout and name it in hostd.yaml (jsEngine)")
}

// QuickJSSource returns the QuickJS source tree the build uses.
func QuickJSSource() string {
	if d := os.Getenv(QuickJSSourceEnv); d != "" {
		return d
	}
	return DefaultQuickJSSource
}

// MissingToolchain says what of the engine's toolchain is absent ("" when nothing is): clang,
// wasm-ld, wasi-libc, the wasm32 compiler runtime, the QuickJS source.
func MissingToolchain() string {
	for _, cmd := range []string{"clang", "wasm-ld"} {
		if _, err := exec.LookPath(cmd); err != nil {
			return cmd
		}
	}
	if _, err := os.Stat("/usr/include/wasm32-wasi/stdlib.h"); err != nil {
		return "wasi-libc (/usr/include/wasm32-wasi/stdlib.h)"
	}
	if m, _ := filepath.Glob("/usr/lib/llvm-*/lib/clang/*/lib/wasi/libclang_rt.builtins-wasm32.a"); len(m) == 0 {
		return "libclang-rt-dev-wasm32"
	}
	if _, err := os.Stat(filepath.Join(QuickJSSource(), "quickjs.c")); err != nil {
		return "the QuickJS source at " + QuickJSSource() + " (.ci/install-quickjs.sh)"
	}
	return ""
}

// EngineInputs lists the files the engine module is built from: its own folder, the C SDK's
// sources it links and the QuickJS sources. A cache of built engines keys on their content.
func EngineInputs(src string) ([]string, error) {
	entries, err := os.ReadDir(src)
	if err != nil {
		return nil, err
	}
	var files []string
	for _, e := range entries {
		if e.Type().IsRegular() {
			files = append(files, filepath.Join(src, e.Name()))
		}
	}
	sdk := filepath.Join(src, "..", "..", "..", "sdk-wasm", "c")
	files = append(files, filepath.Join(sdk, "include", "realmgate.h"), filepath.Join(sdk, "src", "internal.h"),
		filepath.Join(sdk, "src", "realmgate.c"), filepath.Join(sdk, "src", "json.c"), filepath.Join(sdk, "src", "scan.h"))
	q := QuickJSSource()
	for _, f := range []string{"VERSION", "quickjs.c", "quickjs.h", "quickjs-atom.h", "quickjs-opcode.h", "libregexp.c",
		"libunicode.c", "cutils.c", "cutils.h", "dtoa.c", "dtoa.h"} {
		files = append(files, filepath.Join(q, f))
	}
	slices.Sort(files)
	return files, nil
}

// BuildEngine builds the engine module from its source folder src into out with build.sh.
func BuildEngine(ctx context.Context, src, out string) error {
	if m := MissingToolchain(); m != "" {
		return fmt.Errorf("%w: %s", ErrNoToolchain, m)
	}
	cmd := exec.CommandContext(ctx, "bash", filepath.Join(src, "build.sh"), out)
	cmd.Dir = src
	cmd.Env = append(os.Environ(), QuickJSSourceEnv+"="+QuickJSSource())
	var stderr bytes.Buffer
	cmd.Stdout = &stderr
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("building the JavaScript engine from %s: %v\n%s", src, err, stderr.String())
	}
	return nil
}

// EngineKey is a digest of everything the engine module is built from (see EngineInputs) and of
// the compiler's version: equal keys, equal modules.
func EngineKey(ctx context.Context, src string) (string, error) {
	files, err := EngineInputs(src)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	version, _ := exec.CommandContext(ctx, "clang", "--version").Output()
	fmt.Fprintf(h, "realmgate js engine v1\x00%s\x00", version)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return "", fmt.Errorf("%w: %v", ErrNoToolchain, err)
		}
		fmt.Fprintf(h, "%s\x00%d\x00", filepath.Base(f), len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))[:24], nil
}

var cachedEngine sync.Mutex

// CachedEngine returns the engine module built from src, building it once per content (see
// EngineKey) into dir, where processes that build it at once each rename a whole module into
// place.
func CachedEngine(ctx context.Context, src, dir string) (string, error) {
	cachedEngine.Lock()
	defer cachedEngine.Unlock()
	if m := MissingToolchain(); m != "" {
		return "", fmt.Errorf("%w: %s", ErrNoToolchain, m)
	}
	key, err := EngineKey(ctx, src)
	if err != nil {
		return "", err
	}
	out := filepath.Join(dir, "jsengine-"+key+".wasm")
	if _, err := os.Stat(out); err == nil {
		return out, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	f, err := os.CreateTemp(dir, "jsengine-*.wasm.tmp")
	if err != nil {
		return "", err
	}
	tmp := f.Name()
	f.Close()
	defer os.Remove(tmp)
	if err := BuildEngine(ctx, src, tmp); err != nil {
		return "", err
	}
	return out, os.Rename(tmp, out)
}
