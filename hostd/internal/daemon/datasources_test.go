package daemon

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/realmgate/realmgate/adapters"
	"github.com/realmgate/realmgate/adapters/sqlsource"
	"github.com/realmgate/realmgate/project"
)

type closingAdapter struct {
	adapters.Adapter
	closed bool
}

func (c *closingAdapter) Close(context.Context) error { c.closed = true; return nil }

// TestWithDataSourceClosesPool: closing an adapter (a reload, the daemon's stop) closes the
// data source the daemon opened for it.
func TestWithDataSourceClosesPool(t *testing.T) {
	src, err := sqlsource.Open(sqlsource.Spec{URL: "jdbc:sqlite:" + filepath.Join(t.TempDir(), "x.db")}, sqlsource.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := src.DB().Ping(); err != nil {
		t.Fatal(err)
	}
	inner := &closingAdapter{}
	if err := (withDataSource{Adapter: inner, src: src}).Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !inner.closed {
		t.Error("the adapter was not closed")
	}
	if err := src.DB().Ping(); err == nil {
		t.Error("the data source's pool is still open")
	}
	var got map[string]any
	json.Unmarshal(src.Do(context.Background(), []byte(`{"statement": "SELECT 1", "parameters": []}`)), &got)
	if got["isSuccessful"] != false {
		t.Errorf("a call after the close: %v", got)
	}
}

// TestDataSourceSpec: the XML's definition, a hostd.yaml JNDI mapping (which wins over the XML's
// driver class), and an unmapped name, which names the name and the setting.
func TestDataSourceSpec(t *testing.T) {
	d := dataSources{mapped: map[string]DataSourceSettings{"jdbc/bhd": {URL: "jdbc:sqlite:/srv/bhd.db", PasswordFile: "/p"}}, data: "/data", names: true}
	spec, _, err := d.spec(&project.DataSource{JNDIName: "jdbc/bhd", DriverClass: "com.ibm.db2.jcc.DB2Driver", URL: "jdbc:db2://h/x"})
	if err != nil || spec.URL != "jdbc:sqlite:/srv/bhd.db" || spec.DriverClass != "" || spec.Dir != "" || spec.PasswordFile != "/p" {
		t.Errorf("JNDI: %+v, %v", spec, err)
	}
	if err := d.CheckDataSource("A", &project.DataSource{JNDIName: "jdbc/bhd", DriverClass: "com.ibm.db2.jcc.DB2Driver"}); err != nil {
		t.Errorf("a mapped name with the XML's DB2 class: %v", err)
	}
	_, _, err = d.spec(&project.DataSource{JNDIName: "jdbc/other"})
	if err == nil || !strings.Contains(err.Error(), `"jdbc/other" is not mapped`) || !strings.Contains(err.Error(), "dataSources") || !strings.Contains(err.Error(), "mapped: jdbc/bhd") {
		t.Errorf("unmapped: %v", err)
	}
	// hostd check reads no hostd.yaml: it leaves JNDI names to the daemon, and checks URLs.
	if err := DataSourceChecker().CheckDataSource("A", &project.DataSource{JNDIName: "jdbc/other"}); err != nil {
		t.Errorf("hostd check on a JNDI name: %v", err)
	}
	if err := DataSourceChecker().CheckDataSource("A", &project.DataSource{URL: "jdbc:db2://h/x"}); err == nil {
		t.Error("hostd check accepts a DB2 URL")
	}
}

// TestDataSourceNotInDataFolder: an adapter's SQLite file may not be in the daemon's data
// folder, where the daemon's own store is.
func TestDataSourceNotInDataFolder(t *testing.T) {
	data := t.TempDir()
	d := dataSources{data: data, names: true}
	proj := t.TempDir()
	store := filepath.Join(data, "realmgate.db")
	if err := os.WriteFile(store, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(proj, "own.db"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for name, target := range map[string]string{
		"ledger.db":   store,                            // a link to the daemon's store
		"chain.db":    filepath.Join(proj, "ledger.db"), // a link to that link
		"dangling.db": filepath.Join(data, "new.db"),    // SQLite would create new.db in data
		"fine.db":     filepath.Join(proj, "own.db"),    // a link that stays out
	} {
		if err := os.Symlink(target, filepath.Join(proj, name)); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		url  string
		want string // "" when accepted
	}{
		{"jdbc:sqlite:" + filepath.Join(data, "realmgate.db"), "the daemon's own state"},
		{"jdbc:sqlite:" + filepath.Join(data, "sub", "..", "realmgate.db"), "the daemon's own state"},
		{"jdbc:sqlite:" + filepath.Join(proj, "ledger.db"), "the daemon's own state"},
		{"jdbc:sqlite:" + filepath.Join(proj, "chain.db"), "the daemon's own state"},
		{"jdbc:sqlite:" + filepath.Join(proj, "dangling.db"), "symbolic link whose target cannot be resolved"},
		{"jdbc:sqlite:" + filepath.Join(proj, "fine.db"), ""},
		{"jdbc:sqlite:" + filepath.Join(t.TempDir(), "app.db"), ""},
		{"jdbc:sqlite::memory:", ""},
	} {
		err := d.insideData(sqlsource.Spec{URL: tc.url})
		got := ""
		if err != nil {
			got = err.Error()
		}
		if (tc.want == "") != (err == nil) || !strings.Contains(got, tc.want) {
			t.Errorf("%s: got %q, want %q", tc.url, got, tc.want)
		}
	}
	// hostd.yaml's SQLite paths are absolute: a relative one starts from nowhere.
	spec, _, err := dataSources{mapped: map[string]DataSourceSettings{"jdbc/x": {URL: "jdbc:sqlite:realmgate.db"}}, data: data, names: true}.spec(&project.DataSource{JNDIName: "jdbc/x"})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.insideData(spec); err == nil || !strings.Contains(err.Error(), "relative SQLite path") {
		t.Errorf("a relative path in hostd.yaml: %v", err)
	}
}
