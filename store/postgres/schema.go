package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"
)

// ErrSchemaTooNew is returned by Open for a database written by a newer build, whose schema this
// build does not know; the database is left as it was.
var ErrSchemaTooNew = errors.New("postgres: database schema is newer than this build")

// ErrNotRealmgate is returned by Open for a schema that holds other tables and no
// schema_version: it belongs to something else, and Open does not add tables to it. Give
// Realmgate a database, or a schema of its own (the DSN's search_path).
var ErrNotRealmgate = errors.New("postgres: not a Realmgate schema")

// SchemaVersion is the schema version this build creates and understands.
const SchemaVersion = 3

// migrations[i] takes the schema from version i to version i+1. A release only ever appends to
// this list: schema_version records each version the database went through, and Open applies
// each missing step in a transaction of its own, so a failed step leaves the schema at the
// version before it.
//
// Strings are bytea, not text: a Go string is any bytes, and the engine's keys hold NUL bytes,
// which text refuses; bytea also orders byte-wise, as Go compares strings, whatever the
// database's collation. Times are timestamptz, which keeps the microseconds the store contract
// names. Only the closed vocabularies (a device's status, a revocation's kind) are text.
var migrations = []string{
	// 1: the schema of store/sqlite's version 3.
	`
CREATE TABLE sessions (
	id         bytea       NOT NULL PRIMARY KEY CHECK (id <> ''::bytea),
	app        bytea       NOT NULL,
	env        bytea       NOT NULL,
	created_at timestamptz NOT NULL,
	expires_at timestamptz NOT NULL,
	state      bytea
);
CREATE INDEX sessions_expires_at ON sessions (expires_at);

CREATE TABLE users (
	id         bytea       NOT NULL PRIMARY KEY CHECK (id <> ''::bytea),
	created_at timestamptz NOT NULL,
	last_seen  timestamptz NOT NULL
);

CREATE TABLE devices (
	id                 bytea       NOT NULL CHECK (id <> ''::bytea),
	entity             bytea       NOT NULL CHECK (entity <> ''::bytea),
	app                bytea       NOT NULL,
	os                 bytea       NOT NULL,
	model              bytea       NOT NULL,
	display_name       bytea       NOT NULL,
	status             text        NOT NULL CHECK (status IN ('active', 'blocked')),
	created_at         timestamptz NOT NULL,
	last_seen          timestamptz NOT NULL,
	certificate_serial bytea       NOT NULL,
	PRIMARY KEY (id, entity)
);

CREATE TABLE remote_disable_rules (
	app           bytea   NOT NULL,
	env           bytea   NOT NULL,
	position      integer NOT NULL,
	versions      bytea   NOT NULL,
	action        bytea   NOT NULL,
	message       bytea   NOT NULL,
	download_link bytea   NOT NULL,
	message_id    bytea   NOT NULL,
	PRIMARY KEY (app, env, position)
);

CREATE TABLE nonces (
	value      bytea       NOT NULL PRIMARY KEY CHECK (value <> ''::bytea),
	session_id bytea       NOT NULL,
	realm      bytea       NOT NULL,
	expires_at timestamptz NOT NULL
);
CREATE INDEX nonces_expires_at ON nonces (expires_at);

CREATE TABLE certificates (
	serial     bytea       NOT NULL PRIMARY KEY CHECK (serial <> ''::bytea),
	entity     bytea       NOT NULL,
	owner      bytea       NOT NULL,
	realm      bytea       NOT NULL,
	issuer     bytea       NOT NULL,
	not_before timestamptz NOT NULL,
	not_after  timestamptz NOT NULL,
	der        bytea,
	issued_at  timestamptz NOT NULL,
	revoked_at timestamptz,
	reason     bytea       NOT NULL
);
CREATE INDEX certificates_issued_at ON certificates (issued_at, serial);

-- An identity never reuses a value. ListAudit waits for the appends in flight (an advisory
-- lock, shared by appends), so a reader paging with "after" never skips an id that commits late.
CREATE TABLE audit (
	id     bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	time   timestamptz NOT NULL,
	actor  bytea       NOT NULL,
	action bytea       NOT NULL,
	target bytea       NOT NULL,
	detail bytea
);

CREATE TABLE login_failures (
	key        bytea       NOT NULL PRIMARY KEY CHECK (key <> ''::bytea),
	count      integer     NOT NULL CHECK (count > 0),
	last_at    timestamptz NOT NULL,
	expires_at timestamptz NOT NULL
);
CREATE INDEX login_failures_expires_at ON login_failures (expires_at);

CREATE TABLE token_revocations (
	kind       text        NOT NULL CHECK (kind IN ('session', 'device')),
	key        bytea       NOT NULL CHECK (key <> ''::bytea),
	revoked_at timestamptz NOT NULL,
	expires_at timestamptz NOT NULL,
	PRIMARY KEY (kind, key)
);
CREATE INDEX token_revocations_expires_at ON token_revocations (expires_at);
`,
	// 2: blobs shared by every daemon (store/sqlite's version 4).
	`
CREATE TABLE blobs (
	name       bytea       NOT NULL PRIMARY KEY CHECK (name <> ''::bytea),
	version    bigint      NOT NULL,
	data       bytea       NOT NULL,
	updated_at timestamptz NOT NULL
);
`,
	// 3: indexes for the janitor's sweeps of persistent users and audit records (store/sqlite's
	// version 5).
	`
CREATE INDEX users_last_seen ON users (last_seen);
CREATE INDEX audit_time ON audit (time);
`,
}

// migrate brings the schema the pool's connections use (the first of the search_path) up to
// len(migs) and returns its name.
//
// Daemons that start at once on one database take turns: each holds a session advisory lock,
// keyed by the schema's name, while it reads the version and applies the missing steps; the
// later ones find the work done. Each step runs in a transaction of its own with the row that
// records it in schema_version.
func migrate(ctx context.Context, pool *pgxpool.Pool, migs []string) (schema string, err error) {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return "", classify(ctx, "open", err)
	}
	defer conn.Release()
	var name *string
	if err := conn.QueryRow(ctx, `SELECT current_schema()`).Scan(&name); err != nil {
		return "", classify(ctx, "open", err)
	}
	if name == nil {
		return "", errors.New("postgres: open: no schema to create tables in: the search_path names none that exists")
	}
	schema = *name
	fail := func(err error) (string, error) { return "", classify(ctx, "open: schema "+schema, err) }

	key := lockKey("migrate", schema)
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, key); err != nil {
		return fail(err)
	}
	defer func() {
		// A connection whose unlock failed must not go back to the pool holding the lock.
		if _, uerr := conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, key); uerr != nil {
			_ = conn.Conn().Close(context.WithoutCancel(ctx))
		}
	}()

	var hasVersion bool
	var others int
	err = conn.QueryRow(ctx, `SELECT
		count(*) FILTER (WHERE tablename = 'schema_version') > 0,
		count(*) FILTER (WHERE tablename <> 'schema_version')
		FROM pg_tables WHERE schemaname = $1`, schema).Scan(&hasVersion, &others)
	if err != nil {
		return fail(err)
	}
	if !hasVersion && others > 0 {
		return "", fmt.Errorf("%w: schema %q holds %d other tables; give Realmgate a database or a schema of its own (the DSN's search_path)", ErrNotRealmgate, schema, others)
	}
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_version (
		version    integer     NOT NULL PRIMARY KEY,
		applied_at timestamptz NOT NULL DEFAULT now()
	)`); err != nil {
		return fail(err)
	}
	var current int
	if err := conn.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM schema_version`).Scan(&current); err != nil {
		return fail(err)
	}
	if current > len(migs) {
		return "", fmt.Errorf("%w: schema %q is at version %d and this build knows versions up to %d; run a newer realmgate or restore a backup", ErrSchemaTooNew, schema, current, len(migs))
	}
	for v := current + 1; v <= len(migs); v++ {
		tx, err := conn.Begin(ctx)
		if err != nil {
			return fail(err)
		}
		if _, err := tx.Exec(ctx, migs[v-1]); err != nil {
			_ = tx.Rollback(context.WithoutCancel(ctx))
			return fail(fmt.Errorf("migrate to schema version %d: %w", v, err))
		}
		if _, err := tx.Exec(ctx, `INSERT INTO schema_version (version) VALUES ($1)`, v); err != nil {
			_ = tx.Rollback(context.WithoutCancel(ctx))
			return fail(err)
		}
		if err := tx.Commit(ctx); err != nil {
			return fail(fmt.Errorf("migrate to schema version %d: %w", v, err))
		}
	}
	return schema, nil
}
