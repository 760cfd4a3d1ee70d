package sqlsource

import (
	"bytes"
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"regexp"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/go-sql-driver/mysql" // database/sql driver "mysql"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"
	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
	"modernc.org/sqlite"               // database/sql driver "sqlite"

	"github.com/realmgate/realmgate/internal/secretfile"
)

// Defaults of Options.
const (
	DefaultMaxConns    = 4
	DefaultMaxRows     = 1000
	DefaultMaxAnswer   = 1 << 20
	DefaultMaxDuration = 30 * time.Second
	maxRequest         = 1 << 20
)

// Spec is a data source as a project and hostd.yaml declare it.
type Spec struct {
	// URL is the JDBC URL.
	URL string
	// DriverClass is the XML's <driverClass>, checked against the URL; empty checks nothing.
	DriverClass string
	// User and Password are the XML's <user> and <password> (or hostd.yaml's user); they win
	// over the URL's parameters. PasswordFile, when set, holds the password instead (a secret
	// file: readable by its owner alone).
	User, Password, PasswordFile string
	// Dir is the folder a relative SQLite path is taken from.
	Dir string
}

// Options bound what one adapter's data source may use.
type Options struct {
	// MaxConns bounds the pool's open connections (default DefaultMaxConns).
	MaxConns int
	// MaxRows caps the rows of one result: a statement that returns more fails, naming the
	// cap (default DefaultMaxRows).
	MaxRows int
	// MaxAnswer caps the bytes of one answer's JSON (default DefaultMaxAnswer).
	MaxAnswer int
	// MaxDuration bounds a statement whose context has no deadline (default
	// DefaultMaxDuration); a call's deadline is the statement's timeout.
	MaxDuration time.Duration
	// Logger receives the pool's records; never a password.
	Logger *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.MaxConns <= 0 {
		o.MaxConns = DefaultMaxConns
	}
	if o.MaxRows <= 0 {
		o.MaxRows = DefaultMaxRows
	}
	if o.MaxAnswer <= 0 {
		o.MaxAnswer = DefaultMaxAnswer
	}
	if o.MaxDuration <= 0 {
		o.MaxDuration = DefaultMaxDuration
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Check parses spec without opening anything or reading the password file: what hostd check
// and the project loader run.
func Check(spec Spec) (Target, error) {
	t, err := ParseJDBC(spec.URL, spec.Dir)
	if err != nil {
		var ue *UnsupportedError
		if spec.DriverClass != "" && errors.As(err, &ue) {
			ue.Driver = strings.TrimSpace(spec.DriverClass) + " (" + ue.Driver + ")"
		}
		return Target{}, err
	}
	if err := CheckDriverClass(spec.DriverClass, t.Dialect); err != nil {
		return Target{}, err
	}
	return t, nil
}

// Source is one adapter's data source: a bounded pool the host owns, which runs the requests
// of the adapter's guest (the realmgate.sql host function). Safe for concurrent use.
type Source struct {
	target Target
	db     *sql.DB
	opts   Options
	closed atomic.Bool // Close ran: database/sql's error for it is not exported
}

// Open checks spec, reads its password file and returns the source. It does not connect: a
// database that is down at load fails the calls, not the load, as a Worklight server did.
func Open(spec Spec, opts Options) (*Source, error) {
	t, err := Check(spec)
	if err != nil {
		return nil, err
	}
	password := spec.Password
	if spec.PasswordFile != "" {
		b, err := secretfile.Read(spec.PasswordFile)
		if err != nil {
			return nil, fmt.Errorf("the data source's password file: %w", err)
		}
		password = strings.TrimRight(string(b), "\r\n")
	}
	opts = opts.withDefaults()
	db, err := t.openDB(spec.User, password, opts.MaxAnswer)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", t, err) // never the DSN: it holds the password
	}
	conns := opts.MaxConns
	if t.Dialect == SQLite && t.Database == ":memory:" {
		conns = 1 // each connection would have a database of its own
	}
	db.SetMaxOpenConns(conns)
	db.SetMaxIdleConns(conns)
	db.SetConnMaxIdleTime(5 * time.Minute)
	db.SetConnMaxLifetime(30 * time.Minute)
	if t.User == "" {
		t.User = spec.User
	}
	opts.Logger.Info("data source opened", "target", t.String(), "max_conns", conns)
	return &Source{target: t, db: db, opts: opts}, nil
}

// Target returns what the source connects to (no password).
func (s *Source) Target() Target { return s.target }

// DB returns the pool, for tests and for the daemon's metrics.
func (s *Source) DB() *sql.DB { return s.db }

// Close closes the pool; calls after Close fail.
func (s *Source) Close() error {
	s.closed.Store(true)
	return s.db.Close()
}

// Request is what a guest asks of its data source: a statement with its parameters, or a
// stored procedure with its parameters.
type Request struct {
	Statement  *string           `json:"statement"`
	Procedure  *string           `json:"procedure"`
	Parameters []json.RawMessage `json:"parameters"`
}

// Answer is what the guest gets back, in Worklight's shape.
type Answer struct {
	IsSuccessful          bool             `json:"isSuccessful"`
	ResultSet             []map[string]any `json:"resultSet,omitempty"`
	UpdateStatementResult *UpdateResult    `json:"updateStatementResult,omitempty"`
	Errors                []string         `json:"errors,omitempty"`
}

// UpdateResult is the answer of a statement that returns no rows.
type UpdateResult struct {
	UpdateCount int64 `json:"updateCount"`
}

// Do runs one request (JSON, as the guest passed it) and returns the answer's JSON. Every
// failure is an answer with isSuccessful false: the guest decides what its caller sees.
func (s *Source) Do(ctx context.Context, request []byte) []byte {
	a, err := s.do(ctx, request)
	if err != nil {
		a = Answer{Errors: []string{err.Error()}}
	}
	b, err := marshalAnswer(a)
	if err == nil && len(b) > s.opts.MaxAnswer {
		err = fmt.Errorf("the result is larger than %d bytes: select fewer rows or columns", s.opts.MaxAnswer)
	}
	if err != nil {
		b, _ = marshalAnswer(Answer{Errors: []string{err.Error()}})
	}
	return b
}

// marshalAnswer writes a in Worklight's shape: a successful answer has resultSet (possibly
// empty) or updateStatementResult, a failed one errors.
func marshalAnswer(a Answer) ([]byte, error) {
	out := map[string]any{"isSuccessful": a.IsSuccessful}
	switch {
	case !a.IsSuccessful:
		out["errors"] = a.Errors
	case a.UpdateStatementResult != nil:
		out["updateStatementResult"] = a.UpdateStatementResult
	default:
		rs := a.ResultSet
		if rs == nil {
			rs = []map[string]any{}
		}
		out["resultSet"] = rs
	}
	return json.Marshal(out)
}

func (s *Source) do(ctx context.Context, request []byte) (Answer, error) {
	if len(request) > maxRequest {
		return Answer{}, fmt.Errorf("the request is larger than %d bytes", maxRequest)
	}
	var req Request
	dec := json.NewDecoder(bytes.NewReader(request))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return Answer{}, fmt.Errorf("the request is not valid: %w", err)
	}
	if len(req.Parameters) > maxParameters {
		return Answer{}, fmt.Errorf("%w: more than %d parameters", ErrPlaceholders, maxParameters)
	}
	args, err := parameters(req.Parameters)
	if err != nil {
		return Answer{}, err
	}
	var text, procedure string
	rows := false
	switch {
	case req.Statement != nil && req.Procedure == nil:
		var n int
		if text, n, err = prepare(s.target.Dialect, *req.Statement); err != nil {
			return Answer{}, err
		}
		if n != len(args) {
			return Answer{}, fmt.Errorf("%w: the statement has %d placeholders and the call passes %d parameters", ErrPlaceholders, n, len(args))
		}
		rows = returnsRows(text)
	case req.Procedure != nil && req.Statement == nil:
		if text, err = procedureCall(s.target.Dialect, *req.Procedure, len(args)); err != nil {
			return Answer{}, err
		}
		procedure = *req.Procedure
		if s.target.Dialect == MySQL && !strings.Contains(procedure, ".") && systemSchema(MySQL, s.target.Database) {
			// An unqualified name is the default database's, here the server's own.
			return Answer{}, fmt.Errorf("%w: %s would be a routine of %s, the database the data source's URL names, a schema of the database system", ErrProcedureRefused, procedure, s.target.Database)
		}
		rows = true
	default:
		return Answer{}, errors.New("the request names a statement or a procedure, exactly one")
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.opts.MaxDuration)
		defer cancel()
	}
	var db querier = s.db
	if procedure != "" && s.target.Dialect == PostgreSQL {
		// The check and the call share a connection, so that they see the same search_path.
		conn, err := s.db.Conn(ctx)
		if err != nil {
			return Answer{}, s.dbError(ctx, err)
		}
		defer conn.Close()
		if err := pgCheckProcedure(ctx, conn, procedure); err != nil {
			if errors.Is(err, ErrProcedureRefused) {
				return Answer{}, err
			}
			return Answer{}, s.dbError(ctx, err)
		}
		db = conn
	}
	if !rows {
		res, err := db.ExecContext(ctx, text, args...)
		if err != nil {
			return Answer{}, s.dbError(ctx, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return Answer{}, s.dbError(ctx, err)
		}
		return Answer{IsSuccessful: true, UpdateStatementResult: &UpdateResult{UpdateCount: n}}, nil
	}
	rs, err := db.QueryContext(ctx, text, args...)
	if err != nil {
		return Answer{}, s.dbError(ctx, err)
	}
	defer rs.Close()
	set, err := s.collect(rs)
	if err != nil {
		return Answer{}, s.dbError(ctx, err)
	}
	return Answer{IsSuccessful: true, ResultSet: set}, nil
}

// querier is what runs a request: the pool, or one connection of it.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// pgProcedureQuery lists the routines that a procedure name may resolve to on PostgreSQL, with
// their schema and whether an extension installed them. An unqualified name matches those of
// the session's search path and, whatever the path says, pg_catalog's and
// information_schema's: pg_catalog is searched first unless the path names it later, so
// "query_to_xml" is pg_catalog.query_to_xml. The name is a parameter, never SQL text.
const pgProcedureQuery = `SELECT n.nspname::text,
	EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
		WHERE d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass AND d.objid = p.oid AND d.deptype = 'e')
FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
WHERE p.proname = $1::text AND CASE WHEN $2::text = ''
	THEN n.nspname = ANY (pg_catalog.current_schemas(true)) OR n.nspname IN ('pg_catalog', 'information_schema')
	ELSE n.nspname = $2::text END`

// pgCheckProcedure refuses, with ErrProcedureRefused, a procedure name that resolves to a
// routine of a system schema or of an extension (dblink, say, wherever it was installed):
// PostgreSQL's built-ins include functions that run SQL text passed as a parameter
// (query_to_xml, dblink) or change the pooled session (set_config), and the name is call-time
// data. It asks the database each time rather than keep a list of names, which would miss
// the next version's functions and what an extension adds; nothing is cached, since a
// routine may be created or dropped at any time.
func pgCheckProcedure(ctx context.Context, q querier, name string) error {
	schema, routine, ok := strings.Cut(strings.ToLower(name), ".") // unquoted names fold to lower case
	if !ok {
		schema, routine = "", schema
	}
	rs, err := q.QueryContext(ctx, pgProcedureQuery, routine, schema)
	if err != nil {
		return err
	}
	defer rs.Close()
	for rs.Next() {
		var nsp string
		var ext bool
		if err := rs.Scan(&nsp, &ext); err != nil {
			return err
		}
		if systemSchema(PostgreSQL, nsp) {
			return fmt.Errorf("%w: %s is a routine of PostgreSQL's schema %s, not one of the application's", ErrProcedureRefused, name, nsp)
		}
		if ext {
			return fmt.Errorf("%w: %s is a routine that an extension installed in schema %s, not one of the application's", ErrProcedureRefused, name, nsp)
		}
	}
	return rs.Err()
}

// rowCapError is returned by collect past the row cap.
type rowCapError struct{ max, bytes int }

func (e *rowCapError) Error() string {
	if e.bytes > 0 {
		return fmt.Sprintf("the result is larger than %d bytes: select fewer rows or columns", e.bytes)
	}
	return fmt.Sprintf("the statement returned more than %d rows, the host's cap on one result: narrow it with WHERE or LIMIT", e.max)
}

// ErrUnreachable is the guest's whole answer when the database could not be reached or refused
// the connection: the driver's error names hosts, ports, users and databases, which are the
// operator's business, and goes to the daemon's log instead.
var ErrUnreachable = errors.New("the data source could not be reached")

// dbError words a database error for the guest: a deadline says so plainly. The guest's answer
// often goes to the client unchanged (return WL.Server.invokeSQLStatement(...)), so it keeps
// what a developer needs of a statement's error (the SQLSTATE or MySQL error number and the
// server's message) and nothing about the connection; the full error goes to the source's
// logger, which the daemon gives each adapter.
func (s *Source) dbError(ctx context.Context, err error) error {
	var rc *rowCapError
	if errors.As(err, &rc) {
		return err
	}
	// pgx refuses a message larger than MaxProtocolMessageBodyLen (see maxMessage) from its
	// header, before it reads the row: that is the answer cap, met early.
	var big *pgproto3.ExceededMaxBodyLenErr
	if errors.As(err, &big) {
		return &rowCapError{bytes: s.opts.MaxAnswer}
	}
	if ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return errors.New("the statement ran past the call's deadline and was cancelled")
	}
	if s.closed.Load() {
		return errors.New("the data source is closed")
	}
	if errors.Is(err, sql.ErrConnDone) || errors.Is(err, sql.ErrTxDone) {
		return errors.New("the database connection is closed")
	}
	guest := guestError(err)
	level := slog.LevelInfo // a statement's error is the application's
	if errors.Is(guest, ErrUnreachable) {
		level = slog.LevelWarn // the operator's
	}
	s.opts.Logger.Log(context.Background(), level, "data source: the statement failed", "target", s.target.String(), "answer", guest.Error(), "error", err.Error())
	return guest
}

// guestError is what the guest learns of a driver's error err. Only errors whose text the
// database server wrote about the statement pass (PostgreSQL's and MySQL's with their codes,
// SQLite's, which has no connection), MySQL's with any 'user'@'host' taken out; a connection
// failure is ErrUnreachable, and any other error (a driver's own, whose text is not known to
// be free of connection details) a generic failure.
func guestError(err error) error {
	var (
		pe *pgconn.PgError
		me *mysql.MySQLError
		le *sqlite.Error
	)
	switch {
	case unreachable(err):
		return ErrUnreachable
	case errors.As(err, &pe):
		return fmt.Errorf("the statement failed: %s (SQLSTATE %s)", pe.Message, pe.Code)
	case errors.As(err, &me):
		msg := mysqlAccount.ReplaceAllString(me.Message, "the data source's user")
		if me.SQLState != [5]byte{} {
			return fmt.Errorf("the statement failed: Error %d (%s): %s", me.Number, me.SQLState[:], msg)
		}
		return fmt.Errorf("the statement failed: Error %d: %s", me.Number, msg)
	case errors.As(err, &le):
		return fmt.Errorf("the statement failed: %s", le.Error())
	}
	return errors.New("the statement failed: the database driver reported an error, which the host's log holds")
}

// mysqlAccount is a MySQL account as the server's messages name it ('user'@'host').
var mysqlAccount = regexp.MustCompile(`'[^']*'@'[^']*'`)

// unreachable reports whether err says that the database could not be reached, refused the
// connection (its authentication, its database, its limits) or went away.
func unreachable(err error) bool {
	var (
		ce *pgconn.ConnectError
		ne net.Error
		pe *pgconn.PgError
		me *mysql.MySQLError
	)
	switch {
	case errors.As(err, &ce), errors.As(err, &ne):
		return true
	case errors.Is(err, driver.ErrBadConn), errors.Is(err, mysql.ErrInvalidConn), errors.Is(err, pgconn.ErrConnClosed),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return true
	case errors.As(err, &pe):
		switch {
		case strings.HasPrefix(pe.Code, "08"), strings.HasPrefix(pe.Code, "28"): // connection, authorization
			return true
		case pe.Code == "3D000", pe.Code == "53300": // no such database, too many connections
			return true
		case pe.Code == "57P01", pe.Code == "57P02", pe.Code == "57P03": // shutdown, crash, starting
			return true
		}
	case errors.As(err, &me):
		return mysqlUnreachable[me.Number] || me.Number >= 2000 && me.Number < 3000 // 2xxx: the client's
	}
	return false
}

// mysqlUnreachable are the MySQL and MariaDB error numbers of a connection refused or lost:
// too many connections, bad handshake, access denied (to the server, to the database, without
// a password), unknown database, host blocked or not allowed, the user's connection limits, an
// authentication method the client lacks, an expired password, a locked account, a server
// shutting down, a connection killed.
var mysqlUnreachable = map[uint16]bool{
	1040: true, 1043: true, 1044: true, 1045: true, 1049: true, 1053: true, 1129: true, 1130: true,
	1203: true, 1226: true, 1251: true, 1698: true, 1862: true, 1927: true, 3118: true,
}

// collect reads the rows of rs into JSON objects, column name to value, up to the row cap.
func (s *Source) collect(rs *sql.Rows) ([]map[string]any, error) {
	cols, err := rs.ColumnTypes()
	if err != nil {
		return nil, err
	}
	set := []map[string]any{}
	size := 0 // the bytes of text and binary values read so far: a bound before the JSON
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rs.Next() {
		if len(set) == s.opts.MaxRows {
			return nil, &rowCapError{max: s.opts.MaxRows}
		}
		if err := rs.Scan(ptrs...); err != nil {
			return nil, err
		}
		row := make(map[string]any, len(cols))
		for i, c := range cols {
			switch v := vals[i].(type) {
			case []byte:
				size += len(v)
			case string:
				size += len(v)
			}
			row[c.Name()] = jsonValue(vals[i], c.DatabaseTypeName())
		}
		if size > s.opts.MaxAnswer {
			return nil, &rowCapError{bytes: s.opts.MaxAnswer}
		}
		set = append(set, row)
	}
	return set, rs.Err()
}
