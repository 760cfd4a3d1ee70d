package daemon

import (
	"context"
	"encoding/json"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/realmgate/realmgate/adapters"
	"github.com/realmgate/realmgate/hostd/internal/server"
)

// countingAdapter is an adapter that counts its calls after Close and its closes.
type countingAdapter struct {
	closes      atomic.Int32
	callsClosed atomic.Int32
}

func (a *countingAdapter) Call(context.Context, string, json.RawMessage) (json.RawMessage, error) {
	if a.closes.Load() > 0 {
		a.callsClosed.Add(1)
		return nil, adapters.ErrUnavailable
	}
	return json.RawMessage(`{}`), nil
}

func (a *countingAdapter) Procedures() []string { return nil }

func (a *countingAdapter) Close(context.Context) error {
	a.closes.Add(1)
	return nil
}

func testRuntime(name string) (*runtime, *countingAdapter) {
	a := &countingAdapter{}
	return newRuntime(server.Runtime{}, loadedAdapters{name: a}), a
}

// TestRuntimeClosesAfterItsLastRequest: a replaced runtime stays open while a request holds it,
// and closes its adapters once, when the last one releases it.
func TestRuntimeClosesAfterItsLastRequest(t *testing.T) {
	var h runtimes
	if rt, release := h.Acquire(); rt != nil {
		t.Fatalf("before the first load: %v", rt)
	} else {
		release()
	}
	first, firstAdapter := testRuntime("A")
	h.Swap(first)
	rt1, release1 := h.Acquire()
	rt2, release2 := h.Acquire()
	if rt1 != &first.Runtime || rt2 != rt1 {
		t.Fatal("Acquire did not return the current runtime")
	}

	second, secondAdapter := testRuntime("A")
	if old := h.Swap(second); old != first {
		t.Fatalf("Swap returned %p, want the first runtime", old)
	}
	// Two requests still hold the first runtime: its adapter serves them.
	if _, err := rt1.Adapters.Call(t.Context(), "A", "p", nil); err != nil || firstAdapter.closes.Load() != 0 {
		t.Fatalf("a request in flight on the replaced runtime: %v, %d closes", err, firstAdapter.closes.Load())
	}
	if rt, release := h.Acquire(); rt != &second.Runtime {
		t.Error("a new request does not get the new runtime")
	} else {
		release()
	}
	release1()
	if n := firstAdapter.closes.Load(); n != 0 {
		t.Fatalf("closed with a request in flight (%d closes)", n)
	}
	release2()
	select {
	case <-first.closed:
	default:
		t.Fatal("the replaced runtime did not close after its last request")
	}
	h.Swap(nil)
	got := []int32{firstAdapter.closes.Load(), firstAdapter.callsClosed.Load(), secondAdapter.closes.Load()}
	if diff := cmp.Diff([]int32{1, 0, 1}, got); diff != "" {
		t.Errorf("[first closes, first calls after close, second closes] (-want +got):\n%s", diff)
	}
	if rt, release := h.Acquire(); rt != nil {
		t.Error("a runtime after the last one was retired")
	} else {
		release()
	}
}

// TestRuntimeSwapUnderLoad: requests acquire and release while runtimes are swapped; each
// runtime closes exactly once, never while a request holds it.
func TestRuntimeSwapUnderLoad(t *testing.T) {
	var h runtimes
	first, _ := testRuntime("A")
	h.Swap(first)
	var (
		all     = []*countingAdapter{first.adapters["A"].(*countingAdapter)}
		stop    = make(chan struct{})
		workers sync.WaitGroup
	)
	for range 4 {
		workers.Add(1)
		go func() {
			defer workers.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				rt, release := h.Acquire()
				if _, err := rt.Adapters.Call(context.Background(), "A", "p", nil); err != nil {
					t.Errorf("a call on a held runtime: %v", err)
				}
				release()
			}
		}()
	}
	for range 200 {
		next, a := testRuntime("A")
		all = append(all, a)
		h.Swap(next)
	}
	close(stop)
	workers.Wait()
	h.Swap(nil)
	for i, a := range all {
		if n := a.closes.Load(); n != 1 || a.callsClosed.Load() != 0 {
			t.Errorf("runtime %d: %d closes, %d calls after close; want 1 and 0", i, n, a.callsClosed.Load())
		}
	}
}

// BenchmarkRuntimeAcquire measures what holding the runtime costs a request (Acquire and
// release), beside its peer in the same run: the plain atomic load of the current runtime that
// requests made before runtimes were counted.
func BenchmarkRuntimeAcquire(b *testing.B) {
	var h runtimes
	rt, _ := testRuntime("A")
	h.Swap(rt)
	b.Run("acquire-release", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				rt, release := h.Acquire()
				if rt == nil {
					b.Fatal("no runtime")
				}
				release()
			}
		})
	})
	b.Run("peer-atomic-load", func(b *testing.B) {
		var cur atomic.Pointer[server.Runtime]
		cur.Store(&rt.Runtime)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if cur.Load() == nil {
					b.Fatal("no runtime")
				}
			}
		})
	})
}
