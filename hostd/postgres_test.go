package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/realmgate/realmgate/client"
	"github.com/realmgate/realmgate/hostd/internal/daemon"
	"github.com/realmgate/realmgate/store/postgres/pgtest"
)

// TestPostgresStore runs two daemons on one PostgreSQL database (a throwaway cluster on
// 127.0.0.1), each with a data folder of its own, selected by the store section of hostd.yaml
// with the DSN in a file. A device proves its app, is provisioned and logs in on the first; the
// records are in the database; the second daemon signs the device in with the certificate the
// first issued and shares its login. With the database stopped, requests get 503 with a clear
// message and /readyz says so; when it is back, the same daemons serve again. The database
// password never reaches the logs.
func TestPostgresStore(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a PostgreSQL cluster")
	}
	c := pgtest.Start(t)
	dsn := c.NewDatabase(t)
	secrets := t.TempDir()
	dsnFile := filepath.Join(secrets, "dsn")
	if err := os.WriteFile(dsnFile, []byte(dsn+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	caDir := filepath.Join(secrets, "ca") // shared: both daemons issue and verify with one CA
	l := newDevsecLab(t, "store:\n  driver: postgres\n  dsnFile: "+dsnFile+"\n  maxConns: 8\n  statementTimeout: 10s\n"+
		"provisioning:\n  caDir: "+caDir+"\n"+
		// Shared too: the token keys live in the database, sealed under this key.
		"tokens:\n  issuer: https://bank.example\n  keyEncryptionKeyFile: "+filepath.Join(secrets, "token-keys.kek")+"\n")
	d1, logs1 := startDaemonLogged(t, l.dir)

	phone := newDevice(t, "phone-1")
	alice := devsecVictim(t, l, d1, phone) // authenticity challenge, provisioning, login
	serial := serialOf(phone.chain[0])

	ctx := t.Context()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	// The shared login is a session record keyed "sso\x00REALM\x00cert:SERIAL": NUL bytes, which
	// bytea keeps.
	var devices, certs, shared int
	err = conn.QueryRow(ctx, `SELECT
		(SELECT count(*) FROM devices WHERE id = 'phone-1'::bytea AND certificate_serial = convert_to($1, 'UTF8')),
		(SELECT count(*) FROM certificates WHERE serial = convert_to($1, 'UTF8') AND revoked_at IS NULL),
		(SELECT count(*) FROM sessions WHERE id = $2)`, serial, []byte("sso\x00SuiteLogin\x00cert:"+serial)).Scan(&devices, &certs, &shared)
	if err != nil {
		t.Fatal(err)
	}
	if devices != 1 || certs != 1 || shared != 1 {
		t.Errorf("in PostgreSQL: %d device records with the certificate, %d certificates, %d shared logins; want 1 of each", devices, certs, shared)
	}

	d2, logs2 := startDaemonLogged(t, l.dir)
	if got := deviceSerial(t, d2, "phone-1", "group:suite"); got != serial {
		t.Errorf("the second daemon lists the device with certificate %q, want %s", got, serial)
	}
	s2, token := devsecProvisioning(t, l, d2, "Calendar")
	signIn(t, s2, phone, token, 200)
	if st, body := s2.init(); st != 200 || body["user"].(map[string]any)["userId"] != "alice" {
		t.Errorf("the device on the second daemon: %d %v, want alice's shared login", st, body)
	}

	// The database goes away: every daemon answers 503 and says why; then it comes back.
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	for i, d := range []*daemon.Daemon{d1, d2} {
		if st := readyz(t, d); st != http.StatusServiceUnavailable {
			t.Errorf("daemon %d: /readyz with the database down: %d, want 503", i+1, st)
		}
	}
	st, body := alice.init()
	if st != http.StatusServiceUnavailable || body["error"] != "unavailable" || !strings.Contains(body["message"].(string), "unavailable") {
		t.Errorf("a request with the database down: %d %v, want 503 unavailable with a message", st, body)
	}
	if err := c.Restart(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for readyz(t, d1) != 200 || readyz(t, d2) != 200 {
		if time.Now().After(deadline) {
			t.Fatal("the daemons are not ready 15s after the database came back")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if st, body := alice.init(); st != 200 || body["user"].(map[string]any)["userId"] != "alice" {
		t.Errorf("alice's session after the database came back: %d %v", st, body)
	}

	for i, logs := range []*lockedBuffer{logs1, logs2} {
		if out := logs.String(); strings.Contains(out, pgtest.Password) {
			t.Errorf("daemon %d logged the database password", i+1)
		} else if !strings.Contains(out, `"driver":"postgres"`) {
			t.Errorf("daemon %d did not log which store it opened:\n%s", i+1, out)
		}
	}
}

func readyz(t *testing.T, d *daemon.Daemon) int {
	t.Helper()
	resp, err := http.Get(baseURL(d) + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestStoreSettings: the store section is checked at load, and a DSN that cannot be read or
// reached stops the start with an error that does not show the password.
func TestStoreSettings(t *testing.T) {
	t.Parallel()
	bad := []struct{ name, yaml, want string }{
		{"unknown driver", "store:\n  driver: mysql\n", `unknown driver "mysql" (known: sqlite, postgres)`},
		{"no DSN", "store:\n  driver: postgres\n", "exactly one of dsn, dsnFile"},
		{"two DSNs", "store:\n  driver: postgres\n  dsn: postgres://h/d\n  dsnEnv: X\n", "exactly one of dsn, dsnFile"},
		{"a DSN for sqlite", "store:\n  dsn: postgres://h/d\n", "are for driver postgres"},
	}
	for _, c := range bad {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, daemon.SettingsFile), []byte(c.yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := daemon.LoadSettings(dir); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error with %q", c.name, err, c.want)
		}
	}

	const password = "Never-Logged-7"
	s := daemon.DefaultSettings()
	s.Listen, s.Data, s.Development = "127.0.0.1:0", t.TempDir(), true
	s.Store = daemon.StoreSettings{Driver: daemon.DriverPostgres, DSNEnv: "REALMGATE_TEST_UNSET_DSN_VARIABLE"}
	if _, err := daemon.Start(t.Context(), daemon.Options{ConfigDir: exampleDir, Settings: s}); err == nil || !strings.Contains(err.Error(), "not set or empty") {
		t.Errorf("an unset dsnEnv: %v", err)
	}
	s.Store = daemon.StoreSettings{Driver: daemon.DriverPostgres, DSN: "postgres://rg:" + password + "@127.0.0.1:1/realmgate?sslmode=disable", ConnectTimeout: daemon.Duration(time.Second)}
	_, err := daemon.Start(t.Context(), daemon.Options{ConfigDir: exampleDir, Settings: s})
	if err == nil || strings.Contains(err.Error(), password) || !strings.Contains(err.Error(), "cannot reach the database") {
		t.Errorf("an unreachable database: %v, want an error that says so without the password", err)
	}
}

// replayer logs alice in to the example's web environment on d over real HTTP and returns a
// function that serves one protected request of her session through d's handler.
func replayer(b *testing.B, d *daemon.Daemon) func() int {
	b.Helper()
	tr := &recordingTransport{}
	c, err := client.New(client.Config{BaseURL: "http://" + d.Addr(), AppID: app, Environment: "mobilewebapp", AppVersion: "2.1.0",
		HTTPClient: &http.Client{Transport: tr}})
	if err != nil {
		b.Fatal(err)
	}
	c.RegisterHandler("BankLogin", &client.LoginHandler{Credentials: client.Credentials{Username: "alice", Password: "alice-password"}})
	if _, err := c.Init(context.Background()); err != nil {
		b.Fatal(err)
	}
	last, h := tr.last, d.Handler()
	return func() int {
		r := httptest.NewRequest("POST", "/api/v1/apps/BankApp/mobilewebapp/init", strings.NewReader("{}"))
		for k, v := range last.Header {
			r.Header[k] = v
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		return rec.Code
	}
}

// BenchmarkProtectedRequestStores measures one protected request (BenchmarkProtectedRequest's)
// on a daemon with the SQLite store and on one with the PostgreSQL store (a local cluster with
// fsync on), interleaved in blocks, and reports postgres/sqlite. A protected request of a live
// session reads one row (the session) from the store.
func BenchmarkProtectedRequestStores(b *testing.B) {
	start := func(settings func(*daemon.Settings)) *daemon.Daemon {
		s, err := daemon.LoadSettings(exampleDir)
		if err != nil {
			b.Fatal(err)
		}
		s.Listen, s.Data = "127.0.0.1:0", b.TempDir()
		settings(&s)
		d, err := daemon.Start(context.Background(), daemon.Options{ConfigDir: exampleDir, Settings: s})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { d.Shutdown(context.Background()) })
		return d
	}
	lite := replayer(b, start(func(*daemon.Settings) {}))
	dsn := pgtest.Start(b, pgtest.Durable()).NewDatabase(b)
	pg := replayer(b, start(func(s *daemon.Settings) {
		s.Store = daemon.StoreSettings{Driver: daemon.DriverPostgres, DSN: dsn}
	}))
	for _, f := range []func() int{lite, pg} {
		if code := f(); code != 200 {
			b.Fatalf("replayed request: %d", code)
		}
	}
	// Serially (one request at a time: the latency a store adds), then from 8 clients at once
	// (the throughput of the daemon, whose requests to PostgreSQL overlap).
	for _, workers := range []int{1, 8} {
		b.Run(fmt.Sprintf("clients=%d", workers), func(b *testing.B) {
			var liteTime, pgTime time.Duration
			const block = 200
			for i := 0; i < b.N; i += block {
				n := min(block, b.N-i)
				liteTime += concurrently(n, workers, lite)
				pgTime += concurrently(n, workers, pg)
			}
			b.ReportMetric(float64(liteTime.Nanoseconds())/float64(b.N), "sqlite-ns/op")
			b.ReportMetric(float64(pgTime.Nanoseconds())/float64(b.N), "postgres-ns/op")
			b.ReportMetric(float64(pgTime)/float64(liteTime), "postgres/sqlite")
		})
	}
}

// concurrently runs f n times from workers goroutines and returns the wall time.
func concurrently(n, workers int, f func() int) time.Duration {
	start := time.Now()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < n; i += workers {
				f()
			}
		})
	}
	wg.Wait()
	return time.Since(start)
}
