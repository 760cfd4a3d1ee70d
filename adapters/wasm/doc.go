// Package wasm is the WebAssembly backend of Realmgate adapters: it runs adapter modules that
// speak sdk-wasm/ABI.md (version 1) under wazero, in a sandbox, and registers itself as adapter
// kind "wasm". A blank import switches it on:
//
//	import _ "github.com/realmgate/realmgate/adapters/wasm"
//
// after which adapters.Open opens configurations with Kind "wasm" (or call [Open] directly).
//
// # The sandbox
//
// A guest sees no filesystem, no sockets, no environment variables and no arguments; WASI is
// there with nothing behind it (clocks and random numbers work, stdout and stderr go to the
// adapter's log at debug level). Its only way out is the http host function, which requests
// only http and https URLs whose host and port are on the adapter's allow-list
// (adapters.Config.AllowHTTP), follows redirects only to the same host and port, and bounds
// request and response bodies (Limits.MaxHTTPBody) and time (Limits.HTTPTimeout and the call's
// deadline).
//
// Every call has a wall-time limit (Limits.CallTimeout, and the caller's context); the runtime
// is always built with WithCloseOnContextDone, so that a guest that loops is stopped rather
// than freezing the process. Memory is capped at Limits.MemoryPages pages of 64 KiB. A call
// that traps, times out, runs out of memory or returns a broken result fails with an
// *adapters.Error of the matching Code (CodeFailed with the trap, CodeTimeout,
// CodeOutOfMemory, CodeBadOutput) and its instance is discarded; the next call gets a fresh
// one, and other adapters are not affected.
//
// # Single use
//
// The once host function (once.go) marks a guest's key used in adapters.Config.SingleUse, the
// daemon's durable store, so that a single-use rule (an MDM activation code) holds across the
// pooled instances, discarded ones, restarts and daemons, which guest memory cannot. Keys are
// namespaced by the adapter's name and stored as SHA-256; the key, the TTL and the calls per
// procedure call are bounded.
//
// # Loading and pooling
//
// [Open] checks everything it can before the first call: the module's SHA-256 when the
// configuration pins one, its imports and exports against the ABI, its declared memory against
// the cap, the declared procedures, and the ABI version the guest reports. Compiling a Go guest
// takes seconds, so compiled code is kept in adapters.Config.CacheDir; the next Open of the
// same module, also after a restart, loads it from there. Each adapter keeps up to
// Limits.Instances warm instances; a call takes one or waits for one.
package wasm
