package wasm

import (
	"context"
	"sync"

	"github.com/tetratelabs/wazero"
)

// wazeroVersionOnce makes wazero learn its own version before any adapter is opened. wazero
// reads it from the build information the first time a compilation cache or a runtime asks for
// it and keeps it in a package variable without synchronisation (internal/version), so two
// adapters opened at once (daemons started in parallel, a reload beside a start) raced on it.
// The first Open creates and closes one runtime, which asks for the version; sync.Once orders
// every later Open after that write.
var wazeroVersionOnce sync.Once

func learnWazeroVersion() {
	wazeroVersionOnce.Do(func() {
		ctx := context.Background()
		_ = wazero.NewRuntime(ctx).Close(ctx)
	})
}
