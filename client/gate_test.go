package client

import (
	"context"
	"errors"
	"runtime"
	"testing"
)

// A cancelled context turns a wait into a try: the call succeeds when the gate is free for it
// and fails with context.Canceled when it would have to wait.
func TestGate(t *testing.T) {
	t.Parallel()
	bg := context.Background()
	try, cancel := context.WithCancel(bg)
	cancel()
	g := newGate()
	mustBlock := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("%s did not wait (err %v)", what, err)
		}
	}
	mustPass := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s waited: %v", what, err)
		}
	}

	mustPass("first share", g.share(bg))
	mustPass("second share", g.share(try))
	mustBlock("hold while shared", g.hold(try))
	mustPass("share after a hold gave up", g.share(try)) // the abandoned hold left no trace
	g.unshare()

	// A waiting hold keeps new sharers out, then gets the gate when the last sharer leaves.
	held := make(chan error, 1)
	go func() { held <- g.hold(bg) }()
	for {
		g.mu.Lock()
		w := g.waiting
		g.mu.Unlock()
		if w == 1 {
			break
		}
		runtime.Gosched()
	}
	mustBlock("share while a hold waits", g.share(try))
	g.unshare()
	g.unshare()
	mustPass("waiting hold", <-held)
	mustBlock("share while held", g.share(try))
	mustBlock("hold while held", g.hold(try))
	g.unhold()
	mustPass("share after unhold", g.share(try))
	g.unshare()
	mustPass("hold when free", g.hold(try))
	g.unhold()
}
