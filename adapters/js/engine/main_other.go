//go:build !wasip1

package main

import (
	"fmt"
	"os"
)

// main explains itself when the engine is built for the host instead of as a wasm module.
func main() {
	fmt.Fprintln(os.Stderr, "the JavaScript engine is a wasm adapter module: build it with GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared (or hostd adapter build-js-engine)")
	os.Exit(2)
}
