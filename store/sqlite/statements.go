package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// statements are prepared once at Open: every query is parameterised, and the hot ones are
// not recompiled per call. Each runs on the writer or on the readers, as its field says.
type statements struct {
	all []*sql.Stmt

	getSession, putSession, deleteSession, deleteExpiredSessions *sql.Stmt
	replaceSession                                               *sql.Stmt
	getUser, putUser, deleteUser, deleteUsersNotSeen             *sql.Stmt
	getDevice, putDevice, listDevices, setDeviceStatus           *sql.Stmt
	getRules                                                     *sql.Stmt
	putNonce, consumeNonce, deleteExpiredNonces                  *sql.Stmt
	putCertificate, getCertificate, listCertificates, revokeCert *sql.Stmt
	appendAudit, listAudit, deleteAuditBefore                    *sql.Stmt
	addLoginFailure, getLoginFailure, resetLoginFailures         *sql.Stmt
	deleteExpiredLoginFailures                                   *sql.Stmt
	revokeTokens, getTokenRevocation, deleteExpiredRevocations   *sql.Stmt
}

const (
	sqlDeleteRules = `DELETE FROM remote_disable_rules WHERE app = ? AND env = ?`
	sqlInsertRule  = `INSERT INTO remote_disable_rules
		(app, env, position, versions, action, message, download_link, message_id)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`
	sqlGetSession = `SELECT app, env, created_at, expires_at, state FROM sessions
		WHERE id = ? AND expires_at > ?`
)

func (st *statements) prepare(ctx context.Context, w, r *sql.DB) error {
	list := []struct {
		dst   **sql.Stmt
		db    *sql.DB
		query string
	}{
		{&st.getSession, r, sqlGetSession},
		{&st.putSession, w, `INSERT INTO sessions (id, app, env, created_at, expires_at, state)
			VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET app = excluded.app, env = excluded.env,
				created_at = excluded.created_at, expires_at = excluded.expires_at, state = excluded.state`},
		{&st.deleteSession, w, `DELETE FROM sessions WHERE id = ?`},
		// The old record becomes the new one; OR REPLACE drops a record already under the new id,
		// as PutSession would have replaced it.
		{&st.replaceSession, w, `UPDATE OR REPLACE sessions SET id = ?, app = ?, env = ?, created_at = ?, expires_at = ?, state = ?
			WHERE id = ?`},
		{&st.deleteExpiredSessions, w, `DELETE FROM sessions WHERE expires_at <= ?`},

		{&st.getUser, r, `SELECT created_at, last_seen FROM users WHERE id = ?`},
		{&st.putUser, w, `INSERT INTO users (id, created_at, last_seen) VALUES (?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET created_at = excluded.created_at, last_seen = excluded.last_seen`},
		{&st.deleteUser, w, `DELETE FROM users WHERE id = ?`},
		{&st.deleteUsersNotSeen, w, `DELETE FROM users WHERE last_seen < ?`},

		{&st.getDevice, r, `SELECT app, os, model, display_name, status, created_at, last_seen, certificate_serial
			FROM devices WHERE id = ? AND entity = ?`},
		{&st.putDevice, w, `INSERT INTO devices
			(id, entity, app, os, model, display_name, status, created_at, last_seen, certificate_serial)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (id, entity) DO UPDATE SET app = excluded.app, os = excluded.os,
				model = excluded.model, display_name = excluded.display_name, status = excluded.status,
				created_at = excluded.created_at, last_seen = excluded.last_seen,
				certificate_serial = excluded.certificate_serial`},
		{&st.listDevices, r, `SELECT id, entity, app, os, model, display_name, status, created_at, last_seen, certificate_serial
			FROM devices ORDER BY id, entity`},
		{&st.setDeviceStatus, w, `UPDATE devices SET status = ? WHERE id = ?`},

		{&st.getRules, r, `SELECT versions, action, message, download_link, message_id
			FROM remote_disable_rules WHERE app = ? AND env = ? ORDER BY position`},

		{&st.putNonce, w, `INSERT INTO nonces (value, session_id, realm, expires_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (value) DO NOTHING`},
		// One statement decides and deletes, so of concurrent consumers exactly one sees a row.
		{&st.consumeNonce, w, `DELETE FROM nonces
			WHERE value = ? AND session_id = ? AND realm = ? AND expires_at > ?`},
		{&st.deleteExpiredNonces, w, `DELETE FROM nonces WHERE expires_at <= ?`},

		{&st.putCertificate, w, `INSERT INTO certificates
			(serial, entity, owner, realm, issuer, not_before, not_after, der, issued_at, revoked_at, reason)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (serial) DO NOTHING`},
		{&st.getCertificate, r, `SELECT entity, owner, realm, issuer, not_before, not_after, der, issued_at, revoked_at, reason
			FROM certificates WHERE serial = ?`},
		{&st.listCertificates, r, `SELECT serial, entity, owner, realm, issuer, not_before, not_after, der, issued_at, revoked_at, reason
			FROM certificates ORDER BY issued_at, serial`},
		// The right-hand sides see the row as it was, so a second revocation changes nothing
		// yet still counts the row as found.
		{&st.revokeCert, w, `UPDATE certificates
			SET revoked_at = coalesce(revoked_at, ?),
				reason = CASE WHEN revoked_at IS NULL THEN ? ELSE reason END
			WHERE serial = ?`},

		// One statement counts, so concurrent failures of one key all count; an expired record
		// starts again at one.
		{&st.addLoginFailure, w, `INSERT INTO login_failures (key, count, last_at, expires_at) VALUES (?, 1, ?, ?)
			ON CONFLICT (key) DO UPDATE SET
				count = CASE WHEN login_failures.expires_at <= excluded.last_at THEN 1 ELSE login_failures.count + 1 END,
				last_at = excluded.last_at, expires_at = excluded.expires_at
			RETURNING count, last_at, expires_at`},
		{&st.getLoginFailure, r, `SELECT count, last_at, expires_at FROM login_failures WHERE key = ? AND expires_at > ?`},
		{&st.resetLoginFailures, w, `DELETE FROM login_failures WHERE key = ?`},
		{&st.deleteExpiredLoginFailures, w, `DELETE FROM login_failures WHERE expires_at <= ?`},
		// A second revocation of the same tokens keeps the later time and the later expiry.
		{&st.revokeTokens, w, `INSERT INTO token_revocations (kind, key, revoked_at, expires_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (kind, key) DO UPDATE SET revoked_at = max(revoked_at, excluded.revoked_at),
				expires_at = max(expires_at, excluded.expires_at)`},
		{&st.getTokenRevocation, r, `SELECT revoked_at, expires_at FROM token_revocations
			WHERE kind = ? AND key = ? AND expires_at > ?`},
		{&st.deleteExpiredRevocations, w, `DELETE FROM token_revocations WHERE expires_at <= ?`},

		{&st.appendAudit, w, `INSERT INTO audit (time, actor, action, target, detail) VALUES (?, ?, ?, ?, ?)`},
		{&st.listAudit, r, `SELECT id, time, actor, action, target, detail FROM audit
			WHERE id > ? ORDER BY id LIMIT ?`},
		{&st.deleteAuditBefore, w, `DELETE FROM audit WHERE time < ?`},
	}
	for _, p := range list {
		s, err := p.db.PrepareContext(ctx, p.query)
		if err != nil {
			return fmt.Errorf("sqlite: prepare: %w", err)
		}
		*p.dst = s
		st.all = append(st.all, s)
	}
	return nil
}

func (st *statements) close() error {
	var errs []error
	for _, s := range st.all {
		errs = append(errs, s.Close())
	}
	st.all = nil
	return errors.Join(errs...)
}
