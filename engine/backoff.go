package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/realmgate/realmgate/store"
)

// Failed logins back off per account and per client, across sessions and daemons: the per-session
// attempt limit alone lets a client that opens new sessions guess at the speed of the login
// module. Each key (an account: a user name of a login module; a client: its address, an IPv6
// client by its /64) counts its failures in the store. From Config.BackoffAfter failures of an
// account (Config.ClientBackoffAfter of a client) on, a login of that key is refused with
// CodeBackoff until Config.BackoffBase after the last failure, doubled per further failure up to
// Config.BackoffMax. A login refused that way is not checked (no bcrypt is spent on it) and not
// counted. A successful login resets its account's count; a client's count only expires
// (Config.FailureWindow without a failure), so that a client cannot clear its count by logging in
// to an account of its own between guesses.
//
// The check reads the counts before the credentials are checked and the failure is added after:
// requests that race one another are all checked, so a burst of concurrent guesses can pass
// together once, after which every failure of the burst has doubled the wait.

// loginAttempt is a credential check a realm's answer runs.
type loginAttempt struct {
	realm string
	// user is the user name as the client sent it, for the audit log ("" when the realm's answer
	// names none: adapter-based realms).
	user string
	// account is the account's counter key ("" when there is no user name).
	account string
	// accountSeen is set when the account had failures at the check: a login then resets them.
	accountSeen bool
}

// accountKey is the counter key of a user name of a login module. The store keeps a digest: a
// user name field sometimes receives a password typed in the wrong box.
func accountKey(module, user string) string {
	sum := sha256.Sum256([]byte(module + "\x00" + user))
	return "account:" + hex.EncodeToString(sum[:16])
}

// clientKey is the counter key of a client address; "" when the address does not parse. An IPv6
// client is counted by its /64: one host usually holds a whole /64 and could walk it.
func clientKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ""
	}
	a = a.Unmap().WithZone("")
	if a.Is6() {
		p, _ := a.Prefix(64)
		return "client:" + p.String()
	}
	return "client:" + a.String()
}

// beginLogin records that the realm's answer is about to check credentials, and refuses it with
// CodeBackoff while its account or client must wait. user is "" when the answer names no account.
func (e *Engine) beginLogin(x *exchange, realm, module, user string) error {
	at := &loginAttempt{realm: realm, user: user}
	if user != "" {
		at.account = accountKey(module, user)
	}
	x.login = at
	var wait time.Duration
	if at.account != "" {
		rec, found, err := e.loginFailures(x, at.account)
		if err != nil {
			return err
		}
		at.accountSeen = found
		wait = max(wait, e.backoff(rec, e.cfg.BackoffAfter, x.now))
	}
	if x.client != "" {
		rec, _, err := e.loginFailures(x, x.client)
		if err != nil {
			return err
		}
		wait = max(wait, e.backoff(rec, e.cfg.ClientBackoffAfter, x.now))
	}
	if wait <= 0 {
		return nil
	}
	secs := int((wait + time.Second - 1) / time.Second)
	return &Error{Code: CodeBackoff, RetryAfter: time.Duration(secs) * time.Second,
		Message: fmt.Sprintf("too many failed logins for this account or from this client: try again in %d seconds", secs),
		Details: map[string]any{"realm": realm, "retryAfter": secs}}
}

func (e *Engine) loginFailures(x *exchange, key string) (store.LoginFailure, bool, error) {
	rec, err := e.store.GetLoginFailure(x.ctx, key, x.now)
	switch {
	case err == nil:
		return rec, true, nil
	case errors.Is(err, store.ErrNotFound):
		return store.LoginFailure{}, false, nil
	}
	// Fail closed: a store that cannot say how often a key failed cannot let it guess.
	return store.LoginFailure{}, false, unavailable("the login-failure store", err)
}

// backoff is how long a key with rec must still wait at now, given the failures it may have
// without waiting.
func (e *Engine) backoff(rec store.LoginFailure, free int, now time.Time) time.Duration {
	if rec.Count < free {
		return 0
	}
	d := e.cfg.BackoffBase
	for n := rec.Count - free; n > 0 && d < e.cfg.BackoffMax; n-- {
		d *= 2
	}
	until := rec.Last.Add(min(d, e.cfg.BackoffMax))
	if !now.Before(until) {
		return 0
	}
	return until.Sub(now)
}

// loginFailed counts a wrong answer of the login x ran against its account and client, and audits
// it (user name and client, never what was tried).
func (e *Engine) loginFailed(x *exchange) error {
	at := x.login
	// The wait runs from when the failure was decided, not from when the request came in: a slow
	// credential check (bcrypt) would otherwise eat into it.
	now := e.now()
	exp := now.Add(e.cfg.FailureWindow)
	for _, key := range []string{at.account, x.client} {
		if key == "" {
			continue
		}
		x.s.later(func(ctx context.Context, tx store.Tx) error {
			_, err := tx.AddLoginFailure(ctx, key, now, exp)
			return err
		})
	}
	detail := map[string]any{"app": x.app.App, "env": x.app.Env}
	if at.user != "" {
		detail["user"] = at.user
	}
	if x.clientIP != "" {
		detail["client"] = x.clientIP
	}
	e.auditLater(x, "session:"+SessionRef(x.s.rec.ID), "login.failure", at.realm, detail)
	return nil
}

// loginSucceeded resets the failures of the account the login x ran proved.
func (e *Engine) loginSucceeded(x *exchange) {
	if at := x.login; at != nil && at.accountSeen {
		account := at.account
		x.s.later(func(ctx context.Context, tx store.Tx) error { return tx.ResetLoginFailures(ctx, account) })
	}
}
