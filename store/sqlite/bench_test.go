package sqlite

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/realmgate/realmgate/store"
)

// Each benchmark measures a Store method against a peer measured in the same run: the same
// statement issued with bare database/sql (db.QueryRow / db.Exec, unprepared) on the same
// pool, or the same method under another setting. ns/op and allocs/op are the Store's; "x-…" is
// the Store's time over the peer's.

var benchNow = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

func benchStore(b *testing.B, opts ...Option) *Store {
	b.Helper()
	s, err := Open(b.Context(), filepath.Join(b.TempDir(), "bench.db"), opts...)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

// vsPeer runs peer and op in alternating blocks over b.N iterations each, so that both see the
// same machine load, times peer itself and op under the benchmark timer (so ns/op and allocs/op
// are op's), and reports op's time over peer's as metric.
func vsPeer(b *testing.B, metric string, op, peer func(i int)) {
	b.Helper()
	b.ReportAllocs()
	const blocks = 16
	var peerTime time.Duration
	b.ResetTimer()
	b.StopTimer()
	for k := range blocks {
		lo, hi := b.N*k/blocks, b.N*(k+1)/blocks
		start := time.Now()
		for i := lo; i < hi; i++ {
			peer(i)
		}
		peerTime += time.Since(start)
		b.StartTimer()
		for i := lo; i < hi; i++ {
			op(i)
		}
		b.StopTimer()
	}
	peerNs := float64(peerTime.Nanoseconds()) / float64(b.N)
	opNs := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	b.ReportMetric(peerNs, "peer-ns/op")
	b.ReportMetric(opNs/peerNs, metric)
}

func check(b *testing.B, err error) {
	if err != nil {
		b.Fatal(err)
	}
}

func benchSession(id string) store.Session {
	return store.Session{ID: id, App: "bank", Env: "android", CreatedAt: benchNow, ExpiresAt: benchNow.Add(time.Hour),
		State: json.RawMessage(`{"realms":{"wl_antiXSRFRealm":"passed","wl_deviceNoProvisioningRealm":"passed"},"user":"ana"}`)}
}

const sqlPutSession = `INSERT INTO sessions (id, app, env, created_at, expires_at, state)
	VALUES (?, ?, ?, ?, ?, ?)
	ON CONFLICT (id) DO UPDATE SET app = excluded.app, env = excluded.env,
		created_at = excluded.created_at, expires_at = excluded.expires_at, state = excluded.state`

func BenchmarkGetSession(b *testing.B) {
	s := benchStore(b)
	ctx := b.Context()
	const n = 1000
	for i := range n {
		check(b, s.PutSession(ctx, benchSession(fmt.Sprint("sess-", i))))
	}
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprint("sess-", i)
	}
	vsPeer(b, "x-QueryRow",
		func(i int) {
			if _, err := s.GetSession(ctx, ids[i%n], benchNow); err != nil {
				b.Fatal(err)
			}
		},
		func(i int) {
			var app, env string
			var created, expires int64
			var state []byte
			if err := s.r.QueryRowContext(ctx, sqlGetSession, ids[i%n], micros(benchNow)).Scan(&app, &env, &created, &expires, &state); err != nil {
				b.Fatal(err)
			}
		})
}

func BenchmarkPutSession(b *testing.B) {
	s := benchStore(b)
	ctx := b.Context()
	const n = 1000
	sessions := make([]store.Session, n)
	for i := range sessions {
		sessions[i] = benchSession(fmt.Sprint("sess-", i))
	}
	vsPeer(b, "x-Exec",
		func(i int) { check(b, s.PutSession(ctx, sessions[i%n])) },
		func(i int) {
			v := sessions[i%n]
			_, err := s.w.ExecContext(ctx, sqlPutSession, v.ID, v.App, v.Env, micros(v.CreatedAt), micros(v.ExpiresAt), []byte(v.State))
			check(b, err)
		})
}

// BenchmarkPutSessionPowerLoss prices WithDurability(PowerLoss) (an fsync per commit) against
// the default ProcessCrash on the same file system.
func BenchmarkPutSessionPowerLoss(b *testing.B) {
	full := benchStore(b, WithDurability(PowerLoss))
	normal := benchStore(b)
	ctx := b.Context()
	v := benchSession("sess")
	vsPeer(b, "x-ProcessCrash",
		func(int) { check(b, full.PutSession(ctx, v)) },
		func(int) { check(b, normal.PutSession(ctx, v)) })
}

func BenchmarkConsumeNonce(b *testing.B) {
	s := benchStore(b)
	ctx := b.Context()
	// 2*b.N live nonces: the first half for the peer, the second for the Store.
	value := func(i int) string { return fmt.Sprintf("%032x", i) }
	tx, err := s.w.BeginTx(ctx, nil)
	check(b, err)
	for i := range 2 * b.N {
		_, err := tx.ExecContext(ctx, `INSERT INTO nonces (value, session_id, realm, expires_at) VALUES (?, ?, ?, ?)`,
			value(i), "sess-1", "wl_deviceNoProvisioningRealm", micros(benchNow.Add(time.Minute)))
		check(b, err)
	}
	check(b, tx.Commit())
	vsPeer(b, "x-Exec",
		func(i int) {
			check(b, s.ConsumeNonce(ctx, value(b.N+i), "sess-1", "wl_deviceNoProvisioningRealm", benchNow))
		},
		func(i int) {
			res, err := s.w.ExecContext(ctx, `DELETE FROM nonces WHERE value = ? AND session_id = ? AND realm = ? AND expires_at > ?`,
				value(i), "sess-1", "wl_deviceNoProvisioningRealm", micros(benchNow))
			check(b, err)
			if n, err := res.RowsAffected(); err != nil || n != 1 {
				b.Fatalf("peer consumed %d rows, %v", n, err)
			}
		})
}

func BenchmarkAppendAudit(b *testing.B) {
	s := benchStore(b)
	ctx := b.Context()
	r := store.AuditRecord{Time: benchNow, Actor: "admin", Action: "remote_disable.put", Target: "bank/android",
		Detail: json.RawMessage(`{"rules":2,"versions":"<2.0.0"}`)}
	vsPeer(b, "x-Exec",
		func(int) {
			if _, err := s.AppendAudit(ctx, r); err != nil {
				b.Fatal(err)
			}
		},
		func(int) {
			_, err := s.w.ExecContext(ctx, `INSERT INTO audit (time, actor, action, target, detail) VALUES (?, ?, ?, ?, ?)`,
				micros(r.Time), r.Actor, r.Action, r.Target, string(r.Detail))
			check(b, err)
		})
}
