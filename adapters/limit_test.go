package adapters_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/realmgate/realmgate/adapters"
)

// gate is an adapter whose calls block until the test lets them go; it counts the calls that
// run at once.
type gate struct {
	release     chan struct{}
	started     chan string
	concurrency int

	mu      sync.Mutex
	running int
	most    int
	inits   int
}

func newGate(concurrency int) *gate {
	return &gate{release: make(chan struct{}), started: make(chan string, 100), concurrency: concurrency}
}

func (g *gate) Call(ctx context.Context, procedure string, input json.RawMessage) (json.RawMessage, error) {
	g.mu.Lock()
	g.running++
	g.most = max(g.most, g.running)
	if procedure == "init" {
		g.inits++
	}
	g.mu.Unlock()
	defer func() {
		g.mu.Lock()
		g.running--
		g.mu.Unlock()
	}()
	g.started <- procedure
	if procedure == "init" {
		return json.RawMessage(`{}`), nil
	}
	select {
	case <-g.release:
		return input, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (g *gate) Procedures() []string        { return []string{"init", "p"} }
func (g *gate) Close(context.Context) error { return nil }
func (g *gate) Concurrency() int            { return g.concurrency }

// noConcurrency is an adapter that does not say how many calls it runs at once.
type noConcurrency struct{ adapters.Adapter }

func TestLimitDefaults(t *testing.T) {
	tests := []struct {
		name        string
		a           adapters.Adapter
		limits      adapters.Limits
		concurrency int
		queue       int
	}{
		{name: "backend's concurrency", a: newGate(4), concurrency: 4, queue: 16},
		{name: "queue 4N", a: newGate(8), concurrency: 8, queue: 32},
		{name: "no backend concurrency", a: noConcurrency{newGate(8)}, concurrency: adapters.DefaultConcurrency, queue: 4 * adapters.DefaultConcurrency},
		{name: "configured", a: newGate(4), limits: adapters.Limits{MaxConcurrent: 2, MaxQueue: 3}, concurrency: 2, queue: 3},
		{name: "no queue", a: newGate(4), limits: adapters.Limits{MaxQueue: -1}, concurrency: 4, queue: 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, q := adapters.Limit(tc.a, "A", tc.limits).Capacity()
			if diff := cmp.Diff([2]int{tc.concurrency, tc.queue}, [2]int{c, q}); diff != "" {
				t.Errorf("capacity (-want +got):\n%s", diff)
			}
		})
	}
}

// busyErr checks that err is the busy error of adapter A's procedure p, naming the adapter.
func busyErr(t *testing.T, err error, msg string) {
	t.Helper()
	var e *adapters.Error
	if !errors.As(err, &e) || !errors.Is(err, adapters.ErrBusy) {
		t.Fatalf("error %v, want adapter_busy", err)
	}
	if e.Adapter != "A" || e.Procedure != "p" || e.RetryAfter != adapters.BusyRetryAfter {
		t.Errorf("busy error %+v: want adapter A, procedure p, RetryAfter %s", e, adapters.BusyRetryAfter)
	}
	if !strings.Contains(e.Message, "adapter A is busy") || !strings.Contains(e.Message, msg) {
		t.Errorf("busy message %q, want it to say that adapter A is busy and %q", e.Message, msg)
	}
}

func TestLimitQueueAndBusy(t *testing.T) {
	g := newGate(0)
	l := adapters.Limit(g, "A", adapters.Limits{MaxConcurrent: 2, MaxQueue: 2, CallTimeout: time.Minute})
	type result struct {
		out json.RawMessage
		err error
	}
	results := make(chan result, 4)
	call := func() {
		out, err := l.Call(t.Context(), "p", json.RawMessage(`1`))
		results <- result{out, err}
	}
	for range 2 {
		go call()
	}
	<-g.started
	<-g.started
	for range 2 {
		go call()
	}
	waitLoad(t, l, 2, 2)

	// The queue is full: the next call fails at once.
	start := time.Now()
	_, err := l.Call(t.Context(), "p", json.RawMessage(`1`))
	busyErr(t, err, "2 calls are running and 2 waiting")
	if took := time.Since(start); took > time.Second {
		t.Errorf("a call beyond the queue took %s to fail, want at once", took)
	}

	// Letting the running calls go runs the waiting ones, never more than two at once.
	close(g.release)
	for range 4 {
		if r := <-results; r.err != nil || string(r.out) != "1" {
			t.Errorf("call = %s, %v; want 1", r.out, r.err)
		}
	}
	if g.most != 2 {
		t.Errorf("%d calls ran at once, want 2", g.most)
	}
	waitLoad(t, l, 0, 0)
}

func TestLimitWaitIsBounded(t *testing.T) {
	g := newGate(0)
	defer close(g.release)
	l := adapters.Limit(g, "A", adapters.Limits{MaxConcurrent: 1, CallTimeout: 200 * time.Millisecond})
	go l.Call(context.Background(), "p", nil) // held until the test ends
	<-g.started

	// Waiting past the call timeout: the adapter is busy.
	start := time.Now()
	_, err := l.Call(t.Context(), "p", json.RawMessage(`1`))
	busyErr(t, err, "no call ended within 200ms")
	if took := time.Since(start); took < 200*time.Millisecond {
		t.Errorf("the queued call failed after %s, before its call timeout", took)
	}

	// The caller's deadline comes first: a timeout, not a busy adapter.
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	_, err = l.Call(ctx, "p", json.RawMessage(`1`))
	if !errors.Is(err, adapters.ErrTimeout) || !strings.Contains(err.Error(), "caller's deadline") {
		t.Errorf("call past its caller's deadline in the queue: %v, want adapter_timeout", err)
	}

	// A cancelled caller leaves the queue.
	ctx, cancel = context.WithCancel(t.Context())
	cancel()
	_, err = l.Call(ctx, "p", json.RawMessage(`1`))
	if !errors.Is(err, adapters.ErrTimeout) || !strings.Contains(err.Error(), "cancelled") {
		t.Errorf("cancelled call in the queue: %v, want adapter_timeout saying cancelled", err)
	}
	waitLoad(t, l, 1, 0)
}

func TestLimitNoQueue(t *testing.T) {
	g := newGate(0)
	defer close(g.release)
	l := adapters.Limit(g, "A", adapters.Limits{MaxConcurrent: 1, MaxQueue: -1})
	go l.Call(context.Background(), "p", nil) // held until the test ends
	<-g.started
	_, err := l.Call(t.Context(), "p", json.RawMessage(`1`))
	busyErr(t, err, "1 calls are running and 0 waiting")
}

// TestLimitCallInit: init and the procedure after it take one slot, for an adapter without an
// Initializer too.
func TestLimitCallInit(t *testing.T) {
	g := newGate(0)
	l := adapters.Limit(g, "A", adapters.Limits{MaxConcurrent: 1, MaxQueue: -1})
	done := make(chan error, 1)
	go func() {
		_, err := l.CallInit(t.Context(), adapters.Init{Procedure: "init", Input: json.RawMessage(`{}`)}, "p", json.RawMessage(`2`))
		done <- err
	}()
	if got := <-g.started; got != "init" {
		t.Fatalf("first call %q, want init", got)
	}
	<-g.started
	_, err := l.Call(t.Context(), "p", json.RawMessage(`1`))
	busyErr(t, err, "1 calls are running")
	close(g.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if g.inits != 1 {
		t.Errorf("init ran %d times, want 1", g.inits)
	}
}

// waitLoad waits until l runs and queues the given numbers of calls.
func waitLoad(t *testing.T, l *adapters.Limited, running, waiting int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		r, w := l.Load()
		if r == running && w == waiting {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("load is %d running, %d waiting; want %d, %d", r, w, running, waiting)
		}
	}
}
