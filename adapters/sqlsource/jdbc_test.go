package sqlsource

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseJDBC(t *testing.T) {
	tests := []struct {
		url         string
		target      string // Target.String()
		driver      string
		dsn         string // with user "u" and password "p"
		err         string
		unsupported bool
	}{
		{url: "jdbc:mysql://localhost:3306/mfpizza", target: "mysql://localhost:3306/mfpizza", driver: "mysql",
			dsn: "u:p@tcp(localhost:3306)/mfpizza?parseTime=true"},
		{url: "jdbc:mysql://127.0.0.1/db?useUnicode=true&characterEncoding=utf8&autoReconnect=true", target: "mysql://127.0.0.1:3306/db", driver: "mysql",
			dsn: "u:p@tcp(127.0.0.1:3306)/db?parseTime=true"},
		{url: "jdbc:mysql://db:3307/x?connectTimeout=2500", target: "mysql://db:3307/x", driver: "mysql",
			dsn: "u:p@tcp(db:3307)/x?parseTime=true&timeout=2.5s"},
		{url: "jdbc:postgresql://[::1]:5433/app?sslmode=verify-full&ApplicationName=wl", target: "postgresql://[::1]:5433/app", driver: "pgx",
			dsn: "postgres://u:p@[::1]:5433/app?application_name=wl&sslmode=verify-full"},
		{url: "jdbc:postgresql:app", target: "postgresql://localhost:5432/app", driver: "pgx", dsn: "postgres://u:p@localhost:5432/app"},
		{url: "JDBC:PostgreSQL://h/app?user=x&password=y", target: "postgresql://x@h:5432/app", driver: "pgx", dsn: "postgres://u:p@h:5432/app"},
		{url: "jdbc:sqlite:data/app.db", target: "sqlite:/base/data/app.db", driver: "sqlite", dsn: "file:/base/data/app.db?_pragma=busy_timeout(5000)"},
		{url: "jdbc:sqlite::memory:", target: "sqlite::memory:", driver: "sqlite", dsn: "file::memory:?_pragma=busy_timeout(5000)"},
		{url: "jdbc:db2://inmbzp4169.in.dst.ibm.com:60004/DEAPPDB", err: "IBM DB2 has no pure-Go driver", unsupported: true},
		{url: "jdbc:sqlserver://golem;databaseName=schedtek", err: "SQL Server", unsupported: true},
		{url: "jdbc:oracle:thin:@h:1521:x", err: "Oracle", unsupported: true},
		{url: "jdbc:frob://h/x", err: `jdbc:"frob"`, unsupported: true},
		{url: "${wl.adapter.database.url}", err: "Worklight property"},
		{url: "mysql://h/x", err: "does not start with jdbc:"},
		{url: "jdbc:mysql://h1,h2/x", err: "one host only"},
		{url: "jdbc:mysql://u:pw@h/x", err: "one host only"},
		{url: "jdbc:mysql://h:99999/x", err: "bad port"},
		{url: "jdbc:mysql://h/x?allowMultiQueries=true", err: `"allowMultiQueries" has no meaning`},
		{url: "jdbc:mysql:x", err: "want jdbc:mysql://host:port/database"},
		{url: "jdbc:sqlite:file:x.db?mode=ro", err: "without parameters"},
		{url: "jdbc:postgresql://h/x?password=hunter2&frob=1", err: `"frob"`},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			got, err := ParseJDBC(tt.url, "/base")
			if tt.err != "" {
				var ue *UnsupportedError
				if err == nil || !strings.Contains(err.Error(), tt.err) || errors.As(err, &ue) != tt.unsupported {
					t.Fatalf("got %v, %v; want an error saying %q (unsupported: %v)", got, err, tt.err, tt.unsupported)
				}
				if strings.Contains(err.Error(), "hunter2") {
					t.Errorf("the error shows the password: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			driver, dsn := got.driver("u", "p")
			if d := cmp.Diff([]string{tt.target, tt.driver, tt.dsn}, []string{got.String(), driver, dsn}); d != "" {
				t.Errorf("(-want +got)\n%s", d)
			}
		})
	}
}

func TestCheckDriverClass(t *testing.T) {
	if _, err := Check(Spec{URL: "jdbc:mysql://h/x", DriverClass: "com.mysql.jdbc.Driver"}); err != nil {
		t.Error(err)
	}
	if _, err := Check(Spec{URL: "jdbc:postgresql://h/x", DriverClass: "com.mysql.jdbc.Driver"}); err == nil || !strings.Contains(err.Error(), "is for mysql") {
		t.Errorf("a MySQL class with a PostgreSQL URL: %v", err)
	}
	_, err := Check(Spec{URL: "jdbc:db2://h:50000/SQLDB", DriverClass: "com.ibm.db2.jcc.DB2Driver "})
	var ue *UnsupportedError
	if !errors.As(err, &ue) || ue.Driver != "com.ibm.db2.jcc.DB2Driver (jdbc:db2)" {
		t.Errorf("DB2: %v", err)
	}
}

func FuzzParseJDBC(f *testing.F) {
	for _, s := range []string{"jdbc:mysql://localhost:3306/mfpizza?useUnicode=true", "jdbc:postgresql://[::1]:5/x?sslmode=disable",
		"jdbc:postgresql:x", "jdbc:sqlite:a/b.db", "jdbc:sqlite::memory:", "jdbc:db2://h:1/x", "jdbc:mysql://h/%zz", "jdbc:mysql://h/x?user=%41&password=b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		tg, err := ParseJDBC(raw, "/base")
		if err != nil {
			return
		}
		driver, dsn := tg.driver("user", "pw-SECRET")
		if driver == "" || dsn == "" {
			t.Fatalf("%q: empty driver or DSN", raw)
		}
		if strings.Contains(tg.String(), "pw-SECRET") {
			t.Fatalf("%q: the target shows the password", raw)
		}
		if tg.Dialect != SQLite && (tg.Port < 1 || tg.Port > 65535 || tg.Host == "") {
			t.Fatalf("%q: bad host or port %q %d", raw, tg.Host, tg.Port)
		}
	})
}
