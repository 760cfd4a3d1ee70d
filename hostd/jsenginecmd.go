package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/realmgate/realmgate/adapters/js"
)

// cmdBuildJSEngine builds the engine module of JavaScript adapters (adapters/js/engine) for
// production, where the daemon does not build it: the output is named in hostd.yaml (jsEngine)
// and pinned with the SHA-256 it prints (jsEngineSHA256). It needs the Go toolchain and the
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
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-buildmode=c-shared", "-o", dst, ".")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
	var errOut bytes.Buffer
	cmd.Stderr = &errOut
	if err := cmd.Run(); err != nil {
		fmt.Fprintf(stderr, "hostd adapter build-js-engine: go build: %v\n%s", err, errOut.String())
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
