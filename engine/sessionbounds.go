package engine

import (
	"fmt"
	"time"
)

// Bounds on what one session holds, and how long a session that proves nothing lives.
//
// Anyone can open sessions, as many as the rate limits of the HTTP layer let them: each
// challenged request without a session stores one. A session that has passed no realm that
// needs a credential (only anti-XSRF, anonymous user, remote disable, a claimed device id)
// proves nothing and costs its client one round trip to make again, so it ends
// Config.SessionPending after its last use (5 minutes by default) rather than after the idle
// timeout: a flood of new sessions that are challenged and never answered leaves the store
// within minutes, and the janitor reclaims it. Once a realm that needs a credential passes,
// the session takes the idle timeout; when that login ends (logout), it is pending again.
//
// What a session stores is bounded by the configuration, not by its client: one entry per
// realm of the project (an answer to an unknown realm is refused before the session is read),
// a failure count that stops at Config.MaxAttempts, identities and realm data that a new answer
// replaces rather than adds to, and one acknowledgement per remote-disable notice. The encoded
// state is capped all the same (maxSessionStateBytes), so that no path a later change adds can
// grow a session without limit: a save past the cap is refused with CodeSessionFull and the
// stored session stays as it was.

// maxSessionStateBytes bounds a session's encoded state. A session of the banking example
// logged in to every realm holds about 2 KiB; identities an adapter returns are the largest
// part.
const maxSessionStateBytes = 64 << 10

// authenticatedAt reports whether the session holds a live login of a realm that needs a
// credential at now.
func (e *Engine) authenticatedAt(s *session, now time.Time) bool {
	for name, rs := range s.st.Realms {
		if rs.live(now) && !e.credentialFree(name) {
			return true
		}
	}
	return false
}

// expiryOf is when s ends unless used again after now: the idle timeout (capped by the
// lifetime, sessionExpiry) for a session that holds a credential's login, the shorter pending
// timeout for one that does not.
func (e *Engine) expiryOf(s *session, now time.Time) time.Time {
	exp := e.sessionExpiry(s.rec.CreatedAt, now)
	if e.authenticatedAt(s, now) {
		return exp
	}
	if pending := now.Add(e.cfg.SessionPending); pending.Before(exp) {
		return pending
	}
	return exp
}

// bound checks the encoded state of a session about to be saved against maxSessionStateBytes
// and sets its expiry from what it holds now (expiryOf): a login extends a pending session to
// the idle timeout, a logout shortens it again.
func (e *Engine) bound(s *session, encoded []byte) error {
	if len(encoded) > maxSessionStateBytes {
		return &Error{Code: CodeSessionFull,
			Message: fmt.Sprintf("the session would hold %d bytes, more than its bound of %d: start a new session", len(encoded), maxSessionStateBytes)}
	}
	s.rec.ExpiresAt = e.expiryOf(s, e.now())
	return nil
}

// refreshDue returns the expiry of a session loaded at now (expiryOf), and whether it is far
// enough past the stored one to be written: at most once a minute, or a tenth of the timeout
// when that is shorter (a timeout under a minute would otherwise never be refreshed).
func (e *Engine) refreshDue(s *session, now time.Time) (time.Time, bool) {
	exp := e.expiryOf(s, now)
	timeout := e.cfg.SessionIdle
	if !e.authenticatedAt(s, now) {
		timeout = e.cfg.SessionPending
	}
	return exp, exp.Sub(s.rec.ExpiresAt) > min(time.Minute, timeout/10)
}
