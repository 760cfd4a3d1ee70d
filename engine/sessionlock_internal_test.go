package engine

import (
	"fmt"
	"hash/fnv"
	"sync"
	"testing"
	"time"
)

// TestSessionLocksIndependent: a request holding its session's lock (a login waiting on a hung
// directory) makes no other session wait, not even one whose id hashes alike, while a second
// request of the same session waits for it.
func TestSessionLocksIndependent(t *testing.T) {
	var l locks
	held := "session-held"
	shard := func(id string) uint32 {
		h := fnv.New32a()
		h.Write([]byte(id))
		return h.Sum32() % 64
	}
	// Ids of other sessions, among them some that a 64-way sharded lock would have put with held.
	var others []string
	for i := 0; len(others) < 8; i++ {
		if id := fmt.Sprintf("session-%d", i); shard(id) == shard(held) {
			others = append(others, id)
		}
	}
	for i := range 100 {
		others = append(others, fmt.Sprintf("other-%d", i))
	}
	unlock := l.lock(held)
	for _, id := range others {
		done := make(chan struct{})
		go func() { l.lock(id)(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatalf("session %s waited for session %s", id, held)
		}
	}
	second := make(chan struct{})
	go func() { l.lock(held)(); close(second) }()
	select {
	case <-second:
		t.Fatal("a second request of the held session did not wait")
	case <-time.After(50 * time.Millisecond):
	}
	unlock()
	<-second
	l.mu.Lock()
	n := len(l.held)
	l.mu.Unlock()
	if n != 0 {
		t.Errorf("%d session locks left after every request ended, want 0", n)
	}
}

// TestSessionLocksSerialise: concurrent requests of one session never overlap.
func TestSessionLocksSerialise(t *testing.T) {
	var l locks
	var wg sync.WaitGroup
	inside := 0
	for range 50 {
		wg.Go(func() {
			unlock := l.lock("one")
			inside++
			if inside != 1 {
				t.Error("two requests of one session at once")
			}
			inside--
			unlock()
		})
	}
	wg.Wait()
}
