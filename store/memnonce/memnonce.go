// Package memnonce keeps single-use challenge nonces in the memory of one process: a
// store.Nonces with no disk write at all.
//
// A challenge nonce lives for minutes and is answered by the client of the session it was
// issued to. Where one daemon owns the state (the embedded SQLite store), keeping nonces in
// memory takes two durable writes off every challenge-and-answer, and loses nothing that
// matters: a nonce does not survive a restart, but a restart already ends the challenge (the
// client answers the new challenge it is given). Daemons that share a store (PostgreSQL) must
// keep nonces in that store instead, so that any daemon can consume a nonce another issued.
package memnonce

import (
	"context"
	"fmt"
	"hash/maphash"
	"sync"
	"time"

	"github.com/realmgate/realmgate/store"
)

// shards spreads the nonces over independently locked maps, so that concurrent challenges
// do not queue on one lock.
const shards = 32

// Nonces is an in-memory store.Nonces, safe for concurrent use. The zero value is not usable:
// call New.
type Nonces struct {
	seed   maphash.Seed
	shards [shards]shard
}

type shard struct {
	mu sync.Mutex
	m  map[string]store.Nonce
}

var _ store.Nonces = (*Nonces)(nil)

// New returns an empty nonce store.
func New() *Nonces {
	n := &Nonces{seed: maphash.MakeSeed()}
	for i := range n.shards {
		n.shards[i].m = map[string]store.Nonce{}
	}
	return n
}

func (n *Nonces) shard(value string) *shard {
	return &n.shards[maphash.String(n.seed, value)%shards]
}

// at is a time at the precision of the store contract.
func at(t time.Time) int64 { return t.UnixMicro() }

// PutNonce implements store.Nonces.
func (n *Nonces) PutNonce(ctx context.Context, v store.Nonce) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memnonce: put nonce: %w", err)
	}
	if v.Value == "" {
		return fmt.Errorf("%w: nonce with an empty value", store.ErrInvalid)
	}
	v.ExpiresAt = time.UnixMicro(at(v.ExpiresAt)).UTC()
	s := n.shard(v.Value)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.m[v.Value]; ok {
		return store.ErrConflict
	}
	s.m[v.Value] = v
	return nil
}

// ConsumeNonce implements store.Nonces. The values are compared as map keys, not in constant
// time: a nonce is 256 random bits, and which of them a guess shares with a live one tells
// nothing about guessing it.
func (n *Nonces) ConsumeNonce(ctx context.Context, value, sessionID, realm string, now time.Time) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memnonce: consume nonce: %w", err)
	}
	s := n.shard(value)
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.m[value]
	if !ok || v.SessionID != sessionID || v.Realm != realm || at(v.ExpiresAt) <= at(now) {
		return store.ErrNotFound
	}
	delete(s.m, value)
	return nil
}

// DeleteExpiredNonces implements store.Nonces.
func (n *Nonces) DeleteExpiredNonces(ctx context.Context, now time.Time) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("memnonce: delete expired nonces: %w", err)
	}
	deleted := 0
	for i := range n.shards {
		s := &n.shards[i]
		s.mu.Lock()
		for k, v := range s.m {
			if at(v.ExpiresAt) <= at(now) {
				delete(s.m, k)
				deleted++
			}
		}
		s.mu.Unlock()
	}
	return deleted, nil
}

// Len returns the number of nonces held, expired ones not yet deleted included.
func (n *Nonces) Len() int {
	total := 0
	for i := range n.shards {
		s := &n.shards[i]
		s.mu.Lock()
		total += len(s.m)
		s.mu.Unlock()
	}
	return total
}
