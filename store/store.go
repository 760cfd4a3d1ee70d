// Package store is the contract for Realmgate's durable state: sessions, persistent (anonymous)
// users, devices, remote-disable rules, single-use nonces, certificates, failed-login counters,
// access-token revocations and the audit log.
//
// Several implementations satisfy it (embedded SQLite in store/sqlite, PostgreSQL later) and all
// pass the conformance suite in store/storetest. Implementations are safe for concurrent use and
// durable: a write that returned nil survives a kill -9 of the process.
//
// Times are kept to the microsecond (the finer part is dropped, as PostgreSQL's timestamptz
// does) and come back in UTC; the zero time.Time comes back as the zero time.Time. A record
// with an ExpiresAt is live while now is before ExpiresAt and has expired from ExpiresAt on,
// both compared at that precision. Lists ordered by strings order them byte-wise, as Go compares
// strings.
package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// ErrNotFound is returned when a record does not exist (or has expired).
var ErrNotFound = errors.New("store: not found")

// ErrConflict is returned when a write would break a uniqueness rule.
var ErrConflict = errors.New("store: conflict")

// ErrInvalid is returned when a record breaks a rule of this contract (an empty key, a device
// status other than DeviceActive or DeviceBlocked, an audit Detail that is not a JSON object);
// nothing is written.
var ErrInvalid = errors.New("store: invalid record")

// ErrUnavailable is returned, wrapped with the cause, when the store cannot be reached (a
// database server that is down, restarting or refusing connections): the request may succeed
// later, and nothing is known to be wrong with it, so a server answers 503.
var ErrUnavailable = errors.New("store: unavailable")

// Store is the whole of the durable state. It is composed of narrow interfaces so that a consumer
// can ask for only what it uses.
type Store interface {
	Sessions
	Users
	Devices
	RemoteDisable
	Nonces
	Certificates
	LoginFailures
	Audit
	TokenRevocations
	Blobs
	Updater
	// Ping reports whether the store can serve (for /readyz).
	Ping(ctx context.Context) error
	// Close releases the store.
	Close() error
}

// Tx is the state a unit of work reads and writes.
type Tx interface {
	Sessions
	Users
	Devices
	RemoteDisable
	Nonces
	Certificates
	LoginFailures
	Audit
	TokenRevocations
}

// Updater runs units of work.
//
// A request's writes (its session, the attempt counter of a realm, a device record and the
// certificate issued for it, an audit record) belong together: a client must never find a
// certificate recorded without its device, or a device naming a certificate that was not kept.
// A unit of work is how they commit together, and it is also what makes a request cost one
// commit rather than one per record.
type Updater interface {
	// Update runs fn in one unit of work: the writes fn makes through tx commit together when
	// fn returns nil, and none of them when fn or the commit fails (the error is returned,
	// wrapped). Reads through tx see the unit's own writes. fn may run more than once (a
	// store may retry a serialization failure), so it must have no other side effect; it must
	// not do slow work (adapter calls, signing, network): do that before and write after.
	// tx is valid only while fn runs.
	//
	// A ctx that is done before the unit runs writes nothing and returns ctx's error, wrapped.
	// Units are isolated from each other: concurrent units see each other's writes whole or not
	// at all, and lose none of them (concurrent AddLoginFailure in units all count). Methods of
	// tx take a context too; the unit's own ctx governs it. A method of tx that answers
	// ErrNotFound, ErrConflict or ErrInvalid has written nothing and leaves the unit usable (fn
	// may go on, as after a PutNonce of a value that exists); after any other error fn should
	// return it.
	Update(ctx context.Context, fn func(tx Tx) error) error
}

// Session is one client session. State is the engine's own encoding of what the session has
// passed; the store treats it as opaque bytes.
type Session struct {
	ID        string
	App       string
	Env       string
	CreatedAt time.Time
	// ExpiresAt is when the session ends unless touched again (idle timeout).
	ExpiresAt time.Time
	State     json.RawMessage
}

// Sessions stores sessions.
type Sessions interface {
	// GetSession returns the session with id, or ErrNotFound when it does not exist or has
	// expired at now.
	GetSession(ctx context.Context, id string, now time.Time) (Session, error)
	// PutSession creates or replaces a session.
	PutSession(ctx context.Context, s Session) error
	// DeleteSession removes the session; removing one that does not exist is not an error.
	DeleteSession(ctx context.Context, id string) error
	// ReplaceSession stores s and removes the session oldID, in one write: what PutSession(s)
	// then DeleteSession(oldID) in one unit of work do, for a session whose id changed (a login
	// rotates it). A store makes it one statement, so that the write of a login that has no
	// other writes needs no unit of work. oldID may not exist; it must differ from s.ID.
	ReplaceSession(ctx context.Context, oldID string, s Session) error
	// DeleteExpiredSessions removes sessions that have expired at now (ExpiresAt <= now) and
	// returns how many.
	DeleteExpiredSessions(ctx context.Context, now time.Time) (int, error)
}

// User is a persistent user, known by the WL_PERSISTENT_COOKIE the anonymous-user realm issued.
type User struct {
	ID        string
	CreatedAt time.Time
	// LastSeen is when the user last came back; the engine moves it forward coarsely (at most
	// once an hour), so it may lag the latest request by that much.
	LastSeen time.Time
}

// Users stores persistent users.
type Users interface {
	GetUser(ctx context.Context, id string) (User, error)
	// PutUser creates or updates a user.
	PutUser(ctx context.Context, u User) error
	// DeleteUser removes the user; removing one that does not exist is not an error. The
	// anonymous-user realm deletes a row it moves to another key (a row keyed by a raw cookie,
	// from before users were keyed by an id derived from it).
	DeleteUser(ctx context.Context, id string) error
	// DeleteUsersNotSeenSince removes the users last seen before before (LastSeen < before)
	// and returns how many: a user whose cookie has expired can never come back.
	DeleteUsersNotSeenSince(ctx context.Context, before time.Time) (int, error)
}

// Device is a device known to the server, for one provisioning entity ("application:APP",
// "group:NAME", "device" or, unprovisioned, "none").
type Device struct {
	ID          string
	Entity      string
	App         string
	OS          string
	Model       string
	DisplayName string
	// Status is "active" or "blocked"; a blocked device fails every device realm.
	Status    string
	CreatedAt time.Time
	LastSeen  time.Time
	// CertificateSerial is the serial (hex) of the device's current certificate, if provisioned.
	CertificateSerial string
}

// Device statuses.
const (
	DeviceActive  = "active"
	DeviceBlocked = "blocked"
)

// Devices stores devices.
type Devices interface {
	GetDevice(ctx context.Context, id, entity string) (Device, error)
	// PutDevice creates or updates the device (ID, Entity).
	PutDevice(ctx context.Context, d Device) error
	// ListDevices returns devices ordered by ID then Entity.
	ListDevices(ctx context.Context) ([]Device, error)
	// SetDeviceStatus changes the status of every entity of device id; ErrNotFound when none.
	SetDeviceStatus(ctx context.Context, id, status string) error
}

// Rule is one remote-disable rule of an application environment.
type Rule struct {
	// Versions is a semantic-version constraint ("<2.0.0", ">=1.0, <1.4"); empty matches all.
	Versions     string `json:"versions"`
	Action       string `json:"action"` // "block" or "notify"
	Message      string `json:"message"`
	DownloadLink string `json:"downloadLink,omitempty"`
	// MessageID identifies a notify message; the client acknowledges it by this id.
	MessageID string `json:"messageId,omitempty"`
}

// RemoteDisable stores the remote-disable rules of application environments.
type RemoteDisable interface {
	// GetRules returns the rules of app/env (empty, not ErrNotFound, when none).
	GetRules(ctx context.Context, app, env string) ([]Rule, error)
	// PutRules replaces the rules of app/env; an empty slice clears them.
	PutRules(ctx context.Context, app, env string, rules []Rule) error
}

// Nonce is a single-use value bound to a session and a realm.
type Nonce struct {
	Value     string
	SessionID string
	Realm     string
	ExpiresAt time.Time
}

// Nonces stores single-use nonces.
type Nonces interface {
	// PutNonce stores a new nonce; ErrConflict when the value exists (a nonce is never rebound).
	PutNonce(ctx context.Context, n Nonce) error
	// ConsumeNonce deletes the nonce and returns nil when it existed for that session and realm
	// and had not expired at now; otherwise ErrNotFound. Concurrent consumers of one nonce: at
	// most one succeeds.
	ConsumeNonce(ctx context.Context, value, sessionID, realm string, now time.Time) error
	// DeleteExpiredNonces removes nonces that have expired at now (ExpiresAt <= now) and returns
	// how many.
	DeleteExpiredNonces(ctx context.Context, now time.Time) (int, error)
}

// CertificateRecord is an issued certificate.
type CertificateRecord struct {
	Serial    string // hex, lower case
	Entity    string // what it was issued to: "user:NAME", "application:APP", "group:NAME", "device"
	Owner     string // user id or device id
	Realm     string
	Issuer    string // DN of the issuer
	NotBefore time.Time
	NotAfter  time.Time
	DER       []byte
	IssuedAt  time.Time
	RevokedAt *time.Time
	Reason    string
}

// Certificates stores issued certificates and their revocation.
type Certificates interface {
	// PutCertificate records a new certificate; ErrConflict when the serial exists.
	PutCertificate(ctx context.Context, c CertificateRecord) error
	GetCertificate(ctx context.Context, serial string) (CertificateRecord, error)
	// ListCertificates returns certificates ordered by IssuedAt then Serial.
	ListCertificates(ctx context.Context) ([]CertificateRecord, error)
	// RevokeCertificate marks a certificate revoked at the given time; ErrNotFound when unknown.
	// Revoking twice keeps the first time and reason and returns nil.
	RevokeCertificate(ctx context.Context, serial, reason string, at time.Time) error
}

// LoginFailure counts the failed logins of one key: an account of a login module, or a client
// address. The engine backs off logins by it; the store only counts.
type LoginFailure struct {
	Key string
	// Count is the number of failures since the record was (re)started.
	Count int
	// Last is the time of the latest failure.
	Last time.Time
	// ExpiresAt forgets the record: a key without a failure for a whole window starts again.
	ExpiresAt time.Time
}

// LoginFailures stores failed-login counters. They are shared by every daemon of the store, so a
// client cannot escape a backoff by reaching another daemon or by opening a new session.
type LoginFailures interface {
	// AddLoginFailure counts one failure of key at now and returns the record as stored: a live
	// record's Count grows by one, a missing or expired one (ExpiresAt <= now) starts again at
	// one; Last becomes now and ExpiresAt expiresAt. Concurrent adds to one key all count.
	// ErrInvalid for an empty key.
	AddLoginFailure(ctx context.Context, key string, now, expiresAt time.Time) (LoginFailure, error)
	// GetLoginFailure returns the record of key, or ErrNotFound when there is none or it has
	// expired at now.
	GetLoginFailure(ctx context.Context, key string, now time.Time) (LoginFailure, error)
	// ResetLoginFailures forgets key; forgetting a key that has no record is not an error.
	ResetLoginFailures(ctx context.Context, key string) error
	// DeleteExpiredLoginFailures removes records that have expired at now (ExpiresAt <= now)
	// and returns how many.
	DeleteExpiredLoginFailures(ctx context.Context, now time.Time) (int, error)
}

// AuditRecord is one administrative change or security-relevant event.
type AuditRecord struct {
	ID     int64 // assigned by the store
	Time   time.Time
	Actor  string // "admin", "session:<id>", "system"
	Action string // "remote_disable.put", "certificate.revoke", ...
	Target string
	Detail json.RawMessage // a JSON object; never holds a secret
}

// Audit is an append-only log, trimmed only from its old end (DeleteAuditBefore).
type Audit interface {
	// AppendAudit stores r with a new ID, greater than every ID before it, and returns it; r.ID
	// is ignored. An empty Detail is stored as none.
	AppendAudit(ctx context.Context, r AuditRecord) (int64, error)
	// ListAudit returns records with ID > after, oldest first, at most limit of them (none when
	// limit <= 0).
	ListAudit(ctx context.Context, after int64, limit int) ([]AuditRecord, error)
	// DeleteAuditBefore removes the records whose Time is before before (Time < before) and
	// returns how many: the audit log's retention. IDs are never reused, so a reader paging
	// with "after" skips nothing it has not already read or that was not deleted.
	DeleteAuditBefore(ctx context.Context, before time.Time) (int, error)
}

// TokenRevocation says that access tokens are no longer valid: every token of one session (Kind
// TokensOfSession, Key the tokens' session reference), or every token of one device issued at
// or before RevokedAt (Kind TokensOfDevice, Key the device id). A record is kept until
// ExpiresAt, by which time every token it can revoke has expired.
type TokenRevocation struct {
	Kind      string
	Key       string
	RevokedAt time.Time
	ExpiresAt time.Time
}

// Kinds of token revocation.
const (
	TokensOfSession = "session"
	TokensOfDevice  = "device"
)

// TokenRevocations stores access-token revocations, which online validation consults.
type TokenRevocations interface {
	// RevokeTokens stores r. When a record of r.Kind and r.Key exists, the later RevokedAt and
	// the later ExpiresAt of the two are kept. An unknown Kind or an empty Key is ErrInvalid.
	RevokeTokens(ctx context.Context, r TokenRevocation) error
	// GetTokenRevocation returns the record of kind and key that is live at now, or
	// ErrNotFound.
	GetTokenRevocation(ctx context.Context, kind, key string, now time.Time) (TokenRevocation, error)
	// DeleteExpiredTokenRevocations removes the records that have expired at now (ExpiresAt <=
	// now) and returns how many.
	DeleteExpiredTokenRevocations(ctx context.Context, now time.Time) (int, error)
}

// Blobs keeps small named records that every daemon of a store shares (the sealed token key set,
// the generation of the loaded project), written with compare-and-swap so that no daemon
// overwrites another's change unseen.
type Blobs interface {
	// GetBlob returns the record of name and its version: 1 after the first write, one more
	// after each write. ErrNotFound when there is none.
	GetBlob(ctx context.Context, name string) (data []byte, version int64, err error)
	// PutBlob stores data under name when the record's version is still expect (0: there is no
	// record) and returns the new version, expect+1; ErrConflict when the version moved on.
	// ErrInvalid for an empty name.
	PutBlob(ctx context.Context, name string, data []byte, expect int64) (int64, error)
}

// ContentionError is returned by Updater.Update when a unit of work met a conflict with
// concurrent units (a serialization failure or a deadlock) on each of its runs, up to the
// store's retry bound: nothing was written, nothing is wrong with the request, and it may
// succeed later. It is not ErrUnavailable, so that an operator tells contention (too many units
// touching the same records at once, or a retry bound too low) from a database that is down.
type ContentionError struct {
	// Attempts is how many times the unit ran.
	Attempts int
	// Err is the last conflict.
	Err error
}

func (e *ContentionError) Error() string {
	return fmt.Sprintf("store: unit of work gave up after %d runs that conflicted with concurrent units: %v", e.Attempts, e.Err)
}

func (e *ContentionError) Unwrap() error { return e.Err }
