//go:build !wasip1

package realmgate

// invokeCall stands in for realmgate.invoke outside a wasm module (see host_other.go).
func invokeCall(req []byte) ([]byte, bool) { panic(notWasm) }
