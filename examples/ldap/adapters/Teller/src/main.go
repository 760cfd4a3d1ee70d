//go:build wasip1

// Command teller is the LDAP example's Teller adapter, a wasm module written with the Go SDK.
// The daemon calls a procedure after its security test and policies/tellers.rego passed; the
// identity it passes carries the user's directory groups.
//
// hostd builds it from this folder in development mode (hostd.yaml: development: true). For
// production, build and pin it:
//
//	GOOS=wasip1 GOARCH=wasm go build -trimpath -buildmode=c-shared -o ../teller.wasm .
//	sha256sum ../teller.wasm   # into <backend sha256="...">
package main

//lint:file-ignore U1000 the functions exported with go:wasmexport are called by the host

import (
	"github.com/realmgate/realmgate/sdk-wasm/go/realmgate"
)

func main() {}

type none struct{}

type result = map[string]any

//go:wasmexport realmgate_proc_whoami
func whoami(ptr, size uint32) uint64 {
	return realmgate.Handle(ptr, size, func(in realmgate.Call[none]) (result, error) {
		return result{"user": in.UserID(), "groups": in.Identity.User["groups"]}, nil
	})
}

type loan struct {
	Amount float64 `json:"amount"`
}

//go:wasmexport realmgate_proc_approveLoan
func approveLoan(ptr, size uint32) uint64 {
	return realmgate.Handle(ptr, size, func(in realmgate.Call[loan]) (result, error) {
		return result{"approved": true, "by": in.UserID()}, nil
	})
}

//go:wasmexport realmgate_proc_refund
func refund(ptr, size uint32) uint64 {
	return realmgate.Handle(ptr, size, func(in realmgate.Call[loan]) (result, error) {
		amount := 0.0
		if len(in.Parameters) == 1 {
			amount = in.Parameters[0].Amount
		}
		return result{"refunded": amount, "by": in.UserID()}, nil
	})
}

//go:wasmexport realmgate_proc_openDrawer
func openDrawer(ptr, size uint32) uint64 {
	return realmgate.Handle(ptr, size, func(realmgate.Call[none]) (result, error) {
		return result{"drawer": "open"}, nil
	})
}
