package wasm

import (
	"context"
	"math"
	"sync"
	"time"
)

// callContext is the context a call hands to wazero: Done is closed when the call's deadline
// passes or the caller's context ends, and wazero (WithCloseOnContextDone) then closes the
// module, which stops a running guest. Each instance keeps one, with one timer, and reuses
// them call after call: a context.WithTimeout per call would cost more than the rest of the
// host's work on a small call. Once Done is closed the instance is discarded, so the channel
// never needs reopening.
type callContext struct {
	parent   context.Context // the caller's: values, and what cancels the call
	deadline time.Time
	state    *callState
	done     chan struct{}
	timer    *time.Timer

	mu  sync.Mutex
	err error
}

var _ context.Context = (*callContext)(nil)

func newCallContext() *callContext {
	c := &callContext{done: make(chan struct{})}
	c.timer = time.AfterFunc(math.MaxInt64, func() { c.fire(context.DeadlineExceeded) })
	c.timer.Stop()
	return c
}

func (c *callContext) Deadline() (time.Time, bool) { return c.deadline, true }
func (c *callContext) Done() <-chan struct{}       { return c.done }

func (c *callContext) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

func (c *callContext) Value(key any) any {
	if key == (stateKey{}) {
		return c.state
	}
	if c.parent == nil {
		return nil
	}
	return c.parent.Value(key)
}

// fire ends the call: Err is set before Done is closed, so that whoever sees Done closed reads
// the reason.
func (c *callContext) fire(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err == nil {
		c.err = err
		close(c.done)
	}
}

// arm starts watching a call of parent that must end by deadline. disarm stops watching and
// reports whether the watch fired (or is firing): the instance is then in doubt.
func (c *callContext) arm(parent context.Context, deadline time.Time, st *callState) (disarm func() (fired bool)) {
	c.parent, c.deadline, c.state = parent, deadline, st
	c.timer.Reset(time.Until(deadline))
	var stopCancel func() bool
	if parent.Done() != nil {
		stopCancel = context.AfterFunc(parent, func() { c.fire(parent.Err()) })
	}
	return func() bool {
		fired := !c.timer.Stop()
		if stopCancel != nil && !stopCancel() {
			fired = true
		}
		return fired
	}
}
