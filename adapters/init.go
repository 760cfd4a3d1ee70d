package adapters

import (
	"context"
	"crypto/sha256"
	"encoding/json"
)

// Init is a procedure that configures a guest instance for the calls that follow, and its input:
// the PKI bridge's init with the realm's name and parameters ([InitInput]).
//
// A guest keeps what init gave it for as long as its instance lives (a wasm instance, a plugin
// process), so init need not run before every call: a backend that implements [Initializer]
// runs it once per instance and input.
type Init struct {
	Procedure string
	Input     json.RawMessage
}

// Digest identifies the init: two inits with the same digest configure an instance the same
// way. A realm's parameters are fixed for a loaded configuration, so one digest per realm.
func (i Init) Digest() [sha256.Size]byte {
	h := sha256.New()
	h.Write([]byte(i.Procedure))
	h.Write([]byte{0})
	h.Write(i.Input)
	var d [sha256.Size]byte
	h.Sum(d[:0])
	return d
}

// Initializer is an Adapter whose instances remember their init. Both backends implement it.
type Initializer interface {
	// CallInit runs procedure like Call, on an instance that has run init and no other init
	// since. The backend runs init on the instance first when the instance is fresh (a new wasm
	// instance, a launched or relaunched plugin process), when it was initialised with another
	// input, or when its last init failed; init's output is discarded. A failed init is the
	// call's error (an *Error whose Procedure is init.Procedure), and procedure does not run.
	//
	// A plain Call of init.Procedure on an instance makes the instance forget its init, so a
	// guest is never left configured by a caller that did not go through CallInit.
	CallInit(ctx context.Context, init Init, procedure string, input json.RawMessage) (json.RawMessage, error)
}

// CallInit runs procedure on a after init: with a's [Initializer] when it has one, once per
// instance and input; otherwise by calling init before procedure every time.
func CallInit(ctx context.Context, a Adapter, init Init, procedure string, input json.RawMessage) (json.RawMessage, error) {
	if i, ok := a.(Initializer); ok {
		return i.CallInit(ctx, init, procedure, input)
	}
	if _, err := a.Call(ctx, init.Procedure, init.Input); err != nil {
		return nil, err
	}
	return a.Call(ctx, procedure, input)
}
