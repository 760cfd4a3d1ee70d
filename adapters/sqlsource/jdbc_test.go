package sqlsource

import (
	"crypto/tls"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
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
			dsn: "u:p@tcp(localhost:3306)/mfpizza?parseTime=true&maxAllowedPacket=2162688&time_zone=%27%2B00%3A00%27"},
		{url: "jdbc:mysql://127.0.0.1/db?useUnicode=true&characterEncoding=utf8&autoReconnect=true", target: "mysql://127.0.0.1:3306/db", driver: "mysql",
			dsn: "u:p@tcp(127.0.0.1:3306)/db?parseTime=true&maxAllowedPacket=2162688&time_zone=%27%2B00%3A00%27"},
		{url: "jdbc:mysql://db:3307/x?connectTimeout=2500", target: "mysql://db:3307/x", driver: "mysql",
			dsn: "u:p@tcp(db:3307)/x?parseTime=true&timeout=2.5s&maxAllowedPacket=2162688&time_zone=%27%2B00%3A00%27"},
		{url: "jdbc:postgresql://[::1]:5433/app?sslmode=verify-full&ApplicationName=wl", target: "postgresql://[::1]:5433/app", driver: "pgx",
			dsn: "host=::1 port=5433 db=app user=u password=p tls=verify fallbacks=0 params=map[application_name:wl]"},
		{url: "jdbc:postgresql:app", target: "postgresql://localhost:5432/app", driver: "pgx", dsn: "host=localhost port=5432 db=app user=u password=p tls=insecure fallbacks=1 params=map[]"},
		{url: "JDBC:PostgreSQL://h/app?user=x&password=y", target: "postgresql://x@h:5432/app", driver: "pgx", dsn: "host=h port=5432 db=app user=u password=p tls=insecure fallbacks=1 params=map[]"},
		{url: "jdbc:sqlite:data/app.db", target: "sqlite:/base/data/app.db", driver: "sqlite", dsn: "file:/base/data/app.db?_pragma=busy_timeout(5000)"},
		{url: "jdbc:sqlite::memory:", target: "sqlite::memory:", driver: "sqlite", dsn: "file::memory:?_pragma=busy_timeout(5000)"},
		{url: "jdbc:mysql://h/x?useSSL=true", target: "mysql://h:3306/x", driver: "mysql",
			dsn: "u:p@tcp(h:3306)/x?parseTime=true&tls=true&maxAllowedPacket=2162688&time_zone=%27%2B00%3A00%27"},
		{url: "jdbc:mysql://h/x?verifyServerCertificate=false&useSSL=true", target: "mysql://h:3306/x", driver: "mysql",
			dsn: "u:p@tcp(h:3306)/x?parseTime=true&tls=skip-verify&maxAllowedPacket=2162688&time_zone=%27%2B00%3A00%27"},
		{url: "jdbc:mysql://h/x?requireSSL=true", target: "mysql://h:3306/x", driver: "mysql",
			dsn: "u:p@tcp(h:3306)/x?parseTime=true&tls=true&maxAllowedPacket=2162688&time_zone=%27%2B00%3A00%27"},
		{url: "jdbc:mysql://h/x?useSSL=false", target: "mysql://h:3306/x", driver: "mysql",
			dsn: "u:p@tcp(h:3306)/x?parseTime=true&maxAllowedPacket=2162688&time_zone=%27%2B00%3A00%27"},
		{url: "jdbc:mysql://h/x?verifyServerCertificate=no", err: "bad verifyServerCertificate"},
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
			driver, dsn := describe(t, got, "u", "p")
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
		driver, dsn := describe(t, tg, "user", "pw-SECRET")
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

// describe is the driver t opens and what it connects with: MySQL's and SQLite's DSN, and for
// PostgreSQL a summary of the pgx configuration (the connection string is not what pgx uses).
func describe(tb testing.TB, t Target, user, password string) (driver, dsn string) {
	tb.Helper()
	user, password = t.credentials(user, password)
	switch t.Dialect {
	case PostgreSQL:
		cfg, err := t.pgConfig(user, password, maxMessage(DefaultMaxAnswer))
		if err != nil {
			tb.Fatalf("pgConfig: %v", err)
		}
		return "pgx", fmt.Sprintf("host=%s port=%d db=%s user=%s password=%s tls=%s fallbacks=%d params=%v",
			cfg.Host, cfg.Port, cfg.Database, cfg.User, cfg.Password, tlsMode(cfg.TLSConfig), len(cfg.Fallbacks), cfg.RuntimeParams)
	case MySQL:
		return "mysql", t.mysqlConfig(user, password, maxMessage(DefaultMaxAnswer)).FormatDSN()
	default:
		return "sqlite", t.sqliteDSN()
	}
}

func tlsMode(c *tls.Config) string {
	switch {
	case c == nil:
		return "off"
	case c.InsecureSkipVerify && c.VerifyPeerCertificate == nil:
		return "insecure"
	default:
		return "verify"
	}
}

// TestPgConfigIgnoresEnvironment: what hostd's own store reads from the environment and the
// home directory (PGPASSWORD, PGUSER, ~/.pgpass, PGOPTIONS, certificates...) does not reach
// an adapter's data source.
func TestPgConfigIgnoresEnvironment(t *testing.T) {
	dir := t.TempDir()
	passfile := filepath.Join(dir, "pgpass")
	if err := os.WriteFile(passfile, []byte("*:*:*:*:from-passfile\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.pem") // pgconn fails if it reads these
	for k, v := range map[string]string{
		"PGPASSWORD": "from-env", "PGUSER": "store", "PGPASSFILE": passfile, "PGOPTIONS": "-c search_path=store",
		"PGAPPNAME": "hostd", "PGTZ": "Europe/Berlin", "PGSSLCERT": missing, "PGSSLKEY": missing, "PGSSLROOTCERT": missing,
		"PGSSLMODE": "disable", "PGHOST": "store.example", "PGPORT": "6543", "PGDATABASE": "store", "PGTARGETSESSIONATTRS": "read-write",
		"PGCONNECT_TIMEOUT": "99", "HOME": dir,
	} {
		t.Setenv(k, v)
	}
	tests := []struct {
		url, user, password string
		want                string
	}{
		{url: "jdbc:postgresql://db/app", want: "host=db port=5432 db=app user= password= tls=insecure fallbacks=1 params=map[] timeout=0s validate=false"},
		{url: "jdbc:postgresql://db/app", user: "u", want: "host=db port=5432 db=app user=u password= tls=insecure fallbacks=1 params=map[] timeout=0s validate=false"},
		{url: "jdbc:postgresql://db:5/app?sslmode=verify-full&currentSchema=s", user: "u", password: "p",
			want: "host=db port=5 db=app user=u password=p tls=verify fallbacks=0 params=map[search_path:s] timeout=0s validate=false"},
		{url: "jdbc:postgresql://db/app?sslmode=disable", user: `o'neil`, password: `p'w\x y`,
			want: `host=db port=5432 db=app user=o'neil password=p'w\x y tls=off fallbacks=0 params=map[] timeout=0s validate=false`},
		{url: "jdbc:postgresql://db/app?sslmode=disable&connectTimeout=3", user: "u", password: "p",
			want: "host=db port=5432 db=app user=u password=p tls=off fallbacks=0 params=map[] timeout=3s validate=false"},
	}
	for _, tt := range tests {
		t.Run(tt.url+" "+tt.user, func(t *testing.T) {
			tg, err := ParseJDBC(tt.url, "")
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := tg.pgConfig(tt.user, tt.password, 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			got := fmt.Sprintf("host=%s port=%d db=%s user=%s password=%s tls=%s fallbacks=%d params=%v timeout=%v validate=%v",
				cfg.Host, cfg.Port, cfg.Database, cfg.User, cfg.Password, tlsMode(cfg.TLSConfig), len(cfg.Fallbacks), cfg.RuntimeParams,
				cfg.ConnectTimeout, cfg.ValidateConnect != nil)
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("(-want +got)\n%s", d)
			}
			for _, c := range append([]*tls.Config{cfg.TLSConfig}, fallbackTLS(cfg)...) {
				if c != nil && (c.RootCAs != nil || len(c.Certificates) != 0 || c.GetClientCertificate != nil) {
					t.Errorf("a certificate from the environment: %+v", c)
				}
			}
			if cfg.SSLCertMode != "disable" || cfg.MaxProtocolMessageBodyLen != 1<<20 {
				t.Errorf("sslcertmode %q, max message %d", cfg.SSLCertMode, cfg.MaxProtocolMessageBodyLen)
			}
		})
	}
}

func fallbackTLS(cfg *pgx.ConnConfig) []*tls.Config {
	var out []*tls.Config
	for _, f := range cfg.Fallbacks {
		out = append(out, f.TLSConfig)
	}
	return out
}
