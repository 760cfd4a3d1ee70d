package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/realmgate/realmgate/adapters"
	"github.com/realmgate/realmgate/adapters/sqlsource"
	"github.com/realmgate/realmgate/project"
)

// DataSourceSettings is one data source of hostd.yaml's dataSources, under the JNDI name SQL
// adapters give it in <dataSourceJNDIName> (an application server's name for a pool, which
// Realmgate maps here):
//
//	dataSources:
//	  jdbc/bhd: {url: "jdbc:postgresql://db.example:5432/bhd?sslmode=verify-full", user: bhd, passwordFile: /etc/realmgate/bhd.password}
type DataSourceSettings struct {
	// URL is the JDBC URL (jdbc:postgresql:, jdbc:mysql:, jdbc:sqlite: with an absolute path
	// outside the data folder).
	URL  string `yaml:"url"`
	User string `yaml:"user"`
	// PasswordFile holds the password, readable by hostd's user alone (like every secret file).
	PasswordFile string `yaml:"passwordFile"`
	// MaxConns bounds the connections of each adapter that names the data source (default 4).
	MaxConns int `yaml:"maxConns"`
	// MaxRows caps the rows of one result (default 1000).
	MaxRows int `yaml:"maxRows"`
}

// errUnmappedSkipped: the checker of hostd check, which reads no hostd.yaml, leaves JNDI names
// to the daemon.
var errUnmappedSkipped = errors.New("not checked")

// dataSources checks and opens the data sources of SQL adapters (project.DataSourceChecker).
// Without settings (hostd check), it checks the XML's JDBC URLs and leaves JNDI names alone.
type dataSources struct {
	mapped map[string]DataSourceSettings
	data   string // the data folder, where no adapter's SQLite file may be
	names  bool   // whether JNDI names must be mapped
}

// DataSourceChecker is the checker hostd check gives the project loader: JDBC URLs and driver
// classes as the daemon would open them (the daemon also checks JNDI names against
// hostd.yaml's dataSources).
func DataSourceChecker() project.DataSourceChecker { return dataSources{} }

// CheckDataSource implements project.DataSourceChecker.
func (d dataSources) CheckDataSource(_ string, ds *project.DataSource) error {
	spec, _, err := d.spec(ds)
	if errors.Is(err, errUnmappedSkipped) {
		return nil
	}
	if err != nil {
		return err
	}
	_, err = sqlsource.Check(spec)
	return err
}

// spec is the data source's specification and its hostd.yaml settings (zero for the XML's).
func (d dataSources) spec(ds *project.DataSource) (sqlsource.Spec, DataSourceSettings, error) {
	if ds.JNDIName == "" {
		return sqlsource.Spec{URL: ds.URL, DriverClass: ds.DriverClass, User: ds.User, Password: ds.Password, Dir: ds.Dir}, DataSourceSettings{}, nil
	}
	m, ok := d.mapped[ds.JNDIName]
	if !ok {
		if !d.names {
			return sqlsource.Spec{}, DataSourceSettings{}, errUnmappedSkipped
		}
		known := make([]string, 0, len(d.mapped))
		for k := range d.mapped {
			known = append(known, k)
		}
		sort.Strings(known)
		return sqlsource.Spec{}, DataSourceSettings{}, fmt.Errorf("the JNDI name %q is not mapped: add it to hostd.yaml's dataSources (%q: {url: jdbc:..., user: ..., passwordFile: ...}); mapped: %s",
			ds.JNDIName, ds.JNDIName, orNone(known))
	}
	// The JNDI name wins over a <dataSourceDefinition> beside it, driver class included.
	return sqlsource.Spec{URL: m.URL, User: m.User, PasswordFile: m.PasswordFile}, m, nil
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

// insideData refuses a SQLite file in the daemon's data folder, which holds its own store
// (sessions, keys, audit): an adapter reads its own database, never the daemon's.
func (d dataSources) insideData(spec sqlsource.Spec) error {
	t, err := sqlsource.Check(spec)
	if err != nil || t.Dialect != sqlsource.SQLite || d.data == "" || t.Database == ":memory:" {
		return err
	}
	data, err := filepath.Abs(d.data)
	if err != nil {
		return err
	}
	// The file is checked where its links lead: a project may ship ledger.db as a link to the
	// daemon's store. A file that exists is resolved whole; one that does not yet, through its
	// folder (SQLite creates it there). A link whose target does not exist is refused, since
	// SQLite would create the target wherever it points.
	db := t.Database
	if fi, err := os.Lstat(db); err == nil {
		r, err := filepath.EvalSymlinks(db)
		if err != nil {
			if fi.Mode()&os.ModeSymlink != 0 {
				return fmt.Errorf("the SQLite file %s is a symbolic link whose target cannot be resolved: %w", t.Database, err)
			}
		} else {
			db = r
		}
	} else if r, err := filepath.EvalSymlinks(filepath.Dir(db)); err == nil {
		db = filepath.Join(r, filepath.Base(db))
	}
	if r, err := filepath.EvalSymlinks(data); err == nil {
		data = r
	}
	if rel, err := filepath.Rel(data, db); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return fmt.Errorf("the SQLite file %s is in the daemon's data folder %s, which holds the daemon's own state: put the adapter's database elsewhere", t.Database, d.data)
	}
	return nil
}

// open opens the data source of adapter a for cfg, or returns the diagnostic that says why not.
func (d dataSources) open(a *project.Adapter, cfg adapters.Config, log *slog.Logger) (*sqlsource.Source, *project.Diagnostic) {
	spec, m, err := d.spec(a.DataSource)
	if err == nil {
		err = d.insideData(spec)
	}
	if err == nil {
		var src *sqlsource.Source
		src, err = sqlsource.Open(spec, sqlsource.Options{MaxConns: m.MaxConns, MaxRows: m.MaxRows,
			MaxAnswer: cfg.Limits.WithDefaults().MaxOutput, Logger: log.With("adapter", a.Name)})
		if err == nil {
			return src, nil
		}
	}
	return nil, &project.Diagnostic{Pos: a.DataSource.Pos, Severity: project.Error,
		Message: fmt.Sprintf("adapter %s: its data source cannot be opened: %v", a.Name, err)}
}

// withDataSource is an adapter whose data source the daemon opened for it: closing the adapter
// (a reload, the daemon's stop) closes the pool after the adapter's last call.
type withDataSource struct {
	adapters.Adapter
	src *sqlsource.Source
}

var (
	_ adapters.Concurrency = withDataSource{}
	_ adapters.Initializer = withDataSource{}
)

func (w withDataSource) Concurrency() int {
	if c, ok := w.Adapter.(adapters.Concurrency); ok {
		return c.Concurrency()
	}
	return 0
}

func (w withDataSource) CallInit(ctx context.Context, init adapters.Init, procedure string, input json.RawMessage) (json.RawMessage, error) {
	return adapters.CallInit(ctx, w.Adapter, init, procedure, input)
}

func (w withDataSource) Close(ctx context.Context) error {
	err := w.Adapter.Close(ctx)
	return errors.Join(err, w.src.Close())
}
