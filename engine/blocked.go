package engine

import (
	"errors"
	"sync"
	"time"

	"github.com/realmgate/realmgate/project"
	"github.com/realmgate/realmgate/store"
)

// blockedCache remembers briefly whether devices are blocked, so that a request of a device
// that passed its device realm does not read the device from the store every time. A block
// through this daemon's admin API applies at once (DeviceStatusChanged); one made through another
// daemon sharing the store, within the cache's TTL.
type blockedCache struct {
	mu      sync.Mutex
	entries map[string]blockedEntry
}

type blockedEntry struct {
	blocked bool
	// serial is the certificate the device record names ("" for none).
	serial  string
	fetched time.Time
}

// deviceKey is the store entity of a device identity of realm.
func deviceEntity(x *exchange, realm string, identity map[string]any) string {
	if realm == project.RealmDeviceNoProvision {
		return "none"
	}
	wire, _ := identity["entity"].(string)
	if wire == "" || wire == "application" {
		return "application:" + x.app.App
	}
	return wire
}

// deviceBlocked refuses a session whose device an administrator blocked after the device passed
// its realm: the realm is forgotten, so the device has to pass it again (and is refused there).
// A session whose device signed in with a certificate the device no longer holds (replaced by a
// new key, or reset by an administrator) forgets the realm too, without a refusal: the device
// signs in again with the certificate it holds now.
func (e *Engine) deviceBlocked(x *exchange) error {
	realm := x.test.DeviceRealm
	rs := x.s.peek(realm)
	if realm == "" || rs == nil || !rs.Passed {
		return nil
	}
	id, _ := rs.Identity["id"].(string)
	if id == "" {
		return nil
	}
	entity := deviceEntity(x, realm, rs.Identity)
	serial, _ := rs.Identity["certificateSerial"].(string)
	ent, cached, err := e.deviceState(x, id, entity, false)
	if err != nil {
		return err
	}
	if cached && !ent.blocked && serial != "" && serial != ent.serial {
		// The device may have been re-keyed since the entry was read (by another daemon): ask
		// the store before forgetting a sign-in.
		if ent, _, err = e.deviceState(x, id, entity, true); err != nil {
			return err
		}
	}
	if !ent.blocked {
		if serial != "" && serial != ent.serial {
			rs.Passed, rs.Identity = false, nil
			x.s.dirty = true
		}
		return nil
	}
	rs.Passed, rs.Identity = false, nil
	x.s.dirty = true
	return &Error{Code: CodeDeviceBlocked, Message: "this device is blocked; contact your administrator"}
}

// deviceState returns what the device record (id, entity) says of its status and certificate,
// from the cache while it is fresh unless refresh is set; cached reports a cache hit.
func (e *Engine) deviceState(x *exchange, id, entity string, refresh bool) (ent blockedEntry, cached bool, err error) {
	key := id + "\x00" + entity
	e.blocked.mu.Lock()
	ent, ok := e.blocked.entries[key]
	e.blocked.mu.Unlock()
	if ok && !refresh && x.now.Sub(ent.fetched) < e.cfg.RulesCacheTTL && !x.now.Before(ent.fetched) {
		return ent, true, nil
	}
	dev, err := e.store.GetDevice(x.ctx, id, entity)
	switch {
	case errors.Is(err, store.ErrNotFound):
		ent = blockedEntry{fetched: x.now}
	case err != nil:
		return blockedEntry{}, false, unavailable("the device store", err)
	default:
		ent = blockedEntry{blocked: dev.Status == store.DeviceBlocked, serial: dev.CertificateSerial, fetched: x.now}
	}
	e.blocked.mu.Lock()
	if e.blocked.entries == nil || len(e.blocked.entries) > 100_000 {
		e.blocked.entries = map[string]blockedEntry{}
	}
	e.blocked.entries[key] = ent
	e.blocked.mu.Unlock()
	return ent, false, nil
}

// DeviceStatusChanged drops what the engine remembers of a device's status, so that a block
// applies to its next request.
func (e *Engine) DeviceStatusChanged(id string) {
	e.blocked.mu.Lock()
	defer e.blocked.mu.Unlock()
	for k := range e.blocked.entries {
		if len(k) > len(id) && k[:len(id)] == id && k[len(id)] == 0 {
			delete(e.blocked.entries, k)
		}
	}
}
