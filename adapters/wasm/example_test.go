package wasm_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/realmgate/realmgate/adapters"
	_ "github.com/realmgate/realmgate/adapters/wasm" // registers kind "wasm"
)

// Example opens a wasm adapter and calls one of its procedures. The module here is the
// smallest that speaks the ABI, written directly in WebAssembly; real adapters are built with a
// guest SDK (see sdk-wasm).
func Example() {
	dir, err := os.MkdirTemp("", "example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	module := filepath.Join(dir, "echo.wasm")
	if err := os.WriteFile(module, echoModule().bytes(), 0o644); err != nil {
		panic(err)
	}

	ctx := context.Background()
	a, err := adapters.Open(ctx, adapters.Config{
		Name:   "echo",
		Kind:   "wasm",
		Module: module,
		Limits: adapters.Limits{MemoryPages: 16, Instances: 2},
	})
	if err != nil {
		panic(err)
	}
	defer a.Close(ctx)

	fmt.Println(a.Procedures())
	out, err := a.Call(ctx, "echo", []byte(`{"hello":"wasm"}`))
	fmt.Println(string(out), err)

	_, err = a.Call(ctx, "greet", []byte(`{}`))
	fmt.Println(errors.Is(err, adapters.ErrUnknownProcedure), err)
	// Output:
	// [echo]
	// {"hello":"wasm"} <nil>
	// true unknown_procedure in echo.greet: the adapter has no procedure "greet"
}
