package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/realmgate/realmgate/adapters/js"
)

// cmdBuildJSEngine builds the engine module of JavaScript adapters (QuickJS, adapters/js/quickjs)
// for production, where the daemon does not build it: the output is named in hostd.yaml
// (jsEngine) and pinned with the SHA-256 it prints (jsEngineSHA256). It needs clang for wasm,
// wasi-libc and the QuickJS source (.ci/install-quickjs.sh installs them) and the repository's
// source, so it runs from a checkout (go run ./hostd adapter build-js-engine --out FILE).
func cmdBuildJSEngine(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("adapter build-js-engine", stderr)
	out := fs.String("out", "", "the module file to write")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *out == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "usage: hostd adapter build-js-engine --out FILE")
		return 2
	}
	src, err := js.EngineSource()
	if err != nil {
		fmt.Fprintln(stderr, "hostd adapter build-js-engine:", err)
		return 1
	}
	dst, err := filepath.Abs(*out)
	if err != nil {
		fmt.Fprintln(stderr, "hostd adapter build-js-engine:", err)
		return 1
	}
	if err := js.BuildEngine(ctx, src, dst); err != nil {
		fmt.Fprintln(stderr, "hostd adapter build-js-engine:", err)
		return 1
	}
	b, err := os.ReadFile(dst)
	if err != nil {
		fmt.Fprintln(stderr, "hostd adapter build-js-engine:", err)
		return 1
	}
	sum := sha256.Sum256(b)
	fmt.Fprintf(stdout, "jsEngine: %s\njsEngineSHA256: %s\n", dst, hex.EncodeToString(sum[:]))
	return 0
}
