package sqlsource_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/realmgate/realmgate/adapters/sqlsource"
)

// BenchmarkDo measures Source.Do (decode the request, check the statement, run it, map the row
// to JSON) against its peer in the same run, the same query through database/sql with a Scan
// into Go values: the ratio do/direct is the price of the host's checks and JSON. SQLite, one
// row of a 1000-row table by primary key; the two alternate, each call timed on its own.
//
//	go test -run '^$' -bench Do -benchtime 20000x ./adapters/sqlsource/
func BenchmarkDo(b *testing.B) {
	src, err := sqlsource.Open(sqlsource.Spec{URL: "jdbc:sqlite:" + filepath.Join(b.TempDir(), "bench.db")}, sqlsource.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	db := src.DB()
	if _, err := db.Exec("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, n INTEGER)"); err != nil {
		b.Fatal(err)
	}
	for i := range 1000 {
		if _, err := db.Exec("INSERT INTO t VALUES (?, ?, ?)", i, fmt.Sprintf("name-%d", i), i*7); err != nil {
			b.Fatal(err)
		}
	}
	ctx := context.Background()
	req := []byte(`{"statement": "SELECT id, name, n FROM t WHERE id = ?", "parameters": [421]}`)
	var do, direct time.Duration
	n := 0
	for b.Loop() {
		start := time.Now()
		if out := src.Do(ctx, req); len(out) < 40 {
			b.Fatalf("%s", out)
		}
		do += time.Since(start)
		start = time.Now()
		var id, v int64
		var name string
		if err := db.QueryRowContext(ctx, "SELECT id, name, n FROM t WHERE id = ?", 421).Scan(&id, &name, &v); err != nil {
			b.Fatal(err)
		}
		direct += time.Since(start)
		n++
	}
	b.ReportMetric(float64(do.Microseconds())/float64(n), "do-µs/op")
	b.ReportMetric(float64(direct.Microseconds())/float64(n), "direct-µs/op")
	b.ReportMetric(float64(do)/float64(direct), "do/direct")
}
