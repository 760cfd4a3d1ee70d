package pgtest_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/realmgate/realmgate/store/postgres/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// TestCluster: a database of the shared cluster answers over TCP with the password, and its
// server survives a crash (Kill, Restart) with what was committed.
func TestCluster(t *testing.T) {
	c := pgtest.Shared(t)
	ctx := t.Context()
	dsn := c.NewDatabase(t)
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "CREATE TABLE t (v int); INSERT INTO t VALUES (42)"); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)
	if err := c.Kill(); err != nil {
		t.Fatal(err)
	}
	if _, err := pgx.Connect(ctx, dsn); err == nil {
		t.Fatal("connected to a killed server")
	}
	if err := c.Restart(); err != nil {
		t.Fatal(err)
	}
	conn, err = pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var v int
	if err := conn.QueryRow(ctx, "SELECT v FROM t").Scan(&v); err != nil || v != 42 {
		t.Fatalf("after a crash: %d, %v", v, err)
	}
}

// TestWrongPassword: TCP connections authenticate.
func TestWrongPassword(t *testing.T) {
	c := pgtest.Shared(t)
	cfg, err := pgx.ParseConfig(c.DSN("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Password = "wrong"
	if conn, err := pgx.ConnectConfig(t.Context(), cfg); err == nil {
		conn.Close(t.Context())
		t.Fatal("a wrong password was accepted")
	}
}
