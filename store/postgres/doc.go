// Package postgres is the shared store: a store.Store on PostgreSQL, for several daemons behind
// a load balancer on a database their operators already run.
//
// It uses github.com/jackc/pgx/v5 and its pool (pgxpool):
//
//   - Open takes a DSN (a postgres:// URL or key=value pairs, with libpq's environment
//     variables and ~/.pgpass) and Options for the pool: at most MaxConns connections (default
//     16), a connect timeout (default 5s) and a statement timeout the server enforces (default
//     30s); the DSN's own pool_max_conns, connect_timeout and statement_timeout apply where
//     Options leave zero. No error quotes the DSN, which may hold a password.
//   - The schema is created or migrated forward at Open, each version in a transaction of its
//     own, recorded in schema_version; daemons that start at once take turns under an advisory
//     lock. A schema from a newer build is refused with ErrSchemaTooNew and left untouched.
//     The tables go to the first schema of the DSN's search_path, so one database can hold
//     several stores.
//   - Each method is one statement (PutRules: one transaction), written against a querier
//     that is the pool or a unit of work's transaction. Update runs a unit of work in one
//     SERIALIZABLE transaction and runs it again, a bounded number of times, after a
//     serialization failure or a deadlock.
//   - Strings are stored as bytea (the engine's keys hold NUL bytes, which text refuses, and
//     bytea orders byte-wise as Go does), times as timestamptz (microseconds, returned in UTC).
//   - A database that cannot be reached gives errors that wrap store.ErrUnavailable; the pool
//     checks a connection that has been idle before it hands it out, so the store recovers by
//     itself when the server is back.
//
// The package passes the conformance suite in store/storetest against a throwaway cluster
// (store/postgres/pgtest); its own tests add units of work, migrations, a server crash,
// unreachable databases, and a fuzz target for the DSN.
package postgres
