package engine

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/realmgate/realmgate/project"
	"github.com/realmgate/realmgate/store"
)

// anonymousUser is wl_anonymousUserRealm: a persistent cookie (WL_PERSISTENT_COOKIE) identifies
// the app instance.
//
// The cookie is a bearer secret: whoever presents it is that anonymous user. Worklight used the
// cookie's value as the user id; Realmgate does not, because an identity travels where a secret
// must not (access tokens' sub, the policy input and the decision log, adapters, the audit, the
// console, the store's keys). The identity's userId is AnonymousUserID(cookie), which cannot be
// turned back into the cookie, and the store's row is keyed by it. The raw cookie stays in the
// realm's server-side state (realmState.Data), where only the "client lost its cookie within the
// session" path reads it.
type anonymousUser struct{ sessionLife }

// dataPersistentCookie is the realmState.Data key holding the session's raw persistent cookie.
const dataPersistentCookie = "persistentCookie"

// persistentCookiePattern is what the realm issues: a random (version 4) UUID in lower case. A
// value of another shape is never looked up; in particular an id AnonymousUserID derived (a
// version 8 UUID) is never taken for a cookie, so the public id cannot stand in for the secret.
var persistentCookiePattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// anonymousUserLabel separates this use of SHA-256 from any other hash of the same value.
const anonymousUserLabel = "realmgate wl_anonymousUserRealm user id v1\x00"

// AnonymousUserID is the public id of the anonymous user whose WL_PERSISTENT_COOKIE is cookie:
// a UUID (version 8, RFC 9562 section 5.8) made of SHA-256 over a fixed label and the cookie.
//
// A keyed hash (HMAC) is not needed: the cookie is a random version 4 UUID (122 random bits), so
// nobody can search the cookies for one whose hash is a given id, and the id is the same on every
// daemon of a cluster with no shared key to distribute or rotate (rotating one would change every
// anonymous user's id). The label keeps the id apart from any other SHA-256 of the cookie.
func AnonymousUserID(cookie string) string { return derivedUUID(anonymousUserLabel, cookie) }

// derivedUUID is a version 8 UUID (RFC 9562 section 5.8) made of SHA-256 over label and secret:
// an id that stands for a random secret without revealing it, the same on every daemon.
func derivedUUID(label, secret string) string {
	h := sha256.New()
	h.Write([]byte(label))
	h.Write([]byte(secret))
	var b [16]byte
	copy(b[:], h.Sum(nil))
	b[6] = b[6]&0x0f | 0x80 // version 8: custom
	b[8] = b[8]&0x3f | 0x80 // variant: RFC 9562
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func (anonymousUser) observe(x *exchange) (bool, error) {
	cookie := x.passive.PersistentUser
	rs := x.s.realm(project.RealmAnonymousUser)
	if held := rs.Data[dataPersistentCookie]; rs.Passed && held != "" {
		if subtle.ConstantTimeCompare([]byte(cookie), []byte(held)) == 1 {
			return true, nil
		}
		if cookie == "" {
			// The client lost the cookie within the session: give the same one back.
			x.setPersistentUser = held
			return true, nil
		}
	}
	id := ""
	if persistentCookiePattern.MatchString(cookie) {
		found, err := findAnonymousUser(x, cookie)
		if err != nil {
			return false, err
		}
		if found {
			id = AnonymousUserID(cookie)
		}
	}
	if id == "" {
		// A value the server did not issue (or whose user was reaped) is not adopted: a new
		// cookie is issued.
		cookie = newUUID()
		id = AnonymousUserID(cookie)
		u := store.User{ID: id, CreatedAt: x.now, LastSeen: x.now}
		x.s.later(func(ctx context.Context, tx store.Tx) error { return tx.PutUser(ctx, u) })
		x.setPersistentUser = cookie
	}
	rs.Passed = true
	rs.Identity = map[string]any{"userId": id, "displayName": id, "realm": project.RealmAnonymousUser}
	if rs.Data == nil {
		rs.Data = map[string]string{}
	}
	rs.Data[dataPersistentCookie] = cookie
	x.s.dirty = true
	return true, nil
}

// findAnonymousUser reports whether the store knows the user of cookie, refreshing its LastSeen
// (at most once an hour) with the session's writes. A row keyed by the raw cookie (written before
// rows were keyed by AnonymousUserID) is adopted: rewritten under the derived id with its
// CreatedAt and deleted, in the session's unit of work, so an upgrade keeps anonymous users.
func findAnonymousUser(x *exchange, cookie string) (bool, error) {
	id := AnonymousUserID(cookie)
	u, err := x.e.store.GetUser(x.ctx, id)
	switch {
	case err == nil:
		if x.now.Sub(u.LastSeen) > time.Hour {
			u.LastSeen = x.now
			x.s.later(func(ctx context.Context, tx store.Tx) error { return tx.PutUser(ctx, u) })
		}
		return true, nil
	case !errors.Is(err, store.ErrNotFound):
		return false, unavailable("the user store", err)
	}
	legacy, err := x.e.store.GetUser(x.ctx, cookie)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return false, nil
	case err != nil:
		return false, unavailable("the user store", err)
	}
	adopted := store.User{ID: id, CreatedAt: legacy.CreatedAt, LastSeen: x.now}
	x.s.later(func(ctx context.Context, tx store.Tx) error {
		if err := tx.PutUser(ctx, adopted); err != nil {
			return err
		}
		return tx.DeleteUser(ctx, cookie)
	})
	return true, nil
}

func (anonymousUser) challenge(*exchange) (map[string]any, error) { return map[string]any{}, nil }

func (anonymousUser) answer(*exchange, *AnswerRequest) (answerOutcome, error) {
	return answerOutcome{}, errorf(CodeNoChallenge, "wl_anonymousUserRealm needs no answer: keep the WL_PERSISTENT_COOKIE cookie")
}
