package adaptertest

import (
	"context"
	"sync"
	"time"

	"github.com/realmgate/realmgate/adapters"
)

// SingleUse is an in-memory adapters.SingleUse for tests: one map of keys with their expiry,
// safe for concurrent use. Set Err to make every Use fail, as a store that is down.
type SingleUse struct {
	mu   sync.Mutex
	keys map[string]time.Time
	// Err, when set, is what Use returns.
	Err error
}

var _ adapters.SingleUse = (*SingleUse)(nil)

// NewSingleUse returns an empty SingleUse.
func NewSingleUse() *SingleUse { return &SingleUse{keys: map[string]time.Time{}} }

// Use implements adapters.SingleUse: first when key is absent or expired.
func (s *SingleUse) Use(_ context.Context, key string, until time.Time) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Err != nil {
		return false, s.Err
	}
	if exp, ok := s.keys[key]; ok && time.Now().Before(exp) {
		return false, nil
	}
	s.keys[key] = until
	return true, nil
}

// Keys returns the keys marked so far with their expiry: what the store was given.
func (s *SingleUse) Keys() map[string]time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]time.Time, len(s.keys))
	for k, v := range s.keys {
		out[k] = v
	}
	return out
}
