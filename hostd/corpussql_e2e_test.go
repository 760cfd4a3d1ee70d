package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/realmgate/realmgate/client"
	"github.com/realmgate/realmgate/internal/mysqltest"
)

// corpusSQL gives a SQL adapter of a corpus login's copy a database of its own on a MariaDB the
// test starts on 127.0.0.1: the adapter's <url>, <user> and <password> are rewritten to it, and
// setup creates the tables its statements name and the rows the login reads. The corpus's
// database host is never contacted.
type corpusSQL struct {
	adapter string
	setup   []string
	// writesURL says that the corpus's URL names a Worklight property (${...}), which Realmgate
	// does not substitute: the copy writes the URL as an operator would, and the login table says
	// so.
	writesURL bool
}

var (
	sqlURLElement      = regexp.MustCompile(`<url>[^<]*</url>`)
	sqlUserElement     = regexp.MustCompile(`<user>[^<]*</user>`)
	sqlPasswordElement = regexp.MustCompile(`<password>[^<]*</password>`)
)

// localSQLAdapters starts a MariaDB for the copy at dir and points each of sqls' adapters at a
// fresh database of it, set up with its statements.
func localSQLAdapters(t *testing.T, dir string, sqls []corpusSQL) {
	t.Helper()
	if len(sqls) == 0 {
		return
	}
	server := mysqltest.Start(t)
	ctx := context.Background()
	for _, s := range sqls {
		db := server.NewDatabase(t)
		for _, q := range s.setup {
			if err := server.Exec(ctx, db, q); err != nil {
				t.Fatalf("%s: %s: %v", s.adapter, q, err)
			}
		}
		f := filepath.Join(dir, "adapters", s.adapter, s.adapter+".xml")
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		x := string(b)
		if got := strings.Contains(x, "<url>${"); got != s.writesURL {
			t.Fatalf("%s: its URL names a Worklight property: %v, want %v", s.adapter, got, s.writesURL)
		}
		x = sqlURLElement.ReplaceAllLiteralString(x, "<url>"+server.JDBCURL(db)+"</url>")
		x = sqlUserElement.ReplaceAllLiteralString(x, "<user>"+mysqltest.User+"</user>")
		x = sqlPasswordElement.ReplaceAllLiteralString(x, "<password>"+mysqltest.Password+"</password>")
		if err := os.WriteFile(f, []byte(x), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// writtenDataSources are the SQL adapters whose URL the copy of tc writes (corpusSQL.writesURL):
// without it they keep the project from loading.
func (tc corpusLogin) writtenDataSources() []string {
	var out []string
	for _, s := range tc.sql {
		if s.writesURL {
			out = append(out, s.adapter)
		}
	}
	return out
}

// initFirst is a corpusLogin.prepare that starts the app (its environment's security test) before
// the login, as the app does: DiaryMySQL's procedures keep the default web security test, which
// WL.Server.invokeProcedure does not challenge for, so the session passes it at init.
func initFirst(params ...any) func(context.Context, *client.Client) ([]any, error) {
	return func(ctx context.Context, c *client.Client) ([]any, error) {
		if _, err := c.Init(ctx); err != nil {
			return nil, fmt.Errorf("init: %w", err)
		}
		return params, nil
	}
}
