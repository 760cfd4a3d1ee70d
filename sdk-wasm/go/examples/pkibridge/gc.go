//go:build wasip1

package main

import "runtime/debug"

// A guest serves one call at a time and keeps little between calls (the bridge's settings), but
// each call allocates its decoded input and output: with the default pacing (GOGC=100) the
// collector runs every few calls, and in wasm a collection costs as much as the call. At 400
// the heap may grow to five times what is live (a few MiB, well under the adapter's memory
// cap) and collections are a quarter as frequent: a call of generateCertificate costs about
// half as much.
func init() { debug.SetGCPercent(400) }
