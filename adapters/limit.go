package adapters

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"
	"time"
)

// Concurrency is implemented by adapters that know how many calls they can run at once: a wasm
// adapter its instances, a plugin a fixed number of calls a process serves in parallel. [Limit]
// takes it as the default of Limits.MaxConcurrent.
type Concurrency interface {
	Concurrency() int
}

// Defaults of [Limit] when neither the limits nor the adapter say otherwise.
const (
	// DefaultConcurrency is the MaxConcurrent of an adapter that does not implement Concurrency.
	DefaultConcurrency = 16
	// MinQueue is the least default queue: an adapter with one instance still absorbs a small
	// burst instead of refusing its sixth concurrent caller.
	MinQueue = 16
	// BusyRetryAfter is the RetryAfter of a CodeBusy error.
	BusyRetryAfter = time.Second
)

// Limited is an adapter behind a concurrency limit and a bounded queue: at most MaxConcurrent
// calls run at once; up to MaxQueue more wait, each at most until its own deadline (the call
// timeout from when it arrived, or its context's deadline if earlier); any call beyond that
// fails at once with CodeBusy. The daemon puts every adapter it opens behind one, whatever its
// backend, so that a slow or stuck adapter holds at most MaxConcurrent+MaxQueue requests and
// their goroutines, and the daemon goes on serving everything else.
//
// A Limited implements [Initializer] whether or not the adapter does, so that a call after init
// takes one slot for both.
type Limited struct {
	a        Adapter
	name     string
	timeout  time.Duration
	slots    chan struct{} // one token per running call: send to take, receive to give back
	maxQueue int
	waiting  atomic.Int64
}

var (
	_ Adapter     = (*Limited)(nil)
	_ Initializer = (*Limited)(nil)
)

// Limit puts a behind the concurrency limit and queue of l (see Limits.MaxConcurrent) and
// returns it; name is the adapter's name, for errors. The defaults are filled in from a
// (Concurrency) and DefaultLimits.
func Limit(a Adapter, name string, l Limits) *Limited {
	l = l.WithDefaults()
	n := l.MaxConcurrent
	if n <= 0 {
		n = DefaultConcurrency
		if c, ok := a.(Concurrency); ok && c.Concurrency() > 0 {
			n = c.Concurrency()
		}
	}
	q := l.MaxQueue
	switch {
	case q == 0:
		q = max(4*n, MinQueue)
	case q < 0:
		q = 0
	}
	return &Limited{a: a, name: name, timeout: l.CallTimeout, slots: make(chan struct{}, n), maxQueue: q}
}

// Unwrap returns the adapter behind the limit.
func (l *Limited) Unwrap() Adapter { return l.a }

// Capacity returns how many calls may run at once and how many may wait.
func (l *Limited) Capacity() (concurrent, queue int) { return cap(l.slots), l.maxQueue }

// Load returns how many calls run and how many wait, now.
func (l *Limited) Load() (running, waiting int) { return len(l.slots), int(l.waiting.Load()) }

// Call runs procedure once a slot is free (adapters.Adapter).
func (l *Limited) Call(ctx context.Context, procedure string, input json.RawMessage) (json.RawMessage, error) {
	if err := l.acquire(ctx, procedure); err != nil {
		return nil, err
	}
	defer l.release()
	return l.a.Call(ctx, procedure, input)
}

// CallInit runs procedure after init once a slot is free; both run in that one slot
// (adapters.Initializer).
func (l *Limited) CallInit(ctx context.Context, init Init, procedure string, input json.RawMessage) (json.RawMessage, error) {
	if err := l.acquire(ctx, procedure); err != nil {
		return nil, err
	}
	defer l.release()
	return CallInit(ctx, l.a, init, procedure, input)
}

// Procedures lists the adapter's procedures.
func (l *Limited) Procedures() []string { return l.a.Procedures() }

// Close closes the adapter. Calls waiting for a slot wait on; the adapter fails them once they
// run.
func (l *Limited) Close(ctx context.Context) error { return l.a.Close(ctx) }

func (l *Limited) release() { <-l.slots }

// acquire takes a slot: at once when one is free, else after waiting in the queue until a slot
// frees up, the call's deadline passes or its context ends.
func (l *Limited) acquire(ctx context.Context, procedure string) error {
	select {
	case l.slots <- struct{}{}:
		return nil
	default:
	}
	if n := l.waiting.Add(1); n > int64(l.maxQueue) {
		l.waiting.Add(-1)
		return l.busy(procedure, fmt.Sprintf("adapter %s is busy: %d calls are running and %d waiting, its limits; retry later", l.name, cap(l.slots), l.maxQueue))
	}
	defer l.waiting.Add(-1)
	wait, callers := l.timeout, false
	if d, ok := ctx.Deadline(); ok && time.Until(d) < wait {
		wait, callers = time.Until(d), true
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case l.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		msg := "the call was cancelled while it waited for adapter " + l.name
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			msg = "the call ran past its caller's deadline while it waited for adapter " + l.name
		}
		return &Error{Code: CodeTimeout, Adapter: l.name, Procedure: procedure, Message: msg, Err: ctx.Err()}
	case <-t.C:
		if callers { // the caller's deadline came first: a timeout, not a busy adapter
			return &Error{Code: CodeTimeout, Adapter: l.name, Procedure: procedure,
				Message: "the call ran past its caller's deadline while it waited for adapter " + l.name, Err: context.DeadlineExceeded}
		}
		return l.busy(procedure, fmt.Sprintf("adapter %s is busy: no call ended within %s while this one waited; retry later", l.name, wait.Round(time.Millisecond)))
	}
}

func (l *Limited) busy(procedure, msg string) error {
	return &Error{Code: CodeBusy, Adapter: l.name, Procedure: procedure, Message: msg, RetryAfter: BusyRetryAfter}
}
