//go:build !wasip1

package realmgate

// sqlCall and takeSQLResult stand in for realmgate.sql outside a wasm module (see host_other.go).
func sqlCall(req []byte) int32      { panic(notWasm) }
func takeSQLResult(n uint32) []byte { panic(notWasm) }
