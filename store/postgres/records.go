package postgres

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/realmgate/realmgate/store"
)

// querier is what a method needs to run its statements: the pool (each statement its own
// transaction) or a unit of work's pgx.Tx. Begin starts a transaction on the pool and a
// savepoint in a unit.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Begin(ctx context.Context) (pgx.Tx, error)
}

// ops implements store.Tx on a querier. The Store is ops on its pool; a unit of work is ops on
// its transaction.
type ops struct {
	q querier
	// auditLock is the advisory-lock key that orders audit ids (AppendAudit).
	auditLock int64
	// unit is the state of the unit of work, nil outside one.
	unit *unitState
}

var _ store.Tx = ops{}

// b binds a string as bytea: never NULL, even when empty.
func b(s string) []byte {
	if s == "" {
		return []byte{}
	}
	return []byte(s)
}

// blob binds b, storing an empty one as NULL.
func blob(v []byte) []byte {
	if len(v) == 0 {
		return nil
	}
	return v
}

// str scans a bytea column into a string.
type str struct{ p *string }

func (s str) ScanBytes(v []byte) error {
	*s.p = string(v)
	return nil
}

// utc scans a timestamptz column into a time in UTC.
type utc struct{ p *time.Time }

func (u utc) ScanTimestamptz(v pgtype.Timestamptz) error {
	switch {
	case !v.Valid:
		*u.p = time.Time{}
	case v.InfinityModifier != pgtype.Finite:
		return errors.New("postgres: an infinite time is not a time.Time")
	default:
		*u.p = v.Time.UTC()
	}
	return nil
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{store.ErrInvalid}, args...)...)
}

// fail wraps the error of a statement (classify) and, in a unit of work, remembers it.
func (o ops) fail(ctx context.Context, op string, err error) error {
	wrapped := classify(ctx, op, err)
	if o.unit != nil {
		if o.unit.failed == nil {
			o.unit.failed = wrapped
		}
		if o.unit.conflict == nil && retryable(err) {
			o.unit.conflict = wrapped
		}
	}
	return wrapped
}

// notFound maps "no row" to store.ErrNotFound and fails with everything else.
func (o ops) notFound(ctx context.Context, op string, err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return store.ErrNotFound
	}
	return o.fail(ctx, op, err)
}

// exec runs a write and returns the number of rows it changed.
func (o ops) exec(ctx context.Context, op, sql string, args ...any) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("postgres: %s: %w", op, err)
	}
	tag, err := o.q.Exec(ctx, sql, args...)
	if err != nil {
		return 0, o.fail(ctx, op, err)
	}
	return tag.RowsAffected(), nil
}

// queryRow runs a read of one row into dest.
func (o ops) queryRow(ctx context.Context, op, sql string, args []any, dest ...any) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("postgres: %s: %w", op, err)
	}
	if err := o.q.QueryRow(ctx, sql, args...).Scan(dest...); err != nil {
		return o.notFound(ctx, op, err)
	}
	return nil
}

// query runs a read of rows, calling scan for each.
func (o ops) query(ctx context.Context, op, sql string, args []any, scan func(pgx.Rows) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("postgres: %s: %w", op, err)
	}
	rows, err := o.q.Query(ctx, sql, args...)
	if err != nil {
		return o.fail(ctx, op, err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return o.fail(ctx, op, err)
		}
	}
	if err := rows.Err(); err != nil {
		return o.fail(ctx, op, err)
	}
	return nil
}

// GetSession implements store.Sessions.
func (o ops) GetSession(ctx context.Context, id string, now time.Time) (store.Session, error) {
	out := store.Session{ID: id}
	var state []byte
	err := o.queryRow(ctx, "get session", `SELECT app, env, created_at, expires_at, state FROM sessions
		WHERE id = $1 AND expires_at > $2`, []any{b(id), now},
		str{&out.App}, str{&out.Env}, utc{&out.CreatedAt}, utc{&out.ExpiresAt}, &state)
	if err != nil {
		return store.Session{}, err
	}
	if len(state) > 0 {
		out.State = state
	}
	return out, nil
}

// PutSession implements store.Sessions.
func (o ops) PutSession(ctx context.Context, v store.Session) error {
	if v.ID == "" {
		return invalid("session with an empty ID")
	}
	_, err := o.exec(ctx, "put session", `INSERT INTO sessions (id, app, env, created_at, expires_at, state)
		VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (id) DO UPDATE SET app = excluded.app, env = excluded.env,
			created_at = excluded.created_at, expires_at = excluded.expires_at, state = excluded.state`,
		b(v.ID), b(v.App), b(v.Env), v.CreatedAt, v.ExpiresAt, blob(v.State))
	return err
}

// ReplaceSession implements store.Sessions in one statement: the old record is deleted and the
// new one put by the same command.
func (o ops) ReplaceSession(ctx context.Context, oldID string, v store.Session) error {
	if v.ID == "" {
		return invalid("session with an empty ID")
	}
	if oldID == v.ID {
		return invalid("replacing a session by itself")
	}
	_, err := o.exec(ctx, "replace session", `WITH gone AS (DELETE FROM sessions WHERE id = $7)
		INSERT INTO sessions (id, app, env, created_at, expires_at, state)
		VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (id) DO UPDATE SET app = excluded.app, env = excluded.env,
			created_at = excluded.created_at, expires_at = excluded.expires_at, state = excluded.state`,
		b(v.ID), b(v.App), b(v.Env), v.CreatedAt, v.ExpiresAt, blob(v.State), b(oldID))
	return err
}

// DeleteSession implements store.Sessions.
func (o ops) DeleteSession(ctx context.Context, id string) error {
	_, err := o.exec(ctx, "delete session", `DELETE FROM sessions WHERE id = $1`, b(id))
	return err
}

// DeleteExpiredSessions implements store.Sessions.
func (o ops) DeleteExpiredSessions(ctx context.Context, now time.Time) (int, error) {
	n, err := o.exec(ctx, "delete expired sessions", `DELETE FROM sessions WHERE expires_at <= $1`, now)
	return int(n), err
}

// GetUser implements store.Users.
func (o ops) GetUser(ctx context.Context, id string) (store.User, error) {
	u := store.User{ID: id}
	err := o.queryRow(ctx, "get user", `SELECT created_at, last_seen FROM users WHERE id = $1`, []any{b(id)},
		utc{&u.CreatedAt}, utc{&u.LastSeen})
	if err != nil {
		return store.User{}, err
	}
	return u, nil
}

// PutUser implements store.Users.
func (o ops) PutUser(ctx context.Context, u store.User) error {
	if u.ID == "" {
		return invalid("user with an empty ID")
	}
	_, err := o.exec(ctx, "put user", `INSERT INTO users (id, created_at, last_seen) VALUES ($1, $2, $3)
		ON CONFLICT (id) DO UPDATE SET created_at = excluded.created_at, last_seen = excluded.last_seen`,
		b(u.ID), u.CreatedAt, u.LastSeen)
	return err
}

func validStatus(status string) error {
	if status != store.DeviceActive && status != store.DeviceBlocked {
		return invalid("device status %q, want %q or %q", status, store.DeviceActive, store.DeviceBlocked)
	}
	return nil
}

// deviceColumns are the columns scanDevice reads.
const deviceColumns = `id, entity, app, os, model, display_name, status, created_at, last_seen, certificate_serial`

func scanDevice(row pgx.Row, d *store.Device) error {
	return row.Scan(str{&d.ID}, str{&d.Entity}, str{&d.App}, str{&d.OS}, str{&d.Model}, str{&d.DisplayName},
		&d.Status, utc{&d.CreatedAt}, utc{&d.LastSeen}, str{&d.CertificateSerial})
}

// GetDevice implements store.Devices.
func (o ops) GetDevice(ctx context.Context, id, entity string) (store.Device, error) {
	if err := ctx.Err(); err != nil {
		return store.Device{}, fmt.Errorf("postgres: get device: %w", err)
	}
	var d store.Device
	row := o.q.QueryRow(ctx, `SELECT `+deviceColumns+` FROM devices WHERE id = $1 AND entity = $2`, b(id), b(entity))
	if err := scanDevice(row, &d); err != nil {
		return store.Device{}, o.notFound(ctx, "get device", err)
	}
	return d, nil
}

// PutDevice implements store.Devices.
func (o ops) PutDevice(ctx context.Context, d store.Device) error {
	if d.ID == "" || d.Entity == "" {
		return invalid("device with an empty ID or Entity")
	}
	if err := validStatus(d.Status); err != nil {
		return err
	}
	_, err := o.exec(ctx, "put device", `INSERT INTO devices (`+deviceColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
		ON CONFLICT (id, entity) DO UPDATE SET app = excluded.app, os = excluded.os,
			model = excluded.model, display_name = excluded.display_name, status = excluded.status,
			created_at = excluded.created_at, last_seen = excluded.last_seen,
			certificate_serial = excluded.certificate_serial`,
		b(d.ID), b(d.Entity), b(d.App), b(d.OS), b(d.Model), b(d.DisplayName), d.Status, d.CreatedAt, d.LastSeen, b(d.CertificateSerial))
	return err
}

// ListDevices implements store.Devices.
func (o ops) ListDevices(ctx context.Context) ([]store.Device, error) {
	out := []store.Device{}
	err := o.query(ctx, "list devices", `SELECT `+deviceColumns+` FROM devices ORDER BY id, entity`, nil, func(rows pgx.Rows) error {
		var d store.Device
		if err := scanDevice(rows, &d); err != nil {
			return err
		}
		out = append(out, d)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// SetDeviceStatus implements store.Devices.
func (o ops) SetDeviceStatus(ctx context.Context, id, status string) error {
	if err := validStatus(status); err != nil {
		return err
	}
	n, err := o.exec(ctx, "set device status", `UPDATE devices SET status = $1 WHERE id = $2`, status, b(id))
	if err != nil {
		return err
	}
	if n == 0 {
		return store.ErrNotFound
	}
	return nil
}

// GetRules implements store.RemoteDisable.
func (o ops) GetRules(ctx context.Context, app, env string) ([]store.Rule, error) {
	out := []store.Rule{}
	err := o.query(ctx, "get rules", `SELECT versions, action, message, download_link, message_id
		FROM remote_disable_rules WHERE app = $1 AND env = $2 ORDER BY position`, []any{b(app), b(env)},
		func(rows pgx.Rows) error {
			var r store.Rule
			if err := rows.Scan(str{&r.Versions}, str{&r.Action}, str{&r.Message}, str{&r.DownloadLink}, str{&r.MessageID}); err != nil {
				return err
			}
			out = append(out, r)
			return nil
		})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// PutRules implements store.RemoteDisable. The old rules go and the new ones come in one
// transaction (a savepoint in a unit of work): a reader sees one list or the other, never a mix.
// A lock on app/env, held to the commit, makes concurrent replacements of one list take turns,
// so the second does not trip over the rows the first inserted.
func (o ops) PutRules(ctx context.Context, app, env string, rules []store.Rule) (err error) {
	const op = "put rules"
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("postgres: %s: %w", op, err)
	}
	tx, err := o.q.Begin(ctx)
	if err != nil {
		return o.fail(ctx, op, err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback(context.WithoutCancel(ctx))
		}
	}()
	h := fnv.New64a()
	h.Write([]byte("realmgate\x00rules\x00" + app + "\x00" + env))
	if _, err = tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(h.Sum64())); err != nil {
		return o.fail(ctx, op, err)
	}
	if _, err = tx.Exec(ctx, `DELETE FROM remote_disable_rules WHERE app = $1 AND env = $2`, b(app), b(env)); err != nil {
		return o.fail(ctx, op, err)
	}
	if len(rules) > 0 {
		cols := make([][][]byte, 5)
		for _, r := range rules {
			for i, v := range []string{r.Versions, r.Action, r.Message, r.DownloadLink, r.MessageID} {
				cols[i] = append(cols[i], b(v))
			}
		}
		_, err = tx.Exec(ctx, `INSERT INTO remote_disable_rules
			(app, env, position, versions, action, message, download_link, message_id)
			SELECT $1, $2, r.n - 1, r.versions, r.action, r.message, r.download_link, r.message_id
			FROM unnest($3::bytea[], $4::bytea[], $5::bytea[], $6::bytea[], $7::bytea[])
				WITH ORDINALITY AS r(versions, action, message, download_link, message_id, n)`,
			b(app), b(env), cols[0], cols[1], cols[2], cols[3], cols[4])
		if err != nil {
			return o.fail(ctx, op, err)
		}
	}
	if err = tx.Commit(ctx); err != nil {
		return o.fail(ctx, op, err)
	}
	return nil
}

// PutNonce implements store.Nonces.
func (o ops) PutNonce(ctx context.Context, n store.Nonce) error {
	if n.Value == "" {
		return invalid("nonce with an empty value")
	}
	added, err := o.exec(ctx, "put nonce", `INSERT INTO nonces (value, session_id, realm, expires_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (value) DO NOTHING`, b(n.Value), b(n.SessionID), b(n.Realm), n.ExpiresAt)
	if err != nil {
		return err
	}
	if added == 0 {
		return store.ErrConflict
	}
	return nil
}

// ConsumeNonce implements store.Nonces. One statement decides and deletes: of concurrent
// consumers, the others wait for the row's lock and then find it gone.
func (o ops) ConsumeNonce(ctx context.Context, value, sessionID, realm string, now time.Time) error {
	n, err := o.exec(ctx, "consume nonce", `DELETE FROM nonces
		WHERE value = $1 AND session_id = $2 AND realm = $3 AND expires_at > $4`, b(value), b(sessionID), b(realm), now)
	if err != nil {
		return err
	}
	if n == 0 {
		return store.ErrNotFound
	}
	return nil
}

// DeleteExpiredNonces implements store.Nonces.
func (o ops) DeleteExpiredNonces(ctx context.Context, now time.Time) (int, error) {
	n, err := o.exec(ctx, "delete expired nonces", `DELETE FROM nonces WHERE expires_at <= $1`, now)
	return int(n), err
}

// certificateColumns are the columns scanCertificate reads.
const certificateColumns = `serial, entity, owner, realm, issuer, not_before, not_after, der, issued_at, revoked_at, reason`

func scanCertificate(row pgx.Row, c *store.CertificateRecord) error {
	var revoked *time.Time
	if err := row.Scan(str{&c.Serial}, str{&c.Entity}, str{&c.Owner}, str{&c.Realm}, str{&c.Issuer},
		utc{&c.NotBefore}, utc{&c.NotAfter}, &c.DER, utc{&c.IssuedAt}, &revoked, str{&c.Reason}); err != nil {
		return err
	}
	if revoked != nil {
		t := revoked.UTC()
		c.RevokedAt = &t
	}
	if len(c.DER) == 0 {
		c.DER = nil
	}
	return nil
}

// PutCertificate implements store.Certificates.
func (o ops) PutCertificate(ctx context.Context, c store.CertificateRecord) error {
	if c.Serial == "" {
		return invalid("certificate with an empty serial")
	}
	added, err := o.exec(ctx, "put certificate", `INSERT INTO certificates (`+certificateColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
		ON CONFLICT (serial) DO NOTHING`,
		b(c.Serial), b(c.Entity), b(c.Owner), b(c.Realm), b(c.Issuer), c.NotBefore, c.NotAfter, blob(c.DER), c.IssuedAt, c.RevokedAt, b(c.Reason))
	if err != nil {
		return err
	}
	if added == 0 {
		return store.ErrConflict
	}
	return nil
}

// GetCertificate implements store.Certificates.
func (o ops) GetCertificate(ctx context.Context, serial string) (store.CertificateRecord, error) {
	if err := ctx.Err(); err != nil {
		return store.CertificateRecord{}, fmt.Errorf("postgres: get certificate: %w", err)
	}
	var c store.CertificateRecord
	row := o.q.QueryRow(ctx, `SELECT `+certificateColumns+` FROM certificates WHERE serial = $1`, b(serial))
	if err := scanCertificate(row, &c); err != nil {
		return store.CertificateRecord{}, o.notFound(ctx, "get certificate", err)
	}
	return c, nil
}

// ListCertificates implements store.Certificates.
func (o ops) ListCertificates(ctx context.Context) ([]store.CertificateRecord, error) {
	out := []store.CertificateRecord{}
	err := o.query(ctx, "list certificates", `SELECT `+certificateColumns+` FROM certificates ORDER BY issued_at, serial`, nil,
		func(rows pgx.Rows) error {
			var c store.CertificateRecord
			if err := scanCertificate(rows, &c); err != nil {
				return err
			}
			out = append(out, c)
			return nil
		})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// RevokeCertificate implements store.Certificates. The right-hand sides see the row as it was,
// so a second revocation changes nothing yet still counts the row as found.
func (o ops) RevokeCertificate(ctx context.Context, serial, reason string, at time.Time) error {
	n, err := o.exec(ctx, "revoke certificate", `UPDATE certificates
		SET revoked_at = coalesce(revoked_at, $1),
			reason = CASE WHEN revoked_at IS NULL THEN $2 ELSE reason END
		WHERE serial = $3`, at, b(reason), b(serial))
	if err != nil {
		return err
	}
	if n == 0 {
		return store.ErrNotFound
	}
	return nil
}

// AddLoginFailure implements store.LoginFailures. One statement counts, so concurrent failures
// of one key all count; an expired record starts again at one.
func (o ops) AddLoginFailure(ctx context.Context, key string, now, expiresAt time.Time) (store.LoginFailure, error) {
	if key == "" {
		return store.LoginFailure{}, invalid("login failure with an empty key")
	}
	out := store.LoginFailure{Key: key}
	err := o.queryRow(ctx, "add login failure", `INSERT INTO login_failures AS f (key, count, last_at, expires_at)
		VALUES ($1, 1, $2, $3)
		ON CONFLICT (key) DO UPDATE SET
			count = CASE WHEN f.expires_at <= excluded.last_at THEN 1 ELSE f.count + 1 END,
			last_at = excluded.last_at, expires_at = excluded.expires_at
		RETURNING count, last_at, expires_at`, []any{b(key), now, expiresAt},
		&out.Count, utc{&out.Last}, utc{&out.ExpiresAt})
	if err != nil {
		return store.LoginFailure{}, err
	}
	return out, nil
}

// GetLoginFailure implements store.LoginFailures.
func (o ops) GetLoginFailure(ctx context.Context, key string, now time.Time) (store.LoginFailure, error) {
	out := store.LoginFailure{Key: key}
	err := o.queryRow(ctx, "get login failure", `SELECT count, last_at, expires_at FROM login_failures
		WHERE key = $1 AND expires_at > $2`, []any{b(key), now}, &out.Count, utc{&out.Last}, utc{&out.ExpiresAt})
	if err != nil {
		return store.LoginFailure{}, err
	}
	return out, nil
}

// ResetLoginFailures implements store.LoginFailures.
func (o ops) ResetLoginFailures(ctx context.Context, key string) error {
	_, err := o.exec(ctx, "reset login failures", `DELETE FROM login_failures WHERE key = $1`, b(key))
	return err
}

// DeleteExpiredLoginFailures implements store.LoginFailures.
func (o ops) DeleteExpiredLoginFailures(ctx context.Context, now time.Time) (int, error) {
	n, err := o.exec(ctx, "delete expired login failures", `DELETE FROM login_failures WHERE expires_at <= $1`, now)
	return int(n), err
}

// DeleteUser implements store.Users.
func (o ops) DeleteUser(ctx context.Context, id string) error {
	_, err := o.exec(ctx, "delete user", `DELETE FROM users WHERE id = $1`, b(id))
	return err
}

// DeleteUsersNotSeenSince implements store.Users.
func (o ops) DeleteUsersNotSeenSince(ctx context.Context, before time.Time) (int, error) {
	n, err := o.exec(ctx, "delete users not seen", `DELETE FROM users WHERE last_seen < $1`, before)
	return int(n), err
}

// DeleteAuditBefore implements store.Audit.
func (o ops) DeleteAuditBefore(ctx context.Context, before time.Time) (int, error) {
	n, err := o.exec(ctx, "delete audit", `DELETE FROM audit WHERE time < $1`, before)
	return int(n), err
}

// validDetail accepts an empty detail or exactly one JSON object.
func validDetail(d json.RawMessage) error {
	if len(d) == 0 {
		return nil
	}
	if !json.Valid(d) || bytes.TrimLeft(d, " \t\r\n")[0] != '{' {
		return invalid("audit detail is not a JSON object")
	}
	return nil
}

// AppendAudit implements store.Audit. Appends hold a shared advisory lock from before they take
// their id to their commit, and ListAudit takes it exclusively before it reads: a reader waits
// for the appends in flight, so it never sees an id while a smaller one is still to commit, and
// a reader paging with "after" never passes a record. Appends do not wait for each other.
func (o ops) AppendAudit(ctx context.Context, r store.AuditRecord) (int64, error) {
	if err := validDetail(r.Detail); err != nil {
		return 0, err
	}
	var id int64
	err := o.queryRow(ctx, "append audit", `WITH lock AS (SELECT pg_advisory_xact_lock_shared($1))
		INSERT INTO audit (time, actor, action, target, detail)
		SELECT $2::timestamptz, $3::bytea, $4::bytea, $5::bytea, $6::bytea FROM lock
		RETURNING id`, []any{o.auditLock, r.Time, b(r.Actor), b(r.Action), b(r.Target), blob(r.Detail)}, &id)
	if errors.Is(err, store.ErrNotFound) {
		return 0, o.fail(ctx, "append audit", errors.New("no id returned"))
	}
	return id, err
}

// ListAudit implements store.Audit. It waits for the appends in flight (see AppendAudit), then
// reads in a statement of its own, whose snapshot holds all of them. In a unit of work the
// read sees the unit's snapshot instead, taken at its first statement: list the log outside
// units.
func (o ops) ListAudit(ctx context.Context, after int64, limit int) (_ []store.AuditRecord, err error) {
	const op = "list audit"
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("postgres: %s: %w", op, err)
	}
	out := []store.AuditRecord{}
	if limit <= 0 {
		return out, nil
	}
	tx, err := o.q.Begin(ctx)
	if err != nil {
		return nil, o.fail(ctx, op, err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback(context.WithoutCancel(ctx))
		}
	}()
	if _, err = tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, o.auditLock); err != nil {
		return nil, o.fail(ctx, op, err)
	}
	in := ops{q: tx, auditLock: o.auditLock, unit: o.unit}
	err = in.query(ctx, op, `SELECT id, time, actor, action, target, detail FROM audit
		WHERE id > $1 ORDER BY id LIMIT $2`, []any{after, limit}, func(rows pgx.Rows) error {
		var r store.AuditRecord
		var detail []byte
		if err := rows.Scan(&r.ID, utc{&r.Time}, str{&r.Actor}, str{&r.Action}, str{&r.Target}, &detail); err != nil {
			return err
		}
		if len(detail) > 0 {
			r.Detail = detail
		}
		out = append(out, r)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err = tx.Commit(ctx); err != nil {
		return nil, o.fail(ctx, op, err)
	}
	return out, nil
}

// RevokeTokens implements store.TokenRevocations. A second revocation of the same tokens keeps
// the later time and the later expiry.
func (o ops) RevokeTokens(ctx context.Context, r store.TokenRevocation) error {
	if r.Kind != store.TokensOfSession && r.Kind != store.TokensOfDevice {
		return invalid("token revocation kind %q", r.Kind)
	}
	if r.Key == "" {
		return invalid("token revocation with an empty key")
	}
	_, err := o.exec(ctx, "revoke tokens", `INSERT INTO token_revocations AS t (kind, key, revoked_at, expires_at)
		VALUES ($1, $2, $3, $4)
		ON CONFLICT (kind, key) DO UPDATE SET revoked_at = greatest(t.revoked_at, excluded.revoked_at),
			expires_at = greatest(t.expires_at, excluded.expires_at)`, r.Kind, b(r.Key), r.RevokedAt, r.ExpiresAt)
	return err
}

// GetTokenRevocation implements store.TokenRevocations.
func (o ops) GetTokenRevocation(ctx context.Context, kind, key string, now time.Time) (store.TokenRevocation, error) {
	out := store.TokenRevocation{Kind: kind, Key: key}
	err := o.queryRow(ctx, "get token revocation", `SELECT revoked_at, expires_at FROM token_revocations
		WHERE kind = $1 AND key = $2 AND expires_at > $3`, []any{kind, b(key), now}, utc{&out.RevokedAt}, utc{&out.ExpiresAt})
	if err != nil {
		return store.TokenRevocation{}, err
	}
	return out, nil
}

// DeleteExpiredTokenRevocations implements store.TokenRevocations.
func (o ops) DeleteExpiredTokenRevocations(ctx context.Context, now time.Time) (int, error) {
	n, err := o.exec(ctx, "delete expired token revocations", `DELETE FROM token_revocations WHERE expires_at <= $1`, now)
	return int(n), err
}
