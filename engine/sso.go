package engine

import (
	"encoding/json"
	"errors"
	"time"

	"github.com/realmgate/realmgate/policies"
	"github.com/realmgate/realmgate/store"
)

// Device single sign-on (a login module's ssoDeviceLoginModule): a login in one application of a
// device is reused by the other applications on the same device. The shared login is kept as a
// session record keyed by realm and device, so it is durable and shared by every daemon of the
// store, and expires like the login.

// ssoRealms maps each realm whose login module shares logins to the device realm it keys them by.
func ssoRealms(p *policies.Project) map[string]string {
	out := map[string]string{}
	for name, r := range p.Realms {
		if lm := p.LoginModules[r.LoginModule]; lm != nil {
			if dev := lm.SSODeviceRealm(); dev != "" {
				out[name] = dev
			}
		}
	}
	return out
}

func ssoKey(realm, deviceID string) string { return "sso\x00" + realm + "\x00" + deviceID }

// deviceIDIn returns the id of the device realm's identity in the session, if passed.
func deviceIDIn(x *exchange, deviceRealm string) string {
	rs := x.s.peek(deviceRealm)
	if rs == nil || !rs.Passed {
		return ""
	}
	id, _ := rs.Identity["id"].(string)
	return id
}

// shareLogin records a login of realm for the session's device.
func (e *Engine) shareLogin(x *exchange, realm string, identity map[string]any, exp time.Duration) {
	dev, ok := e.sso[realm]
	if !ok {
		return
	}
	id := deviceIDIn(x, dev)
	if id == "" {
		return
	}
	if exp <= 0 {
		exp = e.cfg.SessionIdle
	}
	b, _ := json.Marshal(identity)
	rec := store.Session{ID: ssoKey(realm, id), CreatedAt: x.now, ExpiresAt: x.now.Add(exp), State: b}
	if err := e.store.PutSession(x.ctx, rec); err != nil {
		e.log.Warn("device single sign-on not recorded", "realm", realm, "err", err)
	}
}

// sharedLogin passes realm from a login another application of this device made.
func (e *Engine) sharedLogin(x *exchange, realm string) bool {
	dev, ok := e.sso[realm]
	if !ok {
		return false
	}
	id := deviceIDIn(x, dev)
	if id == "" {
		return false
	}
	rec, err := e.store.GetSession(x.ctx, ssoKey(realm, id), x.now)
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			e.log.Warn("device single sign-on not read", "realm", realm, "err", err)
		}
		return false
	}
	var identity map[string]any
	if json.Unmarshal(rec.State, &identity) != nil {
		return false
	}
	identity["sso"] = true
	rs := x.s.realm(realm)
	rs.Passed, rs.Identity, rs.LastUsed, rs.ExpiresAt = true, identity, x.now, rec.ExpiresAt
	x.s.dirty = true
	return true
}
