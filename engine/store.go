package engine

import (
	"context"
	"time"

	"github.com/realmgate/realmgate/store"
)

// Store is the durable state the engine uses: the reads it makes outside a unit of work, and
// units of work (store.Updater) for every write. A request's writes (its session, attempt
// counters, device and certificate records, audit records) are collected while it runs
// (session.later) and commit once, together, when the session is saved; an administrative
// change commits with its audit record. The reads below are the ones that need no unit: what
// a request decides on and a unit must keep consistent is read again inside the unit.
type Store interface {
	sessionReader
	userReader
	deviceReader
	ruleReader
	certificateReader
	loginFailureReader
	auditReader
	sessionWriter
	store.Updater
}

// sessionReader loads sessions (loadSession) and single sign-on records (sso.go).
type sessionReader interface {
	GetSession(ctx context.Context, id string, now time.Time) (store.Session, error)
}

// sessionWriter writes a session: inside a unit of work (store.Tx), or on its own when it is a
// request's only write (writeSessionAlone), in one statement that needs no unit.
type sessionWriter interface {
	PutSession(ctx context.Context, s store.Session) error
	ReplaceSession(ctx context.Context, oldID string, s store.Session) error
}

// userReader finds persistent users (the anonymous-user realm).
type userReader interface {
	GetUser(ctx context.Context, id string) (store.User, error)
}

// deviceReader finds devices for the device realms and their administration.
type deviceReader interface {
	GetDevice(ctx context.Context, id, entity string) (store.Device, error)
	ListDevices(ctx context.Context) ([]store.Device, error)
}

// ruleReader reads remote-disable rules (the rules cache, support.go).
type ruleReader interface {
	GetRules(ctx context.Context, app, env string) ([]store.Rule, error)
}

// certificateReader finds issued certificates for signed payloads and their administration.
type certificateReader interface {
	GetCertificate(ctx context.Context, serial string) (store.CertificateRecord, error)
	ListCertificates(ctx context.Context) ([]store.CertificateRecord, error)
}

// loginFailureReader reads the failed-login counters a login backs off by (backoff.go).
type loginFailureReader interface {
	GetLoginFailure(ctx context.Context, key string, now time.Time) (store.LoginFailure, error)
}

// auditReader lists the audit log for administrators.
type auditReader interface {
	ListAudit(ctx context.Context, after int64, limit int) ([]store.AuditRecord, error)
}
