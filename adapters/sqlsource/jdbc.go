package sqlsource

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"modernc.org/sqlite"
)

// Dialect is the database a data source speaks: it picks the Go driver, the placeholder syntax
// and how a stored procedure is called.
type Dialect string

// The dialects the host maps JDBC URLs to.
const (
	PostgreSQL Dialect = "postgresql" // github.com/jackc/pgx/v5/stdlib, driver "pgx"
	MySQL      Dialect = "mysql"      // github.com/go-sql-driver/mysql (MySQL and MariaDB)
	SQLite     Dialect = "sqlite"     // modernc.org/sqlite, pure Go
)

// maxJDBCURL bounds a JDBC URL: a longer one is a mistake, not a data source.
const maxJDBCURL = 2048

// Target is a parsed JDBC URL: the Go driver and the connection it opens, without the
// password, which Open adds (a Target may be printed and logged).
type Target struct {
	Dialect Dialect
	// Host and Port (PostgreSQL, MySQL), Database (PostgreSQL, MySQL; SQLite: the file's
	// absolute path, or ":memory:").
	Host     string
	Port     int
	Database string
	// User is the URL's user parameter; the XML's <user> or hostd.yaml's user wins over it.
	User string
	// password is the URL's password parameter (Worklight projects may carry one there).
	password string
	// params are the driver parameters the URL's JDBC parameters map to.
	params map[string]string
	// timeout is the connect timeout the URL asks for (0: the driver's default).
	timeout time.Duration
	// tls and skipVerify are MySQL's useSSL or requireSSL, and verifyServerCertificate=false,
	// which make params' tls once the whole query is read (their order does not matter).
	tls, skipVerify bool
}

// UnsupportedError is a JDBC URL or driver class the host has no Go driver for.
type UnsupportedError struct {
	// Driver names what was refused: the JDBC subprotocol ("db2") or the driver class.
	Driver string
	Reason string
}

func (e *UnsupportedError) Error() string {
	return fmt.Sprintf("the JDBC driver %s is not supported: %s; Realmgate maps jdbc:postgresql:, jdbc:mysql: (MySQL and MariaDB) and jdbc:sqlite: URLs to Go drivers", e.Driver, e.Reason)
}

// ErrBadURL is matched by errors.Is for a JDBC URL that does not parse.
var ErrBadURL = errors.New("bad JDBC URL")

func badURL(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrBadURL, fmt.Sprintf(format, args...))
}

// unsupported names the JDBC subprotocols of databases the corpus and the field use that no
// Go driver of this host serves, with why.
var unsupported = map[string]string{
	"db2":       "IBM DB2 has no pure-Go driver (IBM's go_ibm_db needs the DB2 CLI client library, which the host does not load)",
	"sqlserver": "Microsoft SQL Server's Go driver (go-mssqldb) is not built into this host",
	"jtds":      "Microsoft SQL Server's Go driver (go-mssqldb) is not built into this host",
	"oracle":    "Oracle has no pure-Go driver in this host",
	"derby":     "Apache Derby runs only in a Java virtual machine",
	"h2":        "H2 runs only in a Java virtual machine",
	"hsqldb":    "HSQLDB runs only in a Java virtual machine",
	"informix":  "Informix has no Go driver in this host",
}

// driverClasses maps the JDBC driver classes the host knows to the dialect of their URLs, so
// that a class that contradicts the URL is refused rather than silently ignored.
var driverClasses = map[string]Dialect{
	"com.mysql.jdbc.Driver":    MySQL,
	"com.mysql.cj.jdbc.Driver": MySQL,
	"org.mariadb.jdbc.Driver":  MySQL,
	"org.postgresql.Driver":    PostgreSQL,
	"org.sqlite.JDBC":          SQLite,
}

// unsupportedClasses are driver classes of databases the host does not serve.
var unsupportedClasses = map[string]string{
	"com.ibm.db2.jcc.DB2Driver":                    "db2",
	"com.microsoft.sqlserver.jdbc.SQLServerDriver": "sqlserver",
	"net.sourceforge.jtds.jdbc.Driver":             "jtds",
	"oracle.jdbc.OracleDriver":                     "oracle",
	"oracle.jdbc.driver.OracleDriver":              "oracle",
}

// CheckDriverClass checks a <driverClass> against the dialect of the URL: a class the host
// does not serve is an *UnsupportedError, a known class of another database an error; an
// unknown class is accepted (the URL decides, as the JDBC DriverManager does).
func CheckDriverClass(class string, d Dialect) error {
	class = strings.TrimSpace(class)
	if class == "" {
		return nil
	}
	if sub, ok := unsupportedClasses[class]; ok {
		return &UnsupportedError{Driver: class, Reason: unsupported[sub]}
	}
	if want, ok := driverClasses[class]; ok && want != d {
		return fmt.Errorf("driver class %s is for %s, but the URL is a %s URL", class, want, d)
	}
	return nil
}

// ParseJDBC parses a JDBC URL: jdbc:postgresql://host[:port]/db[?params],
// jdbc:postgresql:db, jdbc:mysql://host[:port][/db][?params], jdbc:sqlite:path or
// jdbc:sqlite::memory:. A relative SQLite path is taken from dir. Parameters are mapped to
// the Go driver's where they have a meaning there and refused by name where they do not; a
// database the host has no driver for is an *UnsupportedError. The errors never hold the
// URL's password.
func ParseJDBC(raw, dir string) (Target, error) {
	raw = strings.TrimSpace(raw)
	if len(raw) > maxJDBCURL {
		return Target{}, badURL("longer than %d bytes", maxJDBCURL)
	}
	if strings.Contains(raw, "${") {
		return Target{}, badURL("it names a Worklight property (${...}), which Realmgate does not substitute: write the URL, or name a data source of hostd.yaml with <dataSourceJNDIName>")
	}
	rest, ok := cutPrefixFold(raw, "jdbc:")
	if !ok {
		return Target{}, badURL("it does not start with jdbc:")
	}
	sub, rest, ok := strings.Cut(rest, ":")
	if !ok || sub == "" {
		return Target{}, badURL("no subprotocol (jdbc:mysql:, jdbc:postgresql:, jdbc:sqlite:)")
	}
	sub = strings.ToLower(sub)
	switch sub {
	case "postgresql":
		return parseNetwork(PostgreSQL, rest, 5432)
	case "mysql", "mariadb":
		return parseNetwork(MySQL, rest, 3306)
	case "sqlite":
		return parseSQLite(rest, dir)
	}
	if why, ok := unsupported[sub]; ok {
		return Target{}, &UnsupportedError{Driver: "jdbc:" + sub, Reason: why}
	}
	return Target{}, &UnsupportedError{Driver: "jdbc:" + safeName(sub), Reason: "the host knows no Go driver for it"}
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return s, false
}

// safeName bounds and cleans a name from a URL for an error message.
func safeName(s string) string {
	if len(s) > 32 {
		s = s[:32] + "..."
	}
	return strconv.Quote(s)
}

// parseNetwork parses //host[:port][/db][?k=v&...] (and PostgreSQL's bare db).
func parseNetwork(d Dialect, rest string, defaultPort int) (Target, error) {
	t := Target{Dialect: d, Host: "localhost", Port: defaultPort, params: map[string]string{}}
	hierarchical := strings.HasPrefix(rest, "//")
	if !hierarchical && d != PostgreSQL {
		return Target{}, badURL("want jdbc:%s://host:port/database", d)
	}
	var query string
	rest, query, _ = strings.Cut(rest, "?")
	if hierarchical {
		var hostport string
		hostport, t.Database, _ = strings.Cut(rest[2:], "/")
		if strings.ContainsAny(hostport, ",@") {
			return Target{}, badURL("one host only, without user information (give <user> and <password>)")
		}
		if hostport != "" {
			host, port, err := splitHostPort(hostport, defaultPort)
			if err != nil {
				return Target{}, err
			}
			t.Host, t.Port = host, port
		}
	} else {
		t.Database = rest
	}
	db, err := url.PathUnescape(t.Database)
	if err != nil || strings.ContainsAny(db, "/;\x00") {
		return Target{}, badURL("bad database name")
	}
	t.Database = db
	if query == "" {
		return t, nil
	}
	for _, kv := range strings.Split(query, "&") {
		if kv == "" {
			continue
		}
		k, v, _ := strings.Cut(kv, "=")
		if uv, err := url.QueryUnescape(v); err == nil {
			v = uv
		} else {
			return Target{}, badURL("bad value of parameter %s", safeName(k))
		}
		if err := t.param(k, v); err != nil {
			return Target{}, err
		}
	}
	// go-sql-driver's tls=true verifies the server's certificate and host name, as
	// Connector/J does unless verifyServerCertificate=false, which skip-verify is.
	switch {
	case t.tls && t.skipVerify:
		t.params["tls"] = "skip-verify"
	case t.tls:
		t.params["tls"] = "true"
	}
	return t, nil
}

func splitHostPort(hostport string, defaultPort int) (string, int, error) {
	host, port := hostport, ""
	if strings.HasPrefix(hostport, "[") || strings.Count(hostport, ":") == 1 {
		h, p, err := net.SplitHostPort(hostport)
		if err != nil {
			if !strings.HasPrefix(hostport, "[") || !strings.HasSuffix(hostport, "]") {
				return "", 0, badURL("bad host and port")
			}
			h = strings.Trim(hostport, "[]")
		}
		host, port = h, p
	} else if strings.Contains(hostport, ":") {
		return "", 0, badURL("bad host and port (write an IPv6 address in brackets)")
	}
	if host == "" || strings.ContainsAny(host, "/?#%\\ \t\r\n\x00") {
		return "", 0, badURL("bad host")
	}
	if port == "" {
		return host, defaultPort, nil
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < 1 || p > 65535 {
		return "", 0, badURL("bad port")
	}
	return host, p, nil
}

// ignoredParams are JDBC parameters that have no meaning for the Go driver (the pool
// reconnects; the text is UTF-8), accepted so that Worklight projects load unchanged.
var ignoredParams = map[Dialect][]string{
	MySQL:      {"useunicode", "characterencoding", "autoreconnect", "zerodatetimebehavior", "servertimezone", "usejdbccomplianttimezoneshift", "uselegacydatetimecode", "allowpublickeyretrieval"},
	PostgreSQL: {"loglevel", "preparethreshold"},
}

// param maps one JDBC parameter.
func (t *Target) param(k, v string) error {
	lk := strings.ToLower(k)
	switch {
	case lk == "user":
		t.User = v
	case lk == "password":
		t.password = v
	case lk == "connecttimeout":
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return badURL("bad connectTimeout")
		}
		if t.Dialect == MySQL {
			t.timeout = time.Duration(n) * time.Millisecond // Connector/J: milliseconds
		} else {
			t.timeout = time.Duration(n) * time.Second // pgJDBC: seconds
		}
	case t.Dialect == PostgreSQL && lk == "sslmode":
		switch v {
		case "disable", "allow", "prefer", "require", "verify-ca", "verify-full":
			t.params["sslmode"] = v
		default:
			return badURL("bad sslmode")
		}
	case t.Dialect == PostgreSQL && lk == "ssl":
		if v == "true" || v == "" {
			t.params["sslmode"] = "verify-full" // pgJDBC's ssl=true verifies the server
		}
	case t.Dialect == PostgreSQL && lk == "applicationname":
		t.params["application_name"] = v
	case t.Dialect == PostgreSQL && lk == "currentschema":
		t.params["search_path"] = v
	case t.Dialect == MySQL && (lk == "requiressl" || lk == "usessl"):
		// Connector/J's useSSL=true asks for TLS as requireSSL=true does; ignoring it, as
		// the host once did, sent the password and the data in plaintext.
		if v == "true" {
			t.tls = true
		}
	case t.Dialect == MySQL && lk == "verifyservercertificate":
		switch v {
		case "true", "false":
			t.skipVerify = v == "false"
		default:
			return badURL("bad verifyServerCertificate")
		}
	case slices.Contains(ignoredParams[t.Dialect], lk):
	default:
		return badURL("parameter %s has no meaning for the Go %s driver (it maps user, password, connectTimeout%s)", safeName(k), t.Dialect, map[Dialect]string{
			PostgreSQL: ", sslmode, ssl, ApplicationName, currentSchema", MySQL: ", requireSSL, useSSL, verifyServerCertificate"}[t.Dialect])
	}
	return nil
}

// parseSQLite parses jdbc:sqlite:PATH and jdbc:sqlite::memory:.
func parseSQLite(rest, dir string) (Target, error) {
	t := Target{Dialect: SQLite, params: map[string]string{}}
	switch {
	case rest == ":memory:" || rest == "":
		t.Database = ":memory:"
		return t, nil
	case strings.ContainsAny(rest, "?\x00") || strings.HasPrefix(rest, "file:"):
		return Target{}, badURL("give jdbc:sqlite: a file path, without parameters")
	}
	p := filepath.FromSlash(rest)
	if !filepath.IsAbs(p) {
		if dir == "" {
			return Target{}, badURL("a relative SQLite path needs a folder to be relative to")
		}
		p = filepath.Join(dir, p)
	}
	t.Database = filepath.Clean(p)
	return t, nil
}

// String describes the target for logs and messages: never a password.
func (t Target) String() string {
	switch t.Dialect {
	case SQLite:
		return "sqlite:" + t.Database
	default:
		u := url.URL{Scheme: string(t.Dialect), Host: net.JoinHostPort(t.Host, strconv.Itoa(t.Port)), Path: "/" + t.Database}
		if t.User != "" {
			u.User = url.User(t.User)
		}
		return u.String()
	}
}

// maxMessage is the largest protocol message the drivers accept for a source whose answers are
// capped at maxAnswer bytes: twice the cap (a value's wire form, bytea's hex text for one, can
// be twice its size in the JSON) plus room for the headers. A row larger than that is refused
// by the driver while it reads the message, before it allocates the row, instead of after the
// whole row has been read (the answer cap counts only scanned values).
func maxMessage(maxAnswer int) int { return 2*maxAnswer + 64<<10 }

// pgNeutral are the settings that pgconn would otherwise take from the process's environment
// (PGSSLCERT, PGSSLROOTCERT, PGPASSFILE, ...) or from files in its home directory
// (~/.pgpass, ~/.postgresql/postgresql.crt and root.crt): hostd's own store is configured
// through exactly those, and an adapter's data source must not connect with the daemon's
// credentials or certificate. Each is set in the connection string, which wins over the
// environment and the service file, to the value libpq has when nothing sets it, except
// sslcertmode, disabled so that no client certificate is ever sent. The last three are pgx's
// own, which a service file could set (simple_protocol would interpolate parameters in the
// client).
var pgNeutral = [][2]string{
	{"passfile", ""}, {"sslrootcert", ""}, {"sslcert", ""}, {"sslkey", ""}, {"sslcertmode", "disable"},
	{"sslpassword", ""}, {"sslsni", "1"}, {"sslnegotiation", "postgres"}, {"target_session_attrs", "any"},
	{"min_protocol_version", "3.0"}, {"max_protocol_version", "3.0"}, {"channel_binding", "prefer"}, {"require_auth", ""},
	{"statement_cache_capacity", "512"}, {"description_cache_capacity", "512"}, {"default_query_exec_mode", "cache_statement"},
}

// pgQuote quotes a value of a PostgreSQL keyword/value connection string.
func pgQuote(v string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(v) + "'"
}

// pgConfig is the pgx configuration of t with user and password, built from the spec alone:
// pgx.ParseConfig fills in what a connection string lacks from PG* environment variables,
// ~/.pgpass, a service file and certificate files, which are hostd's own store's settings.
// Every setting the spec does not give is written in the connection string (which wins over
// all of those), and the fields the environment could still reach (user, password, runtime
// parameters such as PGOPTIONS' and PGTZ's, Kerberos names) are then set explicitly; an empty
// user or password stays empty. The error never holds the password.
func (t Target) pgConfig(user, password string, maxMessage int) (*pgx.ConnConfig, error) {
	sslmode := t.params["sslmode"]
	if sslmode == "" {
		sslmode = "prefer" // pgJDBC's and libpq's default
	}
	kv := []string{"host=" + pgQuote(t.Host), "port=" + strconv.Itoa(t.Port), "dbname=" + pgQuote(t.Database),
		"user=" + pgQuote(user), "password=" + pgQuote(password), "sslmode=" + pgQuote(sslmode),
		"connect_timeout=" + strconv.Itoa(int((t.timeout+time.Second-1)/time.Second))}
	for _, n := range pgNeutral {
		kv = append(kv, n[0]+"="+pgQuote(n[1]))
	}
	cfg, err := pgx.ParseConfig(strings.Join(kv, " "))
	if err != nil {
		// The ParseConfigError quotes the connection string; its cause does not.
		if cause := errors.Unwrap(err); cause != nil {
			return nil, fmt.Errorf("the PostgreSQL settings of %s: %w", t, cause)
		}
		return nil, fmt.Errorf("the PostgreSQL settings of %s do not parse", t)
	}
	cfg.User, cfg.Password = user, password
	cfg.KerberosSrvName, cfg.KerberosSpn = "", ""
	cfg.RuntimeParams = map[string]string{}
	for k, v := range t.params {
		if k != "sslmode" {
			cfg.RuntimeParams[k] = v
		}
	}
	cfg.MaxProtocolMessageBodyLen = maxMessage
	return cfg, nil
}

// mysqlConfig is the go-sql-driver configuration of t with user and password.
func (t Target) mysqlConfig(user, password string, maxMessage int) *mysql.Config {
	c := mysql.NewConfig()
	c.User, c.Passwd = user, password
	c.Net, c.Addr, c.DBName = "tcp", net.JoinHostPort(t.Host, strconv.Itoa(t.Port)), t.Database
	c.ParseTime = true // DATETIME and TIMESTAMP become times, mapped to RFC 3339
	c.Loc = time.UTC
	// The session's time zone is UTC, as Loc says: otherwise a server whose time_zone is
	// SYSTEM (or anything but UTC) converts TIMESTAMP values to its zone, and Loc then reads
	// 12:00Z stored as 13:00Z.
	c.Params = map[string]string{"time_zone": "'+00:00'"}
	c.MultiStatements = false // one statement per call: no stacked queries
	c.InterpolateParams = false
	// The driver bounds the packets it sends with MaxAllowedPacket (the default is 64 MiB);
	// what it reads only the server's max_allowed_packet bounds.
	c.MaxAllowedPacket = max(maxMessage, maxRequest+64<<10)
	if t.timeout > 0 {
		c.Timeout = t.timeout
	}
	if tls := t.params["tls"]; tls != "" {
		c.TLSConfig = tls
	}
	return c
}

// credentials are the user and password a connection gives: the XML's (or hostd.yaml's),
// else the URL's.
func (t Target) credentials(user, password string) (string, string) {
	if user == "" {
		user = t.User
	}
	if password == "" {
		password = t.password
	}
	return user, password
}

// openDB opens the pool of t with user and password; it does not connect. The error never
// holds the password.
func (t Target) openDB(user, password string, maxAnswer int) (*sql.DB, error) {
	user, password = t.credentials(user, password)
	switch t.Dialect {
	case PostgreSQL:
		cfg, err := t.pgConfig(user, password, maxMessage(maxAnswer))
		if err != nil {
			return nil, err
		}
		return stdlib.OpenDB(*cfg), nil
	case MySQL:
		c, err := mysql.NewConnector(t.mysqlConfig(user, password, maxMessage(maxAnswer)))
		if err != nil {
			return nil, fmt.Errorf("the MySQL settings of %s: %w", t, err)
		}
		return sql.OpenDB(c), nil
	default:
		c, err := sqlite.NewConnector(t.sqliteDSN())
		if err != nil {
			return nil, fmt.Errorf("the SQLite settings of %s: %w", t, err)
		}
		return sql.OpenDB(noAttach{c}), nil
	}
}

// sqliteDSN is modernc.org/sqlite's DSN of t.
func (t Target) sqliteDSN() string {
	if t.Database == ":memory:" {
		return "file::memory:?_pragma=busy_timeout(5000)"
	}
	return (&url.URL{Scheme: "file", OmitHost: true, Path: filepath.ToSlash(t.Database), RawQuery: "_pragma=busy_timeout(5000)"}).String()
}

// noAttach opens SQLite connections that refuse ATTACH: the check that keeps an adapter's
// database out of the daemon's data folder looks at the URL's file alone, and ATTACH (its
// path a statement parameter) would open any file hostd can read, the daemon's own store
// included. An authorizer installed on each new connection denies it when the statement is
// prepared. The connection itself is returned unwrapped, so that database/sql sees all its
// optional interfaces.
type noAttach struct{ driver.Connector }

func (c noAttach) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	r, ok := conn.(sqlite.AuthorizerRegisterer)
	if !ok {
		conn.Close()
		return nil, fmt.Errorf("the SQLite driver's connection %T has no authorizer", conn)
	}
	if err := r.RegisterAuthorizer(denyAttach); err != nil {
		conn.Close()
		return nil, fmt.Errorf("installing the SQLite authorizer: %w", err)
	}
	return conn, nil
}

// denyAttach is the authorizer of adapter SQLite connections: everything but ATTACH.
func denyAttach(action sqlite.AuthorizerActionCode, _, _, _, _ string) sqlite.AuthorizerReturnCode {
	if action == sqlite.AuthAttach {
		return sqlite.AuthorizerDeny
	}
	return sqlite.AuthorizerOK
}
