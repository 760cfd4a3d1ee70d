//go:build wasip1

// Command gojsonecho is a benchmark peer of the JavaScript engine: a Go guest whose echo decodes
// its input JSON and encodes it again, the work a JavaScript echo does (JSON to values and back),
// where the SDK's conformance echo returns its input byte for byte.
package main

//lint:file-ignore U1000 the functions exported with go:wasmexport are called by the host

import (
	"encoding/json"

	"github.com/realmgate/realmgate/sdk-wasm/go/realmgate"
)

func main() {}

//go:wasmexport realmgate_proc_echo
func echo(ptr, size uint32) uint64 {
	return realmgate.Serve(ptr, size, func(in []byte) ([]byte, error) {
		var v any
		if err := json.Unmarshal(in, &v); err != nil {
			return nil, err
		}
		return json.Marshal(v)
	})
}
