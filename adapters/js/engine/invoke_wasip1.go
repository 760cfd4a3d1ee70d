//go:build wasip1

package main

import (
	"encoding/json"
	"errors"

	"github.com/realmgate/realmgate/sdk-wasm/go/realmgate"
)

// The module's host: realmgate.invoke and realmgate.pki (invoke.go).

func (wasmHost) Invoke(request []byte) ([]byte, bool, error) {
	var req realmgate.InvokeRequest
	if err := json.Unmarshal(request, &req); err != nil {
		return nil, false, err
	}
	out, err := realmgate.InvokeProcedure(req)
	if errors.Is(err, realmgate.ErrNoInvoker) {
		return nil, false, nil
	}
	if err != nil {
		return nil, true, err
	}
	b, err := json.Marshal(out)
	return b, true, err
}

func (wasmHost) PKI(request []byte) []byte { return realmgate.PKIRequest(request) }
