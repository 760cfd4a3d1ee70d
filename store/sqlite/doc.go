// Package sqlite is the embedded store: a store.Store on one SQLite database file, with no
// server to run. It is the default store of a single daemon; several daemons behind a load
// balancer share a PostgreSQL store instead.
//
// It uses modernc.org/sqlite (SQLite compiled to pure Go: no cgo, so the daemon stays a static
// binary) through database/sql:
//
//   - WAL journal mode: readers see the last commit and never wait for the writer;
//   - one writer connection, so writes queue in the process rather than fight over SQLite's
//     write lock, and a small pool of query-only reader connections;
//   - synchronous=NORMAL by default, which keeps every commit across a kill -9 of the process
//     but not necessarily across a power cut; WithDurability(PowerLoss) keeps it across both
//     (see Durability for the trade);
//   - busy_timeout, for another process on the same file; foreign keys on; STRICT tables;
//   - units of work (Update) committed in groups: a committer goroutine runs the units waiting
//     when it is free, each inside its own SAVEPOINT of one transaction, and commits once, so
//     under load one commit carries many requests; a unit that fails is rolled back to its
//     savepoint alone. A unit that returned nil survives a kill -9 as any commit does (and, at
//     the default durability, may be lost with the last commits on a power cut or an OS crash,
//     never in part);
//   - statements prepared once, every value a parameter; the caller's context cancels a wait
//     for the writer and interrupts a running statement (except GetSession's read of one row,
//     which every request makes: it checks the context before it reads, and does not pay for
//     watching it during a read of microseconds);
//   - a schema_version table and forward migrations applied at Open in one transaction; a
//     database from a newer build is refused with ErrSchemaTooNew and left untouched.
//
// Times are stored as integer microseconds since the Unix epoch and returned in UTC, the
// precision the store contract names. Open(ctx, Memory) gives a private in-memory database for
// tests that do not need a file.
//
// The package passes the conformance suite in store/storetest; its own tests add a crash test
// (a child process killed with SIGKILL mid-write, every acknowledged write found afterwards),
// migration tests, a fuzz target for audit details, and benchmarks that compare each hot
// method with the same statement issued through bare database/sql.
package sqlite
