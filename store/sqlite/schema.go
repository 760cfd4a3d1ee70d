package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// ErrSchemaTooNew is returned by Open for a database written by a newer build, whose schema this
// build does not know; the database is left as it was.
var ErrSchemaTooNew = errors.New("sqlite: database schema is newer than this build")

// ErrNotRealmgate is returned by Open for an SQLite database that holds other tables and no
// schema_version: it belongs to something else, and Open does not add tables to it.
var ErrNotRealmgate = errors.New("sqlite: not a Realmgate database")

// SchemaVersion is the schema version this build creates and understands.
const SchemaVersion = 5

// migrations[i] takes the schema from version i to version i+1. A release only ever appends to
// this list: a database records each version it went through in schema_version, and Open
// applies the missing steps in one transaction, so a failed upgrade leaves the old schema.
//
// Times are INTEGER microseconds since the Unix epoch, UTC: they compare and index as numbers
// and hold the contract's precision exactly. Tables are STRICT, so a value of the wrong type is
// an error rather than silently stored.
var migrations = []string{
	// 1: the initial schema.
	`
CREATE TABLE sessions (
	id         TEXT    NOT NULL PRIMARY KEY CHECK (id <> ''),
	app        TEXT    NOT NULL,
	env        TEXT    NOT NULL,
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL,
	state      BLOB
) STRICT;
CREATE INDEX sessions_expires_at ON sessions (expires_at);

CREATE TABLE users (
	id         TEXT    NOT NULL PRIMARY KEY CHECK (id <> ''),
	created_at INTEGER NOT NULL,
	last_seen  INTEGER NOT NULL
) STRICT;

CREATE TABLE devices (
	id                 TEXT    NOT NULL CHECK (id <> ''),
	entity             TEXT    NOT NULL CHECK (entity <> ''),
	app                TEXT    NOT NULL,
	os                 TEXT    NOT NULL,
	model              TEXT    NOT NULL,
	display_name       TEXT    NOT NULL,
	status             TEXT    NOT NULL CHECK (status IN ('active', 'blocked')),
	created_at         INTEGER NOT NULL,
	last_seen          INTEGER NOT NULL,
	certificate_serial TEXT    NOT NULL,
	PRIMARY KEY (id, entity)
) STRICT, WITHOUT ROWID;

CREATE TABLE remote_disable_rules (
	app           TEXT    NOT NULL,
	env           TEXT    NOT NULL,
	position      INTEGER NOT NULL,
	versions      TEXT    NOT NULL,
	action        TEXT    NOT NULL,
	message       TEXT    NOT NULL,
	download_link TEXT    NOT NULL,
	message_id    TEXT    NOT NULL,
	PRIMARY KEY (app, env, position)
) STRICT, WITHOUT ROWID;

CREATE TABLE nonces (
	value      TEXT    NOT NULL PRIMARY KEY CHECK (value <> ''),
	session_id TEXT    NOT NULL,
	realm      TEXT    NOT NULL,
	expires_at INTEGER NOT NULL
) STRICT;
CREATE INDEX nonces_expires_at ON nonces (expires_at);

CREATE TABLE certificates (
	serial     TEXT    NOT NULL PRIMARY KEY CHECK (serial <> ''),
	entity     TEXT    NOT NULL,
	owner      TEXT    NOT NULL,
	realm      TEXT    NOT NULL,
	issuer     TEXT    NOT NULL,
	not_before INTEGER NOT NULL,
	not_after  INTEGER NOT NULL,
	der        BLOB,
	issued_at  INTEGER NOT NULL,
	revoked_at INTEGER,
	reason     TEXT    NOT NULL
) STRICT;
CREATE INDEX certificates_issued_at ON certificates (issued_at, serial);

-- AUTOINCREMENT: an id is never reused, even for a deleted last row, so a reader paging with
-- "after" never skips a record.
CREATE TABLE audit (
	id     INTEGER PRIMARY KEY AUTOINCREMENT,
	time   INTEGER NOT NULL,
	actor  TEXT    NOT NULL,
	action TEXT    NOT NULL,
	target TEXT    NOT NULL,
	detail TEXT    CHECK (detail IS NULL OR json_type(detail) = 'object')
) STRICT;
`,
	// 2: failed-login counters (per account and per client) for login backoff.
	`
CREATE TABLE login_failures (
	key        TEXT    NOT NULL PRIMARY KEY CHECK (key <> ''),
	count      INTEGER NOT NULL CHECK (count > 0),
	last_at    INTEGER NOT NULL,
	expires_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX login_failures_expires_at ON login_failures (expires_at);
`,
	// 3: access-token revocations; session ids are no longer stored.
	`
CREATE TABLE token_revocations (
	kind       TEXT    NOT NULL CHECK (kind IN ('session', 'device')),
	key        TEXT    NOT NULL CHECK (key <> ''),
	revoked_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL,
	PRIMARY KEY (kind, key)
) STRICT, WITHOUT ROWID;
CREATE INDEX token_revocations_expires_at ON token_revocations (expires_at);

-- From this version on the engine keys a session by the SHA-256 of its id (64 hex digits), so
-- that a copy of the database holds no usable session id. The sessions stored before, keyed by
-- the id itself (43 base64url characters), are deleted: their users sign in again.
DELETE FROM sessions WHERE length(id) = 43 AND id NOT GLOB '*[^A-Za-z0-9_-]*';
`,
	// 4: blobs shared by every daemon of the store (the sealed token key set, the project
	// generation), written with compare-and-swap on version.
	`CREATE TABLE blobs (
	name       TEXT    NOT NULL PRIMARY KEY,
	version    INTEGER NOT NULL,
	data       BLOB    NOT NULL,
	updated_at INTEGER NOT NULL
) STRICT;`,
	// 5: the janitor reaps persistent users not seen within the cookie's life and audit records
	// past their retention; these indexes keep each sweep to the rows it deletes.
	`CREATE INDEX users_last_seen ON users (last_seen);
CREATE INDEX audit_time ON audit (time);`,
}

// migrate brings the database on db up to len(migs), all in one write transaction.
func migrate(ctx context.Context, db *sql.DB, path string, migs []string) (err error) {
	fail := func(err error) error { return fmt.Errorf("sqlite: open %s: %w", path, err) }
	tx, err := db.BeginTx(ctx, nil) // BEGIN IMMEDIATE: another process migrating waits here
	if err != nil {
		return fail(err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()

	var hasVersion, others int
	err = tx.QueryRowContext(ctx, `SELECT
		count(*) FILTER (WHERE name = 'schema_version'),
		count(*) FILTER (WHERE name <> 'schema_version' AND name NOT LIKE 'sqlite\_%' ESCAPE '\')
		FROM sqlite_schema WHERE type = 'table'`).Scan(&hasVersion, &others)
	if err != nil {
		return fail(err)
	}
	if hasVersion == 0 && others > 0 {
		return fail(ErrNotRealmgate)
	}
	if _, err = tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (
		version    INTEGER NOT NULL PRIMARY KEY,
		applied_at INTEGER NOT NULL
	) STRICT`); err != nil {
		return fail(err)
	}
	var current int
	if err = tx.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM schema_version`).Scan(&current); err != nil {
		return fail(err)
	}
	if current > len(migs) {
		return fmt.Errorf("%w: %s is at schema version %d and this build knows versions up to %d; run a newer realmgate or restore a backup", ErrSchemaTooNew, path, current, len(migs))
	}
	for v := current + 1; v <= len(migs); v++ {
		if _, err = tx.ExecContext(ctx, migs[v-1]); err != nil {
			return fail(fmt.Errorf("migrate to schema version %d: %w", v, err))
		}
		if _, err = tx.ExecContext(ctx, `INSERT INTO schema_version (version, applied_at) VALUES (?, ?)`, v, time.Now().UnixMicro()); err != nil {
			return fail(err)
		}
	}
	if err = tx.Commit(); err != nil {
		return fail(err)
	}
	return nil
}
