// Command payplugin is a go-plugin adapter with a client-called procedure, payBill, that
// decodes its parameters with the plugin SDK's typed JSON helper into a plain struct, as a
// plugin author would write it. The daemon's tests put it behind the banking example's step-up
// policy (a payment over 1000 needs the PIN realm).
package main

import (
	"context"
	"errors"

	"github.com/realmgate/realmgate/plugins/sdk"
)

type payment struct {
	Payee  string  `json:"payee"`
	Amount float64 `json:"amount"`
}

type call struct {
	Parameters []payment `json:"parameters"`
	Identity   struct {
		User map[string]any `json:"user"`
	} `json:"identity"`
}

func main() {
	sdk.Serve(sdk.Procedures{
		"payBill": sdk.JSON(func(_ context.Context, in call) (map[string]any, error) {
			if len(in.Parameters) != 1 {
				return nil, sdk.BadInput("payBill takes one payment")
			}
			p := in.Parameters[0]
			if p.Amount <= 0 {
				return nil, errors.New("amount must be positive")
			}
			return map[string]any{"paid": p.Amount, "payee": p.Payee, "by": in.Identity.User["userId"]}, nil
		}),
	})
}
