package client

import (
	"context"
	"sync"
)

// gate orders a client's requests around challenge settlement, the way Worklight clients queued
// requests while a challenge handler ran. Ordinary requests share it for the length of their
// round trip; settling a challenge (and opening the session) holds it alone. The server may
// rotate the session id when a user logs in, and a request still carrying the old id would come
// back with a new, empty session that replaces the logged-in one in the cookie jar: with the
// gate no request is in flight while answers are posted.
//
// A waiting exclusive holder keeps new shared holders out, so a steady stream of requests
// cannot starve a settlement. Every wait honours its context.
type gate struct {
	mu      sync.Mutex
	shared  int
	held    bool          // held exclusively
	waiting int           // exclusive holders waiting
	changed chan struct{} // closed and replaced whenever the state loosens
}

func newGate() *gate { return &gate{changed: make(chan struct{})} }

func (g *gate) wake() {
	close(g.changed)
	g.changed = make(chan struct{})
}

// share takes the gate shared; release with unshare.
func (g *gate) share(ctx context.Context) error {
	for {
		g.mu.Lock()
		if !g.held && g.waiting == 0 {
			g.shared++
			g.mu.Unlock()
			return nil
		}
		ch := g.changed
		g.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (g *gate) unshare() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.shared--
	if g.shared == 0 {
		g.wake()
	}
}

// hold takes the gate exclusively, once every shared holder has left; release with unhold.
func (g *gate) hold(ctx context.Context) error {
	g.mu.Lock()
	g.waiting++
	g.mu.Unlock()
	for {
		g.mu.Lock()
		if !g.held && g.shared == 0 {
			g.held = true
			g.waiting--
			g.mu.Unlock()
			return nil
		}
		ch := g.changed
		g.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			g.mu.Lock()
			g.waiting--
			g.wake()
			g.mu.Unlock()
			return ctx.Err()
		}
	}
}

func (g *gate) unhold() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.held = false
	g.wake()
}
