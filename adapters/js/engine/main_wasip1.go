//go:build wasip1

// Command engine is the JavaScript engine module of Realmgate's JavaScript adapters: goja in a
// Go wasm guest, run by the wazero host like any other adapter module. The adapter's -impl.js
// and XSL files reach it as settings (data); the host never runs JavaScript.
//
// Build: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o jsengine.wasm . (the daemon
// builds it itself when it runs from source; hostd adapter build-js-engine for production).
package main

//lint:file-ignore U1000 the functions exported with go:wasmexport are called by the host

import (
	"encoding/json"
	"log/slog"
	"runtime/debug"
	"strconv"

	"github.com/realmgate/realmgate/sdk-wasm/go/realmgate"
)

func main() {}

type wasmHost struct{}

func (wasmHost) HTTP(r realmgate.HTTPRequest) (*realmgate.HTTPResponse, error) {
	return realmgate.HTTP(r)
}
func (wasmHost) Log(level slog.Level, msg string) { realmgate.Log(level, msg) }
func (wasmHost) SQL(req []byte) ([]byte, error)   { return realmgate.SQLJSON(req) }

var (
	loaded  *engine
	loadErr error
)

// get loads the adapter's JavaScript once per instance, at its first call.
func get() (*engine, error) {
	if loaded == nil && loadErr == nil {
		settings, err := realmgate.Config()
		if err != nil {
			loadErr = err
		} else {
			tuneGC(settings[SettingMemoryLimit])
			loaded, loadErr = newEngine(wasmHost{}, settings)
		}
	}
	return loaded, loadErr
}

// load loads the JavaScript and lists its functions: the host calls it when it opens the
// adapter, so that a script that does not load fails the load.
//
//go:wasmexport realmgate_proc_load
func procLoad(ptr, size uint32) uint64 {
	return realmgate.Serve(ptr, size, func([]byte) ([]byte, error) {
		e, err := get()
		if err != nil {
			return nil, err
		}
		return json.Marshal(map[string]any{"functions": e.functions})
	})
}

// call runs one procedure: {"procedure": name, "input": {...}}.
//
//go:wasmexport realmgate_proc_call
func procCall(ptr, size uint32) uint64 {
	return realmgate.Serve(ptr, size, func(in []byte) ([]byte, error) {
		e, err := get()
		if err != nil {
			return nil, err
		}
		return e.call(in)
	})
}

// ping returns its input without entering JavaScript: the baseline of the engine's cost in
// benchmarks.
//
//go:wasmexport realmgate_proc_ping
func procPing(ptr, size uint32) uint64 {
	return realmgate.Serve(ptr, size, func(in []byte) ([]byte, error) { return in, nil })
}

// tuneGC makes the collector run seldom: goja allocates much per call and a collection scans
// the whole heap at wasm speed, so the default (a collection each time the heap doubles from a
// few MiB) costs a large share of a call. The soft limit the host passes (three quarters of the
// instance's memory cap) makes it collect harder before garbage would fill the memory.
func tuneGC(limit string) {
	debug.SetGCPercent(400)
	if n, err := strconv.ParseInt(limit, 10, 64); err == nil && n > 0 {
		debug.SetMemoryLimit(n)
	}
}
