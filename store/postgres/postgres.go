package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/realmgate/realmgate/store"
)

// Defaults of the settings that neither Options nor the DSN give.
const (
	DefaultMaxConns         = 16
	DefaultConnectTimeout   = 5 * time.Second
	DefaultStatementTimeout = 30 * time.Second
	// DefaultRetries is how many times Update runs a unit again after a serialization failure
	// or a deadlock.
	DefaultRetries = 8
)

// Options are the pool settings a daemon's configuration gives beside the DSN. A zero field
// keeps what the DSN says (pool_max_conns, connect_timeout, statement_timeout), and the default
// when the DSN says nothing.
type Options struct {
	// MaxConns bounds the pool's connections (default DefaultMaxConns). Requests beyond it wait
	// for a connection, up to their own deadline.
	MaxConns int32
	// ConnectTimeout bounds the opening of one connection (default DefaultConnectTimeout).
	ConnectTimeout time.Duration
	// StatementTimeout makes the server cancel a statement that runs longer (default
	// DefaultStatementTimeout).
	StatementTimeout time.Duration
	// Retries bounds how many times Update runs a unit again after a serialization failure or a
	// deadlock (default DefaultRetries).
	Retries int
}

// ErrBadDSN is returned, wrapped, for a DSN that does not parse or whose settings are out of
// range. Its message never quotes the DSN, which may hold a password.
var ErrBadDSN = errors.New("postgres: bad DSN")

// ParseConfig reads a DSN, a URL (postgres://user@host:5432/db?sslmode=verify-full) or
// key=value pairs (host=... dbname=...), with the settings libpq reads from the environment
// (PGHOST, PGPASSWORD, ~/.pgpass, ...), and applies opts over it. An error never holds the DSN.
func ParseConfig(dsn string, opts Options) (*pgxpool.Config, error) {
	if opts.MaxConns < 0 || opts.ConnectTimeout < 0 || opts.StatementTimeout < 0 || opts.Retries < 0 {
		return nil, fmt.Errorf("%w: negative pool setting", ErrBadDSN)
	}
	// pgconn keeps the keys it does not know (pool_max_conns among them) as run-time
	// parameters, so this tells what the DSN itself set.
	raw, err := pgconn.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("%w: it does not parse as a postgres:// URL or as key=value pairs (the DSN is not shown: it may hold a password)", ErrBadDSN)
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// pgxpool's own settings (pool_max_conns=abc, ...): the message names no value.
		return nil, fmt.Errorf("%w: a pool setting (pool_max_conns, pool_min_conns, pool_max_conn_lifetime, ...) does not parse (the DSN is not shown: it may hold a password)", ErrBadDSN)
	}
	switch {
	case opts.MaxConns > 0:
		cfg.MaxConns = opts.MaxConns
	case raw.RuntimeParams["pool_max_conns"] == "":
		cfg.MaxConns = DefaultMaxConns
	}
	if cfg.MinConns > cfg.MaxConns {
		return nil, fmt.Errorf("%w: pool_min_conns %d is above the pool's %d connections", ErrBadDSN, cfg.MinConns, cfg.MaxConns)
	}
	switch {
	case opts.ConnectTimeout > 0:
		cfg.ConnConfig.ConnectTimeout = opts.ConnectTimeout
	case cfg.ConnConfig.ConnectTimeout == 0:
		cfg.ConnConfig.ConnectTimeout = DefaultConnectTimeout
	}
	params := cfg.ConnConfig.RuntimeParams
	switch {
	case opts.StatementTimeout > 0:
		params["statement_timeout"] = strconv.FormatInt(opts.StatementTimeout.Milliseconds(), 10)
	case params["statement_timeout"] == "":
		params["statement_timeout"] = strconv.FormatInt(DefaultStatementTimeout.Milliseconds(), 10)
	}
	// Times go over the wire in binary and come back in UTC whatever the server's zone; the
	// zone matters only to an operator's psql. The application name shows the daemon in
	// pg_stat_activity.
	if params["application_name"] == "" {
		params["application_name"] = "realmgate"
	}
	return cfg, nil
}

// Store is a store.Store on a PostgreSQL database, through a pool of connections.
type Store struct {
	ops
	pool    *pgxpool.Pool
	retries int

	closeOnce sync.Once
}

var _ store.Store = (*Store)(nil)

// Open connects to the database of dsn (see ParseConfig), creates the schema or migrates it
// forward (see migrate), and returns the store. It refuses a database whose schema is newer than
// this build (ErrSchemaTooNew) or whose schema holds other tables and none of Realmgate's
// (ErrNotRealmgate), without changing it. A database it cannot reach is an error that wraps
// store.ErrUnavailable.
func Open(ctx context.Context, dsn string, opts Options) (*Store, error) {
	cfg, err := ParseConfig(dsn, opts)
	if err != nil {
		return nil, err
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, classify(ctx, "open", err)
	}
	schema, err := migrate(ctx, pool, migrations)
	if err != nil {
		pool.Close()
		return nil, err
	}
	s := &Store{pool: pool, retries: opts.Retries}
	if s.retries == 0 {
		s.retries = DefaultRetries
	}
	s.ops = ops{q: pool, auditLock: lockKey("audit", schema)}
	return s, nil
}

// lockKey is the advisory-lock key of purpose in schema: daemons sharing a schema share the
// lock, stores in other schemas of the database do not.
func lockKey(purpose, schema string) int64 {
	h := fnv.New64a()
	h.Write([]byte("realmgate\x00" + purpose + "\x00" + schema))
	return int64(h.Sum64())
}

// Ping reports whether the database answers on a connection of the pool.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return classify(ctx, "ping", err)
	}
	return nil
}

// Stat reports the pool's connections (in use, idle, waits for one), for metrics of its
// saturation.
func (s *Store) Stat() *pgxpool.Stat { return s.pool.Stat() }

// PoolStats reports the pool, named "postgres", in database/sql's shape, as a metrics collector
// that knows only standard types reads it: total connections as OpenConnections, acquired as
// InUse, idle as Idle, the limit as MaxOpenConnections, and the acquisitions that waited for a
// connection as WaitCount and WaitDuration.
func (s *Store) PoolStats() map[string]sql.DBStats {
	st := s.pool.Stat()
	return map[string]sql.DBStats{"postgres": {
		MaxOpenConnections: int(st.MaxConns()),
		OpenConnections:    int(st.TotalConns()),
		InUse:              int(st.AcquiredConns()),
		Idle:               int(st.IdleConns()),
		WaitCount:          st.EmptyAcquireCount(),
		WaitDuration:       st.EmptyAcquireWaitTime(),
	}}
}

// Close closes the pool's connections, waiting for those in use to be released.
func (s *Store) Close() error {
	s.closeOnce.Do(s.pool.Close)
	return nil
}

// Update implements store.Updater with one SERIALIZABLE transaction: the unit's reads and
// writes behave as if the units ran one at a time, on one daemon or on several. A unit that
// PostgreSQL aborts for a serialization failure or a deadlock runs again, after a short random
// pause, up to Options.Retries times, and then fails with a *store.ContentionError; a unit that
// failed before anything reached the server (a pooled connection the server had closed) runs
// again once. A unit whose COMMIT was sent and not answered is not run again: it may have
// committed.
//
// A unit holds one connection of the pool while fn runs: fn uses tx, from one goroutine at a
// time, and not the Store itself, which would wait for a second connection.
func (s *Store) Update(ctx context.Context, fn func(tx store.Tx) error) error {
	staleRetried := false
	for attempt := 0; ; attempt++ {
		err := s.update(ctx, fn)
		if err == nil || ctx.Err() != nil {
			return err
		}
		if attempt >= s.retries {
			if retryable(err) {
				return &store.ContentionError{Attempts: attempt + 1, Err: err}
			}
			return err
		}
		if !retryable(err) {
			// A connection the pool handed out that the server had closed: once, at once. Not
			// a connection that could not be opened: the next would wait as long again.
			var ce *pgconn.ConnectError
			if staleRetried || !pgconn.SafeToRetry(err) || errors.As(err, &ce) {
				return err
			}
			staleRetried = true
			continue
		}
		// 1-2 ms doubled per attempt, capped at 100 ms: the units that collided do not
		// collide again in step.
		pause := min(time.Millisecond<<attempt, 100*time.Millisecond)
		pause += rand.N(pause)
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("postgres: unit of work: %w (after a serialization failure: %w)", ctx.Err(), err)
		case <-t.C:
		}
	}
}

// unitState is what a unit of work remembers of its statements.
type unitState struct {
	// conflict is the first serialization failure or deadlock a statement of the unit met: the
	// unit is retried even when fn swallowed the error.
	conflict error
	// failed is the first error of a statement: PostgreSQL aborts the transaction with it, so
	// the unit cannot commit.
	failed error
}

func (s *Store) update(ctx context.Context, fn func(tx store.Tx) error) (err error) {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("postgres: unit of work: %w", err)
	}
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.Serializable})
	if err != nil {
		return classify(ctx, "begin unit of work", err)
	}
	st := &unitState{}
	defer func() {
		if err != nil {
			_ = tx.Rollback(context.WithoutCancel(ctx))
		}
		if err != nil && st.conflict != nil && !retryable(err) {
			err = fmt.Errorf("%w (the unit met a conflict: %w)", err, st.conflict)
		}
	}()
	if err := fn(ops{q: tx, auditLock: s.auditLock, unit: st}); err != nil {
		return fmt.Errorf("postgres: unit of work: %w", err)
	}
	if st.failed != nil {
		return fmt.Errorf("postgres: unit of work: a statement failed, so nothing was written: %w", st.failed)
	}
	if err := tx.Commit(ctx); err != nil {
		return classify(ctx, "commit unit of work", err)
	}
	return nil
}

// SQLSTATE codes this package branches on.
const (
	codeSerializationFailure = "40001"
	codeDeadlock             = "40P01"
)

// retryable reports whether err is (or carries) a serialization failure or a deadlock.
func retryable(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == codeSerializationFailure || pe.Code == codeDeadlock
	}
	return false
}

// unavailable reports whether err says that the database could not be reached or went away:
// a failed connection, a broken one, a server shutting down or starting, or out of
// connections.
func unavailable(err error) bool {
	var (
		ce *pgconn.ConnectError
		ne net.Error
		pe *pgconn.PgError
	)
	switch {
	case errors.As(err, &ce), errors.As(err, &ne):
		return true
	case errors.Is(err, pgconn.ErrConnClosed), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return true
	case errors.As(err, &pe):
		switch {
		case len(pe.Code) == 5 && pe.Code[:2] == "08": // connection exception
			return true
		case pe.Code == "57P01", pe.Code == "57P02", pe.Code == "57P03": // shutdown, crash, starting
			return true
		case pe.Code == "53300": // too many connections
			return true
		}
	}
	return false
}

// classify wraps err of op: with the context's error when the caller's context ended (so that
// errors.Is(err, context.Canceled) holds however pgx reported it), with store.ErrUnavailable
// when the database could not be reached.
func classify(ctx context.Context, op string, err error) error {
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("postgres: %s: %w: %w", op, cerr, err)
	}
	if unavailable(err) && ctx.Err() == nil {
		return fmt.Errorf("postgres: %s: cannot reach the database: %w: %w", op, store.ErrUnavailable, err)
	}
	return fmt.Errorf("postgres: %s: %w", op, err)
}
