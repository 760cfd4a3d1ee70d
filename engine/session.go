package engine

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"time"

	jsonv2 "github.com/go-json-experiment/json"

	"github.com/realmgate/realmgate/store"
)

// state is what a session remembers, stored as the session's opaque State.
type state struct {
	// Lineage is a random id that survives session-id rotation; nonces are bound to it.
	Lineage string `json:"lineage"`
	// Version is the application version the session was opened with.
	Version string `json:"version,omitempty"`
	// InstanceID is the anti-XSRF token issued to this session.
	InstanceID string `json:"instanceId,omitempty"`
	// Realms holds what each realm knows about this session.
	Realms map[string]*realmState `json:"realms,omitempty"`
	// TokenSession is the session reference (sid) of the access tokens this session obtains, so
	// that a logout can revoke them; a logout starts a new one. Empty until the first token.
	TokenSession string `json:"tokenSession,omitempty"`
	// Scripts holds the script state of each JavaScript adapter this session called: the JSON
	// object of the script's globals that differ from its baseline (scriptstate.go).
	Scripts map[string]json.RawMessage `json:"scripts,omitempty"`
}

// realmState is one realm's memory of a session.
type realmState struct {
	Passed bool `json:"passed,omitempty"`
	// ExpiresAt ends a login that is not used (zero: lives as long as the session).
	ExpiresAt time.Time      `json:"expiresAt,omitzero"`
	LastUsed  time.Time      `json:"lastUsed,omitzero"`
	Identity  map[string]any `json:"identity,omitempty"`
	// Challenged is true while a challenge of this realm waits for an answer.
	Challenged bool `json:"challenged,omitempty"`
	Failures   int  `json:"failures,omitempty"`
	// Refused is set when the realm gave a final refusal: it is not asked again in this session.
	Refused bool `json:"refused,omitempty"`
	// Data is realm-specific memory (acknowledged messages, enrollment progress).
	Data map[string]string `json:"data,omitempty"`
	// Nonces are the values of the challenge nonces issued to this session for this realm and
	// not yet consumed, oldest first, at most MaxLiveNonces (sessionbounds.go).
	Nonces []string `json:"nonces,omitempty"`
}

// live reports whether the realm is passed at now: a login that expired is not. rs may be nil.
func (rs *realmState) live(now time.Time) bool {
	return rs != nil && rs.Passed && (rs.ExpiresAt.IsZero() || now.Before(rs.ExpiresAt))
}

// identity returns the realm's identity; rs may be nil.
func (rs *realmState) identity() map[string]any {
	if rs == nil {
		return nil
	}
	return rs.Identity
}

// session is a loaded session being worked on by one request. rec.ID is the session id itself,
// the client's cookie; the store knows the session only by storeKey(rec.ID).
type session struct {
	rec     store.Session
	st      state
	isNew   bool
	dirty   bool
	rotated string // the previous id, when the id was rotated in this request
	// key is storeKey(keyOf), kept so that a request hashes its session id once.
	keyOf, key string
	// writes are the request's other writes (a device, a certificate, an attempt counter, an
	// audit record, ...), made with the session in one unit of work when it is saved.
	writes []write
	// committed runs once the writes have committed (a log line or a count of what they
	// recorded), never for writes that were not kept.
	committed []func()
}

// write is one write of a request's unit of work. It runs inside store.Updater.Update, after
// the request's slow work (adapter calls, signing, policy evaluation) is done: it must only read
// and write through tx, and may run more than once. An *Error it returns is the request's
// answer (a record that changed since the request read it).
type write func(ctx context.Context, tx store.Tx) error

// later adds w to the request's unit of work, which commits when the session is saved.
func (s *session) later(w write) { s.writes = append(s.writes, w) }

// onCommit runs f after the request's unit of work has committed: what reports a write (a log
// line, a metric) reports it once it is durable, and not at all when the unit fails.
func (s *session) onCommit(f func()) { s.committed = append(s.committed, f) }

// storeKey returns the key the session is stored under, storeKey(rec.ID).
func (s *session) storeKey() string {
	if s.key == "" || s.keyOf != s.rec.ID {
		s.keyOf, s.key = s.rec.ID, storeKey(s.rec.ID)
	}
	return s.key
}

// ref returns SessionRef(rec.ID): the first 12 hex digits of the store key, which hash the same.
func (s *session) ref() string {
	if s.rec.ID == "" {
		return ""
	}
	return s.storeKey()[:12]
}

// storeKey is the key a session is stored under: the SHA-256 of its id, in hex. A copy of the
// store (a backup, a leaked file) then holds no id a client could present, and 64 hex digits
// can never be taken for an id (43 base64url characters, validSessionID). Sessions stored by
// versions that kept the id itself are unknown to this one: their users sign in again.
func storeKey(id string) string {
	sum := sha256.Sum256([]byte(id))
	var key [2 * sha256.Size]byte
	hex.Encode(key[:], sum[:])
	return string(key[:])
}

func (s *session) realm(name string) *realmState {
	if s.st.Realms == nil {
		s.st.Realms = map[string]*realmState{}
	}
	rs := s.st.Realms[name]
	if rs == nil {
		rs = &realmState{}
		s.st.Realms[name] = rs
	}
	return rs
}

// peek returns the realm's state without creating it.
func (s *session) peek(name string) *realmState { return s.st.Realms[name] }

// newID returns a random identifier of 256 bits, URL-safe.
func newID() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("engine: crypto/rand failed: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// SessionRef is how logs name a session: a short hash, because the id itself is a bearer secret.
func SessionRef(id string) string {
	if id == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:6])
}

// sessionExpiry is when a session that began at created and is used at now ends unless used
// again: after the idle timeout, but never later than the absolute lifetime, which no activity
// extends (a stolen cookie is not good forever).
func (e *Engine) sessionExpiry(created, now time.Time) time.Time {
	idle, end := now.Add(e.cfg.SessionIdle), created.Add(e.cfg.SessionMaxLifetime)
	if end.Before(idle) {
		return end
	}
	return idle
}

// loadSession returns the session with id for app/env, or a new one when id is empty, unknown,
// expired (idle, or past its absolute lifetime), or bound to another application: a session is
// bound to one app and environment, and an id the server did not issue is never adopted.
func (e *Engine) loadSession(ctx context.Context, id string, app AppContext, now time.Time) (*session, error) {
	if validSessionID(id) {
		key := storeKey(id)
		rec, err := e.store.GetSession(ctx, key, now)
		switch {
		case err == nil:
			// The expiry stored is capped at the lifetime; the check covers a lifetime shortened
			// by a new configuration.
			if rec.App == app.App && rec.Env == app.Env && now.Before(rec.CreatedAt.Add(e.cfg.SessionMaxLifetime)) {
				rec.ID = id
				s := &session{rec: rec, keyOf: id, key: key}
				if len(rec.State) > 0 {
					if err := e.states.decode(key, rec.State, &s.st); err != nil {
						return nil, unavailable("the session", err)
					}
				}
				// Refresh the idle (or pending) timeout, but write at most once a minute for it (a
				// tenth of it when it is short: an idle timeout under a minute was never refreshed).
				if exp, due := e.refreshDue(s, now); due {
					s.rec.ExpiresAt = exp
					s.dirty = true
				}
				return s, nil
			}
		case errors.Is(err, store.ErrNotFound):
		default:
			return nil, unavailable("the session store", err)
		}
	}
	s := &session{
		rec: store.Session{
			ID:        newID(),
			App:       app.App,
			Env:       app.Env,
			CreatedAt: now,
			ExpiresAt: e.sessionExpiry(now, now),
		},
		st:    state{Lineage: newID(), Version: app.Version},
		isNew: true,
		dirty: true,
	}
	return s, nil
}

// decodeState decodes a session's stored state with JSON v2 (github.com/go-json-experiment/json):
// every request decodes its session (unless stateCache has it), and v2 does it several times
// faster than encoding/json. It is stricter too (member names match exactly, none twice, valid
// UTF-8), as every state saveSession writes with encoding/json is; a state that is not fails the
// request, and is never read as something else.
func decodeState(b []byte, st *state) error { return jsonv2.Unmarshal(b, st) }

// saveSession commits the request's unit of work: its writes (session.later) and the session
// when it changed, in one commit, or none of them. A request commits at most once: the writes
// are cleared once committed.
func (e *Engine) saveSession(ctx context.Context, s *session) error {
	return e.commit(ctx, s, true)
}

// commit runs the request's writes in one unit of work, with the session when withSession is
// set and the session changed.
func (e *Engine) commit(ctx context.Context, s *session, withSession bool) error {
	withSession = withSession && s.dirty
	if !withSession && len(s.writes) == 0 {
		s.runCommitted()
		return nil
	}
	var rec store.Session
	if withSession {
		b, err := json.Marshal(&s.st)
		if err != nil {
			return unavailable("the session", err)
		}
		if err := e.bound(s, b); err != nil {
			return err
		}
		s.rec.State = b
		rec = s.rec
		rec.ID = s.storeKey()
	}
	var err error
	if withSession && len(s.writes) == 0 {
		err = e.writeSessionAlone(ctx, s, rec)
	} else {
		err = e.update(ctx, func(tx store.Tx) error {
			for _, w := range s.writes {
				if err := w(ctx, tx); err != nil {
					return err
				}
			}
			if !withSession {
				return nil
			}
			return writeSession(ctx, tx, s, rec)
		})
	}
	if err != nil {
		var ee *Error
		if errors.As(err, &ee) {
			return ee
		}
		return unavailable("the store", err)
	}
	s.writes = nil
	if withSession {
		s.dirty = false
		var rotated string
		if s.rotated != "" {
			rotated = storeKey(s.rotated)
		}
		e.states.remember(rec.ID, rec.State, &s.st, rotated)
	}
	s.runCommitted()
	return nil
}

// writeSession writes the session as rec through w (a unit of work, or the store itself): under
// its new key alone when its id was rotated in this request, in the one write that also removes
// the record of the id before (store.Sessions.ReplaceSession).
func writeSession(ctx context.Context, w sessionWriter, s *session, rec store.Session) error {
	if s.rotated != "" {
		return w.ReplaceSession(ctx, storeKey(s.rotated), rec)
	}
	return w.PutSession(ctx, rec)
}

// writeSessionAlone writes the session of a request that has no other write: one statement,
// which needs no unit of work (a transaction begun and committed around it, the unit handed to
// the store's committer), and is as durable as one. Like a unit the store has begun, the write
// runs to its end once it has begun, whatever becomes of ctx: so the store is not asked to watch
// ctx (a goroutine per statement in database/sql and its driver), only to refuse a ctx already
// done.
func (e *Engine) writeSessionAlone(ctx context.Context, s *session, rec store.Session) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return e.contended(writeSession(context.WithoutCancel(ctx), e.store, s, rec))
}

func (s *session) runCommitted() {
	for _, f := range s.committed {
		f()
	}
	s.committed = nil
}

// rotate gives the session a new id after a user authenticated, so that an id known before the
// login (fixation) is worthless after it.
func (s *session) rotate() {
	if s.isNew {
		return // never stored under its id yet
	}
	if s.rotated == "" {
		s.rotated = s.rec.ID
	}
	s.rec.ID = newID()
	s.dirty = true
}

// validSessionID reports whether id has the shape of an id newID made (43 base64url characters),
// so that no other record of the session store (device single sign-on) can be loaded as a session.
func validSessionID(id string) bool {
	if len(id) != 43 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
