package sqlite

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
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

// provisioningWrites makes the writes of one device provisioning (certificate, device, session,
// audit) through w, for the i-th device.
func provisioningWrites(b *testing.B, w store.Tx, id string) error {
	ctx := b.Context()
	if err := w.PutCertificate(ctx, store.CertificateRecord{Serial: "c" + id, Entity: "device", Owner: id, IssuedAt: benchNow, DER: make([]byte, 500)}); err != nil {
		return err
	}
	if err := w.PutDevice(ctx, store.Device{ID: id, Entity: "device", Status: store.DeviceActive, CreatedAt: benchNow, CertificateSerial: "c" + id}); err != nil {
		return err
	}
	if err := w.PutSession(ctx, benchSession("s"+id)); err != nil {
		return err
	}
	_, err := w.AppendAudit(ctx, store.AuditRecord{Time: benchNow, Actor: "system", Action: "device.provision", Target: id})
	return err
}

// BenchmarkUpdate measures a provisioning's four writes made by concurrent requests (8 per
// core) as one unit of work each, against the same writes made one commit each (the store
// before units of work) in the same run: x-units is the unit's time over the peer's.
func BenchmarkUpdate(b *testing.B) {
	s := benchStore(b)
	var seq atomic.Int64
	parallel := func(op func(id string) error) func(n int) time.Duration {
		return func(n int) time.Duration {
			var next atomic.Int64
			start := time.Now()
			var wg sync.WaitGroup
			for range 8 * runtime.GOMAXPROCS(0) {
				wg.Go(func() {
					for next.Add(1) <= int64(n) {
						check(b, op(fmt.Sprint(seq.Add(1))))
					}
				})
			}
			wg.Wait()
			return time.Since(start)
		}
	}
	unit := parallel(func(id string) error {
		return s.Update(b.Context(), func(tx store.Tx) error { return provisioningWrites(b, tx, id) })
	})
	separate := parallel(func(id string) error { return provisioningWrites(b, s, id) })
	b.ReportAllocs()
	b.ResetTimer()
	b.StopTimer()
	var unitTime, peerTime time.Duration
	const blocks = 4
	for k := range blocks {
		n := b.N*(k+1)/blocks - b.N*k/blocks
		peerTime += separate(n)
		b.StartTimer()
		unitTime += unit(n)
		b.StopTimer()
	}
	b.ReportMetric(float64(peerTime.Nanoseconds())/float64(b.N), "peer-ns/op")
	b.ReportMetric(float64(unitTime)/float64(peerTime), "x-units")
}

// BenchmarkUpdateAlone measures a unit of work (a session's write) of a caller that does not
// queue, run on the caller's goroutine, against the same unit handed to the committer goroutine
// (queueOnly: the store before callers ran their own units) in the same run, in turn in each
// iteration. Each unit follows a pause, as a request's commit follows its wait on a client or a
// directory, by which the threads of the process have gone idle. It reports the medians and
// own/queued, the first's over the second's.
func BenchmarkUpdateAlone(b *testing.B) {
	own := benchStore(b)
	queued := benchStore(b)
	queued.queueOnly = true
	ctx := b.Context()
	v := benchSession("sess")
	unit := func(s *Store) time.Duration {
		time.Sleep(100 * time.Microsecond)
		start := time.Now()
		check(b, s.Update(ctx, func(tx store.Tx) error { return tx.PutSession(ctx, v) }))
		return time.Since(start)
	}
	var ownTimes, queuedTimes []time.Duration
	for b.Loop() {
		ownTimes = append(ownTimes, unit(own))
		queuedTimes = append(queuedTimes, unit(queued))
	}
	mo, mq := medianDuration(ownTimes), medianDuration(queuedTimes)
	b.ReportMetric(float64(mo.Nanoseconds()), "own-ns")
	b.ReportMetric(float64(mq.Nanoseconds()), "queued-ns")
	b.ReportMetric(float64(mo)/float64(mq), "own/queued")
}

func medianDuration(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// BenchmarkReplaceSession prices the write of a login that rotates its session's id and has no
// other write: ReplaceSession on its own (one statement) against what it replaces, PutSession
// of the new id and DeleteSession of the old one in a unit of work. Each iteration moves a
// session to a new id, as every login does.
func BenchmarkReplaceSession(b *testing.B) {
	for _, path := range []string{"file", Memory} {
		b.Run(map[string]string{"file": "file", Memory: "memory"}[path], func(b *testing.B) {
			var s *Store
			if path == Memory {
				var err error
				s, err = Open(b.Context(), Memory)
				check(b, err)
				b.Cleanup(func() { s.Close() })
			} else {
				s = benchStore(b)
			}
			ctx := b.Context()
			// Two chains of ids, one per way, each iteration moving its chain's session on.
			ids := func(way string) func(i int) (string, string) {
				return func(i int) (string, string) { return fmt.Sprint(way, i), fmt.Sprint(way, i+1) }
			}
			rep, unit := ids("replace-"), ids("unit-")
			check(b, s.PutSession(ctx, benchSession("replace-0")))
			check(b, s.PutSession(ctx, benchSession("unit-0")))
			vsPeer(b, "x-PutDeleteUnit",
				func(i int) {
					from, to := rep(i)
					check(b, s.ReplaceSession(ctx, from, benchSession(to)))
				},
				func(i int) {
					from, to := unit(i)
					check(b, s.Update(ctx, func(tx store.Tx) error {
						if err := tx.PutSession(ctx, benchSession(to)); err != nil {
							return err
						}
						return tx.DeleteSession(ctx, from)
					}))
				})
		})
	}
}
