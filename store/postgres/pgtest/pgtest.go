// Package pgtest starts throwaway PostgreSQL clusters for tests: initdb in a temporary
// directory, a server listening on 127.0.0.1 on a free port with its unix socket in that
// directory, no system service, stopped and removed after.
//
// The binaries come from /usr/lib/postgresql/*/bin (the newest version there; Debian's postgresql
// package puts them there), or from the PATH. Without them a test is skipped, unless the
// environment variable REALMGATE_REQUIRE_TOOLCHAINS is set (CI installs them with .ci/install-postgres.sh), when
// it fails.
//
// initdb and the server refuse to run as root. When the tests run as root, the cluster's commands
// run as the unprivileged user nobody (uid and gid 65534, which every Debian system has; the
// test process sets them on the child, so no setuid tool is needed), and its directory belongs
// to nobody.
//
// A package shares one cluster between its tests with Main and Shared; each test takes a fresh
// database of it with NewDatabase:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//
//	func TestX(t *testing.T) {
//		dsn := pgtest.Shared(t).NewDatabase(t)
//		...
//	}
package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// CIEnv is the environment variable CI sets: there a missing PostgreSQL fails a test rather than
// skipping it.
const CIEnv = "REALMGATE_REQUIRE_TOOLCHAINS"

// Password is the superuser's password. Connections over TCP authenticate with it
// (scram-sha-256), as a production server's would.
const Password = "pgtest-Secret-9f3a"

// User is the superuser of a test cluster.
const User = "realmgate"

// unprivileged is the user and group a cluster runs as when the tests run as root: nobody and
// nogroup on Debian.
const unprivileged = 65534

// Cluster is a running PostgreSQL server with its own data directory.
type Cluster struct {
	// Port is the TCP port on 127.0.0.1.
	Port int

	bin, dir, data string
	asNobody       bool
	fsync          bool
	mu             sync.Mutex
	running        bool
	dbs            atomic.Int64
}

// binGlob matches the directories of the server binaries of each installed version.
var binGlob = "/usr/lib/postgresql/*/bin"

// ErrNotInstalled says that no PostgreSQL server binaries were found.
var ErrNotInstalled = errors.New("pgtest: PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/pg_ctl); run .ci/install-postgres.sh")

// BinDir returns the directory of initdb and pg_ctl: the newest /usr/lib/postgresql/VERSION/bin,
// or the directory of pg_ctl on the PATH.
func BinDir() (string, error) {
	dirs, _ := filepath.Glob(binGlob)
	var best string
	bestV := -1
	for _, d := range dirs {
		v, err := strconv.Atoi(filepath.Base(filepath.Dir(d)))
		if err != nil {
			continue
		}
		if _, err := os.Stat(filepath.Join(d, "pg_ctl")); err == nil && v > bestV {
			best, bestV = d, v
		}
	}
	if best != "" {
		return best, nil
	}
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			p = real
		}
		return filepath.Dir(p), nil
	}
	return "", ErrNotInstalled
}

// Option changes how Start runs a cluster.
type Option func(*Cluster)

// Durable runs the server with fsync on, as in production, so that a commit waits for the disk
// (for benchmarks of commits). By default fsync is off: the tests crash the server process, never
// the machine, and the kernel keeps what a killed server wrote.
func Durable() Option { return func(c *Cluster) { c.fsync = true } }

// Start starts a new cluster, stopped and removed when the test ends. It skips the test (fails it
// when REALMGATE_REQUIRE_TOOLCHAINS is set) when PostgreSQL is not installed.
func Start(tb testing.TB, opts ...Option) *Cluster {
	tb.Helper()
	c, err := start(opts...)
	if errors.Is(err, ErrNotInstalled) {
		if os.Getenv(CIEnv) != "" {
			tb.Fatalf("%v (%s is set: PostgreSQL is required)", err, CIEnv)
		}
		tb.Skip(err)
	}
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := c.Remove(); err != nil {
			tb.Error(err)
		}
	})
	return c
}

func start(opts ...Option) (*Cluster, error) {
	bin, err := BinDir()
	if err != nil {
		return nil, err
	}
	asNobody := os.Geteuid() == 0
	parent := os.TempDir()
	if asNobody && !traversable(parent) {
		// nobody could not reach a directory under root's own TMPDIR.
		parent = "/tmp"
	}
	dir, err := os.MkdirTemp(parent, "realmgate-pgtest-")
	if err != nil {
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	c := &Cluster{bin: bin, dir: dir, data: filepath.Join(dir, "data"), asNobody: asNobody}
	for _, o := range opts {
		o(c)
	}
	fail := func(err error) (*Cluster, error) {
		os.RemoveAll(dir)
		return nil, err
	}
	if c.asNobody {
		if err := os.Chown(dir, unprivileged, unprivileged); err != nil {
			return fail(fmt.Errorf("pgtest: %w", err))
		}
	}
	pwfile := filepath.Join(dir, "pwfile")
	if err := os.WriteFile(pwfile, []byte(Password+"\n"), 0o600); err != nil {
		return fail(fmt.Errorf("pgtest: %w", err))
	}
	if c.asNobody {
		if err := os.Chown(pwfile, unprivileged, unprivileged); err != nil {
			return fail(fmt.Errorf("pgtest: %w", err))
		}
	}
	// Local (unix socket) connections are trusted, for this directory's owner only; TCP
	// connections authenticate with the password.
	if out, err := c.command("initdb", "-D", c.data, "-U", User, "--pwfile", pwfile,
		"--auth-local=trust", "--auth-host=scram-sha-256", "--encoding=UTF8", "--locale=C", "--no-sync").CombinedOutput(); err != nil {
		return fail(fmt.Errorf("pgtest: initdb: %v\n%s", err, out))
	}
	os.Remove(pwfile)
	for attempt := 0; ; attempt++ {
		port, err := freePort()
		if err != nil {
			return fail(err)
		}
		c.Port = port
		err = c.Restart()
		if err == nil {
			return c, nil
		}
		if attempt == 2 {
			return fail(err)
		}
	}
}

// traversable reports whether every directory from the root to dir lets other users through.
func traversable(dir string) bool {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return false
	}
	for {
		fi, err := os.Stat(dir)
		if err != nil || fi.Mode().Perm()&0o001 == 0 {
			return false
		}
		next := filepath.Dir(dir)
		if next == dir {
			return true
		}
		dir = next
	}
}

// freePort returns a TCP port on 127.0.0.1 that nothing listens on now.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pgtest: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// command runs a PostgreSQL binary, as nobody when the tests run as root.
func (c *Cluster) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(c.bin, name), args...)
	cmd.Env = append(os.Environ(), "LC_ALL=C", "TZ=UTC")
	if c.asNobody {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: unprivileged, Gid: unprivileged, Groups: []uint32{}}}
		cmd.Dir = c.dir
	}
	return cmd
}

// Restart starts the server again after Stop or Kill (Start starts it the first time). A server
// that was killed recovers from its write-ahead log first, as after a crash.
func (c *Cluster) Restart() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.running {
		return nil
	}
	settings := []string{
		"-c listen_addresses=127.0.0.1",
		"-p " + strconv.Itoa(c.Port),
		"-k " + c.dir,
		"-c max_connections=200",
		"-c shared_buffers=32MB",
	}
	if !c.fsync {
		settings = append(settings, "-c fsync=off", "-c full_page_writes=off")
	}
	opts := strings.Join(settings, " ")
	out, err := c.command("pg_ctl", "-D", c.data, "-l", filepath.Join(c.dir, "server.log"), "-o", opts, "-w", "-t", "60", "start").CombinedOutput()
	if err != nil {
		logText, _ := os.ReadFile(filepath.Join(c.dir, "server.log"))
		return fmt.Errorf("pgtest: pg_ctl start: %v\n%s\n%s", err, out, tail(string(logText), 2000))
	}
	c.running = true
	return nil
}

// Stop stops the server cleanly (pg_ctl stop -m fast).
func (c *Cluster) Stop() error { return c.stop("fast") }

// Kill stops the server as a crash would (pg_ctl stop -m immediate: every server process ends
// at once, with no checkpoint; the next start replays the write-ahead log).
func (c *Cluster) Kill() error { return c.stop("immediate") }

func (c *Cluster) stop(mode string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.running {
		return nil
	}
	out, err := c.command("pg_ctl", "-D", c.data, "-m", mode, "-w", "-t", "60", "stop").CombinedOutput()
	if err != nil {
		return fmt.Errorf("pgtest: pg_ctl stop -m %s: %v\n%s", mode, err, out)
	}
	c.running = false
	return nil
}

// Remove stops the server and removes its directory.
func (c *Cluster) Remove() error {
	err := c.Stop()
	if rerr := os.RemoveAll(c.dir); err == nil && rerr != nil {
		err = fmt.Errorf("pgtest: %w", rerr)
	}
	return err
}

// DSN is the URL of database db on the cluster, over TCP with the password. params are added to
// its query (pool_max_conns=4, search_path=x, ...).
func (c *Cluster) DSN(db string, params ...string) string {
	u := url.URL{Scheme: "postgres", User: url.UserPassword(User, Password),
		Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(c.Port)), Path: "/" + db}
	q := url.Values{"sslmode": {"disable"}}
	for _, p := range params {
		k, v, _ := strings.Cut(p, "=")
		q.Set(k, v)
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// Exec runs SQL on database db as the superuser.
func (c *Cluster) Exec(ctx context.Context, db, sql string, args ...any) error {
	conn, err := pgx.Connect(ctx, c.DSN(db))
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, sql, args...)
	return err
}

// NewDatabase creates an empty database, dropped when the test ends, and returns its DSN with
// params added (see DSN).
func (c *Cluster) NewDatabase(tb testing.TB, params ...string) string {
	tb.Helper()
	name := fmt.Sprintf("t%d_%d", os.Getpid(), c.dbs.Add(1))
	ctx := context.Background()
	// FILE_COPY: copying the template's files is faster here than writing it to the WAL.
	if err := c.Exec(ctx, "postgres", "CREATE DATABASE "+name+" TEMPLATE template0 STRATEGY FILE_COPY"); err != nil {
		tb.Fatalf("pgtest: create database: %v", err)
	}
	tb.Cleanup(func() {
		c.mu.Lock()
		running := c.running
		c.mu.Unlock()
		if running {
			_ = c.Exec(ctx, "postgres", "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		}
	})
	return c.DSN(name, params...)
}

// Log returns the end of the server's log, for a failing test's message.
func (c *Cluster) Log() string {
	b, _ := os.ReadFile(filepath.Join(c.dir, "server.log"))
	return tail(string(b), 4000)
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

var shared struct {
	once sync.Once
	c    *Cluster
	err  error
	// main is set by Main: the cluster outlives the tests that share it.
	main bool
}

// Main runs the package's tests (m.Run) and then stops the shared cluster, if one was started,
// and exits.
func Main(m *testing.M) {
	shared.main = true
	code := m.Run()
	if shared.c != nil {
		if err := shared.c.Remove(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			if code == 0 {
				code = 1
			}
		}
	}
	os.Exit(code)
}

// Shared returns the package's cluster, started by its first caller. Without Main in the
// package's TestMain, it is removed when the test that started it ends. It skips (or, with
// REALMGATE_REQUIRE_TOOLCHAINS set, fails) the test when PostgreSQL is not installed.
func Shared(tb testing.TB) *Cluster {
	tb.Helper()
	if !shared.main {
		return Start(tb)
	}
	shared.once.Do(func() { shared.c, shared.err = start() })
	switch {
	case errors.Is(shared.err, ErrNotInstalled) && os.Getenv(CIEnv) == "":
		tb.Skip(shared.err)
	case errors.Is(shared.err, ErrNotInstalled):
		tb.Fatalf("%v (%s is set: PostgreSQL is required)", shared.err, CIEnv)
	case shared.err != nil:
		tb.Fatal(shared.err)
	}
	return shared.c
}

// WaitReady waits until the server accepts a connection to db, or ctx ends.
func (c *Cluster) WaitReady(ctx context.Context, db string) error {
	for {
		conn, err := pgx.Connect(ctx, c.DSN(db))
		if err == nil {
			return conn.Close(ctx)
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(50 * time.Millisecond):
		}
	}
}
