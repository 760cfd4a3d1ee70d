package js_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/realmgate/realmgate/adapters"
	"github.com/realmgate/realmgate/adapters/sqlsource"
)

// BenchmarkSQL measures a JavaScript procedure that runs one parameterized query on SQLite
// (invokeSQLStatement, one row of a 1000-row table by primary key) against its peer in the same
// run, a procedure of the same adapter that returns a constant of the same shape without SQL:
// the ratio sql/nosql is the price of a statement through the host. The row is the same; the
// database is a file in a temporary folder.
//
//	go test -run '^$' -bench SQL -benchtime 2000x ./adapters/js/
func BenchmarkSQL(b *testing.B) {
	src, err := sqlsource.Open(sqlsource.Spec{URL: "jdbc:sqlite:" + filepath.Join(b.TempDir(), "bench.db")}, sqlsource.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	if _, err := src.DB().Exec("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, n INTEGER)"); err != nil {
		b.Fatal(err)
	}
	for i := range 1000 {
		if _, err := src.DB().Exec("INSERT INTO t VALUES (?, ?, ?)", i, fmt.Sprintf("name-%d", i), i*7); err != nil {
			b.Fatal(err)
		}
	}
	a, err := openScript(b, `
var byID = WL.Server.createSQLStatement("SELECT id, name, n FROM t WHERE id = ?");
function query(id) { return WL.Server.invokeSQLStatement({preparedStatement: byID, parameters: [id]}); }
function constant(id) { return {isSuccessful: true, resultSet: [{id: id, name: "name-" + id, n: id * 7}]}; }
`, adapters.Config{Name: "Bench", SQL: src, Limits: adapters.Limits{Instances: 1}})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	in := json.RawMessage(`{"parameters":[421]}`)
	// The two procedures alternate, each call timed on its own, so that the machine's noise
	// falls on both alike.
	var sql, constant time.Duration
	n := 0
	for b.Loop() {
		for _, p := range []struct {
			proc string
			sum  *time.Duration
		}{{"constant", &constant}, {"query", &sql}} {
			start := time.Now()
			if _, err := a.Call(ctx, p.proc, in); err != nil {
				b.Fatal(err)
			}
			*p.sum += time.Since(start)
		}
		n++
	}
	b.ReportMetric(float64(sql.Microseconds())/float64(n), "sql-µs/op")
	b.ReportMetric(float64(constant.Microseconds())/float64(n), "nosql-µs/op")
	b.ReportMetric(float64(sql)/float64(constant), "sql/nosql")
}
