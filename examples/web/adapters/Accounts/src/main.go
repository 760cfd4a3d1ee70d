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
