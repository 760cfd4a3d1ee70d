package engine

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/realmgate/realmgate/project"
	"github.com/realmgate/realmgate/store"
)

// Device single sign-on (a login module's ssoDeviceLoginModule): a login in one application of a
// device is reused by the other applications that prove the same device. The proof is the
// certificate the device signed in with: applications of one provisioning group (or entity
// "device") share its key pair and certificate, so they share logins; an application with a
// certificate of its own shares nothing, whatever device id it claims. A device id alone is a
// claim, not a proof, so logins are never keyed by it: ssoDeviceLoginModule
// WLDeviceNoProvisioningLoginModule shares nothing (hostd check says so).
//
// The shared login is kept as a session record keyed by realm and certificate serial, so it is
// durable and shared by every daemon of the store, and expires like the login. It is reused only
// while that certificate is live: revoking it (or an administrator's reset of the device) ends it.

// ssoRealms maps each realm whose login module shares logins to the device realm whose
// certificate proves the device. Realms whose device realm proves nothing are left out.
func ssoRealms(p *project.Project) map[string]string {
	out := map[string]string{}
	for name, r := range p.Realms {
		if lm := p.LoginModules[r.LoginModule]; lm != nil {
			if dev := lm.SSODeviceRealm(); dev == project.RealmDeviceAutoProvision {
				out[name] = dev
			}
		}
	}
	return out
}

// ssoKey is the session-store key of realm's login shared by the devices that prove certificate
// serial. It cannot be loaded as a session (validSessionID).
func ssoKey(realm, serial string) string { return "sso\x00" + realm + "\x00cert:" + serial }

// deviceCertificateIn returns the serial of the certificate that proved the session's device in
// deviceRealm, when that realm is passed and live; "" otherwise.
func deviceCertificateIn(x *exchange, deviceRealm string) string {
	rs := x.s.peek(deviceRealm)
	if !rs.live(x.now) {
		return ""
	}
	serial, _ := rs.Identity["certificateSerial"].(string)
	return serial
}

// shareLogin records a login of realm for the certificate that proved the session's device.
func (e *Engine) shareLogin(x *exchange, realm string, identity map[string]any, exp time.Duration) {
	dev, ok := e.sso[realm]
	if !ok {
		return
	}
	serial := deviceCertificateIn(x, dev)
	if serial == "" {
		return
	}
	if exp <= 0 {
		exp = e.cfg.SessionIdle
	}
	b, _ := json.Marshal(identity)
	rec := store.Session{ID: ssoKey(realm, serial), CreatedAt: x.now, ExpiresAt: x.now.Add(exp), State: b}
	x.s.later(func(ctx context.Context, tx store.Tx) error { return tx.PutSession(ctx, rec) })
}

// sharedLogin passes realm from a login another application made with the certificate that proved
// this session's device, while that certificate is live.
func (e *Engine) sharedLogin(x *exchange, realm string) bool {
	dev, ok := e.sso[realm]
	if !ok {
		return false
	}
	serial := deviceCertificateIn(x, dev)
	if serial == "" {
		return false
	}
	rec, err := e.store.GetSession(x.ctx, ssoKey(realm, serial), x.now)
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			e.log.Warn("device single sign-on not read", "realm", realm, "err", err)
		}
		return false
	}
	cert, err := e.store.GetCertificate(x.ctx, serial)
	if err != nil || cert.RevokedAt != nil || !x.now.Before(cert.NotAfter) {
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			e.log.Warn("device single sign-on: certificate not read", "realm", realm, "err", err)
		}
		return false
	}
	var identity map[string]any
	if json.Unmarshal(rec.State, &identity) != nil || identity == nil {
		return false
	}
	identity["sso"] = true
	rs := x.s.realm(realm)
	rs.Passed, rs.Identity, rs.LastUsed, rs.ExpiresAt = true, identity, x.now, rec.ExpiresAt
	x.s.dirty = true
	return true
}

// endSharedLogins deletes the logins shared through certificate serial (an administrator reset the
// device that holds it), in the unit of work tx.
func (e *Engine) endSharedLogins(ctx context.Context, tx store.Tx, serial string) error {
	for realm := range e.sso {
		if err := tx.DeleteSession(ctx, ssoKey(realm, serial)); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	return nil
}
