package project

import "strings"

// DataSource is a SQL adapter's database, as its XML names it in
// <connectivity><connectionPolicy xsi:type="sql:SQLConnectionPolicy">: a <dataSourceDefinition>
// (driver class, JDBC URL, user, password) or a <dataSourceJNDIName>, an application server's
// name for a pool, which hostd.yaml maps (dataSources). The model keeps the text; the caller's
// DataSourceChecker (hostd: package adapters/sqlsource) says whether the host can open it.
type DataSource struct {
	Pos         Pos
	JNDIName    string
	DriverClass string
	URL         string
	User        string
	// Password is the XML's <password>: Worklight projects carry it in clear text, and
	// policy lint says so; hostd.yaml's passwordFile is the place for it.
	Password string
	// Dir is the adapter's folder, which a relative jdbc:sqlite: path starts from.
	Dir string
}

// DataSourceChecker checks an adapter's data source at load, without connecting: a database
// the host has no driver for, a URL it cannot map or a JNDI name nothing maps is an error at the
// data source's line. The model imports only the standard library: the caller supplies it in
// LoadOptions.DataSources.
type DataSourceChecker interface {
	CheckDataSource(adapter string, ds *DataSource) error
}

// loadDataSource reads the data source of a SQL connection policy.
func (l *loader) loadDataSource(rel string, a *Adapter, n *node) {
	pos := l.pos(rel, n)
	if a.DataSource != nil {
		l.errorf(pos, "keep one", "adapter %q declares more than one SQL data source", a.Name)
		return
	}
	ds := &DataSource{Pos: pos, JNDIName: strings.TrimSpace(n.childText("dataSourceJNDIName")), Dir: a.Dir}
	if def := n.child("dataSourceDefinition"); def != nil {
		ds.Pos = l.pos(rel, def)
		ds.DriverClass = strings.TrimSpace(def.childText("driverClass"))
		ds.URL = strings.TrimSpace(def.childText("url"))
		ds.User = def.childText("user")
		ds.Password = def.childText("password")
	}
	if ds.JNDIName != "" {
		ds.Pos = l.pos(rel, n.child("dataSourceJNDIName"))
	}
	if ds.JNDIName == "" && ds.URL == "" {
		l.warnf(pos, "add <dataSourceDefinition> with <url>, or <dataSourceJNDIName>", "adapter %q has a SQL connection policy without a data source: its SQL calls fail", a.Name)
		return
	}
	a.DataSource = ds
	if l.opts.DataSources == nil {
		return
	}
	if err := l.opts.DataSources.CheckDataSource(a.Name, ds); err != nil {
		l.errorf(ds.Pos, "", "adapter %q: its data source cannot be opened: %v", a.Name, err)
	}
}

// isSQLPolicy reports whether a <connectionPolicy> is Worklight's SQLConnectionPolicy.
func isSQLPolicy(n *node) bool {
	t, _ := n.attr("type")
	return strings.HasSuffix(t, "SQLConnectionPolicy") || n.child("dataSourceDefinition") != nil || n.child("dataSourceJNDIName") != nil
}
