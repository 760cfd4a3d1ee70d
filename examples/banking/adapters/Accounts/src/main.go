//go:build wasip1

// Command accounts is the example bank's Accounts adapter, a wasm module written with the Go SDK.
// The daemon passes each procedure {"parameters": [...], "identity": {"user", "device"}, "app"}
// after the procedure's security test passed; the data here is made up.
//
// hostd builds it from this folder in development mode (hostd.yaml: development: true). For
// production, build and pin it:
//
//	GOOS=wasip1 GOARCH=wasm go build -trimpath -buildmode=c-shared -o ../accounts.wasm .
//	sha256sum ../accounts.wasm   # into <backend sha256="...">
package main

//lint:file-ignore U1000 the functions exported with go:wasmexport are called by the host

import (
	"errors"
	"fmt"

	"github.com/realmgate/realmgate/sdk-wasm/go/realmgate"
)

func main() {}

// call is the input the daemon passes to a procedure. realmgate.Call decodes the parameters
// strictly: a member that is not exactly a field of P ("Amount" for "amount") fails the call, so
// the procedure reads no member the project's policies (policies/transfers.rego) did not see.
type call[P any] = realmgate.Call[P]

// first is the call's only parameter.
func first[P any](c call[P]) (P, error) {
	var zero P
	if len(c.Parameters) != 1 {
		return zero, errors.New("pass one parameter object")
	}
	return c.Parameters[0], nil
}

var balances = map[string]float64{"alice": 1180.40, "bob": 52.10}

type none struct{}

type result = map[string]any

//go:wasmexport realmgate_proc_getBalance
func getBalance(ptr, size uint32) uint64 {
	return realmgate.Handle(ptr, size, func(in call[none]) (result, error) {
		return result{"user": in.UserID(), "balance": balances[in.UserID()], "currency": "EUR"}, nil
	})
}

type payment struct {
	Payee  string  `json:"payee"`
	To     string  `json:"to"`
	Amount float64 `json:"amount"`
}

//go:wasmexport realmgate_proc_payBill
func payBill(ptr, size uint32) uint64 {
	return realmgate.Handle(ptr, size, func(in call[payment]) (result, error) {
		p, err := first(in)
		if err != nil {
			return nil, err
		}
		if p.Amount <= 0 {
			return nil, fmt.Errorf("amount must be positive, not %v", p.Amount)
		}
		realmgate.Log(0, "bill paid", "user", in.UserID(), "amount", p.Amount)
		return result{"paid": p.Amount, "payee": p.Payee, "by": in.UserID()}, nil
	})
}

//go:wasmexport realmgate_proc_transfer
func transfer(ptr, size uint32) uint64 {
	return realmgate.Handle(ptr, size, func(in call[payment]) (result, error) {
		p, err := first(in)
		if err != nil {
			return nil, err
		}
		if p.Amount <= 0 || p.To == "" {
			return nil, errors.New("a transfer needs a positive amount and a recipient (to)")
		}
		return result{"transferred": p.Amount, "to": p.To, "from": in.UserID()}, nil
	})
}

//go:wasmexport realmgate_proc_getRates
func getRates(ptr, size uint32) uint64 {
	return realmgate.Handle(ptr, size, func(call[none]) (result, error) {
		return result{"EURUSD": 1.08, "EURGBP": 0.86, "EURCHF": 0.94}, nil
	})
}

//go:wasmexport realmgate_proc_getOffers
func getOffers(ptr, size uint32) uint64 {
	return realmgate.Handle(ptr, size, func(in call[none]) (result, error) {
		return result{"for": in.UserID(), "offers": []string{"Savings account at 3.1%", "No-fee travel card"}}, nil
	})
}
