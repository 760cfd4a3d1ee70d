package sqlite

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/realmgate/realmgate/store"
)

func open(t *testing.T, path string, opts ...Option) *Store {
	t.Helper()
	s, err := Open(t.Context(), path, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// rawDB opens path with plain database/sql, as an operator's tool would.
func rawDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := openDB(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func pragma(t *testing.T, db *sql.DB, name string) string {
	t.Helper()
	var v string
	if err := db.QueryRowContext(t.Context(), "PRAGMA "+name).Scan(&v); err != nil {
		t.Fatalf("PRAGMA %s: %v", name, err)
	}
	return v
}

func TestOpenSettings(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		opts []Option
		want map[string]string
	}{
		{"defaults", nil, map[string]string{
			"journal_mode": "wal", "synchronous": "1", "foreign_keys": "1", "busy_timeout": "5000",
			"query_only": "0",
		}},
		{"power loss", []Option{WithDurability(PowerLoss), WithBusyTimeout(1500 * time.Millisecond)}, map[string]string{
			"journal_mode": "wal", "synchronous": "2", "foreign_keys": "1", "busy_timeout": "1500",
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "realmgate.db")
			s := open(t, path, c.opts...)
			got := map[string]string{}
			for k := range c.want {
				got[k] = pragma(t, s.w, k)
			}
			if d := cmp.Diff(c.want, got); d != "" {
				t.Errorf("writer pragmas (-want +got):\n%s", d)
			}
			if got := pragma(t, s.r, "query_only"); got != "1" {
				t.Errorf("reader query_only = %s, want 1", got)
			}
			if _, err := s.r.ExecContext(t.Context(), "DELETE FROM sessions"); err == nil {
				t.Error("a write through a reader connection succeeded")
			}
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if perm := fi.Mode().Perm(); perm != 0o600 {
				t.Errorf("database file mode %v, want 0600", perm)
			}
			var version int
			if err := s.w.QueryRowContext(t.Context(), "SELECT max(version) FROM schema_version").Scan(&version); err != nil {
				t.Fatal(err)
			}
			if version != SchemaVersion || len(migrations) != SchemaVersion {
				t.Errorf("schema version %d, %d migrations; want both %d", version, len(migrations), SchemaVersion)
			}
			if got := pragma(t, s.w, "integrity_check"); got != "ok" {
				t.Errorf("integrity_check: %s", got)
			}
		})
	}
}

func TestOpenErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.db")
	if err := os.WriteFile(garbage, []byte(strings.Repeat("not an sqlite database ", 200)), 0o600); err != nil {
		t.Fatal(err)
	}
	foreign := filepath.Join(dir, "foreign.db")
	db := rawDB(t, foreign)
	if _, err := db.ExecContext(t.Context(), "CREATE TABLE orders (id INTEGER PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}
	db.Close()

	cases := []struct {
		name    string
		path    string
		opts    []Option
		wantIs  error
		wantSub string
	}{
		{"missing directory", filepath.Join(dir, "no", "such", "dir", "x.db"), nil, os.ErrNotExist, "no such file"},
		{"not a database", garbage, nil, nil, "not a database"},
		{"another program's database", foreign, nil, ErrNotRealmgate, "not a Realmgate database"},
		{"no readers", filepath.Join(dir, "a.db"), []Option{WithReaders(0)}, nil, "readers"},
		{"negative busy timeout", filepath.Join(dir, "b.db"), []Option{WithBusyTimeout(-time.Second)}, nil, "busy timeout"},
		{"unknown durability", filepath.Join(dir, "c.db"), []Option{WithDurability(Durability(7))}, nil, "durability"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := Open(t.Context(), c.path, c.opts...)
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			if c.wantIs != nil && !errors.Is(err, c.wantIs) {
				t.Errorf("error %v, want one matching %v", err, c.wantIs)
			}
			if !strings.Contains(err.Error(), c.wantSub) {
				t.Errorf("error %q does not mention %q", err, c.wantSub)
			}
		})
	}
	// The foreign database was not given Realmgate's tables.
	db = rawDB(t, foreign)
	var n int
	if err := db.QueryRowContext(t.Context(), "SELECT count(*) FROM sqlite_schema WHERE type = 'table'").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("foreign database has %d tables after the refused Open, want 1", n)
	}
}

func TestOpenPathWithURICharacters(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	dir := filepath.Join(root, "a dir?with=odd#chars%20&more")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "realm gate.db")
	s := open(t, path)
	if err := s.PutUser(t.Context(), store.User{ID: "u"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if d := cmp.Diff([]string{"realm gate.db"}, names); d != "" {
		t.Errorf("files in the directory after Close (-want +got):\n%s", d)
	}
	if entries, err := os.ReadDir(root); err != nil || len(entries) != 1 {
		t.Errorf("a file was made outside the directory: %v, %v", entries, err)
	}
	head := make([]byte, 16)
	if f, err := os.Open(path); err != nil {
		t.Fatal(err)
	} else {
		_, err = f.Read(head)
		f.Close()
		if err != nil || string(head) != "SQLite format 3\x00" {
			t.Errorf("%s is not the database: header %q, %v", path, head, err)
		}
	}
	s = open(t, path)
	if _, err := s.GetUser(t.Context(), "u"); err != nil {
		t.Errorf("reopened database lost its user: %v", err)
	}
}

func fileSum(t *testing.T, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

func TestSchemaTooNew(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "realmgate.db")
	s := open(t, path)
	if err := s.PutUser(t.Context(), store.User{ID: "u"}); err != nil {
		t.Fatal(err)
	}
	// A newer build went through here.
	if err := migrate(t.Context(), s.w, path, append(migrations[:len(migrations):len(migrations)],
		`CREATE TABLE future (x INTEGER) STRICT`)); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	before := fileSum(t, path)

	_, err := Open(t.Context(), path)
	if !errors.Is(err, ErrSchemaTooNew) {
		t.Fatalf("Open of a newer database: error %v, want ErrSchemaTooNew", err)
	}
	for _, want := range []string{fmt.Sprint("version ", SchemaVersion+1), fmt.Sprint("up to ", SchemaVersion), path} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if fileSum(t, path) != before {
		t.Error("the refused Open changed the database file")
	}
}

func TestMigrateForward(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "realmgate.db")
	s := open(t, path)
	if err := s.PutUser(ctx, store.User{ID: "u1", CreatedAt: time.Unix(100, 0)}); err != nil {
		t.Fatal(err)
	}
	next := append(migrations[:len(migrations):len(migrations)],
		`ALTER TABLE users ADD COLUMN locale TEXT NOT NULL DEFAULT 'en';
		 CREATE INDEX users_locale ON users (locale);`,
		`UPDATE users SET locale = 'pt' WHERE id = 'u1'`,
	)
	if err := migrate(ctx, s.w, path, next); err != nil {
		t.Fatal(err)
	}
	var versions []int
	rows, err := s.w.QueryContext(ctx, "SELECT version FROM schema_version ORDER BY version")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		versions = append(versions, v)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	var want []int
	for v := 1; v <= SchemaVersion+2; v++ {
		want = append(want, v)
	}
	if d := cmp.Diff(want, versions); d != "" {
		t.Errorf("schema versions (-want +got):\n%s", d)
	}
	var locale string
	if err := s.w.QueryRowContext(ctx, "SELECT locale FROM users WHERE id = 'u1'").Scan(&locale); err != nil {
		t.Fatal(err)
	}
	if locale != "pt" {
		t.Errorf("locale %q after migrations, want pt", locale)
	}
	// Running them again is a no-op.
	if err := migrate(ctx, s.w, path, next); err != nil {
		t.Errorf("second migrate: %v", err)
	}
	if got, err := s.GetUser(ctx, "u1"); err != nil || !got.CreatedAt.Equal(time.Unix(100, 0)) {
		t.Errorf("user after migrations: %v, %v", got, err)
	}
}

func TestMigrationFailureRollsBack(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "realmgate.db")
	s := open(t, path)
	bad := append(migrations[:len(migrations):len(migrations)],
		`CREATE TABLE half (x INTEGER) STRICT`,
		`CREATE TABLE other (y INTEGER) STRICT; INSERT INTO no_such_table VALUES (1);`,
	)
	err := migrate(ctx, s.w, path, bad)
	if failing := fmt.Sprint("schema version ", SchemaVersion+2); err == nil || !strings.Contains(err.Error(), failing) {
		t.Fatalf("migrate with a failing step: %v, want an error naming %s", err, failing)
	}
	var version, tables int
	if err := s.w.QueryRowContext(ctx, "SELECT max(version) FROM schema_version").Scan(&version); err != nil {
		t.Fatal(err)
	}
	if err := s.w.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_schema WHERE name IN ('half', 'other')").Scan(&tables); err != nil {
		t.Fatal(err)
	}
	if version != SchemaVersion || tables != 0 {
		t.Errorf("after a failed migration: version %d, %d new tables; want %d and 0", version, tables, SchemaVersion)
	}
}

// TestWriterWaitHonoursContext holds the single writer connection, as a long write would, and
// checks that a write queued behind it gives up when its context ends.
func TestWriterWaitHonoursContext(t *testing.T) {
	t.Parallel()
	s := open(t, filepath.Join(t.TempDir(), "realmgate.db"))
	held, err := s.w.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	err = s.PutUser(ctx, store.User{ID: "u"})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("PutUser while the writer is held: %v, want context.DeadlineExceeded", err)
	}
	// Reads do not queue behind the writer.
	if _, err := s.GetUser(t.Context(), "u"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetUser while the writer is held: %v, want ErrNotFound", err)
	}
	held.Close()
	if err := s.PutUser(t.Context(), store.User{ID: "u"}); err != nil {
		t.Errorf("PutUser after the writer is free: %v", err)
	}
}

// TestInterruptsRunningStatement checks that a context ending during a statement stops it
// (the driver interrupts SQLite) rather than waiting for it to finish.
func TestInterruptsRunningStatement(t *testing.T) {
	t.Parallel()
	s := open(t, filepath.Join(t.TempDir(), "realmgate.db"))
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	// Counts to 10^12: hours of work unless interrupted.
	var n int64
	err := s.r.QueryRowContext(ctx, `WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 1000000000000)
		SELECT count(*) FROM c`).Scan(&n)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("long query: %v, want context.DeadlineExceeded", err)
	}
	if err := s.Ping(t.Context()); err != nil {
		t.Errorf("Ping after an interrupted statement: %v", err)
	}
}

// TestTwoStoresOneFile has two stores write the same file at once, as two daemons (or a daemon
// and an admin command) would: busy_timeout and BEGIN IMMEDIATE make them take turns instead
// of failing with SQLITE_BUSY.
func TestTwoStoresOneFile(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "realmgate.db")
	a, b := open(t, path), open(t, path)
	const each = 100
	var wg sync.WaitGroup
	errs := make(chan error, 4*each)
	for i, s := range []*Store{a, b} {
		wg.Go(func() {
			for j := range each {
				if _, err := s.AppendAudit(ctx, store.AuditRecord{Actor: fmt.Sprint("store", i), Action: "test"}); err != nil {
					errs <- err
				}
				rules := []store.Rule{{Action: "block", Message: fmt.Sprint(i, j)}, {Action: "notify", Message: fmt.Sprint(i, j)}}
				if err := s.PutRules(ctx, "app", "env", rules); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	recs, err := a.ListAudit(ctx, 0, 10*each)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2*each {
		t.Errorf("%d audit records, want %d", len(recs), 2*each)
	}
	rules, err := b.GetRules(ctx, "app", "env")
	if err != nil {
		t.Fatal(err)
	}
	if len(rules) != 2 || rules[0].Message != rules[1].Message {
		t.Errorf("rules after concurrent replacement are a mix: %+v", rules)
	}
}
