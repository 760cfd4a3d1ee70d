package daemon

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/realmgate/realmgate/adapters"
	"github.com/realmgate/realmgate/store"
)

// storeSingleUse is the single-use store of the adapters (realmgate.once): a key is a nonce of
// the durable store, never of the in-memory challenge nonces, so that a used key stays used
// across instances, reloads, restarts and every daemon of a PostgreSQL store. PutNonce is
// atomic on both drivers: of concurrent marks of one key, one inserts and the others get
// store.ErrConflict. The janitor reaps the key once it expires, like any nonce. No session and
// no realm are bound to it, so no challenge answer can consume it (a session id is never empty).
type storeSingleUse struct{ nonces store.Nonces }

var _ adapters.SingleUse = storeSingleUse{}

// onceNoncePrefix sets the keys of realmgate.once apart from challenge nonces.
const onceNoncePrefix = "once:"

// Use implements adapters.SingleUse.
func (s storeSingleUse) Use(ctx context.Context, key string, until time.Time) (bool, error) {
	err := s.nonces.PutNonce(ctx, store.Nonce{Value: onceNoncePrefix + key, ExpiresAt: until})
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, store.ErrConflict):
		return false, nil
	}
	return false, fmt.Errorf("marking a key used in the store: %w", err)
}
