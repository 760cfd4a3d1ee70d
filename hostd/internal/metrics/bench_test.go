package metrics

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/realmgate/realmgate/adapters"
	"github.com/realmgate/realmgate/store"
)

// BenchmarkStoreGetSession reads one session from SQLite through the bare store and through the
// instrumented one, interleaved in blocks in the same run: instrumented/bare is the cost of the
// timing on the engine's most frequent operation (target: at most 1.05).
func BenchmarkStoreGetSession(b *testing.B) {
	m := New()
	db, err := openBenchSQLite(b)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	now := time.Now()
	if err := db.PutSession(ctx, store.Session{ID: "s", App: "a", Env: "e", CreatedAt: now, ExpiresAt: now.Add(time.Hour), State: json.RawMessage(`{"realms":{}}`)}); err != nil {
		b.Fatal(err)
	}
	var bare, wrapped store.Store = db, m.Store(db)
	read := func(s store.Store, n int) time.Duration {
		start := time.Now()
		for range n {
			if _, err := s.GetSession(ctx, "s", now); err != nil {
				b.Fatal(err)
			}
		}
		return time.Since(start)
	}
	b.Run("instrumented", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			wrapped.GetSession(ctx, "s", now)
		}
	})
	b.Run("ratio", func(b *testing.B) {
		var tb, tw time.Duration
		const block = 200
		for i := 0; i < b.N; i += block {
			n := min(block, b.N-i)
			tb += read(bare, n)
			tw += read(wrapped, n)
		}
		b.ReportMetric(float64(tb.Nanoseconds())/float64(b.N), "bare-ns/op")
		b.ReportMetric(float64(tw.Nanoseconds())/float64(b.N), "instrumented-ns/op")
		b.ReportMetric(float64(tw)/float64(tb), "instrumented/bare")
	})
}

// BenchmarkAdapterCall calls a procedure that does nothing through the bare adapter and the
// instrumented one: the difference is the whole cost of the adapter metrics per call, to set
// against a warm wasm call (microseconds) or a plugin round trip (about 0.2 ms).
func BenchmarkAdapterCall(b *testing.B) {
	m := New()
	var bare adapters.Adapter = &fakeAdapter{}
	wrapped := m.Adapter("A", "wasm", bare)
	ctx := context.Background()
	call := func(a adapters.Adapter, n int) time.Duration {
		start := time.Now()
		for range n {
			a.Call(ctx, "ok", nil)
		}
		return time.Since(start)
	}
	b.Run("instrumented", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			wrapped.Call(ctx, "ok", nil)
		}
	})
	b.Run("ratio", func(b *testing.B) {
		var tb, tw time.Duration
		const block = 1000
		for i := 0; i < b.N; i += block {
			n := min(block, b.N-i)
			tb += call(bare, n)
			tw += call(wrapped, n)
		}
		b.ReportMetric(float64(tb.Nanoseconds())/float64(b.N), "bare-ns/op")
		b.ReportMetric(float64(tw.Nanoseconds())/float64(b.N), "instrumented-ns/op")
		b.ReportMetric(float64(tw.Nanoseconds()-tb.Nanoseconds())/float64(b.N), "overhead-ns/op")
	})
}
