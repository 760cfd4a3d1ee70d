package adapters

import (
	"context"
	"time"
)

// SingleUse marks keys used, once, in a store every instance of an adapter and every daemon of
// a deployment share. It is what makes a guest's single-use rule (an MDM one-time code, a
// replayed request id) hold beyond one wasm instance: instances are pooled and replaced, and a
// restart or a second daemon starts with none of their memory.
//
// The backend namespaces and hashes keys before they reach it (a key is a guest's secret), so an
// implementation stores key as it is: an opaque string of at most 128 bytes.
type SingleUse interface {
	// Use marks key used until until and reports whether this call was the first to mark it.
	// Concurrent calls with one key, from any process on the same store: exactly one is first.
	// After until the key may be forgotten. An error means the store did not answer: the
	// caller cannot tell first from repeated use and must refuse.
	Use(ctx context.Context, key string, until time.Time) (first bool, err error)
}
