package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	msqlite "modernc.org/sqlite"

	"github.com/realmgate/realmgate/store"
)

// Memory is the path that opens a private in-memory database: nothing reaches disk, and the
// database lives on one connection until Close. Meant for tests.
const Memory = ":memory:"

// Durability says what a write that returned nil survives. Both levels keep the database
// consistent after any crash; they differ in whether the last commits can be lost.
type Durability int

const (
	// ProcessCrash, the default, is PRAGMA synchronous=NORMAL in WAL mode. A commit is written
	// to the WAL file with write(2) before it returns, so it sits in the kernel's page cache and
	// survives the process dying in any way (kill -9, panic, OOM kill): the kernel writes it out
	// and the next open replays the WAL. SQLite fsyncs only at checkpoints, so commits cost no
	// disk flush. What it does not survive is the machine losing power or the kernel crashing
	// before the page cache reached the disk: then the last commits (since the last checkpoint)
	// may roll back, though the database stays intact. This matches the store contract
	// ("survives a kill -9 of the process") at a fraction of FULL's cost.
	ProcessCrash Durability = iota
	// PowerLoss is PRAGMA synchronous=FULL: the WAL is fsynced on every commit, so a commit
	// survives power loss too, at the price of one disk flush per write (milliseconds on
	// spinning disks and on many virtual disks). Choose it where losing the last second of
	// revocations or audit records on a power cut is not acceptable.
	PowerLoss
)

func (d Durability) pragma() (string, error) {
	switch d {
	case ProcessCrash:
		return "NORMAL", nil
	case PowerLoss:
		return "FULL", nil
	}
	return "", fmt.Errorf("sqlite: unknown durability %d", int(d))
}

type config struct {
	durability  Durability
	busyTimeout time.Duration
	readers     int
}

// Option configures Open.
type Option func(*config)

// WithDurability selects what a committed write survives; the default is ProcessCrash.
func WithDurability(d Durability) Option { return func(c *config) { c.durability = d } }

// WithBusyTimeout sets how long a write waits for another process holding the database's write
// lock (another daemon or an operator's sqlite3 shell on the same file) before it fails; the
// default is 5s. Within one Store writes queue on its single writer connection instead, and
// that wait ends only with the caller's context.
func WithBusyTimeout(d time.Duration) Option { return func(c *config) { c.busyTimeout = d } }

// WithReaders sets the number of read-only connections (default 4). In WAL mode readers never
// wait for the writer, so reads run in parallel up to this many.
func WithReaders(n int) Option { return func(c *config) { c.readers = n } }

// Store is a store.Store on one SQLite database file.
//
// It holds one writer connection, so writes are serialised in the process and never race for
// SQLite's write lock, and a small pool of query-only reader connections that read the last
// committed state without waiting for the writer (WAL mode).
type Store struct {
	// access runs the record methods on the pools, with st.
	access
	w, r *sql.DB
	// st has the reads prepared on the readers; wst has every statement prepared on the
	// writer, for units of work.
	st, wst statements

	// units hands units of work to the committer (commitLoop); it is unbuffered, so the
	// units waiting are the senders blocked on it, and the committer takes them all at once.
	units    chan *unit
	closing  chan struct{}
	loopDone chan struct{}
	// running is held while a batch runs, by the committer or by a caller running its own
	// unit (Update), so that batches run one at a time on the writer.
	running sync.Mutex
	// queueOnly hands every unit to the committer, as before callers ran their own: for
	// benchmarks that compare the two.
	queueOnly bool

	closeOnce sync.Once
	closeErr  error
}

var _ store.Store = (*Store)(nil)

// Open opens the database at path, creating the file (mode 0600: it holds session state) and
// the schema when they do not exist and migrating an older schema forward. It refuses a
// database whose schema is newer than this build knows (ErrSchemaTooNew) without changing it.
// The directory must exist. Path Memory opens a private in-memory database.
func Open(ctx context.Context, path string, opts ...Option) (*Store, error) {
	cfg := config{durability: ProcessCrash, busyTimeout: 5 * time.Second, readers: 4}
	for _, o := range opts {
		o(&cfg)
	}
	syncMode, err := cfg.durability.pragma()
	if err != nil {
		return nil, err
	}
	if cfg.readers < 1 {
		return nil, fmt.Errorf("sqlite: %d readers: need at least one", cfg.readers)
	}
	if cfg.busyTimeout < 0 {
		return nil, fmt.Errorf("sqlite: negative busy timeout %v", cfg.busyTimeout)
	}
	busy := strconv.FormatInt(cfg.busyTimeout.Milliseconds(), 10)

	s := &Store{}
	if path == Memory {
		// One connection holds the whole database; reads share it.
		s.w, err = openDB(Memory, url.Values{
			"_pragma": {"foreign_keys(1)"},
			"_txlock": {"immediate"},
		})
		if err != nil {
			return nil, err
		}
		s.w.SetMaxOpenConns(1)
		s.w.SetMaxIdleConns(1)
		s.w.SetConnMaxLifetime(0)
		s.w.SetConnMaxIdleTime(0)
		s.r = s.w
	} else {
		if err := createFile(path); err != nil {
			return nil, err
		}
		s.w, err = openDB(path, url.Values{
			"_pragma": {
				"busy_timeout(" + busy + ")",
				"foreign_keys(1)",
				"journal_mode(WAL)",
				"synchronous(" + syncMode + ")",
				// After a burst, truncate the WAL back to 64 MiB at the next checkpoint.
				"journal_size_limit(67108864)",
			},
			// BEGIN IMMEDIATE takes the write lock at the start of a transaction, so a wait
			// for another process's writer goes through busy_timeout instead of failing with
			// SQLITE_BUSY half-way through.
			"_txlock": {"immediate"},
		})
		if err != nil {
			return nil, err
		}
		s.w.SetMaxOpenConns(1)
		s.w.SetMaxIdleConns(1)
		s.w.SetConnMaxLifetime(0)
		s.w.SetConnMaxIdleTime(0)
	}
	fail := func(err error) (*Store, error) {
		s.closeDBs()
		return nil, err
	}
	if path != Memory {
		var mode string
		if err := s.w.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
			return fail(fmt.Errorf("sqlite: open %s: %w", path, err))
		}
		if mode != "wal" {
			return fail(fmt.Errorf("sqlite: open %s: journal mode is %q, want wal (is the file on a file system without shared memory?)", path, mode))
		}
	}
	if err := migrate(ctx, s.w, path, migrations); err != nil {
		return fail(err)
	}
	if path != Memory {
		s.r, err = openDB(path, url.Values{
			"_pragma": {"busy_timeout(" + busy + ")", "query_only(1)"},
		})
		if err != nil {
			return fail(err)
		}
		s.r.SetMaxOpenConns(cfg.readers)
		s.r.SetMaxIdleConns(cfg.readers)
		s.r.SetConnMaxLifetime(0)
		s.r.SetConnMaxIdleTime(0)
	}
	if err := s.st.prepare(ctx, s.w, s.r); err != nil {
		return fail(err)
	}
	if err := s.wst.prepare(ctx, s.w, s.w); err != nil {
		return fail(err)
	}
	s.access = access{st: &s.st, w: s.w}
	s.units = make(chan *unit)
	s.closing = make(chan struct{})
	s.loopDone = make(chan struct{})
	go s.commitLoop()
	return s, nil
}

// openDB opens a pool on path with the driver parameters in q. The path goes into a file: URI
// with its characters escaped, so that a '?' or '#' in a directory name is not taken for
// parameters.
func openDB(path string, q url.Values) (*sql.DB, error) {
	var dsn string
	if path == Memory {
		dsn = Memory + "?" + q.Encode()
	} else {
		abs, err := filepath.Abs(path)
		if err != nil {
			return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
		}
		dsn = (&url.URL{Scheme: "file", Path: filepath.ToSlash(abs), OmitHost: true, RawQuery: q.Encode()}).String()
	}
	c, err := msqlite.NewConnector(dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	return sql.OpenDB(c), nil
}

// createFile creates the database file readable by its owner alone when it does not exist.
// SQLite gives the -wal and -shm files the main file's permissions.
func createFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	return f.Close()
}

// Ping reports whether both the writer and a reader connection answer.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.w.PingContext(ctx); err != nil {
		return fmt.Errorf("sqlite: ping: %w", err)
	}
	if err := s.r.PingContext(ctx); err != nil {
		return fmt.Errorf("sqlite: ping: %w", err)
	}
	return nil
}

// Close closes the connections; the writer goes last, so that SQLite checkpoints the WAL into
// the database file and removes it. A second Close returns the first one's result.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		if s.closing != nil {
			close(s.closing)
			<-s.loopDone
			// A caller running its own unit finishes it before the connections close; later
			// ones see closing.
			s.running.Lock()
		}
		s.closeErr = s.closeDBs()
	})
	return s.closeErr
}

func (s *Store) closeDBs() error {
	var errs []error
	errs = append(errs, s.st.close(), s.wst.close())
	if s.r != nil && s.r != s.w {
		errs = append(errs, s.r.Close())
	}
	if s.w != nil {
		errs = append(errs, s.w.Close())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("sqlite: close: %w", err)
	}
	return nil
}

// PoolStats reports the connection pools, for the daemon's metrics: the writer and the readers.
func (s *Store) PoolStats() map[string]sql.DBStats {
	if s.r == s.w {
		return map[string]sql.DBStats{"main": s.w.Stats()}
	}
	return map[string]sql.DBStats{"writer": s.w.Stats(), "readers": s.r.Stats()}
}
