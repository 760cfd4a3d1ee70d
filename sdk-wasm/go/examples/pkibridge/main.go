//go:build wasip1

// Command pkibridge is an example Realmgate wasm adapter written with the Go SDK: the core
// conformance procedures (echo, fail, config, log, from package realmgate/conformance) and a
// full PKI bridge whose CSRs the host parses and signs with a key it holds (the adapter's
// grant <capability name="pki" ca="..."/>), or, given the settings "ca-cert" and "ca-key",
// that signs them itself (see package bridge).
//
// Build it with sdk-wasm/go/build.sh, or:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o pkibridge.wasm .
package main

//lint:file-ignore U1000 the functions exported with go:wasmexport are called by the host

import (
	"github.com/realmgate/realmgate/sdk-wasm/go/examples/pkibridge/bridge"
	"github.com/realmgate/realmgate/sdk-wasm/go/realmgate"
	_ "github.com/realmgate/realmgate/sdk-wasm/go/realmgate/conformance" // echo, fail, config, log
)

// main is not run: the host calls the exported functions of the module (a WASI reactor).
func main() {}

// ca is the bridge of this instance, made from the settings on first use.
var ca *bridge.Bridge

func pki() (*bridge.Bridge, error) {
	if ca == nil {
		settings, err := realmgate.Config()
		if err != nil {
			return nil, err
		}
		if ca, err = bridge.New(settings, realmgate.HostPKI{}); err != nil {
			return nil, err
		}
	}
	return ca, nil
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
