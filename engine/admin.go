package engine

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/realmgate/realmgate/store"
)

// Administration: what an administrator may read and change, as engine methods, so that every
// rule about it (which statuses exist, what a block ends, what is audited) lives here and the admin
// API only maps requests to these calls. Changes are audited under the actor the caller names.

// MaxRulesPerEnvironment bounds the remote-disable rules of one application environment: they
// are read on every protected request of the environment.
const MaxRulesPerEnvironment = 100

// Audit listing bounds: a page holds DefaultAuditPage records unless the caller asks for at most
// MaxAuditPage.
const (
	DefaultAuditPage = 100
	MaxAuditPage     = 1000
)

// CheckEnvironment returns an *Error with CodeUnknownApplication unless env is an environment of
// the application app in the project.
func (e *Engine) CheckEnvironment(app, env string) error {
	a := e.project.Apps[app]
	if a == nil || a.Envs[env] == nil {
		return &Error{Code: CodeUnknownApplication, Message: "no application environment " + app + "/" + env}
	}
	return nil
}

// Rules returns the remote-disable rules of an application environment, never nil.
func (e *Engine) Rules(ctx context.Context, app, env string) ([]store.Rule, error) {
	if err := e.CheckEnvironment(app, env); err != nil {
		return nil, err
	}
	rules, err := e.store.GetRules(ctx, app, env)
	if err != nil {
		return nil, &Error{Code: CodeUnavailable, Message: "the rule store is unavailable", Err: err}
	}
	if rules == nil {
		rules = []store.Rule{}
	}
	return rules, nil
}

// Devices lists every device record.
func (e *Engine) Devices(ctx context.Context) ([]store.Device, error) {
	devs, err := e.store.ListDevices(ctx)
	if err != nil {
		return nil, &Error{Code: CodeUnavailable, Message: "the device store is unavailable", Err: err}
	}
	return devs, nil
}

// SetDeviceStatus blocks (store.DeviceBlocked) or unblocks (store.DeviceActive) every entity of
// device id. A block applies to the device's next request, here at once and on other daemons
// sharing the store within the status cache's TTL, and revokes the access tokens the device
// was issued up to now (for online validation; offline validators keep accepting them until
// they expire). An unknown device is CodeNotFound. The change is audited under actor.
func (e *Engine) SetDeviceStatus(ctx context.Context, actor, id, status string) error {
	if status != store.DeviceActive && status != store.DeviceBlocked {
		return errorf(CodeBadRequest, "a device's status is %q or %q, not %q", store.DeviceActive, store.DeviceBlocked, status)
	}
	// The status, the revocation of the device's tokens and the audit record commit together.
	err := e.update(ctx, func(tx store.Tx) error {
		if err := tx.SetDeviceStatus(ctx, id, status); err != nil {
			return err
		}
		if status == store.DeviceBlocked {
			if err := e.revokeDeviceTokens(ctx, tx, id); err != nil {
				return err
			}
		}
		return e.auditIn(ctx, tx, actor, "device.status", id, map[string]any{"status": status})
	})
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return &Error{Code: CodeNotFound, Message: "no device " + strconv.Quote(id), Err: err}
		}
		return &Error{Code: CodeUnavailable, Message: "the device store is unavailable", Err: err}
	}
	e.DeviceStatusChanged(id)
	return nil
}

// Certificates lists every certificate issued here, revoked ones included.
func (e *Engine) Certificates(ctx context.Context) ([]store.CertificateRecord, error) {
	certs, err := e.store.ListCertificates(ctx)
	if err != nil {
		return nil, &Error{Code: CodeUnavailable, Message: "the certificate store is unavailable", Err: err}
	}
	return certs, nil
}

// RevokeCertificate revokes the certificate with the hex serial (in either case) and returns the
// serial as the store keys it. The certificate's signed payloads are refused from then on. An
// unknown serial is CodeNotFound. The revocation is audited under actor.
func (e *Engine) RevokeCertificate(ctx context.Context, actor, serial, reason string) (string, error) {
	serial = strings.ToLower(serial)
	err := e.update(ctx, func(tx store.Tx) error {
		if err := tx.RevokeCertificate(ctx, serial, reason, e.now()); err != nil {
			return err
		}
		return e.auditIn(ctx, tx, actor, "certificate.revoke", serial, map[string]any{"reason": reason})
	})
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return serial, &Error{Code: CodeNotFound, Message: "no certificate with serial " + serial, Err: err}
		}
		return serial, &Error{Code: CodeUnavailable, Message: "the certificate store is unavailable", Err: err}
	}
	return serial, nil
}

// AuditRecords returns a page of the audit log: the records after the id after, at most limit
// of them (DefaultAuditPage when limit is not in 1..MaxAuditPage).
func (e *Engine) AuditRecords(ctx context.Context, after int64, limit int) ([]store.AuditRecord, error) {
	if limit <= 0 || limit > MaxAuditPage {
		limit = DefaultAuditPage
	}
	recs, err := e.store.ListAudit(ctx, after, limit)
	if err != nil {
		return nil, &Error{Code: CodeUnavailable, Message: "the audit log is unavailable", Err: err}
	}
	return recs, nil
}

// Pinger is a Store that can tell whether it serves; Ready asks it.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Ready reports whether the engine can serve: its store answers a ping (a store that cannot be
// pinged is taken as ready).
func (e *Engine) Ready(ctx context.Context) error {
	p, ok := e.store.(Pinger)
	if !ok {
		return nil
	}
	if err := p.Ping(ctx); err != nil {
		return unavailable("the store", fmt.Errorf("ping: %w", err))
	}
	return nil
}

// AuditReload records that actor made this engine's configuration the running one.
func (e *Engine) AuditReload(ctx context.Context, actor string) {
	e.audit(ctx, actor, "config.reload", e.project.Dir, map[string]any{"revision": e.Revision()})
}
