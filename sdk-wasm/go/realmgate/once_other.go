//go:build !wasip1

package realmgate

// onceCall stands in for realmgate.once outside a wasm module (see host_other.go).
func onceCall(key []byte, ttlSeconds int64) int32 { panic(notWasm) }
