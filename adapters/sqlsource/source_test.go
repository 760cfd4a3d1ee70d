package sqlsource_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/realmgate/realmgate/adapters/sqlsource"
	"github.com/realmgate/realmgate/internal/mysqltest"
	"github.com/realmgate/realmgate/store/postgres/pgtest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	mysqltest.StopShared()
	os.Exit(code)
}

// database is one real database the same cases run against.
type database struct {
	name string
	// open returns a source on a fresh, empty database and a function that runs setup SQL
	// there (one statement per call).
	open func(t *testing.T, opts sqlsource.Options) (*sqlsource.Source, func(string))
	// sleep is a statement that runs for about five seconds.
	sleep string
	// procedure creates the stored procedure get_account(id) returning id and name.
	procedure string
	// types creates and fills the table typed(b, t, n, d): bytes, a time, null, an exact number.
	types []string
}

var databases = []database{
	{
		name: "postgresql",
		open: func(t *testing.T, opts sqlsource.Options) (*sqlsource.Source, func(string)) {
			c := pgtest.Start(t)
			dsn := c.NewDatabase(t)
			db := dsn[strings.LastIndex(dsn, "/")+1 : strings.Index(dsn, "?")]
			src, err := sqlsource.Open(sqlsource.Spec{
				URL:         "jdbc:postgresql://127.0.0.1:" + strconv.Itoa(c.Port) + "/" + db + "?sslmode=disable",
				DriverClass: "org.postgresql.Driver", User: pgtest.User, Password: pgtest.Password}, opts)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { src.Close() })
			return src, func(q string) {
				if err := c.Exec(context.Background(), db, q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
		},
		sleep:     "SELECT pg_sleep(5)",
		procedure: "CREATE FUNCTION get_account(p integer) RETURNS TABLE(id integer, name text) AS $$ SELECT id, name FROM accounts WHERE id = p $$ LANGUAGE sql",
		types: []string{
			"CREATE TABLE typed (b bytea, t timestamptz, n text, d numeric(10,2))",
			"INSERT INTO typed VALUES ('\\x00ff10'::bytea, '2026-12-07 01:02:03+00', NULL, 12.50)",
		},
	},
	{
		name: "mysql",
		open: func(t *testing.T, opts sqlsource.Options) (*sqlsource.Source, func(string)) {
			s := mysqltest.Shared(t)
			db := s.NewDatabase(t)
			src, err := sqlsource.Open(sqlsource.Spec{URL: s.JDBCURL(db) + "?useUnicode=true&characterEncoding=UTF-8",
				DriverClass: "com.mysql.jdbc.Driver", User: mysqltest.User, Password: mysqltest.Password}, opts)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { src.Close() })
			return src, func(q string) {
				if err := s.Exec(context.Background(), db, q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
		},
		sleep:     "SELECT SLEEP(5)",
		procedure: "CREATE PROCEDURE get_account(IN p INT) SELECT id, name FROM accounts WHERE id = p",
		types: []string{
			"CREATE TABLE typed (b VARBINARY(16), t DATETIME, n VARCHAR(8), d DECIMAL(10,2))",
			"INSERT INTO typed VALUES (X'00ff10', '2026-12-07 01:02:03', NULL, 12.50)",
		},
	},
	{
		name: "sqlite",
		open: func(t *testing.T, opts sqlsource.Options) (*sqlsource.Source, func(string)) {
			dir := t.TempDir()
			src, err := sqlsource.Open(sqlsource.Spec{URL: "jdbc:sqlite:app.db", DriverClass: "org.sqlite.JDBC", Dir: dir}, opts)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { src.Close() })
			if _, err := os.Stat(filepath.Join(dir)); err != nil {
				t.Fatal(err)
			}
			return src, func(q string) {
				if _, err := src.DB().Exec(q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
		},
		sleep: "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) SELECT count(*) FROM c",
		types: []string{
			"CREATE TABLE typed (b BLOB, t TEXT, n TEXT, d REAL)",
			"INSERT INTO typed VALUES (X'00ff10', '2026-12-07T01:02:03Z', NULL, 12.5)",
		},
	},
}

// do runs one request and decodes the answer.
func do(t *testing.T, ctx context.Context, src *sqlsource.Source, req string) map[string]any {
	t.Helper()
	var got map[string]any
	out := src.Do(ctx, []byte(req))
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("answer %s: %v", out, err)
	}
	return got
}

func ok(rows ...map[string]any) map[string]any {
	if rows == nil {
		rows = []map[string]any{}
	}
	set := make([]any, len(rows))
	for i, r := range rows {
		set[i] = r
	}
	return map[string]any{"isSuccessful": true, "resultSet": set}
}

func updated(n float64) map[string]any {
	return map[string]any{"isSuccessful": true, "updateStatementResult": map[string]any{"updateCount": n}}
}

// failed checks that got is a failure whose message holds want.
func failed(t *testing.T, got map[string]any, want string) {
	t.Helper()
	errs, _ := got["errors"].([]any)
	if got["isSuccessful"] != false || len(errs) != 1 || !strings.Contains(errs[0].(string), want) {
		t.Fatalf("got %v, want a failure saying %q", got, want)
	}
}

func TestDatabases(t *testing.T) {
	for _, db := range databases {
		t.Run(db.name, func(t *testing.T) {
			src, setup := db.open(t, sqlsource.Options{MaxRows: 4})
			setup("CREATE TABLE accounts (id INTEGER PRIMARY KEY, name VARCHAR(64) NOT NULL, balance INTEGER)")
			setup("INSERT INTO accounts VALUES (1, 'ann', 10), (2, 'bob', 20), (3, 'cy', NULL), (4, 'di', 5), (5, 'ed', 7)")
			ctx := context.Background()

			t.Run("query with parameters", func(t *testing.T) {
				got := do(t, ctx, src, `{"statement": "SELECT id, name, balance FROM accounts WHERE id >= ? AND name <> ? ORDER BY id", "parameters": [2, "di"]}`)
				want := ok(map[string]any{"id": 2.0, "name": "bob", "balance": 20.0},
					map[string]any{"id": 3.0, "name": "cy", "balance": nil},
					map[string]any{"id": 5.0, "name": "ed", "balance": 7.0})
				if d := cmp.Diff(want, got); d != "" {
					t.Errorf("(-want +got)\n%s", d)
				}
			})
			t.Run("update count", func(t *testing.T) {
				got := do(t, ctx, src, `{"statement": "UPDATE accounts SET balance = balance + ? WHERE id IN (?, ?)", "parameters": [1, 1, 2]}`)
				if d := cmp.Diff(updated(2), got); d != "" {
					t.Errorf("(-want +got)\n%s", d)
				}
				got = do(t, ctx, src, `{"statement": "SELECT balance FROM accounts WHERE id = ?", "parameters": [2]}`)
				if d := cmp.Diff(ok(map[string]any{"balance": 21.0}), got); d != "" {
					t.Errorf("(-want +got)\n%s", d)
				}
			})
			t.Run("injection stays data", func(t *testing.T) {
				for _, p := range []string{`x' OR '1'='1`, `x'; DROP TABLE accounts; --`, `x\' OR 1=1 -- `} {
					req, _ := json.Marshal(map[string]any{"statement": "SELECT id FROM accounts WHERE name = ?", "parameters": []any{p}})
					if d := cmp.Diff(ok(), do(t, ctx, src, string(req))); d != "" {
						t.Errorf("%q: (-want +got)\n%s", p, d)
					}
				}
				got := do(t, ctx, src, `{"statement": "SELECT count(*) AS n FROM accounts", "parameters": []}`)
				if d := cmp.Diff(ok(map[string]any{"n": 5.0}), got); d != "" {
					t.Errorf("the table changed: (-want +got)\n%s", d)
				}
			})
			t.Run("stacked statements refused", func(t *testing.T) {
				failed(t, do(t, ctx, src, `{"statement": "SELECT 1; DROP TABLE accounts", "parameters": []}`), "one statement per call")
			})
			t.Run("placeholders must match", func(t *testing.T) {
				failed(t, do(t, ctx, src, `{"statement": "SELECT id FROM accounts WHERE id = ?", "parameters": []}`), "1 placeholders and the call passes 0")
				failed(t, do(t, ctx, src, `{"statement": "SELECT id FROM accounts WHERE id = ?", "parameters": [{"a": 1}]}`), "is an object or an array")
			})
			t.Run("row cap", func(t *testing.T) {
				failed(t, do(t, ctx, src, `{"statement": "SELECT id FROM accounts", "parameters": []}`), "more than 4 rows")
				got := do(t, ctx, src, `{"statement": "SELECT id FROM accounts WHERE id <= ? ORDER BY id", "parameters": [4]}`)
				if rs, _ := got["resultSet"].([]any); len(rs) != 4 {
					t.Errorf("4 rows (the cap) fail: %v", got)
				}
			})
			t.Run("deadline cuts a slow statement", func(t *testing.T) {
				ctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
				defer cancel()
				start := time.Now()
				failed(t, do(t, ctx, src, `{"statement": "`+db.sleep+`", "parameters": []}`), "ran past the call's deadline")
				if d := time.Since(start); d > 3*time.Second {
					t.Errorf("the statement ran %v past a 300ms deadline", d)
				}
				// The pool recovers: the next statement runs.
				got := do(t, context.Background(), src, `{"statement": "SELECT name FROM accounts WHERE id = ?", "parameters": [1]}`)
				if d := cmp.Diff(ok(map[string]any{"name": "ann"}), got); d != "" {
					t.Errorf("after the cut: (-want +got)\n%s", d)
				}
			})
			t.Run("stored procedure", func(t *testing.T) {
				if db.procedure == "" {
					failed(t, do(t, ctx, src, `{"procedure": "get_account", "parameters": [2]}`), "SQLite has no stored procedures")
					return
				}
				setup(db.procedure)
				got := do(t, ctx, src, `{"procedure": "get_account", "parameters": [2]}`)
				if d := cmp.Diff(ok(map[string]any{"id": 2.0, "name": "bob"}), got); d != "" {
					t.Errorf("(-want +got)\n%s", d)
				}
				failed(t, do(t, ctx, src, `{"procedure": "get_account(1); DROP TABLE accounts; --", "parameters": []}`), "is not an identifier")
			})
			t.Run("values", func(t *testing.T) {
				for _, q := range db.types {
					setup(q)
				}
				got := do(t, ctx, src, `{"statement": "SELECT b, t, n, d FROM typed", "parameters": []}`)
				want := ok(map[string]any{"b": "AP8Q", "t": "2026-12-07T01:02:03Z", "n": nil, "d": 12.5})
				if d := cmp.Diff(want, got); d != "" {
					t.Errorf("(-want +got)\n%s", d)
				}
			})
		})
	}
}

func TestClosedSource(t *testing.T) {
	src, err := sqlsource.Open(sqlsource.Spec{URL: "jdbc:sqlite::memory:"}, sqlsource.Options{})
	if err != nil {
		t.Fatal(err)
	}
	src.Close()
	failed(t, do(t, context.Background(), src, `{"statement": "SELECT 1", "parameters": []}`), "closed")
}

func TestPasswordFile(t *testing.T) {
	dir := t.TempDir()
	pw := filepath.Join(dir, "pw")
	if err := os.WriteFile(pw, []byte("s3cret\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := sqlsource.Open(sqlsource.Spec{URL: "jdbc:postgresql://127.0.0.1:1/db", PasswordFile: pw}, sqlsource.Options{})
	if err == nil || !strings.Contains(err.Error(), "password file") {
		t.Fatalf("a password file others may read: got %v, want a refusal", err)
	}
	if err := os.Chmod(pw, 0o600); err != nil {
		t.Fatal(err)
	}
	src, err := sqlsource.Open(sqlsource.Spec{URL: "jdbc:postgresql://127.0.0.1:1/db", User: "u", PasswordFile: pw}, sqlsource.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if s := src.Target().String(); strings.Contains(s, "s3cret") {
		t.Errorf("the target %q shows the password", s)
	}
}

// TestAnswerBound: a result larger than MaxAnswer fails while it is read, saying so.
func TestAnswerBound(t *testing.T) {
	src, err := sqlsource.Open(sqlsource.Spec{URL: "jdbc:sqlite::memory:"}, sqlsource.Options{MaxAnswer: 1000})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	ctx := context.Background()
	failed(t, do(t, ctx, src, `{"statement": "SELECT zeroblob(2000) AS b", "parameters": []}`), "larger than 1000 bytes")
	failed(t, do(t, ctx, src, `{"statement": "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x < 100) SELECT printf('%020d', x) AS s FROM c", "parameters": []}`), "larger than 1000 bytes")
	got := do(t, ctx, src, `{"statement": "SELECT ? AS s", "parameters": ["small"]}`)
	if d := cmp.Diff(ok(map[string]any{"s": "small"}), got); d != "" {
		t.Errorf("(-want +got)\n%s", d)
	}
}

// closedPort returns a TCP port on 127.0.0.1 that nothing listens on.
func closedPort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	l.Close()
	return port
}

// TestUnreachable: a database that cannot be reached, or that refuses the connection, fails
// the call with a message that names neither its address, port, user nor password; the
// daemon's log (the source's logger) has the driver's error, without the password.
func TestUnreachable(t *testing.T) {
	port := closedPort(t)
	pg := pgtest.Start(t)
	my := mysqltest.Shared(t)
	for _, tt := range []struct {
		name, url, user, password string
		logged                    string // what the log holds and the answer must not
	}{
		{"postgresql closed port", "jdbc:postgresql://127.0.0.1:" + port + "/db?connectTimeout=1", "u-name-7", "pw-SECRET-1", port},
		{"mysql closed port", "jdbc:mysql://127.0.0.1:" + port + "/db?connectTimeout=1000", "u-name-7", "pw-SECRET-1", port},
		{"postgresql wrong password", "jdbc:postgresql://127.0.0.1:" + strconv.Itoa(pg.Port) + "/postgres?sslmode=disable", pgtest.User, "pw-SECRET-1", pgtest.User},
		{"mysql wrong password", my.JDBCURL("mysql"), "u-name-7", "pw-SECRET-1", "u-name-7"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var log bytes.Buffer
			src, err := sqlsource.Open(sqlsource.Spec{URL: tt.url, User: tt.user, Password: tt.password},
				sqlsource.Options{Logger: slog.New(slog.NewTextHandler(&log, nil))})
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			out := src.Do(context.Background(), []byte(`{"statement": "SELECT 1", "parameters": []}`))
			want := `{"errors":["the data source could not be reached"],"isSuccessful":false}`
			if d := cmp.Diff(want, string(out)); d != "" {
				t.Errorf("(-want +got)\n%s", d)
			}
			if !strings.Contains(log.String(), tt.logged) || strings.Contains(log.String(), tt.password) {
				t.Errorf("the log should hold the driver's error (%q) and not the password:\n%s", tt.logged, log.String())
			}
		})
	}
}

// TestStatementErrors: a statement's error keeps what a developer needs, the SQLSTATE (MySQL's
// error number) and the server's message.
func TestStatementErrors(t *testing.T) {
	for _, tt := range []struct {
		db                string
		syntax, duplicate string
	}{
		{"postgresql", `the statement failed: syntax error at or near "SELEC" (SQLSTATE 42601)`,
			`the statement failed: duplicate key value violates unique constraint "accounts_pkey" (SQLSTATE 23505)`},
		{"mysql", "the statement failed: Error 1064 (42000): You have an error in your SQL syntax",
			"the statement failed: Error 1062 (23000): Duplicate entry '1' for key 'PRIMARY'"},
		{"sqlite", `the statement failed: SQL logic error: near "SELEC": syntax error (1)`,
			"the statement failed: constraint failed: UNIQUE constraint failed: accounts.id (1555)"},
	} {
		t.Run(tt.db, func(t *testing.T) {
			var db database
			for _, d := range databases {
				if d.name == tt.db {
					db = d
				}
			}
			src, setup := db.open(t, sqlsource.Options{})
			setup("CREATE TABLE accounts (id INTEGER PRIMARY KEY, name VARCHAR(64) NOT NULL)")
			setup("INSERT INTO accounts VALUES (1, 'ann')")
			ctx := context.Background()
			failed(t, do(t, ctx, src, `{"statement": "SELEC 1", "parameters": []}`), tt.syntax)
			failed(t, do(t, ctx, src, `{"statement": "INSERT INTO accounts VALUES (?, ?)", "parameters": [1, "bob"]}`), tt.duplicate)
		})
	}
}

// TestSystemProcedures: invokeSQLStoredProcedure's name is call-time data, so a routine of the
// database system (PostgreSQL's query_to_xml runs SQL text given as a parameter; MySQL's
// sys.execute_prepared_stmt likewise) or of an extension is refused before anything runs,
// while the application's own procedure still runs.
func TestSystemProcedures(t *testing.T) {
	for _, tt := range []struct {
		db      string
		setup   []string
		refused map[string]string // request: what the failure says
		works   []string
	}{
		{
			db:    "postgresql",
			setup: []string{"CREATE EXTENSION dblink"},
			refused: map[string]string{
				`{"procedure": "query_to_xml", "parameters": ["SELECT name FROM accounts", true, false, ""]}`: "query_to_xml is a routine of PostgreSQL's schema pg_catalog",
				`{"procedure": "QUERY_TO_XML", "parameters": ["SELECT name FROM accounts", true, false, ""]}`: "QUERY_TO_XML is a routine of PostgreSQL's schema pg_catalog",
				`{"procedure": "pg_catalog.set_config", "parameters": ["search_path", "x", false]}`:           "pg_catalog.set_config is in pg_catalog",
				`{"procedure": "set_config", "parameters": ["search_path", "x", false]}`:                      "set_config is a routine of PostgreSQL's schema pg_catalog",
				`{"procedure": "information_schema._pg_char_max_length", "parameters": [1, 1]}`:               "is in information_schema",
				`{"procedure": "pg_temp.f", "parameters": []}`:                                                "is in pg_temp",
				`{"procedure": "lo_import", "parameters": ["/etc/passwd"]}`:                                   "lo_import is a routine of PostgreSQL's schema pg_catalog",
				`{"procedure": "dblink_connect", "parameters": ["c", "dbname=postgres"]}`:                     "dblink_connect is a routine that an extension installed in schema public",
				`{"procedure": "public.dblink", "parameters": ["dbname=postgres", "SELECT 1"]}`:               "public.dblink is a routine that an extension installed",
			},
			works: []string{`{"procedure": "get_account", "parameters": [2]}`, `{"procedure": "public.get_account", "parameters": [2]}`, `{"procedure": "Get_Account", "parameters": [2]}`},
		},
		{
			db: "mysql",
			refused: map[string]string{
				`{"procedure": "sys.execute_prepared_stmt", "parameters": ["SELECT 1"]}`: "sys.execute_prepared_stmt is in sys",
				`{"procedure": "SYS.execute_prepared_stmt", "parameters": ["SELECT 1"]}`: "is in SYS",
				`{"procedure": "mysql.anything", "parameters": []}`:                      "mysql.anything is in mysql",
				`{"procedure": "performance_schema.p", "parameters": []}`:                "is in performance_schema",
				`{"procedure": "information_schema.p", "parameters": []}`:                "is in information_schema",
			},
			works: []string{`{"procedure": "get_account", "parameters": [2]}`},
		},
	} {
		t.Run(tt.db, func(t *testing.T) {
			var db database
			for _, d := range databases {
				if d.name == tt.db {
					db = d
				}
			}
			if tt.db == "mysql" {
				// An unqualified name is the default database's: a URL naming sys makes it sys's.
				s := mysqltest.Shared(t)
				sys, err := sqlsource.Open(sqlsource.Spec{URL: s.JDBCURL("sys"), User: mysqltest.User, Password: mysqltest.Password}, sqlsource.Options{})
				if err != nil {
					t.Fatal(err)
				}
				defer sys.Close()
				failed(t, do(t, context.Background(), sys, `{"procedure": "execute_prepared_stmt", "parameters": ["SELECT 1"]}`),
					"the procedure is refused: execute_prepared_stmt would be a routine of sys")
			}
			src, setup := db.open(t, sqlsource.Options{})
			setup("CREATE TABLE accounts (id INTEGER PRIMARY KEY, name VARCHAR(64) NOT NULL, balance INTEGER)")
			setup("INSERT INTO accounts VALUES (1, 'ann', 10), (2, 'bob', 20)")
			setup(db.procedure)
			for _, q := range tt.setup {
				setup(q)
			}
			ctx := context.Background()
			for req, want := range tt.refused {
				got := do(t, ctx, src, req)
				failed(t, got, "the procedure is refused: ")
				failed(t, got, want)
			}
			for _, req := range tt.works {
				if d := cmp.Diff(ok(map[string]any{"id": 2.0, "name": "bob"}), do(t, ctx, src, req)); d != "" {
					t.Errorf("%s: (-want +got)\n%s", req, d)
				}
			}
		})
	}
}

// TestNumericSpecials: PostgreSQL's NUMERIC NaN and infinities (PostgreSQL 14 and later) are
// strings in the answer; JSON has no such numbers, and they used to fail the whole answer.
func TestNumericSpecials(t *testing.T) {
	src, _ := databases[0].open(t, sqlsource.Options{})
	for _, tt := range []struct {
		req  string
		want map[string]any
	}{
		{`{"statement": "SELECT 'NaN'::numeric AS a, 'Infinity'::numeric AS b, '-Infinity'::numeric AS c, 1.50::numeric AS d", "parameters": []}`,
			ok(map[string]any{"a": "NaN", "b": "Infinity", "c": "-Infinity", "d": 1.5})},
		{`{"statement": "SELECT x FROM (VALUES ('NaN'::numeric), (2)) AS v(x) ORDER BY x", "parameters": []}`,
			ok(map[string]any{"x": 2.0}, map[string]any{"x": "NaN"})},
	} {
		if d := cmp.Diff(tt.want, do(t, context.Background(), src, tt.req)); d != "" {
			t.Errorf("%s: (-want +got)\n%s", tt.req, d)
		}
	}
}
