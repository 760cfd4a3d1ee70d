package postgres

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/realmgate/realmgate/store"
	"github.com/realmgate/realmgate/store/postgres/pgtest"
)

// versions returns the versions schema_version records, in order.
func versions(t *testing.T, dsn string) []int {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	rows, err := conn.Query(t.Context(), `SELECT version FROM schema_version ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	got, err := pgx.CollectRows(rows, pgx.RowTo[int])
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func allVersions() []int {
	var out []int
	for v := 1; v <= SchemaVersion; v++ {
		out = append(out, v)
	}
	return out
}

// TestMigrateFromEveryVersion: a database left at any older version (by an older build) is
// migrated up to SchemaVersion by Open, and serves.
func TestMigrateFromEveryVersion(t *testing.T) {
	t.Parallel()
	if len(migrations) != SchemaVersion {
		t.Fatalf("%d migrations for schema version %d", len(migrations), SchemaVersion)
	}
	c := pgtest.Shared(t)
	for from := 0; from < SchemaVersion; from++ {
		dsn := c.NewDatabase(t)
		ctx := t.Context()
		pool, err := pgxpool.New(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := migrate(ctx, pool, migrations[:from]); err != nil {
			t.Fatalf("migrate to version %d: %v", from, err)
		}
		pool.Close()
		s, err := Open(ctx, dsn, Options{MaxConns: 2})
		if err != nil {
			t.Fatalf("open a database at version %d: %v", from, err)
		}
		if d := cmp.Diff(allVersions(), versions(t, dsn)); d != "" {
			t.Errorf("versions after migrating from %d (-want +got):\n%s", from, d)
		}
		sess := store.Session{ID: "s", CreatedAt: time.Unix(0, 0).UTC(), ExpiresAt: time.Unix(1<<40, 0).UTC()}
		if err := s.PutSession(ctx, sess); err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetSession(ctx, "s", time.Now()); err != nil {
			t.Fatal(err)
		}
		s.Close()
	}
}

// TestSchemaTooNew: a database a newer build migrated is refused and left as it was.
func TestSchemaTooNew(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	dsn := pgtest.Shared(t).NewDatabase(t)
	s, err := Open(ctx, dsn, Options{MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.PutUser(ctx, store.User{ID: "u"}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, `INSERT INTO schema_version (version) VALUES ($1)`, SchemaVersion+1); err != nil {
		t.Fatal(err)
	}
	_, err = Open(ctx, dsn, Options{MaxConns: 2})
	if !errors.Is(err, ErrSchemaTooNew) {
		t.Fatalf("Open of a newer schema: %v, want ErrSchemaTooNew", err)
	}
	t.Log(err)
	if d := cmp.Diff(append(allVersions(), SchemaVersion+1), versions(t, dsn)); d != "" {
		t.Errorf("versions after the refusal (-want +got):\n%s", d)
	}
	var users int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM users`).Scan(&users); err != nil || users != 1 {
		t.Errorf("users after the refusal: %d, %v", users, err)
	}
}

// TestNotRealmgate: a schema that holds another application's tables is refused, and gets no
// table of Realmgate's; a schema of its own in the same database (search_path) is fine.
func TestNotRealmgate(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	c := pgtest.Shared(t)
	dsn := c.NewDatabase(t)
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, `CREATE TABLE invoices (id int); CREATE SCHEMA rg`); err != nil {
		t.Fatal(err)
	}
	_, err = Open(ctx, dsn, Options{MaxConns: 2})
	if !errors.Is(err, ErrNotRealmgate) {
		t.Fatalf("Open of another application's schema: %v, want ErrNotRealmgate", err)
	}
	t.Log(err)
	var tables []string
	rows, err := conn.Query(ctx, `SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	if tables, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"invoices"}, tables); d != "" {
		t.Errorf("tables after the refusal (-want +got):\n%s", d)
	}
	s, err := Open(ctx, dsn+"&search_path=rg", Options{MaxConns: 2})
	if err != nil {
		t.Fatalf("Open on a schema of its own: %v", err)
	}
	defer s.Close()
	if err := s.PutUser(ctx, store.User{ID: "u"}); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM rg.users`).Scan(&n); err != nil || n != 1 {
		t.Errorf("users in schema rg: %d, %v", n, err)
	}
}

// TestConcurrentOpen: daemons that start at once on an empty database take turns migrating;
// every one opens and each version is applied once.
func TestConcurrentOpen(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	dsn := pgtest.Shared(t).NewDatabase(t)
	const daemons = 6
	var wg sync.WaitGroup
	errs := make([]error, daemons)
	for i := range daemons {
		wg.Go(func() {
			s, err := Open(ctx, dsn, Options{MaxConns: 2})
			if err == nil {
				err = s.Ping(ctx)
				s.Close()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(allVersions(), versions(t, dsn)); d != "" {
		t.Errorf("versions (-want +got):\n%s", d)
	}
}

// TestFailedMigrationKeepsVersion: a step that fails leaves the schema at the version before it,
// with nothing of the step applied, and Open says which step failed.
func TestFailedMigrationKeepsVersion(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	dsn := pgtest.Shared(t).NewDatabase(t)
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	broken := append(slices.Clone(migrations), `CREATE TABLE half (id int); CREATE TABLE broken (;`)
	_, err = migrate(ctx, pool, broken)
	if err == nil {
		t.Fatal("a broken step migrated")
	}
	t.Log(err)
	if d := cmp.Diff(allVersions(), versions(t, dsn)); d != "" {
		t.Errorf("versions after a failed step (-want +got):\n%s", d)
	}
	var half *string
	if err := pool.QueryRow(ctx, `SELECT to_regclass('half')::text`).Scan(&half); err != nil || half != nil {
		t.Errorf("the failed step's first table exists: %v, %v", half, err)
	}
}
