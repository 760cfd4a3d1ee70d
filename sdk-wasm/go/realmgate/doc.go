// Package realmgate is the Go guest SDK for Realmgate wasm adapters: it implements the guest side
// of sdk-wasm/ABI.md (version 1) so that an adapter author writes procedures as plain Go
// functions on typed values.
//
// An adapter is a Go main package built with
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o adapter.wasm .
//
// (sdk-wasm/go/build.sh does exactly that). Importing this package exports the ABI's
// memory-management functions (realmgate_alloc, realmgate_free, realmgate_abi_version); each
// procedure is an exported function named realmgate_proc_<name> that hands its input to a
// helper of this package:
//
//	//go:wasmexport realmgate_proc_greet
//	func greet(ptr, size uint32) uint64 {
//		return realmgate.Handle(ptr, size, func(in struct {
//			Name string `json:"name"`
//		}) (map[string]string, error) {
//			if in.Name == "" {
//				return nil, errors.New("name is required") // the call fails with this message
//			}
//			return map[string]string{"greeting": "hello " + in.Name}, nil
//		})
//	}
//
// [Serve] works on raw JSON bytes, [Handle] on any JSON-decodable types (decoded with JSON v2,
// github.com/go-json-experiment/json: member names match field names exactly; [Call] is the
// input of a client-called procedure, whose parameters must hold no member the parameter type
// lacks), and [Init],
// [ValidateIdentity], [GetCSRRequirements], [ValidateCSR], [GenerateCertificate],
// [GetIdentityFromCertificate] and [ValidateCertificate] on the PKI-bridge types, which mirror
// the host's adapters/pki.go field for field. Inside a procedure, [Config] reads the adapter's
// settings, [Log] and [Logger] write structured records to the host's log, and [HTTP] makes an
// outbound request to a host on the adapter's allow-list.
//
// A guest instance serves one call at a time and may be reused for later calls, or discarded
// and replaced; keep no state between calls that a fresh instance could not rebuild. The host
// runs a PKI bridge's init on every instance, with the realm's parameters, before that
// instance's first other bridge procedure (and again if the parameters change), so what init
// sets up lasts for the instance's life (ABI.md).
//
// Outside a wasm module (GOOS other than wasip1) the package compiles, so that the types and
// the pure logic of an adapter can be tested natively, but the functions that reach the host
// panic.
package realmgate
