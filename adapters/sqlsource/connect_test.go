package sqlsource_test

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/realmgate/realmgate/adapters/sqlsource"
	"github.com/realmgate/realmgate/internal/mysqltest"
	"github.com/realmgate/realmgate/store/postgres/pgtest"
)

// TestPostgresCredentialsFromSpecOnly: a data source the project gives no password does not
// connect with the one hostd's own store takes from PGPASSWORD or a password file, and one
// given no user does not take PGUSER's.
func TestPostgresCredentialsFromSpecOnly(t *testing.T) {
	c := pgtest.Start(t)
	dsn := c.NewDatabase(t)
	db := dsn[strings.LastIndex(dsn, "/")+1 : strings.Index(dsn, "?")]
	url := "jdbc:postgresql://127.0.0.1:" + strconv.Itoa(c.Port) + "/" + db + "?sslmode=disable&connectTimeout=5"
	passfile := filepath.Join(t.TempDir(), "pgpass")
	if err := os.WriteFile(passfile, []byte("*:*:*:*:"+pgtest.Password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name           string
		env            map[string]string
		user, password string
		want           bool // whether SELECT 1 succeeds
	}{
		{name: "the spec's password", user: pgtest.User, password: pgtest.Password, want: true},
		{name: "PGPASSWORD", env: map[string]string{"PGPASSWORD": pgtest.Password}, user: pgtest.User},
		{name: "PGPASSFILE", env: map[string]string{"PGPASSFILE": passfile}, user: pgtest.User},
		{name: "PGUSER and PGPASSWORD", env: map[string]string{"PGUSER": pgtest.User, "PGPASSWORD": pgtest.Password}},
		{name: "PGOPTIONS does not break the spec's connection", env: map[string]string{"PGOPTIONS": "-c search_path=nowhere -c statement_timeout=1",
			"PGSSLMODE": "require", "PGSSLCERT": passfile + ".missing"}, user: pgtest.User, password: pgtest.Password, want: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			src, err := sqlsource.Open(sqlsource.Spec{URL: url, User: tt.user, Password: tt.password}, sqlsource.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			out := string(src.Do(context.Background(), []byte(`{"statement": "SELECT current_setting('search_path') AS p, pg_sleep(0.01) IS NULL AS s", "parameters": []}`)))
			if got := strings.Contains(out, `"isSuccessful":true`); got != tt.want {
				t.Fatalf("connected: %v, want %v: %s", got, tt.want, out)
			}
			if strings.Contains(out, pgtest.Password) {
				t.Errorf("the answer shows the password: %s", out)
			}
			if tt.want && strings.Contains(out, "nowhere") {
				t.Errorf("PGOPTIONS reached the session: %s", out)
			}
		})
	}
}

// TestSQLiteAttachRefused: ATTACH, which would open any file hostd can read (the daemon's own
// store among them), fails; the source's own database still works.
func TestSQLiteAttachRefused(t *testing.T) {
	dir := t.TempDir()
	other := filepath.Join(dir, "other.db")
	src, err := sqlsource.Open(sqlsource.Spec{URL: "jdbc:sqlite:app.db", Dir: dir}, sqlsource.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	ctx := context.Background()
	for _, req := range []string{
		`{"statement": "ATTACH DATABASE ? AS d", "parameters": ["` + other + `"]}`,
		`{"statement": "ATTACH '` + other + `' AS d", "parameters": []}`,
		`{"statement": "ATTACH ':memory:' AS d", "parameters": []}`,
		`{"statement": "VACUUM INTO '` + other + `'", "parameters": []}`, // which attaches its target
	} {
		failed(t, do(t, ctx, src, req), "authoriz")
	}
	if _, err := os.Stat(other); !os.IsNotExist(err) {
		t.Errorf("ATTACH created %s: %v", other, err)
	}
	if d := cmp.Diff(ok(map[string]any{"n": 1.0}), do(t, ctx, src, `{"statement": "SELECT 1 AS n", "parameters": []}`)); d != "" {
		t.Errorf("(-want +got)\n%s", d)
	}
}

// TestMySQLUseSSL: useSSL=true requires TLS, so a server without it (the test's) is refused
// rather than sent the password in plaintext; without useSSL the same server is reached.
func TestMySQLUseSSL(t *testing.T) {
	s := mysqltest.Shared(t)
	db := s.NewDatabase(t)
	for _, tt := range []struct {
		params string
		want   bool
	}{
		{"?useSSL=false", true},
		{"?useSSL=true", false},
		{"?useSSL=true&verifyServerCertificate=false", false},
		{"?requireSSL=true", false},
	} {
		t.Run(tt.params, func(t *testing.T) {
			src, err := sqlsource.Open(sqlsource.Spec{URL: s.JDBCURL(db) + tt.params, User: mysqltest.User, Password: mysqltest.Password}, sqlsource.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			out := string(src.Do(context.Background(), []byte(`{"statement": "SELECT 1 AS n", "parameters": []}`)))
			if got := strings.Contains(out, `"isSuccessful":true`); got != tt.want {
				t.Errorf("connected: %v, want %v: %s", got, tt.want, out)
			}
		})
	}
}

// TestMySQLTimestampUTC: a TIMESTAMP comes back as stored, in UTC, on a server whose time zone
// is not UTC.
func TestMySQLTimestampUTC(t *testing.T) {
	s := mysqltest.Start(t)
	db := s.NewDatabase(t)
	ctx := context.Background()
	for _, q := range []string{
		"SET GLOBAL time_zone = '+01:00'",
		"SET time_zone = '+00:00'; CREATE TABLE ts (t TIMESTAMP NULL); INSERT INTO ts VALUES ('2026-12-07 12:00:00')",
	} {
		if err := s.Exec(ctx, db, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	src, err := sqlsource.Open(sqlsource.Spec{URL: s.JDBCURL(db), User: mysqltest.User, Password: mysqltest.Password}, sqlsource.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	got := do(t, ctx, src, `{"statement": "SELECT t, @@global.time_zone AS g FROM ts", "parameters": []}`)
	if d := cmp.Diff(ok(map[string]any{"t": "2026-12-07T12:00:00Z", "g": "+01:00"}), got); d != "" {
		t.Errorf("(-want +got)\n%s", d)
	}
}

// TestLargeValueRefused: one value larger than the answer cap fails the call cleanly, saying
// so, and the pool serves the next call. PostgreSQL's driver refuses the row from its header,
// without reading it into memory. (MySQL's bounds only what it sends: what it reads, only
// the server's max_allowed_packet bounds.)
func TestLargeValueRefused(t *testing.T) {
	for _, db := range databases {
		t.Run(db.name, func(t *testing.T) {
			src, _ := db.open(t, sqlsource.Options{MaxAnswer: 64 << 10})
			ctx := context.Background()
			q := `{"statement": "SELECT repeat('x', 8388608) AS s", "parameters": []}`
			if db.name == "sqlite" {
				q = `{"statement": "SELECT zeroblob(8388608) AS s", "parameters": []}`
			}
			do(t, ctx, src, `{"statement": "SELECT 1 AS n", "parameters": []}`) // the pool's connection is open
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			got := do(t, ctx, src, q)
			runtime.ReadMemStats(&after)
			failed(t, got, "the result is larger than 65536 bytes")
			if alloc := after.TotalAlloc - before.TotalAlloc; db.name == "postgresql" && alloc > 4<<20 {
				t.Errorf("refusing an 8 MiB value allocated %d bytes", alloc)
			}
			if d := cmp.Diff(ok(map[string]any{"n": 1.0}), do(t, ctx, src, `{"statement": "SELECT 1 AS n", "parameters": []}`)); d != "" {
				t.Errorf("the next call: (-want +got)\n%s", d)
			}
		})
	}
}
