package sqlsource

import (
	"errors"
	"strings"
	"testing"
)

func TestPrepare(t *testing.T) {
	tests := []struct {
		d    Dialect
		in   string
		want string
		n    int
		err  error
	}{
		{PostgreSQL, "SELECT * FROM t WHERE a = ? AND b = '?' AND c = ?", "SELECT * FROM t WHERE a = $1 AND b = '?' AND c = $2", 2, nil},
		{PostgreSQL, `SELECT "we?ird" FROM t -- ?` + "\n WHERE a = ? /* ? */", `SELECT "we?ird" FROM t -- ?` + "\n WHERE a = $1 /* ? */", 1, nil},
		{PostgreSQL, "SELECT $$ ? $$, ?", "SELECT $$ ? $$, $1", 1, nil},
		{PostgreSQL, "SELECT $tag$ it's ? $tag$ || ?", "SELECT $tag$ it's ? $tag$ || $1", 1, nil},
		{PostgreSQL, "SELECT * FROM t WHERE a = $1", "", 0, ErrPlaceholders},
		{MySQL, "SELECT * FROM t WHERE a = ? AND b = 'it\\'s ?' # ?", "SELECT * FROM t WHERE a = ? AND b = 'it\\'s ?' # ?", 1, nil},
		{MySQL, "SELECT `a?` FROM t WHERE x = ?;  ", "SELECT `a?` FROM t WHERE x = ?  ", 1, nil},
		{SQLite, "SELECT 'a''?' , ?", "SELECT 'a''?' , ?", 1, nil},
		{SQLite, "SELECT 1; DROP TABLE t", "", 0, ErrStacked},
		{MySQL, "SELECT 1;'x'", "", 0, ErrStacked},
		{SQLite, "SELECT 'open", "", 0, ErrUnterminated},
		{PostgreSQL, "SELECT 1 /* open", "", 0, ErrUnterminated},
	}
	for _, tt := range tests {
		got, n, err := prepare(tt.d, tt.in)
		if !errors.Is(err, tt.err) || got != tt.want || n != tt.n {
			t.Errorf("prepare(%s, %q) = %q, %d, %v; want %q, %d, %v", tt.d, tt.in, got, n, err, tt.want, tt.n, tt.err)
		}
	}
}

func TestReturnsRows(t *testing.T) {
	for in, want := range map[string]bool{
		"SELECT 1": true, " (select 1)": true, "/* x */ WITH a AS (SELECT 1) SELECT * FROM a": true, "-- c\nvalues (1)": true,
		"UPDATE t SET a = 1": false, "insert into t values (1)": false, "DELETE FROM t": false, "": false,
	} {
		if got := returnsRows(in); got != want {
			t.Errorf("returnsRows(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestProcedureCall(t *testing.T) {
	for _, tt := range []struct {
		d          Dialect
		name, want string
	}{
		{PostgreSQL, "app.get_user", "SELECT * FROM app.get_user($1, $2)"},
		{MySQL, "getUser", "CALL getUser(?, ?)"},
		{MySQL, "x(1); DROP TABLE t", ""},
		{PostgreSQL, "pg_catalog.set_config", ""},
		{PostgreSQL, "PG_Catalog.query_to_xml", ""},
		{PostgreSQL, "pg_toast.f", ""},
		{PostgreSQL, "information_schema._pg_expandarray", ""},
		{PostgreSQL, "pgapp.get_user", "SELECT * FROM pgapp.get_user($1, $2)"},
		{MySQL, "sys.execute_prepared_stmt", ""},
		{MySQL, "MySQL.anything", ""},
		{MySQL, "performance_schema.p", ""},
		{MySQL, "information_schema.p", ""},
		{MySQL, "app.sys", "CALL app.sys(?, ?)"},
		{SQLite, "p", ""},
	} {
		got, err := procedureCall(tt.d, tt.name, 2)
		if got != tt.want || (tt.want == "") != (err != nil) {
			t.Errorf("procedureCall(%s, %q) = %q, %v; want %q", tt.d, tt.name, got, err, tt.want)
		}
	}
}

func FuzzPrepare(f *testing.F) {
	for _, s := range []string{"SELECT ? FROM t WHERE a = '?'", "SELECT $$?$$, ?", "SELECT 1; ?", "-- ?\n?", "SELECT `?`, \"?\", ?"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		for _, d := range []Dialect{PostgreSQL, MySQL, SQLite} {
			out, n, err := prepare(d, text)
			if err != nil {
				continue
			}
			if n < 0 || n > maxParameters {
				t.Fatalf("%s %q: %d placeholders", d, text, n)
			}
			if d == PostgreSQL && n > 0 && !strings.Contains(out, "$1") {
				t.Fatalf("%q: %d placeholders, none rewritten: %q", text, n, out)
			}
			// What prepare accepts, it accepts again (the rewrite of MySQL and SQLite is the identity
			// but for a trailing semicolon).
			if d != PostgreSQL {
				if _, n2, err := prepare(d, out); err != nil || n2 != n {
					t.Fatalf("%s %q -> %q: %d, %v; want %d placeholders", d, text, out, n2, err, n)
				}
			}
		}
	})
}
