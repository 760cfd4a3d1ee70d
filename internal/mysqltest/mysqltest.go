// Package mysqltest starts a throwaway MariaDB server for tests: mariadb-install-db in a
// temporary directory, mariadbd listening on 127.0.0.1 on a free port with its socket in that
// directory, no system service, stopped and removed after.
//
// The binaries come from Debian's mariadb-server package (.ci/install-mariadb.sh). Without them
// a test is skipped, unless the environment variable REALMGATE_REQUIRE_TOOLCHAINS is set, when it
// fails.
//
// A package shares one server between its tests with Shared; each test takes a fresh database
// of it with NewDatabase.
package mysqltest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
)

// CIEnv is the environment variable CI sets: there a missing MariaDB fails a test.
const CIEnv = "REALMGATE_REQUIRE_TOOLCHAINS"

// User and Password are the test server's account, reachable over TCP from 127.0.0.1.
const (
	User     = "realmgate"
	Password = "mysqltest-Secret-7c1e"
)

// Server is a running MariaDB server with its own data directory.
type Server struct {
	Port int
	dir  string
	cmd  *exec.Cmd
	done chan error
	dbs  atomic.Int64
}

var (
	sharedOnce sync.Once
	shared     *Server
	sharedErr  error
)

// Shared returns the package's server, started at the first call; it runs until the process
// ends (call Stop from TestMain to remove it). It skips the test when MariaDB is not installed
// and CIEnv is unset, and fails it otherwise.
func Shared(tb testing.TB) *Server {
	tb.Helper()
	sharedOnce.Do(func() { shared, sharedErr = start() })
	if sharedErr != nil {
		if errors.Is(sharedErr, exec.ErrNotFound) && os.Getenv(CIEnv) == "" {
			tb.Skipf("mysqltest: MariaDB is not installed (.ci/install-mariadb.sh): %v", sharedErr)
		}
		tb.Fatalf("mysqltest: %v", sharedErr)
	}
	return shared
}

// Start starts a server of the test's own, stopped and removed when the test ends; it skips or
// fails the test as Shared does.
func Start(tb testing.TB) *Server {
	tb.Helper()
	s, err := start()
	if err != nil {
		if errors.Is(err, exec.ErrNotFound) && os.Getenv(CIEnv) == "" {
			tb.Skipf("mysqltest: MariaDB is not installed (.ci/install-mariadb.sh): %v", err)
		}
		tb.Fatalf("mysqltest: %v", err)
	}
	tb.Cleanup(s.Stop)
	return s
}

// StopShared stops the shared server, if one started; TestMain calls it after m.Run.
func StopShared() {
	if shared != nil {
		shared.Stop()
	}
}

func start() (*Server, error) {
	installDB, err := exec.LookPath("mariadb-install-db")
	if err != nil {
		return nil, err
	}
	mariadbd, err := exec.LookPath("mariadbd")
	if err != nil {
		if mariadbd, err = exec.LookPath("/usr/sbin/mariadbd"); err != nil {
			return nil, err
		}
	}
	dir, err := os.MkdirTemp("", "mysqltest-")
	if err != nil {
		return nil, err
	}
	s := &Server{dir: dir, done: make(chan error, 1)}
	data := filepath.Join(dir, "data")
	user := []string{}
	if os.Geteuid() == 0 {
		user = []string{"--user=root"} // the data directory is the test's; no privilege is dropped to
	}
	args := append([]string{"--no-defaults", "--datadir=" + data, "--auth-root-authentication-method=normal",
		"--skip-test-db"}, user...)
	if out, err := exec.Command(installDB, args...).CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("mariadb-install-db: %v: %s", err, out)
	}
	for attempt := 0; ; attempt++ {
		port, err := freePort()
		if err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		s.Port = port
		args := append([]string{"--no-defaults", "--datadir=" + data, "--bind-address=127.0.0.1",
			"--port=" + strconv.Itoa(port), "--socket=" + filepath.Join(dir, "mysqld.sock"),
			"--pid-file=" + filepath.Join(dir, "mysqld.pid"), "--skip-name-resolve", "--skip-log-bin",
			"--innodb-buffer-pool-size=16M", "--innodb-log-file-size=8M", "--innodb-flush-log-at-trx-commit=0",
			"--performance-schema=OFF", "--max-connections=64", "--log-error=" + filepath.Join(dir, "error.log")}, user...)
		s.cmd = exec.Command(mariadbd, args...)
		if err := s.cmd.Start(); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		go func() { s.done <- s.cmd.Wait() }()
		if err := s.waitReady(); err == nil {
			break
		} else if attempt >= 2 {
			log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			s.Stop()
			return nil, fmt.Errorf("mariadbd did not start: %v: %s", err, log)
		}
		s.kill()
	}
	if err := s.rootExec("CREATE USER '" + User + "'@'127.0.0.1' IDENTIFIED BY '" + Password + "'"); err != nil {
		s.Stop()
		return nil, err
	}
	if err := s.rootExec("GRANT ALL ON *.* TO '" + User + "'@'127.0.0.1'"); err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

// rootExec runs SQL as root over the server's unix socket.
func (s *Server) rootExec(q string) error {
	c := mysql.NewConfig()
	c.User, c.Net, c.Addr = "root", "unix", filepath.Join(s.dir, "mysqld.sock")
	db, err := sql.Open("mysql", c.FormatDSN())
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = db.Exec(q)
	return err
}

func (s *Server) waitReady() error {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-s.done:
			return fmt.Errorf("mariadbd exited: %v", err)
		default:
		}
		if err := s.rootExec("SELECT 1"); err == nil {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return errors.New("timed out")
}

func (s *Server) kill() {
	if s.cmd != nil && s.cmd.Process != nil {
		s.cmd.Process.Kill()
		<-s.done
		s.cmd = nil
	}
}

// Stop stops the server and removes its directory.
func (s *Server) Stop() {
	// The data is thrown away: the server is killed, not shut down (a clean shutdown waits for
	// the statements still running, such as a test's cut SLEEP).
	s.kill()
	os.RemoveAll(s.dir)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// NewDatabase creates an empty database, dropped when the test ends, and returns its name.
func (s *Server) NewDatabase(tb testing.TB) string {
	tb.Helper()
	name := fmt.Sprintf("t%d_%d", os.Getpid(), s.dbs.Add(1))
	if err := s.rootExec("CREATE DATABASE " + name); err != nil {
		tb.Fatalf("mysqltest: create database: %v", err)
	}
	tb.Cleanup(func() { s.rootExec("DROP DATABASE IF EXISTS " + name) })
	return name
}

// JDBCURL is the JDBC URL of database db on the server.
func (s *Server) JDBCURL(db string) string {
	return "jdbc:mysql://127.0.0.1:" + strconv.Itoa(s.Port) + "/" + db
}

// Exec runs SQL (several statements allowed) on database db as the test user.
func (s *Server) Exec(ctx context.Context, db, q string) error {
	c := mysql.NewConfig()
	c.User, c.Passwd, c.Net, c.Addr, c.DBName = User, Password, "tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port)), db
	c.MultiStatements = true
	conn, err := sql.Open("mysql", c.FormatDSN())
	if err != nil {
		return err
	}
	defer conn.Close()
	_, err = conn.ExecContext(ctx, q)
	return err
}
