//go:build !wasip1

package realmgate

// Outside a wasm module there is no host: these stand-ins let the package compile for native
// tests of an adapter's logic, and panic if a test reaches the host.

const notWasm = "realmgate: the host is only reachable from a wasm module (GOOS=wasip1 GOARCH=wasm)"

func input(ptr, size uint32) []byte       { panic(notWasm) }
func packResult(out []byte) uint64        { panic(notWasm) }
func fail(msg string)                     { panic(notWasm) }
func writeLog(level int32, record []byte) { panic(notWasm) }
func config() []byte                      { panic(notWasm) }
func httpCall(req []byte) []byte          { panic(notWasm) }
