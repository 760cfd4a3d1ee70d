package engine

import (
	"context"
	"time"

	"github.com/realmgate/realmgate/project"
	"github.com/realmgate/realmgate/store"
)

// Access tokens are validated offline by resource servers until they expire, and online by
// POST /oauth/validation, which also refuses revoked ones (TokenIssuer.Introspect). Two events
// revoke tokens before they expire:
//
//   - a logout in the session that obtained them: each token carries the session's token
//     lineage (sid), and a logout revokes the lineage and starts a new one, so the tokens of a
//     later login in the same session are not caught;
//   - an administrator blocking a device: the tokens of the device issued up to the block.
//
// The revocations are durable (store.TokenRevocations) and shared by every daemon of the store.
// They are kept as long as a token they revoke may live.

// minRevocationRetention keeps revocations at least this long, so that a token minted under a
// configuration with longer token lifetimes (before a reload shortened them) stays revoked.
const minRevocationRetention = time.Hour

// revocationRetention is how long a revocation made now must be kept: the longest token
// lifetime of the project (at least minRevocationRetention), plus the validators' leeway.
func revocationRetention(p *project.Project) time.Duration {
	longest := minRevocationRetention
	for _, t := range p.Tests {
		longest = max(longest, Lifetime(t))
	}
	return longest + tokenLeeway
}

// tokenSession returns the session's token lineage, starting one if it has none.
func (s *session) tokenSession() string {
	if s.st.TokenSession == "" {
		s.st.TokenSession = newID()
		s.dirty = true
	}
	return s.st.TokenSession
}

// revokeSessionTokens revokes every token the session obtained so far and starts a new lineage
// for the next ones. The session is saved by the caller.
func (e *Engine) revokeSessionTokens(ctx context.Context, s *session) error {
	sid := s.st.TokenSession
	if sid == "" {
		return nil
	}
	now := e.now()
	r := store.TokenRevocation{Kind: store.TokensOfSession, Key: sid, RevokedAt: now, ExpiresAt: now.Add(revocationRetention(e.project))}
	s.later(func(ctx context.Context, tx store.Tx) error { return tx.RevokeTokens(ctx, r) })
	s.st.TokenSession = ""
	s.dirty = true
	return nil
}

// RevokeDeviceTokens revokes the access tokens of device id issued up to now: an administrator
// blocked it. Tokens issued after the device is unblocked are not affected.
func (e *Engine) RevokeDeviceTokens(ctx context.Context, id string) error {
	if err := e.update(ctx, func(tx store.Tx) error { return e.revokeDeviceTokens(ctx, tx, id) }); err != nil {
		return unavailable("the token revocation store", err)
	}
	return nil
}

// revokeDeviceTokens revokes the access tokens of device id issued up to now, in the unit tx.
func (e *Engine) revokeDeviceTokens(ctx context.Context, tx store.Tx, id string) error {
	now := e.now()
	return tx.RevokeTokens(ctx, store.TokenRevocation{Kind: store.TokensOfDevice, Key: id,
		RevokedAt: now, ExpiresAt: now.Add(revocationRetention(e.project))})
}
