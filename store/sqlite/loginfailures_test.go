package sqlite

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/realmgate/realmgate/store"
)

// TestUpgradeFromVersion1 opens a database written by a build that knew only the first schema
// version: Open adds the login-failure counters and keeps what was stored.
func TestUpgradeFromVersion1(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "realmgate.db")
	old := open(t, path)
	if _, err := old.w.ExecContext(ctx, `DROP TABLE login_failures; DELETE FROM schema_version WHERE version > 1`); err != nil {
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
