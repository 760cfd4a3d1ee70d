//go:build !wasip1

package main

import (
	"fmt"
	"os"
)

// main explains itself when the example is built for the host instead of as a wasm module.
func main() {
	fmt.Fprintln(os.Stderr, "cfsslbridge is a wasm adapter: build it with GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared (see sdk-wasm/go/build.sh)")
	os.Exit(2)
}
