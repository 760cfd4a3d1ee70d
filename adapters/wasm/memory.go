package wasm

import (
	"github.com/tetratelabs/wazero/experimental"
)

// cappedMemory backs a guest's linear memory and refuses to grow it past limit bytes, the
// adapter's cap. wazero checks its own page limit before it asks the allocator, so a growth
// refused there would be invisible to the host: the call would fail like any other trap. The
// runtime's page limit is therefore left at the wasm32 maximum and this allocator enforces the
// cap itself, remembering that it refused. That is how a call that failed because memory ran
// out is told apart, whatever the guest's language does when memory.grow returns -1 (Go exits,
// Rust and C abort or trap, AssemblyScript aborts).
type cappedMemory struct {
	buf     []byte
	limit   uint64
	refused bool // a growth past limit was refused since the last reset
}

var _ experimental.LinearMemory = (*cappedMemory)(nil)

func newCappedMemory(capacity, limit uint64) *cappedMemory {
	return &cappedMemory{buf: make([]byte, 0, min(capacity, limit)), limit: limit}
}

// Reallocate grows the memory to size bytes, keeping its content; new bytes are zero.
func (m *cappedMemory) Reallocate(size uint64) []byte {
	if size > m.limit {
		m.refused = true
		return nil
	}
	if size <= uint64(cap(m.buf)) {
		// Memory never shrinks, so bytes past the old length were never handed out: still zero.
		m.buf = m.buf[:size]
		return m.buf
	}
	newCap := min(max(size, 2*uint64(cap(m.buf))), m.limit)
	b := make([]byte, size, newCap)
	copy(b, m.buf)
	m.buf = b
	return b
}

// Free drops the buffer; the garbage collector reclaims it.
func (m *cappedMemory) Free() { m.buf = nil }

// runtimeLimitPages is the page limit given to wazero: the wasm32 maximum, so that every
// growth reaches cappedMemory, which enforces Limits.MemoryPages (see there). A module that
// declares a minimum above the cap is refused at load by checkModule.
const runtimeLimitPages = 65536
