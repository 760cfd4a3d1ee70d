//go:build wasip1

package main

import (
	"errors"

	"github.com/realmgate/realmgate/sdk-wasm/go/realmgate"
)

// The module's host: realmgate.invoke and realmgate.pki (invoke.go).

func (wasmHost) Invoke(request []byte) ([]byte, bool, error) {
	answer, err := realmgate.InvokeJSON(request)
	if errors.Is(err, realmgate.ErrNoInvoker) {
		return nil, false, nil
	}
	return answer, err == nil, err
}

func (wasmHost) PKI(request []byte) []byte { return realmgate.PKIRequest(request) }
