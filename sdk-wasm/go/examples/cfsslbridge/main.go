//go:build wasip1

// Command cfsslbridge is an example Realmgate wasm adapter written with the Go SDK: the core
// conformance procedures (echo, fail, config, log, from package realmgate/conformance) and a
// PKI bridge whose generateCertificate
// has a CFSSL server sign the CSR over its REST API, reached through the host's outbound HTTP
// (see package bridge for the settings).
//
// Build it with sdk-wasm/go/build.sh, or:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o cfsslbridge.wasm .
package main

//lint:file-ignore U1000 the functions exported with go:wasmexport are called by the host

import (
	"github.com/realmgate/realmgate/sdk-wasm/go/examples/cfsslbridge/bridge"
	"github.com/realmgate/realmgate/sdk-wasm/go/realmgate"
	_ "github.com/realmgate/realmgate/sdk-wasm/go/realmgate/conformance" // echo, fail, config, log
)

// main is not run: the host calls the exported functions of the module (a WASI reactor).
func main() {}

// pkiBridge is the bridge of this instance, made from the settings on first use, so that the
// core procedures work even when the CFSSL settings are missing or wrong.
var pkiBridge *bridge.Bridge

func pki() (*bridge.Bridge, error) {
	if pkiBridge == nil {
		settings, err := realmgate.Config()
		if err != nil {
			return nil, err
		}
		if pkiBridge, err = bridge.New(settings, realmgate.HTTP); err != nil {
			return nil, err
		}
	}
	return pkiBridge, nil
}

// with binds a bridge method to the instance's bridge.
func with[In, Out any](m func(*bridge.Bridge, In) (Out, error)) func(In) (Out, error) {
	return func(in In) (Out, error) {
		b, err := pki()
		if err != nil {
			var zero Out
			return zero, err
		}
		return m(b, in)
	}
}

//go:wasmexport realmgate_proc_init
func initProc(ptr, size uint32) uint64 {
	return realmgate.Init(ptr, size, func(in realmgate.InitInput) error {
		b, err := pki()
		if err != nil {
			return err
		}
		return b.Init(in)
	})
}

//go:wasmexport realmgate_proc_validateIdentity
func validateIdentity(ptr, size uint32) uint64 {
	return realmgate.ValidateIdentity(ptr, size, with((*bridge.Bridge).ValidateIdentity))
}

//go:wasmexport realmgate_proc_getCSRRequirements
func getCSRRequirements(ptr, size uint32) uint64 {
	return realmgate.GetCSRRequirements(ptr, size, with((*bridge.Bridge).CSRRequirements))
}

//go:wasmexport realmgate_proc_validateCSR
func validateCSR(ptr, size uint32) uint64 {
	return realmgate.ValidateCSR(ptr, size, with((*bridge.Bridge).ValidateCSR))
}

//go:wasmexport realmgate_proc_generateCertificate
func generateCertificate(ptr, size uint32) uint64 {
	return realmgate.GenerateCertificate(ptr, size, with((*bridge.Bridge).GenerateCertificate))
}

//go:wasmexport realmgate_proc_getIdentityFromCertificate
func getIdentityFromCertificate(ptr, size uint32) uint64 {
	return realmgate.GetIdentityFromCertificate(ptr, size, with((*bridge.Bridge).IdentityFromCertificate))
}

//go:wasmexport realmgate_proc_validateCertificate
func validateCertificate(ptr, size uint32) uint64 {
	return realmgate.ValidateCertificate(ptr, size, with((*bridge.Bridge).ValidateCertificate))
}
