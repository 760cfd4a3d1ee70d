package postgres_test

import (
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/realmgate/realmgate/store"
	"github.com/realmgate/realmgate/store/postgres"
	"github.com/realmgate/realmgate/store/postgres/pgtest"
)

const secret = "s3cret-Pa55word"

func TestParseConfig(t *testing.T) {
	t.Parallel()
	type got struct {
		MaxConns         int32
		ConnectTimeout   time.Duration
		StatementTimeout string
		AppName          string
	}
	base := "postgres://rg:" + secret + "@db.example:5432/realmgate"
	cases := []struct {
		name string
		dsn  string
		opts postgres.Options
		want got
	}{
		{"defaults", base, postgres.Options{},
			got{postgres.DefaultMaxConns, postgres.DefaultConnectTimeout, "30000", "realmgate"}},
		{"the DSN's settings", base + "?pool_max_conns=3&connect_timeout=2&statement_timeout=1500&application_name=rg-a", postgres.Options{},
			got{3, 2 * time.Second, "1500", "rg-a"}},
		{"options over the DSN", base + "?pool_max_conns=3&connect_timeout=2&statement_timeout=1500",
			postgres.Options{MaxConns: 40, ConnectTimeout: time.Second, StatementTimeout: 250 * time.Millisecond},
			got{40, time.Second, "250", "realmgate"}},
		{"key=value pairs", "host=127.0.0.1 user=rg password=" + secret + " dbname=r pool_max_conns=7", postgres.Options{},
			got{7, postgres.DefaultConnectTimeout, "30000", "realmgate"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := postgres.ParseConfig(c.dsn, c.opts)
			if err != nil {
				t.Fatal(err)
			}
			g := got{cfg.MaxConns, cfg.ConnConfig.ConnectTimeout, cfg.ConnConfig.RuntimeParams["statement_timeout"], cfg.ConnConfig.RuntimeParams["application_name"]}
			if d := cmp.Diff(c.want, g); d != "" {
				t.Errorf("config (-want +got):\n%s", d)
			}
			if cfg.ConnConfig.Password != secret {
				t.Errorf("password %q, want the DSN's", cfg.ConnConfig.Password)
			}
		})
	}
}

// TestBadDSN: a DSN that does not parse is ErrBadDSN, and the error never shows the DSN (it may
// hold a password).
func TestBadDSN(t *testing.T) {
	t.Parallel()
	for _, dsn := range []string{
		"postgres://rg:" + secret + "@db.example:notaport/realmgate",
		"postgres://rg:" + secret + "@db.example/realmgate?pool_max_conns=" + secret,
		"postgres://rg:" + secret + "@db.example/realmgate?pool_max_conns=2&pool_min_conns=5",
		"host=db password='" + secret,
		"postgres://rg:" + secret + "@[::1/realmgate",
		"postgres://rg@db.example/realmgate?connect_timeout=" + secret,
	} {
		_, err := postgres.ParseConfig(dsn, postgres.Options{})
		if !errors.Is(err, postgres.ErrBadDSN) {
			t.Errorf("ParseConfig(%q): %v, want ErrBadDSN", dsn, err)
			continue
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("the error shows the secret: %v", err)
		}
	}
	if _, err := postgres.ParseConfig("postgres://db/x", postgres.Options{MaxConns: -1}); !errors.Is(err, postgres.ErrBadDSN) {
		t.Errorf("a negative pool size: %v, want ErrBadDSN", err)
	}
}

// TestUnreachable: a database nothing answers for is store.ErrUnavailable within the connect
// timeout, and the error does not show the password.
func TestUnreachable(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	dsn := "postgres://rg:" + secret + "@127.0.0.1:" + strconv.Itoa(port) + "/realmgate?sslmode=disable"
	start := time.Now()
	_, err = postgres.Open(t.Context(), dsn, postgres.Options{ConnectTimeout: 2 * time.Second})
	if !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Open of a closed port: %v, want store.ErrUnavailable", err)
	}
	if strings.Contains(err.Error(), secret) {
		t.Errorf("the error shows the password: %v", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("Open took %v", d)
	}
	t.Log(err)
}

// TestWrongPassword: a refused login says so and does not show the password.
func TestWrongPassword(t *testing.T) {
	t.Parallel()
	c := pgtest.Shared(t)
	dsn := strings.Replace(c.DSN("postgres"), pgtest.Password, secret, 1)
	_, err := postgres.Open(t.Context(), dsn, postgres.Options{})
	if err == nil {
		t.Fatal("Open with a wrong password succeeded")
	}
	if strings.Contains(err.Error(), secret) || !strings.Contains(err.Error(), "password authentication failed") {
		t.Errorf("Open with a wrong password: %v", err)
	}
}

// TestServerRestart: while the server is down, calls fail with store.ErrUnavailable and Ping
// says so; when it is back, the same store serves again without being reopened, and what was
// committed before is there.
func TestServerRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster of its own")
	}
	t.Parallel()
	c := pgtest.Start(t)
	ctx := t.Context()
	s, err := postgres.Open(ctx, c.NewDatabase(t), postgres.Options{MaxConns: 4, ConnectTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	sess := store.Session{ID: "s1", CreatedAt: t0, ExpiresAt: later}
	if err := s.PutSession(ctx, sess); err != nil {
		t.Fatal(err)
	}
	for _, stop := range []struct {
		name string
		fn   func() error
	}{{"stopped", c.Stop}, {"killed", c.Kill}} {
		if err := stop.fn(); err != nil {
			t.Fatal(err)
		}
		calls := map[string]error{
			"Ping":       s.Ping(ctx),
			"GetSession": func() error { _, err := s.GetSession(ctx, "s1", t0); return err }(),
			"PutSession": s.PutSession(ctx, store.Session{ID: "s2", CreatedAt: t0, ExpiresAt: later}),
			"Update":     s.Update(ctx, func(tx store.Tx) error { return tx.PutUser(ctx, store.User{ID: "u"}) }),
		}
		for name, err := range calls {
			if !errors.Is(err, store.ErrUnavailable) {
				t.Errorf("server %s: %s: %v, want store.ErrUnavailable", stop.name, name, err)
			}
		}
		t.Logf("server %s: Ping: %v", stop.name, calls["Ping"])
		if err := c.Restart(); err != nil {
			t.Fatal(err)
		}
		// The pool drops the connections the restart broke; within a few tries every call
		// succeeds again.
		deadline := time.Now().Add(10 * time.Second)
		for {
			_, err := s.GetSession(ctx, "s1", t0)
			if err == nil && s.Ping(ctx) == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("server %s and restarted: still %v", stop.name, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
		if err := s.PutSession(ctx, store.Session{ID: "s3-" + stop.name, CreatedAt: t0, ExpiresAt: later}); err != nil {
			t.Errorf("server %s and restarted: PutSession: %v", stop.name, err)
		}
	}
}
