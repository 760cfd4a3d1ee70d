package sqlite

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/realmgate/realmgate/store"
)

// TestUpgradeFromVersion1 opens a database written by a build that knew only the first schema
// version: Open adds the login-failure counters and the token revocations and keeps what was
// stored.
func TestUpgradeFromVersion1(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "realmgate.db")
	old := open(t, path)
	if _, err := old.w.ExecContext(ctx, `DROP TABLE login_failures; DROP TABLE token_revocations; DROP TABLE blobs; DROP INDEX users_last_seen; DROP INDEX audit_time; DELETE FROM schema_version WHERE version > 1`); err != nil {
		t.Fatal(err)
	}
	if err := old.PutUser(ctx, store.User{ID: "u1", CreatedAt: time.Unix(100, 0)}); err != nil {
		t.Fatal(err)
	}
	if err := old.Close(); err != nil {
		t.Fatal(err)
	}
	s := open(t, path)
	var version int
	if err := s.w.QueryRowContext(ctx, "SELECT max(version) FROM schema_version").Scan(&version); err != nil {
		t.Fatal(err)
	}
	if version != SchemaVersion {
		t.Errorf("schema version %d after the upgrade, want %d", version, SchemaVersion)
	}
	if _, err := s.GetUser(ctx, "u1"); err != nil {
		t.Errorf("user stored before the upgrade: %v", err)
	}
	now := time.Unix(1000, 0)
	if got, err := s.AddLoginFailure(ctx, "k", now, now.Add(time.Hour)); err != nil || got.Count != 1 {
		t.Errorf("AddLoginFailure after the upgrade: %+v, %v", got, err)
	}
}

// The failed-login counters sit on the login path, beside a bcrypt check that costs
// milliseconds: these measure what they add.

func BenchmarkGetLoginFailure(b *testing.B) {
	s := benchStore(b)
	ctx := b.Context()
	for i := range 1000 {
		_, err := s.AddLoginFailure(ctx, fmt.Sprint("account:", i), benchNow, benchNow.Add(time.Hour))
		check(b, err)
	}
	vsPeer(b, "x-QueryRow",
		func(i int) {
			if _, err := s.GetLoginFailure(ctx, fmt.Sprint("account:", i%1000), benchNow); err != nil {
				b.Fatal(err)
			}
		},
		func(i int) {
			var count int
			var last, exp int64
			err := s.r.QueryRowContext(ctx, `SELECT count, last_at, expires_at FROM login_failures WHERE key = ? AND expires_at > ?`,
				fmt.Sprint("account:", i%1000), micros(benchNow)).Scan(&count, &last, &exp)
			check(b, err)
		})
}

func BenchmarkAddLoginFailure(b *testing.B) {
	s := benchStore(b)
	ctx := b.Context()
	vsPeer(b, "x-QueryRow",
		func(i int) {
			if _, err := s.AddLoginFailure(ctx, fmt.Sprint("client:", i%1000), benchNow, benchNow.Add(time.Hour)); err != nil {
				b.Fatal(err)
			}
		},
		func(i int) {
			var count int
			var last, exp int64
			err := s.w.QueryRowContext(ctx, `INSERT INTO login_failures (key, count, last_at, expires_at) VALUES (?, 1, ?, ?)
				ON CONFLICT (key) DO UPDATE SET
					count = CASE WHEN login_failures.expires_at <= excluded.last_at THEN 1 ELSE login_failures.count + 1 END,
					last_at = excluded.last_at, expires_at = excluded.expires_at
				RETURNING count, last_at, expires_at`,
				fmt.Sprint("peer:", i%1000), micros(benchNow), micros(benchNow.Add(time.Hour))).Scan(&count, &last, &exp)
			check(b, err)
		})
}
