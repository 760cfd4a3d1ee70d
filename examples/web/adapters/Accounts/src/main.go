//go:build wasip1

// Command accounts is the demo web app's Accounts adapter, a wasm module written with the Go SDK:
// getBalance answers the signed-in user's (made-up) balance.
//
//	GOOS=wasip1 GOARCH=wasm go build -trimpath -buildmode=c-shared -o ../accounts.wasm .
package main

//lint:file-ignore U1000 the functions exported with go:wasmexport are called by the host

import "github.com/realmgate/realmgate/sdk-wasm/go/realmgate"

func main() {}

var balances = map[string]float64{"alice": 1180.40, "bob": 52.10}

type none struct{}

//go:wasmexport realmgate_proc_getBalance
func getBalance(ptr, size uint32) uint64 {
	return realmgate.Handle(ptr, size, func(in realmgate.Call[none]) (map[string]any, error) {
		return map[string]any{"user": in.UserID(), "balance": balances[in.UserID()], "currency": "EUR"}, nil
	})
}

// getDevice answers the provisioned device this call came from (the device realm's identity)
// and its user: deviceTests passes only once the browser holds the device certificate.
//
//go:wasmexport realmgate_proc_getDevice
func getDevice(ptr, size uint32) uint64 {
	return realmgate.Handle(ptr, size, func(in realmgate.Call[none]) (map[string]any, error) {
		return map[string]any{"user": in.UserID(), "device": in.Identity.Device["id"]}, nil
	})
}

// getProfile answers who signed in with a user certificate (certTests): the first call enrolls
// one after the form login; later visits sign in with it, without a password.
//
//go:wasmexport realmgate_proc_getProfile
func getProfile(ptr, size uint32) uint64 {
	return realmgate.Handle(ptr, size, func(in realmgate.Call[none]) (map[string]any, error) {
		return map[string]any{"user": in.UserID(), "balance": balances[in.UserID()], "currency": "EUR"}, nil
	})
}
