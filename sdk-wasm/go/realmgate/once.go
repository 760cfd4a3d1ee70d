package realmgate

import (
	"errors"
	"fmt"
	"time"
)

// Errors of Once. Each means the host did not mark the key: a guest must refuse whatever the
// key guards, since it cannot tell a first use from a repeated one.
var (
	// ErrOnceUnavailable: the host's single-use store did not answer, or the host gives this
	// adapter none.
	ErrOnceUnavailable = errors.New("realmgate: the host's single-use store is not available")
	// ErrOnceArgument: the key is empty or longer than MaxOnceKey bytes, or the TTL is not
	// between MinOnceTTL and MaxOnceTTL.
	ErrOnceArgument = errors.New("realmgate: once: the key must have 1 to 1024 bytes and the TTL be 1 second to 400 days")
	// ErrOnceLimit: the procedure call already made MaxOnceCalls calls of Once.
	ErrOnceLimit = errors.New("realmgate: once: too many calls in one procedure call")
)

// Bounds of Once (ABI.md, realmgate.once).
const (
	MaxOnceKey   = 1024
	MinOnceTTL   = time.Second
	MaxOnceTTL   = 400 * 24 * time.Hour
	MaxOnceCalls = 16
)

// Once marks key used for ttl in the host's single-use store and reports whether this was the
// first use. The store is the daemon's durable one, shared by every instance of the adapter,
// kept across restarts, and shared by every daemon of a PostgreSQL store: of any number of
// concurrent calls with one key, exactly one gets true. Keys belong to the adapter (another
// adapter's same key is another key) and the host keeps only their SHA-256, so a key may be a
// secret such as a one-time code. After ttl (rounded up to whole seconds) the key may be
// forgotten: give it at least the lifetime of what it guards.
//
// An error (ErrOnceUnavailable, ErrOnceArgument, ErrOnceLimit) means nothing was marked:
// refuse.
func Once(key []byte, ttl time.Duration) (first bool, err error) {
	secs := int64((ttl + time.Second - 1) / time.Second)
	if ttl <= 0 {
		secs = 0
	}
	return onceResult(onceCall(key, secs))
}

// onceResult reads the result of the host function.
func onceResult(r int32) (bool, error) {
	switch r {
	case 1:
		return true, nil
	case 0:
		return false, nil
	case -1:
		return false, ErrOnceUnavailable
	case -2:
		return false, ErrOnceArgument
	case -3:
		return false, ErrOnceLimit
	}
	return false, fmt.Errorf("%w (the host answered %d)", ErrOnceUnavailable, r)
}
