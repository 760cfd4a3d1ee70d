package sqlsource

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"

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
func (s *Source) Close() error { return s.db.Close() }

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
	var text string
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
		rows = true
	default:
		return Answer{}, errors.New("the request names a statement or a procedure, exactly one")
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.opts.MaxDuration)
		defer cancel()
	}
	if !rows {
		res, err := s.db.ExecContext(ctx, text, args...)
		if err != nil {
			return Answer{}, s.dbError(ctx, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return Answer{}, s.dbError(ctx, err)
		}
		return Answer{IsSuccessful: true, UpdateStatementResult: &UpdateResult{UpdateCount: n}}, nil
	}
	rs, err := s.db.QueryContext(ctx, text, args...)
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

// rowCapError is returned by collect past the row cap.
type rowCapError struct{ max, bytes int }

func (e *rowCapError) Error() string {
	if e.bytes > 0 {
		return fmt.Sprintf("the result is larger than %d bytes: select fewer rows or columns", e.bytes)
	}
	return fmt.Sprintf("the statement returned more than %d rows, the host's cap on one result: narrow it with WHERE or LIMIT", e.max)
}

// dbError words a database error for the guest: a deadline says so plainly.
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
	if errors.Is(err, sql.ErrConnDone) || errors.Is(err, sql.ErrTxDone) {
		return errors.New("the database connection is closed")
	}
	return fmt.Errorf("the statement failed: %v", err)
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
