// Package sqlsource gives Worklight SQL adapters the database connection they name, owned by
// the host: the adapter XML's <dataSourceDefinition> (a JDBC URL, a user, a password) or a
// <dataSourceJNDIName> that hostd.yaml maps to one becomes a bounded database/sql pool, and the
// guest (a JavaScript adapter's WL.Server.invokeSQLStatement, or any wasm guest through the
// realmgate.sql host function) sends JSON requests that the pool runs.
//
// JDBC URLs map to Go drivers: jdbc:postgresql: to pgx, jdbc:mysql: (and jdbc:mariadb:) to
// github.com/go-sql-driver/mysql, jdbc:sqlite: to modernc.org/sqlite. Other databases (DB2,
// SQL Server, Oracle) are refused at load, naming the driver and why.
//
// A statement's text is the script's; its values are parameters and nothing else: only ?
// placeholders (rewritten to $n for PostgreSQL), one statement per call (no text after a
// semicolon), parameters that are JSON scalars. The call's deadline is the statement's timeout,
// a result has at most Options.MaxRows rows (1000 by default; a larger result fails, naming the
// cap), and values map to JSON: numbers, strings, booleans, null, binary data as base64, times
// as RFC 3339.
//
// A connection depends on the data source's specification alone: the PG* variables, ~/.pgpass
// and certificate files that configure hostd's own store are neutralized (pgConfig), SQLite
// connections refuse ATTACH (noAttach), and the drivers bound one protocol message near the
// answer cap (maxMessage).
package sqlsource
