package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/realmgate/realmgate/adapters/sqlsource"
	"github.com/realmgate/realmgate/client"
	"github.com/realmgate/realmgate/hostd/hostdtest"
)

// ledgerScript is a Worklight SQL adapter's -impl.js.
const ledgerScript = `
var byOwner = WL.Server.createSQLStatement("SELECT id, owner, amount FROM entries WHERE owner = ? ORDER BY id");
var add = WL.Server.createSQLStatement("INSERT INTO entries (owner, amount) VALUES (?, ?)");
function entries(owner) { return WL.Server.invokeSQLStatement({preparedStatement: byOwner, parameters: [owner]}); }
function addEntry(owner, amount) { return WL.Server.invokeSQLStatement({preparedStatement: add, parameters: [owner, amount]}); }
`

// ledgerXML is the adapter's XML with the given connection policy body.
func ledgerXML(policy string) []byte {
	return []byte(`<?xml version="1.0" encoding="UTF-8"?>
<wl:adapter name="Ledger" xmlns:wl="http://www.ibm.com/mfp/integration" xmlns:sql="http://www.ibm.com/mfp/integration/sql">
	<displayName>Ledger</displayName>
	<connectivity>
		<connectionPolicy xsi:type="sql:SQLConnectionPolicy" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
` + policy + `
		</connectionPolicy>
	</connectivity>
	<procedure name="entries" securityTest="anonymous"/>
	<procedure name="addEntry" securityTest="anonymous"/>
</wl:adapter>
`)
}

// ledgerDB creates the SQLite database the Ledger adapter reads, outside the project.
func ledgerDB(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ledger.db")
	src, err := sqlsource.Open(sqlsource.Spec{URL: "jdbc:sqlite:" + path}, sqlsource.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	for _, q := range []string{
		"CREATE TABLE entries (id INTEGER PRIMARY KEY, owner TEXT NOT NULL, amount REAL)",
		"INSERT INTO entries (owner, amount) VALUES ('ann', 10), ('bob', 2.5)",
	} {
		if _, err := src.DB().Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

// TestSQLAdapterServed: the daemon opens a SQL adapter's data source, from the XML's
// <dataSourceDefinition> or from a <dataSourceJNDIName> that hostd.yaml maps, and serves its
// procedures over HTTP; a database it has no driver for and an unmapped JNDI name keep it from
// starting, at the XML's line.
func TestSQLAdapterServed(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the JavaScript engine")
	}
	engine := jsEngineModule(t)
	db := ledgerDB(t)
	_, port := localBackend(t, nil)
	files := func(policy, settings string) map[string][]byte {
		f := jsProject(t, port, "development: true\njsEngine: "+engine+"\n"+settings)
		f["adapters/Ledger/Ledger.xml"] = ledgerXML(policy)
		f["adapters/Ledger/Ledger-impl.js"] = []byte(ledgerScript)
		return f
	}
	definition := "\t\t\t<dataSourceDefinition>\n\t\t\t\t<driverClass>org.sqlite.JDBC</driverClass>\n\t\t\t\t<url>jdbc:sqlite:" + db + "</url>\n\t\t\t</dataSourceDefinition>"
	jndi := "\t\t\t<dataSourceJNDIName>jdbc/ledger</dataSourceJNDIName>"

	for _, tc := range []struct{ name, policy, settings string }{
		{"dataSourceDefinition", definition, ""},
		{"dataSourceJNDIName", jndi, "dataSources:\n  jdbc/ledger: {url: \"jdbc:sqlite:" + db + "\"}\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := hostdtest.Start(t, "testdata/jsproject", hostdtest.Options{Files: files(tc.policy, tc.settings)})
			c, err := client.New(client.Config{BaseURL: d.URL, AppID: "JSApp", Environment: "mobilewebapp", AppVersion: "1.0"})
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			if _, err := c.InvokeProcedure(ctx, "Ledger", "addEntry", "cy' OR '1'='1", 7); err != nil {
				t.Fatal(err)
			}
			out, err := c.InvokeProcedure(ctx, "Ledger", "entries", "ann")
			if err != nil {
				t.Fatal(err)
			}
			var got map[string]any
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatal(err)
			}
			want := map[string]any{"isSuccessful": true, "resultSet": []any{map[string]any{"id": 1.0, "owner": "ann", "amount": 10.0}}}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("entries (-want +got)\n%s", d)
			}
			// The injection attempt was stored as data.
			out, _ = c.InvokeProcedure(ctx, "Ledger", "entries", "cy' OR '1'='1")
			if !strings.Contains(string(out), `"amount":7`) {
				t.Errorf("the parameter was not stored as data: %s", out)
			}
		})
	}

	for _, tc := range []struct{ name, policy, settings, line, want string }{
		{"DB2", "\t\t\t<dataSourceDefinition>\n\t\t\t\t<driverClass>com.ibm.db2.jcc.DB2Driver</driverClass>\n\t\t\t\t<url>jdbc:db2://127.0.0.1:50000/SQLDB</url>\n\t\t\t</dataSourceDefinition>",
			"", "Ledger.xml:6", "the JDBC driver com.ibm.db2.jcc.DB2Driver (jdbc:db2) is not supported: IBM DB2 has no pure-Go driver"},
		{"unmapped JNDI name", jndi, "", "Ledger.xml:6", `the JNDI name "jdbc/ledger" is not mapped: add it to hostd.yaml's dataSources`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := hostdtest.Launch("testdata/jsproject", hostdtest.Options{Data: t.TempDir(), Files: files(tc.policy, tc.settings)})
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), tc.line) {
				t.Fatalf("start = %v, want a refusal at %s containing %q", err, tc.line, tc.want)
			}
		})
	}
}

// TestCheckSQLDataSource: hostd check refuses a data source the daemon could not open, at the
// line of the XML that names it, and says why.
func TestCheckSQLDataSource(t *testing.T) {
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS("testdata/jsproject")); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(dir, "adapters/Feed/Feed.xml.tmpl"))
	os.RemoveAll(filepath.Join(dir, "adapters/Feed"))
	for name, body := range map[string][]byte{
		"adapters/Ledger/Ledger.xml":     ledgerXML("\t\t\t<dataSourceDefinition>\n\t\t\t\t<driverClass>com.microsoft.sqlserver.jdbc.SQLServerDriver</driverClass>\n\t\t\t\t<url>jdbc:sqlserver://127.0.0.1;databaseName=x</url>\n\t\t\t</dataSourceDefinition>"),
		"adapters/Ledger/Ledger-impl.js": []byte(ledgerScript),
	} {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, body, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"check", "--config", dir}, &out, &errb); code != 1 {
		t.Fatalf("exit %d, want 1:\n%s%s", code, out.String(), errb.String())
	}
	want := filepath.Join(dir, "adapters", "Ledger", "Ledger.xml") + `:6: error: adapter "Ledger": its data source cannot be opened: the JDBC driver com.microsoft.sqlserver.jdbc.SQLServerDriver (jdbc:sqlserver) is not supported`
	if !strings.Contains(out.String(), want) {
		t.Errorf("output lacks %q:\n%s", want, out.String())
	}
}
