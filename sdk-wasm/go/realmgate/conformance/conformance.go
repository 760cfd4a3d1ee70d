// Package conformance exports, from a Go wasm adapter, the four procedures every adapter of the
// host's conformance suite implements (adapters/conformance), so that the suite and `hostd
// adapter test` can check the adapter's module and its SDK:
//
//	echo   returns its input byte for byte
//	fail   input {"message": string}: fails the call with that message
//	config returns the adapter's configuration (its settings and "adapter": its name)
//	log    input {"msg": string, "level": "debug"|"info"|"warn"|"error"}: writes one record
//	       through the host's log; output {"logged": true}
//
// Import it for its side effect, from the adapter's main package:
//
//	import _ "github.com/realmgate/realmgate/sdk-wasm/go/realmgate/conformance"
//
// and the module exports realmgate_proc_echo, realmgate_proc_fail, realmgate_proc_config and
// realmgate_proc_log. config answers with the whole configuration, secrets included: declare
// it callable by clients (a securityTest in the adapter XML) in a test project only.
package conformance

//lint:file-ignore U1000 the functions exported with go:wasmexport are called by the host

import (
	"encoding/json"
	"errors"
	"log/slog"
	"strings"

	"github.com/realmgate/realmgate/sdk-wasm/go/realmgate"
)

//go:wasmexport realmgate_proc_echo
func echo(ptr, size uint32) uint64 {
	return realmgate.Serve(ptr, size, func(in []byte) ([]byte, error) { return in, nil })
}

//go:wasmexport realmgate_proc_fail
func fail(ptr, size uint32) uint64 {
	return realmgate.Handle(ptr, size, func(in struct {
		Message string `json:"message"`
	}) (struct{}, error) {
		return struct{}{}, errors.New(in.Message)
	})
}

//go:wasmexport realmgate_proc_config
func config(ptr, size uint32) uint64 {
	return realmgate.Serve(ptr, size, func([]byte) ([]byte, error) {
		c, err := realmgate.Config()
		if err != nil {
			return nil, err
		}
		return json.Marshal(c)
	})
}

//go:wasmexport realmgate_proc_log
func log(ptr, size uint32) uint64 {
	return realmgate.Handle(ptr, size, func(in struct {
		Msg   string `json:"msg"`
		Level string `json:"level"`
	}) (map[string]bool, error) {
		var level slog.Level
		if err := level.UnmarshalText([]byte(strings.ToUpper(in.Level))); err != nil {
			return nil, err
		}
		realmgate.Log(level, in.Msg)
		return map[string]bool{"logged": true}, nil
	})
}
