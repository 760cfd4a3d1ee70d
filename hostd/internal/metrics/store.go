package metrics

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/realmgate/realmgate/store"
)

// op is a store operation, a label value of realmgate_store_operation_*.
type op int

// opNames are the operations' label values, by op.
var opNames []string

// defineOp adds an operation. A method added to store.Store is one line here and one method
// below, of the same five lines as the others (see Ping).
func defineOp(name string) op {
	opNames = append(opNames, name)
	return op(len(opNames) - 1)
}

// The store's operations.
var (
	opGetSession                    = defineOp("get_session")
	opPutSession                    = defineOp("put_session")
	opDeleteSession                 = defineOp("delete_session")
	opReplaceSession                = defineOp("replace_session")
	opDeleteExpiredSessions         = defineOp("delete_expired_sessions")
	opGetUser                       = defineOp("get_user")
	opPutUser                       = defineOp("put_user")
	opDeleteUser                    = defineOp("delete_user")
	opDeleteUsersNotSeenSince       = defineOp("delete_users_not_seen_since")
	opGetDevice                     = defineOp("get_device")
	opPutDevice                     = defineOp("put_device")
	opListDevices                   = defineOp("list_devices")
	opSetDeviceStatus               = defineOp("set_device_status")
	opGetRules                      = defineOp("get_rules")
	opPutRules                      = defineOp("put_rules")
	opPutNonce                      = defineOp("put_nonce")
	opConsumeNonce                  = defineOp("consume_nonce")
	opDeleteExpiredNonces           = defineOp("delete_expired_nonces")
	opPutCertificate                = defineOp("put_certificate")
	opGetCertificate                = defineOp("get_certificate")
	opListCertificates              = defineOp("list_certificates")
	opRevokeCertificate             = defineOp("revoke_certificate")
	opAddLoginFailure               = defineOp("add_login_failure")
	opGetLoginFailure               = defineOp("get_login_failure")
	opResetLoginFailures            = defineOp("reset_login_failures")
	opDeleteExpiredLoginFailures    = defineOp("delete_expired_login_failures")
	opAppendAudit                   = defineOp("append_audit")
	opListAudit                     = defineOp("list_audit")
	opDeleteAuditBefore             = defineOp("delete_audit_before")
	opRevokeTokens                  = defineOp("revoke_tokens")
	opGetTokenRevocation            = defineOp("get_token_revocation")
	opDeleteExpiredTokenRevocations = defineOp("delete_expired_token_revocations")
	opPing                          = defineOp("ping")
	opUpdate                        = defineOp("update")
	opGetBlob                       = defineOp("get_blob")
	opPutBlob                       = defineOp("put_blob")
)

// Store is a store.Store that times every operation (realmgate_store_operation_duration_seconds)
// and counts the failed ones (realmgate_store_operation_errors_total). Not found and conflicts
// are answers, not failures: they are not counted. The collectors of each operation are
// resolved once, so an operation costs two clock reads and no allocation.
type Store struct {
	// Store promotes a method of store.Store that the decorator does not time yet, so that a
	// method added to the contract compiles; TestStoreTimesEveryMethod fails until it is timed.
	store.Store
	next store.Store
	// rec runs the record operations: next itself, or inside Update the unit's store.Tx, so
	// that the operations of a unit of work are timed as the others are.
	rec     store.Tx
	latency []prometheus.Observer
	errors  []prometheus.Counter
	// contention counts the units that failed with a store.ContentionError.
	contention prometheus.Counter
	// retries counts the runs of units beyond their first.
	retries prometheus.Counter
}

var _ store.Store = (*Store)(nil)

// Store wraps s with the store collectors. When s reports its connection pools (PoolReporter),
// realmgate_store_connections* report them.
func (m *Metrics) Store(s store.Store) *Store {
	w := &Store{Store: s, next: s, rec: s, latency: make([]prometheus.Observer, len(opNames)), errors: make([]prometheus.Counter, len(opNames)),
		contention: m.storeContention, retries: m.storeRetries}
	for i, name := range opNames {
		w.latency[i] = m.storeLatency.WithLabelValues(name)
		w.errors[i] = m.storeErrors.WithLabelValues(name)
	}
	if p, ok := s.(PoolReporter); ok {
		m.pools.set(p)
	}
	return w
}

func (s *Store) done(start time.Time, o op, err error) {
	s.latency[o].Observe(time.Since(start).Seconds())
	if err != nil && !errors.Is(err, store.ErrNotFound) && !errors.Is(err, store.ErrConflict) {
		s.errors[o].Inc()
	}
}

// Unwrap returns the store it wraps.
func (s *Store) Unwrap() store.Store { return s.next }

// PoolStats reports the pools of the wrapped store (PoolReporter); nil when it has none to
// report.
func (s *Store) PoolStats() map[string]sql.DBStats {
	if p, ok := s.next.(PoolReporter); ok {
		return p.PoolStats()
	}
	return nil
}

// Close implements store.Store.
func (s *Store) Close() error { return s.next.Close() }

// GetSession implements store.Store.
func (s *Store) GetSession(ctx context.Context, id string, now time.Time) (store.Session, error) {
	start := time.Now()
	v, err := s.rec.GetSession(ctx, id, now)
	s.done(start, opGetSession, err)
	return v, err
}

// PutSession implements store.Store.
func (s *Store) PutSession(ctx context.Context, v store.Session) error {
	start := time.Now()
	err := s.rec.PutSession(ctx, v)
	s.done(start, opPutSession, err)
	return err
}

// DeleteSession implements store.Store.
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	start := time.Now()
	err := s.rec.DeleteSession(ctx, id)
	s.done(start, opDeleteSession, err)
	return err
}

// ReplaceSession implements store.Store.
func (s *Store) ReplaceSession(ctx context.Context, oldID string, v store.Session) error {
	start := time.Now()
	err := s.rec.ReplaceSession(ctx, oldID, v)
	s.done(start, opReplaceSession, err)
	return err
}

// DeleteExpiredSessions implements store.Store.
func (s *Store) DeleteExpiredSessions(ctx context.Context, now time.Time) (int, error) {
	start := time.Now()
	v, err := s.rec.DeleteExpiredSessions(ctx, now)
	s.done(start, opDeleteExpiredSessions, err)
	return v, err
}

// GetUser implements store.Store.
func (s *Store) GetUser(ctx context.Context, id string) (store.User, error) {
	start := time.Now()
	v, err := s.rec.GetUser(ctx, id)
	s.done(start, opGetUser, err)
	return v, err
}

// PutUser implements store.Store.
func (s *Store) PutUser(ctx context.Context, u store.User) error {
	start := time.Now()
	err := s.rec.PutUser(ctx, u)
	s.done(start, opPutUser, err)
	return err
}

// DeleteUser implements store.Store.
func (s *Store) DeleteUser(ctx context.Context, id string) error {
	start := time.Now()
	err := s.rec.DeleteUser(ctx, id)
	s.done(start, opDeleteUser, err)
	return err
}

// DeleteUsersNotSeenSince implements store.Store.
func (s *Store) DeleteUsersNotSeenSince(ctx context.Context, before time.Time) (int, error) {
	start := time.Now()
	v, err := s.rec.DeleteUsersNotSeenSince(ctx, before)
	s.done(start, opDeleteUsersNotSeenSince, err)
	return v, err
}

// GetDevice implements store.Store.
func (s *Store) GetDevice(ctx context.Context, id, entity string) (store.Device, error) {
	start := time.Now()
	v, err := s.rec.GetDevice(ctx, id, entity)
	s.done(start, opGetDevice, err)
	return v, err
}

// PutDevice implements store.Store.
func (s *Store) PutDevice(ctx context.Context, d store.Device) error {
	start := time.Now()
	err := s.rec.PutDevice(ctx, d)
	s.done(start, opPutDevice, err)
	return err
}

// ListDevices implements store.Store.
func (s *Store) ListDevices(ctx context.Context) ([]store.Device, error) {
	start := time.Now()
	v, err := s.rec.ListDevices(ctx)
	s.done(start, opListDevices, err)
	return v, err
}

// SetDeviceStatus implements store.Store.
func (s *Store) SetDeviceStatus(ctx context.Context, id, status string) error {
	start := time.Now()
	err := s.rec.SetDeviceStatus(ctx, id, status)
	s.done(start, opSetDeviceStatus, err)
	return err
}

// GetRules implements store.Store.
func (s *Store) GetRules(ctx context.Context, app, env string) ([]store.Rule, error) {
	start := time.Now()
	v, err := s.rec.GetRules(ctx, app, env)
	s.done(start, opGetRules, err)
	return v, err
}

// PutRules implements store.Store.
func (s *Store) PutRules(ctx context.Context, app, env string, rules []store.Rule) error {
	start := time.Now()
	err := s.rec.PutRules(ctx, app, env, rules)
	s.done(start, opPutRules, err)
	return err
}

// PutNonce implements store.Store.
func (s *Store) PutNonce(ctx context.Context, n store.Nonce) error {
	start := time.Now()
	err := s.rec.PutNonce(ctx, n)
	s.done(start, opPutNonce, err)
	return err
}

// ConsumeNonce implements store.Store.
func (s *Store) ConsumeNonce(ctx context.Context, value, sessionID, realm string, now time.Time) error {
	start := time.Now()
	err := s.rec.ConsumeNonce(ctx, value, sessionID, realm, now)
	s.done(start, opConsumeNonce, err)
	return err
}

// DeleteExpiredNonces implements store.Store.
func (s *Store) DeleteExpiredNonces(ctx context.Context, now time.Time) (int, error) {
	start := time.Now()
	v, err := s.rec.DeleteExpiredNonces(ctx, now)
	s.done(start, opDeleteExpiredNonces, err)
	return v, err
}

// PutCertificate implements store.Store.
func (s *Store) PutCertificate(ctx context.Context, c store.CertificateRecord) error {
	start := time.Now()
	err := s.rec.PutCertificate(ctx, c)
	s.done(start, opPutCertificate, err)
	return err
}

// GetCertificate implements store.Store.
func (s *Store) GetCertificate(ctx context.Context, serial string) (store.CertificateRecord, error) {
	start := time.Now()
	v, err := s.rec.GetCertificate(ctx, serial)
	s.done(start, opGetCertificate, err)
	return v, err
}

// ListCertificates implements store.Store.
func (s *Store) ListCertificates(ctx context.Context) ([]store.CertificateRecord, error) {
	start := time.Now()
	v, err := s.rec.ListCertificates(ctx)
	s.done(start, opListCertificates, err)
	return v, err
}

// RevokeCertificate implements store.Store.
func (s *Store) RevokeCertificate(ctx context.Context, serial, reason string, at time.Time) error {
	start := time.Now()
	err := s.rec.RevokeCertificate(ctx, serial, reason, at)
	s.done(start, opRevokeCertificate, err)
	return err
}

// AddLoginFailure implements store.Store.
func (s *Store) AddLoginFailure(ctx context.Context, key string, now, expiresAt time.Time) (store.LoginFailure, error) {
	start := time.Now()
	v, err := s.rec.AddLoginFailure(ctx, key, now, expiresAt)
	s.done(start, opAddLoginFailure, err)
	return v, err
}

// GetLoginFailure implements store.Store.
func (s *Store) GetLoginFailure(ctx context.Context, key string, now time.Time) (store.LoginFailure, error) {
	start := time.Now()
	v, err := s.rec.GetLoginFailure(ctx, key, now)
	s.done(start, opGetLoginFailure, err)
	return v, err
}

// ResetLoginFailures implements store.Store.
func (s *Store) ResetLoginFailures(ctx context.Context, key string) error {
	start := time.Now()
	err := s.rec.ResetLoginFailures(ctx, key)
	s.done(start, opResetLoginFailures, err)
	return err
}

// DeleteExpiredLoginFailures implements store.Store.
func (s *Store) DeleteExpiredLoginFailures(ctx context.Context, now time.Time) (int, error) {
	start := time.Now()
	v, err := s.rec.DeleteExpiredLoginFailures(ctx, now)
	s.done(start, opDeleteExpiredLoginFailures, err)
	return v, err
}

// AppendAudit implements store.Store.
func (s *Store) AppendAudit(ctx context.Context, r store.AuditRecord) (int64, error) {
	start := time.Now()
	v, err := s.rec.AppendAudit(ctx, r)
	s.done(start, opAppendAudit, err)
	return v, err
}

// ListAudit implements store.Store.
func (s *Store) ListAudit(ctx context.Context, after int64, limit int) ([]store.AuditRecord, error) {
	start := time.Now()
	v, err := s.rec.ListAudit(ctx, after, limit)
	s.done(start, opListAudit, err)
	return v, err
}

// DeleteAuditBefore implements store.Store.
func (s *Store) DeleteAuditBefore(ctx context.Context, before time.Time) (int, error) {
	start := time.Now()
	v, err := s.rec.DeleteAuditBefore(ctx, before)
	s.done(start, opDeleteAuditBefore, err)
	return v, err
}

// RevokeTokens implements store.Store.
func (s *Store) RevokeTokens(ctx context.Context, r store.TokenRevocation) error {
	start := time.Now()
	err := s.rec.RevokeTokens(ctx, r)
	s.done(start, opRevokeTokens, err)
	return err
}

// GetTokenRevocation implements store.Store.
func (s *Store) GetTokenRevocation(ctx context.Context, kind, key string, now time.Time) (store.TokenRevocation, error) {
	start := time.Now()
	v, err := s.rec.GetTokenRevocation(ctx, kind, key, now)
	s.done(start, opGetTokenRevocation, err)
	return v, err
}

// DeleteExpiredTokenRevocations implements store.Store.
func (s *Store) DeleteExpiredTokenRevocations(ctx context.Context, now time.Time) (int, error) {
	start := time.Now()
	v, err := s.rec.DeleteExpiredTokenRevocations(ctx, now)
	s.done(start, opDeleteExpiredTokenRevocations, err)
	return v, err
}

// Ping implements store.Store.
func (s *Store) Ping(ctx context.Context) error {
	start := time.Now()
	err := s.next.Ping(ctx)
	s.done(start, opPing, err)
	return err
}

// Update implements store.Store: a unit of work is timed whole, from its queueing to its commit,
// and each of its operations as the operations outside a unit are. A run of fn beyond the first
// is a retry the store made after a conflict (realmgate_store_unit_retries_total), and a unit
// the store gave up on for conflicts counts in realmgate_store_unit_contention_total.
func (s *Store) Update(ctx context.Context, fn func(store.Tx) error) error {
	start := time.Now()
	runs := 0
	err := s.next.Update(ctx, func(tx store.Tx) error {
		if runs++; runs > 1 {
			s.retries.Inc()
		}
		in := *s
		in.rec = tx
		return fn(&in)
	})
	s.done(start, opUpdate, err)
	if ce := (*store.ContentionError)(nil); errors.As(err, &ce) {
		s.contention.Inc()
	}
	return err
}

// GetBlob implements store.Store.
func (s *Store) GetBlob(ctx context.Context, name string) ([]byte, int64, error) {
	start := time.Now()
	b, v, err := s.next.GetBlob(ctx, name)
	s.done(start, opGetBlob, err)
	return b, v, err
}

// PutBlob implements store.Store.
func (s *Store) PutBlob(ctx context.Context, name string, data []byte, expect int64) (int64, error) {
	start := time.Now()
	v, err := s.next.PutBlob(ctx, name, data, expect)
	s.done(start, opPutBlob, err)
	return v, err
}
