package wasm

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"time"

	"github.com/tetratelabs/wazero/api"
)

// The host function once of ABI.md (module "realmgate"): a guest marks a key used in the
// daemon's durable store and learns whether it was the first. Single use then holds across
// the adapter's pooled instances, a discarded instance, a restart, and every daemon of a
// shared store, which no guest can achieve on its own.

// Bounds of once.
const (
	maxOnceKey   = 1 << 10                 // bytes of a key
	minOnceTTL   = 1                       // seconds
	maxOnceTTL   = 400 * 24 * 60 * 60      // seconds: 400 days
	maxOnceCalls = 16                      // once calls per procedure call
	onceDomain   = "realmgate once v1\x00" // separates these digests from any other SHA-256 use
)

// The results of once. Negative results are failures the guest must treat as a refusal: it
// cannot tell a first use from a repeated one.
const (
	onceFirst       = 1  // the key was not used: it is now
	onceUsed        = 0  // the key was used before (and is not expired)
	onceUnavailable = -1 // the store did not answer, or the adapter has no single-use store
	onceBadArgument = -2 // the key is empty or longer than 1 KiB, or the TTL is out of range
	onceTooMany     = -3 // the call already made maxOnceCalls once calls
)

// onceKey is the key the store sees for a guest key of adapter: hex of a SHA-256 over the
// adapter's name and the key, so that a guest cannot reach another adapter's keys and the store
// never holds a guest's secret (an activation code) in clear. The name is length-prefixed:
// no pair of (name, key) shares an encoding with another.
func onceKey(adapter string, key []byte) string {
	h := sha256.New()
	var n [binary.MaxVarintLen64]byte
	h.Write([]byte(onceDomain))
	h.Write(n[:binary.PutUvarint(n[:], uint64(len(adapter)))])
	h.Write([]byte(adapter))
	h.Write(key)
	return hex.EncodeToString(h.Sum(nil))
}

// once(ptr, len, ttl_seconds) -> i32: marks the guest's key used for ttl_seconds. The key is
// read (an out-of-range pointer traps, like every host function), namespaced and hashed; it is
// never logged.
func (a *adapter) hostOnce(ctx context.Context, mod api.Module, stack []uint64) {
	ptr, n := api.DecodeU32(stack[0]), api.DecodeU32(stack[1])
	ttl := int64(stack[2])
	key := read(mod, "once", ptr, n)
	st := stateOf(ctx)
	stack[0] = api.EncodeI32(a.once(ctx, st, key, ttl))
}

// once is hostOnce past reading the guest's memory.
func (a *adapter) once(ctx context.Context, st *callState, key []byte, ttl int64) int32 {
	switch {
	case len(key) == 0 || len(key) > maxOnceKey:
		a.logger.Warn("realmgate.once refused: the key must have 1 to 1024 bytes", "procedure", st.procedure, "bytes", len(key))
		return onceBadArgument
	case ttl < minOnceTTL || ttl > maxOnceTTL:
		a.logger.Warn("realmgate.once refused: the TTL must be 1 second to 400 days", "procedure", st.procedure, "ttl_seconds", ttl)
		return onceBadArgument
	case st.onces >= maxOnceCalls:
		a.logger.Warn("realmgate.once refused: too many calls in one procedure call", "procedure", st.procedure, "limit", maxOnceCalls)
		return onceTooMany
	}
	st.onces++
	if a.singleUse == nil {
		a.logger.Warn("realmgate.once: the host gives this adapter no single-use store", "procedure", st.procedure)
		return onceUnavailable
	}
	first, err := a.singleUse.Use(ctx, onceKey(a.name, key), time.Now().Add(time.Duration(ttl)*time.Second))
	if err != nil {
		a.logger.Warn("realmgate.once: the single-use store did not answer", "procedure", st.procedure, "err", err)
		return onceUnavailable
	}
	if first {
		return onceFirst
	}
	return onceUsed
}
