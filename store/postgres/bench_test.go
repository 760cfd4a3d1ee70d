package postgres_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/realmgate/realmgate/store"
	"github.com/realmgate/realmgate/store/postgres"
	"github.com/realmgate/realmgate/store/postgres/pgtest"
)

// Each benchmark measures the store against a peer measured in the same run, on a cluster of its
// own with fsync on (a commit waits for the disk, as in production): the same statement issued
// with bare pgx on a pool of the same size, or the same writes committed another way. ns/op and
// allocs/op are the store's; "x-…" is the store's time over the peer's.

var benchNow = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

func benchStore(b *testing.B) (*postgres.Store, *pgxpool.Pool) {
	b.Helper()
	c := pgtest.Start(b, pgtest.Durable())
	dsn := c.NewDatabase(b)
	s, err := postgres.Open(b.Context(), dsn, postgres.Options{MaxConns: 4})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	cfg, err := postgres.ParseConfig(dsn, postgres.Options{MaxConns: 4})
	if err != nil {
		b.Fatal(err)
	}
	pool, err := pgxpool.NewWithConfig(b.Context(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(pool.Close)
	return s, pool
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

// BenchmarkGetSession: the store's read of a session against the same query through bare pgx.
func BenchmarkGetSession(b *testing.B) {
	s, pool := benchStore(b)
	ctx := b.Context()
	const n = 1000
	for i := range n {
		check(b, s.PutSession(ctx, benchSession(fmt.Sprint("sess-", i))))
	}
	vsPeer(b, "x-bare-pgx", func(i int) {
		_, err := s.GetSession(ctx, fmt.Sprint("sess-", i%n), benchNow)
		check(b, err)
	}, func(i int) {
		var app, env []byte
		var created, expires time.Time
		var state []byte
		check(b, pool.QueryRow(ctx, `SELECT app, env, created_at, expires_at, state FROM sessions
			WHERE id = $1 AND expires_at > $2`, []byte(fmt.Sprint("sess-", i%n)), benchNow).Scan(&app, &env, &created, &expires, &state))
	})
}

// BenchmarkPutSession: the store's upsert of a session (one commit) against the same statement
// through bare pgx.
func BenchmarkPutSession(b *testing.B) {
	s, pool := benchStore(b)
	ctx := b.Context()
	vsPeer(b, "x-bare-pgx", func(i int) {
		check(b, s.PutSession(ctx, benchSession(fmt.Sprint("sess-", i%1000))))
	}, func(i int) {
		v := benchSession(fmt.Sprint("peer-", i%1000))
		_, err := pool.Exec(ctx, `INSERT INTO sessions (id, app, env, created_at, expires_at, state)
			VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT (id) DO UPDATE SET app = excluded.app, env = excluded.env,
				created_at = excluded.created_at, expires_at = excluded.expires_at, state = excluded.state`,
			[]byte(v.ID), []byte(v.App), []byte(v.Env), v.CreatedAt, v.ExpiresAt, []byte(v.State))
		check(b, err)
	})
}

// issuance writes what a device's provisioning answer writes: the nonce consumed, the session,
// the device and its certificate record.
func issuance(b *testing.B, tx store.Tx, i int) {
	ctx := b.Context()
	id := fmt.Sprint("dev-", i)
	check(b, tx.ConsumeNonce(ctx, id, "sess", "wl_deviceAutoProvisioningRealm", benchNow))
	check(b, tx.PutSession(ctx, benchSession("sess-"+id)))
	check(b, tx.PutDevice(ctx, store.Device{ID: id, Entity: "device", Status: store.DeviceActive, CreatedAt: benchNow, CertificateSerial: id}))
	check(b, tx.PutCertificate(ctx, store.CertificateRecord{Serial: id, Entity: "device", Owner: id, IssuedAt: benchNow, DER: make([]byte, 600)}))
}

// BenchmarkUnitOfWork: an issuance's four writes in one unit of work (one SERIALIZABLE
// transaction, one commit) against the same writes each committed on its own.
func BenchmarkUnitOfWork(b *testing.B) {
	s, _ := benchStore(b)
	ctx := b.Context()
	for i := range 2 * b.N {
		check(b, s.PutNonce(ctx, store.Nonce{Value: fmt.Sprint("dev-", i), SessionID: "sess", Realm: "wl_deviceAutoProvisioningRealm", ExpiresAt: benchNow.Add(time.Hour)}))
	}
	vsPeer(b, "x-separate-commits", func(i int) {
		check(b, s.Update(ctx, func(tx store.Tx) error { issuance(b, tx, 2*i); return nil }))
	}, func(i int) {
		issuance(b, s, 2*i+1)
	})
}
