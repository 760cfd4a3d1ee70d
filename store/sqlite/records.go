package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/realmgate/realmgate/store"
)

// micros is how a time is stored: microseconds since the Unix epoch, the finer part dropped
// (rounded down, also before 1970, as time.Time.Truncate does).
func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(v int64) time.Time { return time.UnixMicro(v).UTC() }

// blob binds b, storing an empty one as NULL.
func blob(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

func text(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return string(b)
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{store.ErrInvalid}, args...)...)
}

// notFound maps "no row" to store.ErrNotFound and wraps everything else.
func notFound(op string, err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return store.ErrNotFound
	}
	return fmt.Errorf("sqlite: %s: %w", op, err)
}

func wrap(op string, err error) error { return fmt.Errorf("sqlite: %s: %w", op, err) }

// exec runs a write and returns the number of rows it changed.
func exec(ctx context.Context, op string, st *sql.Stmt, args ...any) (int64, error) {
	res, err := st.ExecContext(ctx, args...)
	if err != nil {
		return 0, wrap(op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, wrap(op, err)
	}
	return n, nil
}

// GetSession implements store.Sessions.
//
// Every request reads its session, so this read does not watch the caller's context once it has
// begun: watching costs two goroutines per read (database/sql's and the driver's), more than the
// read itself, which is one row by its key, on a reader that never waits for the writer (WAL),
// done in microseconds. A context already cancelled or past its deadline is refused as by every
// other method.
func (a *access) GetSession(ctx context.Context, id string, now time.Time) (store.Session, error) {
	if err := ctx.Err(); err != nil {
		return store.Session{}, wrap("get session", err)
	}
	out := store.Session{ID: id}
	var created, expires int64
	var state []byte
	err := a.q(a.st.getSession).QueryRowContext(context.WithoutCancel(a.c(ctx)), id, micros(now)).Scan(&out.App, &out.Env, &created, &expires, &state)
	if err != nil {
		return store.Session{}, notFound("get session", err)
	}
	out.CreatedAt, out.ExpiresAt = fromMicros(created), fromMicros(expires)
	if len(state) > 0 {
		out.State = state
	}
	return out, nil
}

// PutSession implements store.Sessions.
func (a *access) PutSession(ctx context.Context, v store.Session) error {
	if v.ID == "" {
		return invalid("session with an empty ID")
	}
	_, err := exec(a.c(ctx), "put session", a.q(a.st.putSession),
		v.ID, v.App, v.Env, micros(v.CreatedAt), micros(v.ExpiresAt), blob(v.State))
	return err
}

// ReplaceSession implements store.Sessions: one UPDATE moves the old record to the new id, and
// only when there was none to move is the new one inserted (PutSession). Outside a unit of work
// the two are separate commits, but the first wrote nothing when the second runs.
func (a *access) ReplaceSession(ctx context.Context, oldID string, v store.Session) error {
	if v.ID == "" {
		return invalid("session with an empty ID")
	}
	if oldID == v.ID {
		return invalid("replacing a session by itself")
	}
	n, err := exec(a.c(ctx), "replace session", a.q(a.st.replaceSession),
		v.ID, v.App, v.Env, micros(v.CreatedAt), micros(v.ExpiresAt), blob(v.State), oldID)
	if err != nil || n > 0 {
		return err
	}
	return a.PutSession(ctx, v)
}

// DeleteSession implements store.Sessions.
func (a *access) DeleteSession(ctx context.Context, id string) error {
	_, err := exec(a.c(ctx), "delete session", a.q(a.st.deleteSession), id)
	return err
}

// DeleteExpiredSessions implements store.Sessions.
func (a *access) DeleteExpiredSessions(ctx context.Context, now time.Time) (int, error) {
	n, err := exec(a.c(ctx), "delete expired sessions", a.q(a.st.deleteExpiredSessions), micros(now))
	return int(n), err
}

// GetUser implements store.Users.
func (a *access) GetUser(ctx context.Context, id string) (store.User, error) {
	var created, seen int64
	if err := a.q(a.st.getUser).QueryRowContext(a.c(ctx), id).Scan(&created, &seen); err != nil {
		return store.User{}, notFound("get user", err)
	}
	return store.User{ID: id, CreatedAt: fromMicros(created), LastSeen: fromMicros(seen)}, nil
}

// PutUser implements store.Users.
func (a *access) PutUser(ctx context.Context, u store.User) error {
	if u.ID == "" {
		return invalid("user with an empty ID")
	}
	_, err := exec(a.c(ctx), "put user", a.q(a.st.putUser), u.ID, micros(u.CreatedAt), micros(u.LastSeen))
	return err
}

func validStatus(status string) error {
	if status != store.DeviceActive && status != store.DeviceBlocked {
		return invalid("device status %q, want %q or %q", status, store.DeviceActive, store.DeviceBlocked)
	}
	return nil
}

// GetDevice implements store.Devices.
func (a *access) GetDevice(ctx context.Context, id, entity string) (store.Device, error) {
	d := store.Device{ID: id, Entity: entity}
	var created, seen int64
	err := a.q(a.st.getDevice).QueryRowContext(a.c(ctx), id, entity).Scan(
		&d.App, &d.OS, &d.Model, &d.DisplayName, &d.Status, &created, &seen, &d.CertificateSerial)
	if err != nil {
		return store.Device{}, notFound("get device", err)
	}
	d.CreatedAt, d.LastSeen = fromMicros(created), fromMicros(seen)
	return d, nil
}

// PutDevice implements store.Devices.
func (a *access) PutDevice(ctx context.Context, d store.Device) error {
	if d.ID == "" || d.Entity == "" {
		return invalid("device with an empty ID or Entity")
	}
	if err := validStatus(d.Status); err != nil {
		return err
	}
	_, err := exec(a.c(ctx), "put device", a.q(a.st.putDevice), d.ID, d.Entity, d.App, d.OS, d.Model,
		d.DisplayName, d.Status, micros(d.CreatedAt), micros(d.LastSeen), d.CertificateSerial)
	return err
}

// ListDevices implements store.Devices.
func (a *access) ListDevices(ctx context.Context) ([]store.Device, error) {
	rows, err := a.q(a.st.listDevices).QueryContext(a.c(ctx))
	if err != nil {
		return nil, wrap("list devices", err)
	}
	defer rows.Close()
	out := []store.Device{}
	for rows.Next() {
		var d store.Device
		var created, seen int64
		if err := rows.Scan(&d.ID, &d.Entity, &d.App, &d.OS, &d.Model, &d.DisplayName, &d.Status,
			&created, &seen, &d.CertificateSerial); err != nil {
			return nil, wrap("list devices", err)
		}
		d.CreatedAt, d.LastSeen = fromMicros(created), fromMicros(seen)
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("list devices", err)
	}
	return out, nil
}

// SetDeviceStatus implements store.Devices.
func (a *access) SetDeviceStatus(ctx context.Context, id, status string) error {
	if err := validStatus(status); err != nil {
		return err
	}
	n, err := exec(a.c(ctx), "set device status", a.q(a.st.setDeviceStatus), status, id)
	if err != nil {
		return err
	}
	if n == 0 {
		return store.ErrNotFound
	}
	return nil
}

// GetRules implements store.RemoteDisable.
func (a *access) GetRules(ctx context.Context, app, env string) ([]store.Rule, error) {
	rows, err := a.q(a.st.getRules).QueryContext(a.c(ctx), app, env)
	if err != nil {
		return nil, wrap("get rules", err)
	}
	defer rows.Close()
	out := []store.Rule{}
	for rows.Next() {
		var r store.Rule
		if err := rows.Scan(&r.Versions, &r.Action, &r.Message, &r.DownloadLink, &r.MessageID); err != nil {
			return nil, wrap("get rules", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("get rules", err)
	}
	return out, nil
}

// PutRules implements store.RemoteDisable. The old rules go and the new ones come in one
// transaction (the unit's, inside a unit of work): a reader sees one list or the other, never a
// mix.
func (a *access) PutRules(ctx context.Context, app, env string, rules []store.Rule) error {
	if a.tx != nil {
		return putRules(a.c(ctx), a.tx, app, env, rules)
	}
	tx, err := a.w.BeginTx(ctx, nil)
	if err != nil {
		return wrap("put rules", err)
	}
	if err := putRules(ctx, tx, app, env, rules); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return wrap("put rules", err)
	}
	return nil
}

func putRules(ctx context.Context, tx *sql.Tx, app, env string, rules []store.Rule) error {
	if _, err := tx.ExecContext(ctx, sqlDeleteRules, app, env); err != nil {
		return wrap("put rules", err)
	}
	for i, r := range rules {
		if _, err := tx.ExecContext(ctx, sqlInsertRule, app, env, i, r.Versions, r.Action, r.Message, r.DownloadLink, r.MessageID); err != nil {
			return wrap("put rules", err)
		}
	}
	return nil
}

// PutNonce implements store.Nonces.
func (a *access) PutNonce(ctx context.Context, n store.Nonce) error {
	if n.Value == "" {
		return invalid("nonce with an empty value")
	}
	added, err := exec(a.c(ctx), "put nonce", a.q(a.st.putNonce), n.Value, n.SessionID, n.Realm, micros(n.ExpiresAt))
	if err != nil {
		return err
	}
	if added == 0 {
		return store.ErrConflict
	}
	return nil
}

// ConsumeNonce implements store.Nonces.
func (a *access) ConsumeNonce(ctx context.Context, value, sessionID, realm string, now time.Time) error {
	n, err := exec(a.c(ctx), "consume nonce", a.q(a.st.consumeNonce), value, sessionID, realm, micros(now))
	if err != nil {
		return err
	}
	if n == 0 {
		return store.ErrNotFound
	}
	return nil
}

// DeleteExpiredNonces implements store.Nonces.
func (a *access) DeleteExpiredNonces(ctx context.Context, now time.Time) (int, error) {
	n, err := exec(a.c(ctx), "delete expired nonces", a.q(a.st.deleteExpiredNonces), micros(now))
	return int(n), err
}

// PutCertificate implements store.Certificates.
func (a *access) PutCertificate(ctx context.Context, c store.CertificateRecord) error {
	if c.Serial == "" {
		return invalid("certificate with an empty serial")
	}
	var revoked any
	if c.RevokedAt != nil {
		revoked = micros(*c.RevokedAt)
	}
	added, err := exec(a.c(ctx), "put certificate", a.q(a.st.putCertificate), c.Serial, c.Entity, c.Owner, c.Realm,
		c.Issuer, micros(c.NotBefore), micros(c.NotAfter), blob(c.DER), micros(c.IssuedAt), revoked, c.Reason)
	if err != nil {
		return err
	}
	if added == 0 {
		return store.ErrConflict
	}
	return nil
}

// scanner is *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

// scanCertificate reads the columns after serial of a certificates row.
func scanCertificate(sc scanner, c *store.CertificateRecord, serial bool) error {
	var notBefore, notAfter, issued int64
	var revoked sql.NullInt64
	dest := []any{&c.Entity, &c.Owner, &c.Realm, &c.Issuer, &notBefore, &notAfter, &c.DER, &issued, &revoked, &c.Reason}
	if serial {
		dest = append([]any{&c.Serial}, dest...)
	}
	if err := sc.Scan(dest...); err != nil {
		return err
	}
	c.NotBefore, c.NotAfter, c.IssuedAt = fromMicros(notBefore), fromMicros(notAfter), fromMicros(issued)
	if revoked.Valid {
		t := fromMicros(revoked.Int64)
		c.RevokedAt = &t
	}
	if len(c.DER) == 0 {
		c.DER = nil
	}
	return nil
}

// GetCertificate implements store.Certificates.
func (a *access) GetCertificate(ctx context.Context, serial string) (store.CertificateRecord, error) {
	c := store.CertificateRecord{Serial: serial}
	if err := scanCertificate(a.q(a.st.getCertificate).QueryRowContext(a.c(ctx), serial), &c, false); err != nil {
		return store.CertificateRecord{}, notFound("get certificate", err)
	}
	return c, nil
}

// ListCertificates implements store.Certificates.
func (a *access) ListCertificates(ctx context.Context) ([]store.CertificateRecord, error) {
	rows, err := a.q(a.st.listCertificates).QueryContext(a.c(ctx))
	if err != nil {
		return nil, wrap("list certificates", err)
	}
	defer rows.Close()
	out := []store.CertificateRecord{}
	for rows.Next() {
		var c store.CertificateRecord
		if err := scanCertificate(rows, &c, true); err != nil {
			return nil, wrap("list certificates", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("list certificates", err)
	}
	return out, nil
}

// RevokeCertificate implements store.Certificates.
func (a *access) RevokeCertificate(ctx context.Context, serial, reason string, at time.Time) error {
	n, err := exec(a.c(ctx), "revoke certificate", a.q(a.st.revokeCert), micros(at), reason, serial)
	if err != nil {
		return err
	}
	if n == 0 {
		return store.ErrNotFound
	}
	return nil
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

// AddLoginFailure implements store.LoginFailures.
func (a *access) AddLoginFailure(ctx context.Context, key string, now, expiresAt time.Time) (store.LoginFailure, error) {
	if key == "" {
		return store.LoginFailure{}, invalid("login failure with an empty key")
	}
	out := store.LoginFailure{Key: key}
	var last, exp int64
	if err := a.q(a.st.addLoginFailure).QueryRowContext(a.c(ctx), key, micros(now), micros(expiresAt)).Scan(&out.Count, &last, &exp); err != nil {
		return store.LoginFailure{}, wrap("add login failure", err)
	}
	out.Last, out.ExpiresAt = fromMicros(last), fromMicros(exp)
	return out, nil
}

// GetLoginFailure implements store.LoginFailures.
//
// Every login reads the counts of its account and of its client, so this read, like GetSession,
// does not watch the caller's context once it has begun (one row by its key): a context already
// done is refused.
func (a *access) GetLoginFailure(ctx context.Context, key string, now time.Time) (store.LoginFailure, error) {
	if err := ctx.Err(); err != nil {
		return store.LoginFailure{}, wrap("get login failure", err)
	}
	out := store.LoginFailure{Key: key}
	var last, exp int64
	if err := a.q(a.st.getLoginFailure).QueryRowContext(context.WithoutCancel(a.c(ctx)), key, micros(now)).Scan(&out.Count, &last, &exp); err != nil {
		return store.LoginFailure{}, notFound("get login failure", err)
	}
	out.Last, out.ExpiresAt = fromMicros(last), fromMicros(exp)
	return out, nil
}

// ResetLoginFailures implements store.LoginFailures.
func (a *access) ResetLoginFailures(ctx context.Context, key string) error {
	_, err := exec(a.c(ctx), "reset login failures", a.q(a.st.resetLoginFailures), key)
	return err
}

// DeleteExpiredLoginFailures implements store.LoginFailures.
func (a *access) DeleteExpiredLoginFailures(ctx context.Context, now time.Time) (int, error) {
	n, err := exec(a.c(ctx), "delete expired login failures", a.q(a.st.deleteExpiredLoginFailures), micros(now))
	return int(n), err
}

// DeleteUser implements store.Users.
func (a *access) DeleteUser(ctx context.Context, id string) error {
	_, err := exec(a.c(ctx), "delete user", a.q(a.st.deleteUser), id)
	return err
}

// DeleteUsersNotSeenSince implements store.Users.
func (a *access) DeleteUsersNotSeenSince(ctx context.Context, before time.Time) (int, error) {
	n, err := exec(a.c(ctx), "delete users not seen", a.q(a.st.deleteUsersNotSeen), micros(before))
	return int(n), err
}

// DeleteAuditBefore implements store.Audit.
func (a *access) DeleteAuditBefore(ctx context.Context, before time.Time) (int, error) {
	n, err := exec(a.c(ctx), "delete audit", a.q(a.st.deleteAuditBefore), micros(before))
	return int(n), err
}

// AppendAudit implements store.Audit.
func (a *access) AppendAudit(ctx context.Context, r store.AuditRecord) (int64, error) {
	if err := validDetail(r.Detail); err != nil {
		return 0, err
	}
	res, err := a.q(a.st.appendAudit).ExecContext(a.c(ctx), micros(r.Time), r.Actor, r.Action, r.Target, text(r.Detail))
	if err != nil {
		return 0, wrap("append audit", err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return 0, wrap("append audit", err)
	}
	return id, nil
}

// ListAudit implements store.Audit.
func (a *access) ListAudit(ctx context.Context, after int64, limit int) ([]store.AuditRecord, error) {
	if err := ctx.Err(); err != nil {
		return nil, wrap("list audit", err)
	}
	out := []store.AuditRecord{}
	if limit <= 0 {
		// SQLite reads a negative LIMIT as "no limit"; the contract says none.
		return out, nil
	}
	rows, err := a.q(a.st.listAudit).QueryContext(a.c(ctx), after, limit)
	if err != nil {
		return nil, wrap("list audit", err)
	}
	defer rows.Close()
	for rows.Next() {
		var r store.AuditRecord
		var t int64
		var detail []byte
		if err := rows.Scan(&r.ID, &t, &r.Actor, &r.Action, &r.Target, &detail); err != nil {
			return nil, wrap("list audit", err)
		}
		r.Time = fromMicros(t)
		if len(detail) > 0 {
			r.Detail = detail
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("list audit", err)
	}
	return out, nil
}

// RevokeTokens implements store.TokenRevocations.
func (a *access) RevokeTokens(ctx context.Context, r store.TokenRevocation) error {
	if r.Kind != store.TokensOfSession && r.Kind != store.TokensOfDevice {
		return invalid("token revocation kind %q", r.Kind)
	}
	if r.Key == "" {
		return invalid("token revocation with an empty key")
	}
	_, err := exec(a.c(ctx), "revoke tokens", a.q(a.st.revokeTokens), r.Kind, r.Key, micros(r.RevokedAt), micros(r.ExpiresAt))
	return err
}

// GetTokenRevocation implements store.TokenRevocations.
func (a *access) GetTokenRevocation(ctx context.Context, kind, key string, now time.Time) (store.TokenRevocation, error) {
	var at, exp int64
	if err := a.q(a.st.getTokenRevocation).QueryRowContext(a.c(ctx), kind, key, micros(now)).Scan(&at, &exp); err != nil {
		return store.TokenRevocation{}, notFound("get token revocation", err)
	}
	return store.TokenRevocation{Kind: kind, Key: key, RevokedAt: fromMicros(at), ExpiresAt: fromMicros(exp)}, nil
}

// DeleteExpiredTokenRevocations implements store.TokenRevocations.
func (a *access) DeleteExpiredTokenRevocations(ctx context.Context, now time.Time) (int, error) {
	n, err := exec(a.c(ctx), "delete expired token revocations", a.q(a.st.deleteExpiredRevocations), micros(now))
	return int(n), err
}
