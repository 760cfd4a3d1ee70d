package js_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/realmgate/realmgate/adapters"
	"github.com/realmgate/realmgate/adapters/adaptertest"
	"github.com/realmgate/realmgate/adapters/js"
	"github.com/realmgate/realmgate/adapters/sqlsource"
	"github.com/realmgate/realmgate/internal/corpustest"
	"github.com/realmgate/realmgate/internal/mysqltest"
)

var (
	urlRE         = regexp.MustCompile(`<url>\s*([^<]*?)\s*</url>`)
	driverClassRE = regexp.MustCompile(`<driverClass>\s*([^<]*?)\s*</driverClass>`)
)

// sqlCorpusCases are the corpus's SQL adapters whose data source the host serves (MySQL) and
// whose scripts use only supported APIs: each runs one procedure, unchanged, against a local
// MariaDB where the test created the tables its statements name (the data source's host is
// rewritten to 127.0.0.1; no corpus host is contacted).
var sqlCorpusCases = []struct {
	adapter   string // project/adapters/NAME
	setup     []string
	procedure string
	params    []any
	want      string
}{
	{"voidabhi__PizzaDeliveryApp/adapters/user",
		[]string{"CREATE TABLE customer (ctid INT PRIMARY KEY, ctname VARCHAR(64), ctpwd VARCHAR(64), ctphn VARCHAR(16))"},
		"procedure3", []any{7, "ann", "pw", "555"},
		`{"isSuccessful":true,"updateStatementResult":{"updateCount":1}}`},
	{"voidabhi__PizzaDeliveryApp/adapters/order",
		[]string{"CREATE TABLE pizza (pid INT PRIMARY KEY, pname VARCHAR(32), pdesp VARCHAR(64), pscost INT, pmcost INT, plcost INT)",
			"INSERT INTO pizza VALUES (1, 'margherita', 'tomato', 5, 7, 9)",
			"CREATE PROCEDURE storedProcedure2(IN p VARCHAR(32)) SELECT pid, pname FROM pizza WHERE pname = p"},
		"procedure2", []any{"margherita"},
		`{"isSuccessful":true,"resultSet":[{"pid":1,"pname":"margherita"}]}`},
	{"voidabhi__PizzaDeliveryApp/adapters/notifications",
		[]string{"CREATE TABLE notifications (nid INT PRIMARY KEY, ntext VARCHAR(64), created DATETIME)",
			"INSERT INTO notifications VALUES (1, 'oven hot', '2026-12-07 10:00:00'), (2, 'delivered', NULL)"},
		"procedure3", []any{1},
		`{"isSuccessful":true,"resultSet":[{"created":"2026-12-07T10:00:00Z","nid":1,"ntext":"oven hot"}]}`},
	{"hasanbasrirg__HyJek/adapters/SqlAdapter",
		[]string{"CREATE TABLE accounttransactions (transactionId INT PRIMARY KEY, fromAccount VARCHAR(16), toAccount VARCHAR(16), transactionDate DATE, transactionAmount DECIMAL(10,2), transactionType VARCHAR(8))",
			"INSERT INTO accounttransactions VALUES (1, '12345', '777', '2026-01-02', 10.50, 'cash'), (2, '888', '999', '2026-01-03', 1, 'x')"},
		"getAccountTransactions1", []any{"12345"},
		`{"isSuccessful":true,"resultSet":[{"fromAccount":"12345","toAccount":"777","transactionAmount":10.5,"transactionDate":"2026-01-02T00:00:00Z","transactionId":1,"transactionType":"cash"}]}`},
	{"gopi014__EPSML/adapters/Validate",
		[]string{"CREATE TABLE user_name (id INT PRIMARY KEY, intranet_id VARCHAR(64), emp_name VARCHAR(64))",
			"CREATE TABLE user_team (team VARCHAR(16), emp_id INT)",
			"INSERT INTO user_name VALUES (3, 'ann@example.com', 'Ann')", "INSERT INTO user_team VALUES ('blue', 3)"},
		"validate", []any{"ann@example.com"},
		`{"isSuccessful":true,"resultSet":[{"emp_id":3,"team":"blue"}]}`},
	{"madel0093__Diary/adapters/DiaryMySQL",
		[]string{"CREATE TABLE User (idUser INT PRIMARY KEY, name VARCHAR(32), password VARCHAR(32), email VARCHAR(64), birth DATE, idGeneralUser INT)",
			"INSERT INTO User VALUES (1, 'ann', 'pw', 'ann@example.com', NULL, 11)"},
		"findUser", []any{"ann@example.com", "pw"},
		`{"isSuccessful":true,"resultSet":[{"birth":null,"email":"ann@example.com","idGeneralUser":11,"idUser":1,"name":"ann","password":"pw"}]}`},
}

// TestSQLCorpus runs sqlCorpusCases.
func TestSQLCorpus(t *testing.T) {
	if testing.Short() {
		t.Skip("starts MariaDB")
	}
	if underRace {
		// As TestCorpus: the scripts run in the guest, which the race detector does not see; the
		// host's side of a SQL call is the one TestSQLAdapter runs under it.
		t.Skip("the corpus's SQL adapters run without the race detector")
	}
	corpus := filepath.Join("..", corpustest.Dir)
	if _, err := os.Stat(corpus); err != nil {
		t.Skipf("no Worklight corpus at %s", corpus)
	}
	server := mysqltest.Start(t)
	engine := engineModule(t)
	cache := adaptertest.CompilationCacheDir(t)
	ctx := context.Background()
	ran := 0
	for _, tc := range sqlCorpusCases {
		t.Run(tc.adapter, func(t *testing.T) {
			dir := filepath.Join(corpus, filepath.FromSlash(tc.adapter))
			name := filepath.Base(dir)
			xml, err := os.ReadFile(filepath.Join(dir, name+".xml"))
			if err != nil {
				t.Fatal(err)
			}
			xml = xmlCommentRE.ReplaceAll(xml, nil)
			m, d := urlRE.FindSubmatch(xml), driverClassRE.FindSubmatch(xml)
			if m == nil || d == nil {
				t.Fatalf("%s.xml names no <url> and <driverClass>", name)
			}
			target, err := sqlsource.Check(sqlsource.Spec{URL: string(m[1]), DriverClass: string(d[1])})
			if err != nil || target.Dialect != sqlsource.MySQL {
				t.Fatalf("the corpus's data source %s: %v, %v", m[1], target, err)
			}
			// The corpus's database on its host becomes a fresh database on 127.0.0.1.
			db := server.NewDatabase(t)
			for _, q := range tc.setup {
				if err := server.Exec(ctx, db, q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			src, err := sqlsource.Open(sqlsource.Spec{URL: "jdbc:mysql://127.0.0.1:" + strconv.Itoa(server.Port) + "/" + db,
				DriverClass: string(d[1]), User: mysqltest.User, Password: mysqltest.Password}, sqlsource.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			a, err := adapters.Open(ctx, adapters.Config{Name: name, Kind: js.Kind, Module: engine, Script: filepath.Join(dir, name+"-impl.js"),
				Procedures: declaredProcedures(t, filepath.Join(dir, name+".xml")), SQL: src, CacheDir: cache,
				Limits: adapters.Limits{Instances: 1, CallTimeout: 5 * time.Second}})
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close(ctx)
			in, _ := json.Marshal(map[string]any{"parameters": tc.params})
			out, err := a.Call(ctx, tc.procedure, in)
			if err != nil {
				t.Fatal(err)
			}
			var got, want any
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatal(err)
			}
			json.Unmarshal([]byte(tc.want), &want)
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("%s: (-want +got)\n%s", tc.procedure, d)
				return
			}
			ran++
		})
	}
	t.Logf("%d of the corpus's SQL adapters ran a procedure on a local MariaDB", ran)
}
