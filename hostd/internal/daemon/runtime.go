package daemon

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/realmgate/realmgate/hostd/internal/server"
)

// runtime is one loaded configuration: the project, the engine that enforces it and the adapters
// it opened. It is reference-counted: one reference while it is current, one per request in
// flight. A reload makes another runtime current and drops the current one's reference; the
// adapters close when the last reference goes, that is after the last request that started on
// this configuration finished, as Caddy retires an old config. No adapter of a replaced runtime
// outlives its requests, and none is closed under one.
type runtime struct {
	server.Runtime
	adapters loadedAdapters

	refs atomic.Int64
	// release is Release as a func value, made once so that handing it to a request allocates
	// nothing.
	release func()

	closeOnce sync.Once
	closed    chan struct{} // closed once the adapters are closed
	closeErr  error         // how closing went; read it after closed is closed or close returned
}

// newRuntime makes a runtime with its one reference as the current runtime.
func newRuntime(rt server.Runtime, la loadedAdapters) *runtime {
	r := &runtime{Runtime: rt, adapters: la, closed: make(chan struct{})}
	r.Runtime.Adapters = la
	r.refs.Store(1)
	r.release = r.Release
	return r
}

// tryAcquire takes a reference unless the runtime is already retired (no reference left).
func (r *runtime) tryAcquire() bool {
	for {
		n := r.refs.Load()
		if n <= 0 {
			return false
		}
		if r.refs.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

// Release drops a reference; the last one closes the adapters.
func (r *runtime) Release() {
	switch n := r.refs.Add(-1); {
	case n == 0:
		r.close()
	case n < 0:
		panic("daemon: runtime released more often than acquired")
	}
}

// close closes the adapters, once: after the last reference, or when a shutdown stops waiting
// for requests.
func (r *runtime) close() {
	r.closeOnce.Do(func() {
		if r.adapters != nil {
			r.closeErr = r.adapters.Close(context.Background())
		}
		close(r.closed)
	})
}

// runtimes holds the current runtime. It is the server's server.Runtimes.
type runtimes struct {
	cur atomic.Pointer[runtime]
}

var _ server.Runtimes = (*runtimes)(nil)

func noRelease() {}

// Acquire returns the current runtime with a reference held and the func that releases it; nil
// (and a func that does nothing) before the first load and after shutdown.
func (h *runtimes) Acquire() (*server.Runtime, func()) {
	r := h.acquire()
	if r == nil {
		return nil, noRelease
	}
	return &r.Runtime, r.release
}

// acquire returns the current runtime with a reference held, or nil. A runtime retired between
// the load and the reference is skipped for the one that replaced it.
func (h *runtimes) acquire() *runtime {
	for {
		r := h.cur.Load()
		if r == nil {
			return nil
		}
		if r.tryAcquire() {
			return r
		}
	}
}

// Swap makes next current (nil: none, at shutdown) and drops the reference of the runtime it
// replaces, which it returns: that runtime's adapters close after its last request.
func (h *runtimes) Swap(next *runtime) (old *runtime) {
	old = h.cur.Swap(next)
	if old != nil {
		old.Release()
	}
	return old
}
