package js_test

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/realmgate/realmgate/adapters"
	"github.com/realmgate/realmgate/adapters/sqlsource"
	"github.com/realmgate/realmgate/internal/mysqltest"
	"github.com/realmgate/realmgate/store/postgres/pgtest"
)

// sqlScript is a Worklight SQL adapter: statements created at the top level, run by procedures
// with parameters. SLEEP is replaced by the database's slow statement.
const sqlScript = `
var byName = WL.Server.createSQLStatement("SELECT id, name FROM accounts WHERE name = ?");
var credit = WL.Server.createSQLStatement("UPDATE accounts SET balance = balance + ? WHERE id = ?");
var all = WL.Server.createSQLStatement("SELECT id FROM accounts ORDER BY id");
var slow = WL.Server.createSQLStatement("SLEEP");
function find(name) { return WL.Server.invokeSQLStatement({preparedStatement: byName, parameters: [name]}); }
function pay(amount, id) { return WL.Server.invokeSQLStatement({preparedStatement: credit, parameters: [amount, id]}); }
function list() { return WL.Server.invokeSQLStatement({preparedStatement: all}); }
function sleep() { return WL.Server.invokeSQLStatement({preparedStatement: slow, parameters: []}); }
function account(id) { return WL.Server.invokeSQLStoredProcedure({procedure: "get_account", parameters: [id]}); }
function copied(name) {
	return WL.Server.invokeSQLStatement({preparedStatement: JSON.parse(JSON.stringify(byName)), parameters: [name]});
}
var create = WL.Server.createSQLStatement; // the load's scan sees no call in a function: the engine refuses it
function late(name) {
	var s = create("SELECT id FROM accounts WHERE name = '" + name + "'");
	return WL.Server.invokeSQLStatement({preparedStatement: s, parameters: []});
}
function forged() { return WL.Server.invokeSQLStatement({preparedStatement: {"realmgate.sqlStatement": 99}, parameters: []}); }
`

// sqlDatabase is a database the script runs against.
type sqlDatabase struct {
	name      string
	source    func(t *testing.T) (sqlsource.Spec, func(q string))
	sleep     string
	procedure string
}

var sqlDatabases = []sqlDatabase{
	{
		name: "sqlite",
		source: func(t *testing.T) (sqlsource.Spec, func(string)) {
			spec := sqlsource.Spec{URL: "jdbc:sqlite:bank.db", Dir: t.TempDir()}
			src, err := sqlsource.Open(spec, sqlsource.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { src.Close() })
			return spec, func(q string) {
				if _, err := src.DB().Exec(q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
		},
		sleep: "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) SELECT count(*) FROM c",
	},
	{
		name: "postgresql",
		source: func(t *testing.T) (sqlsource.Spec, func(string)) {
			c := pgtest.Start(t)
			spec := sqlsource.Spec{URL: "jdbc:postgresql://127.0.0.1:" + strconv.Itoa(c.Port) + "/postgres?sslmode=disable",
				User: pgtest.User, Password: pgtest.Password}
			return spec, func(q string) {
				if err := c.Exec(context.Background(), "postgres", q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
		},
		sleep:     "SELECT pg_sleep(10)",
		procedure: "CREATE FUNCTION get_account(p integer) RETURNS TABLE(id integer, name text) AS $$ SELECT id, name FROM accounts WHERE id = p $$ LANGUAGE sql",
	},
	{
		name: "mysql",
		source: func(t *testing.T) (sqlsource.Spec, func(string)) {
			s := mysqltest.Start(t)
			db := s.NewDatabase(t)
			spec := sqlsource.Spec{URL: s.JDBCURL(db), DriverClass: "com.mysql.jdbc.Driver", User: mysqltest.User, Password: mysqltest.Password}
			return spec, func(q string) {
				if err := s.Exec(context.Background(), db, q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
		},
		sleep:     "SELECT SLEEP(10)",
		procedure: "CREATE PROCEDURE get_account(IN p INT) SELECT id, name FROM accounts WHERE id = p",
	},
}

// TestSQLAdapter runs a Worklight SQL adapter's script, unchanged, on each database: the
// statements the top level created run with the procedures' parameters as bound values.
func TestSQLAdapter(t *testing.T) {
	if testing.Short() {
		t.Skip("starts databases")
	}
	for _, db := range sqlDatabases {
		t.Run(db.name, func(t *testing.T) {
			spec, setup := db.source(t)
			setup("CREATE TABLE accounts (id INTEGER PRIMARY KEY, name VARCHAR(64) NOT NULL, balance INTEGER)")
			setup("INSERT INTO accounts VALUES (1, 'ann', 10), (2, 'bob', 20), (3, 'cy', 30), (4, 'di', 40)")
			if db.procedure != "" {
				setup(db.procedure)
			}
			src, err := sqlsource.Open(spec, sqlsource.Options{MaxRows: 3})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { src.Close() })
			a, err := openScript(t, strings.Replace(sqlScript, "SLEEP", db.sleep, 1),
				adapters.Config{Name: "Bank", SQL: src, Limits: adapters.Limits{CallTimeout: 2 * time.Second}})
			if err != nil {
				t.Fatal(err)
			}
			call := func(proc string, params ...any) (map[string]any, error) {
				in, _ := json.Marshal(map[string]any{"parameters": params})
				out, err := a.Call(context.Background(), proc, in)
				if err != nil {
					return nil, err
				}
				var got map[string]any
				if err := json.Unmarshal(out, &got); err != nil {
					t.Fatalf("%s: %s: %v", proc, out, err)
				}
				return got, nil
			}
			mustCall := func(proc string, params ...any) map[string]any {
				t.Helper()
				got, err := call(proc, params...)
				if err != nil {
					t.Fatalf("%s: %v", proc, err)
				}
				return got
			}
			rows := func(rs ...map[string]any) map[string]any {
				set := []any{}
				for _, r := range rs {
					set = append(set, r)
				}
				return map[string]any{"isSuccessful": true, "resultSet": set}
			}

			if d := cmp.Diff(rows(map[string]any{"id": 2.0, "name": "bob"}), mustCall("find", "bob")); d != "" {
				t.Errorf("find: (-want +got)\n%s", d)
			}
			if d := cmp.Diff(rows(map[string]any{"id": 1.0, "name": "ann"}), mustCall("copied", "ann")); d != "" {
				t.Errorf("a JSON copy of a statement: (-want +got)\n%s", d)
			}
			// An injection attempt in a parameter stays data: no row has that name.
			if d := cmp.Diff(rows(), mustCall("find", "x' OR '1'='1")); d != "" {
				t.Errorf("injection: (-want +got)\n%s", d)
			}
			want := map[string]any{"isSuccessful": true, "updateStatementResult": map[string]any{"updateCount": 1.0}}
			if d := cmp.Diff(want, mustCall("pay", 5, 1)); d != "" {
				t.Errorf("pay: (-want +got)\n%s", d)
			}
			// The row cap (3): four rows fail, saying so.
			got := mustCall("list")
			if got["isSuccessful"] != false || !strings.Contains(got["errors"].([]any)[0].(string), "more than 3 rows") {
				t.Errorf("list over the cap: %v", got)
			}
			if db.procedure != "" {
				if d := cmp.Diff(rows(map[string]any{"id": 3.0, "name": "cy"}), mustCall("account", 3)); d != "" {
					t.Errorf("stored procedure: (-want +got)\n%s", d)
				}
			}
			// A statement made during a call, from its parameter, is refused: the call fails. (The
			// load refuses a script that calls createSQLStatement in a function; TestSQLStatementInFunction.)
			if _, err := call("late", "x' OR '1'='1"); err == nil || !strings.Contains(err.Error(), "top level") {
				t.Errorf("a statement created in a call: %v", err)
			}
			if _, err := call("forged"); err == nil || !strings.Contains(err.Error(), "not a statement of WL.Server.createSQLStatement") {
				t.Errorf("a forged statement: %v", err)
			}
			// The call's deadline (2s) cuts a 10s statement; the data source serves the next call.
			start := time.Now()
			got, err = call("sleep")
			if took := time.Since(start); took > 5*time.Second {
				t.Errorf("the slow statement ran %v past a 2s deadline", took)
			}
			if err == nil && (got["isSuccessful"] != false || !strings.Contains(got["errors"].([]any)[0].(string), "deadline")) {
				t.Errorf("slow statement: %v", got)
			}
			if d := cmp.Diff(rows(map[string]any{"id": 4.0, "name": "di"}), mustCall("find", "di")); d != "" {
				t.Errorf("after the deadline: (-want +got)\n%s", d)
			}
		})
	}
}

// TestSQLWithoutDataSource: an adapter whose XML names no data source loads (its statements
// are created at the top level) and its SQL calls fail with a message that says what to add.
func TestSQLWithoutDataSource(t *testing.T) {
	a, err := openScript(t, sqlScript, adapters.Config{Name: "Bank"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = a.Call(context.Background(), "find", json.RawMessage(`{"parameters":["ann"]}`))
	if err == nil || !strings.Contains(err.Error(), "no data source") {
		t.Errorf("got %v, want a failure saying the adapter has no data source", err)
	}
}

// TestSQLCallsPerCall: a procedure call makes at most 256 SQL calls; the next one fails the
// call, and the next procedure call starts afresh.
func TestSQLCallsPerCall(t *testing.T) {
	src, err := sqlsource.Open(sqlsource.Spec{URL: "jdbc:sqlite::memory:"}, sqlsource.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	a, err := openScript(t, `
var one = WL.Server.createSQLStatement("SELECT 1 AS n");
function loop(n) {
	for (var i = 0; i < n; i++) { WL.Server.invokeSQLStatement({preparedStatement: one, parameters: []}); }
	return {calls: n};
}`, adapters.Config{Name: "Loop", SQL: src})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Call(context.Background(), "loop", json.RawMessage(`{"parameters":[256]}`)); err != nil {
		t.Fatalf("256 calls: %v", err)
	}
	if _, err := a.Call(context.Background(), "loop", json.RawMessage(`{"parameters":[257]}`)); err == nil || !strings.Contains(err.Error(), "too many calls") {
		t.Fatalf("257 calls: %v, want a failure saying too many calls", err)
	}
	if _, err := a.Call(context.Background(), "loop", json.RawMessage(`{"parameters":[1]}`)); err != nil {
		t.Fatalf("the next call: %v", err)
	}
}

// TestSQLStatementInFunction: a script that creates a statement inside a function does not load,
// at the line of the call.
func TestSQLStatementInFunction(t *testing.T) {
	_, err := openScript(t, "function f(name) {\n  return WL.Server.createSQLStatement(\"SELECT 1 FROM t WHERE n = '\" + name + \"'\");\n}\n", adapters.Config{Name: "Late"})
	if err == nil || !strings.Contains(err.Error(), "Late-impl.js:2:10: WL.Server.createSQLStatement is refused: it is called inside a function") {
		t.Fatalf("got %v, want a load error at Late-impl.js:2:10", err)
	}
}
