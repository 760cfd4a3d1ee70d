package engine

import (
	"fmt"
	"slices"
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

// Challenge nonces are bounded per session and realm as well. Each challenge of a realm that
// proves possession (a device id, a provisioning, an enrollment, an attestation) stores a nonce
// that lives Config.NonceTTL, so a session re-challenged in a loop would otherwise hold its
// request rate times the TTL of them. The session lists the live nonces of each realm
// (realmState.Nonces) and holds at most MaxLiveNonces: a new challenge past it deletes the
// oldest, in the same unit of work as the new nonce when nonces live in the store, and no
// store method beyond the contract's is needed. The oldest is dropped rather than the new
// challenge refused: the client answers the challenge it received last, so a client that
// re-asks (an application restarted, a response lost on the network) keeps working, and a
// refusal would lock a session out of its realm until its nonces expire. An answer carrying a
// dropped nonce is a wrong answer ("answer the new challenge").
//
// The bound is exact for one daemon (requests of one session are serialised in the process).
// Daemons sharing a store save a session last-writer-wins: two requests of one session that
// challenge at once on two daemons can each add a nonce the other's save does not list, and
// such a nonce is not dropped early; it still expires after NonceTTL, as the nonce of a new
// session does, and the rate limits bound both.

// MaxLiveNonces bounds the live challenge nonces of one session and realm: more than a client
// that re-asks a few times needs, few enough that a session costs the nonce store little.
const MaxLiveNonces = 8

// trackNonce lists value as the realm's newest live nonce and returns the oldest one it drops
// past MaxLiveNonces ("" when none).
func (rs *realmState) trackNonce(value string) (dropped string) {
	if len(rs.Nonces) >= MaxLiveNonces {
		dropped = rs.Nonces[0]
		rs.Nonces = slices.Delete(slices.Clone(rs.Nonces), 0, len(rs.Nonces)-MaxLiveNonces+1)
	}
	rs.Nonces = append(rs.Nonces, value)
	return dropped
}

// untrackNonce takes a consumed nonce off the realm's list and reports whether it was on it.
func (rs *realmState) untrackNonce(value string) bool {
	i := slices.Index(rs.Nonces, value)
	if i < 0 {
		return false
	}
	rs.Nonces = slices.Delete(slices.Clone(rs.Nonces), i, i+1)
	if len(rs.Nonces) == 0 {
		rs.Nonces = nil
	}
	return true
}

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
