package engine

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/realmgate/realmgate/project"
)

// The OAuth side of the engine: granting access tokens for a scope, validating them online,
// publishing and rotating their keys. The rules (which scopes exist, which audiences a client may
// name, how long a rotated-out key stays published) live here; the HTTP layer decodes the OAuth
// requests into these calls.

// KeyRotator publishes the token verification keys and rotates the signing key (the daemon's key
// set, shared by every configuration it loads).
type KeyRotator interface {
	JWKS(now time.Time) jose.JSONWebKeySet
	Rotate(ctx context.Context, now time.Time, retain time.Duration) error
}

// JWKSMaxAge is how long clients may cache the JWKS; a rotated-out key stays published at least
// this long past its last token's expiry.
const JWKSMaxAge = 60 * time.Second

// keyLeeway is the clock leeway added to a rotated-out key's publication.
const keyLeeway = 5 * time.Second

// TokenGrant is a client's request for an access token.
type TokenGrant struct {
	App       AppContext
	SessionID string
	Passive   Passive
	// Facts are request facts for the scope's policy (method, path).
	Facts map[string]any
	// Scope names one security test; empty (or blank) asks for the application environment's.
	Scope string
	// Audience and Resource are the values of the request's audience parameter and of RFC 8707's
	// resource parameter, two names for the resource server the token is for: at most one value
	// each, the same when both are given; none asks for a token for the application.
	Audience, Resource []string
}

// TokenQuery is a request to validate a token online.
type TokenQuery struct {
	Token string
	// Scope, when not empty, is the scope the token must have.
	Scope string
	// Audience and Resource name the resource server asking, as in TokenGrant; a token for
	// another audience is not active.
	Audience, Resource []string
}

// Introspection is the answer to a token validation (RFC 7662): Active with the token's claims,
// or not active with the reason, which is for logs and never for the caller.
type Introspection struct {
	Active bool
	Claims *TokenClaims
	Reason error
}

// KeyRotation is what a rotation of the signing key did.
type KeyRotation struct {
	// KeyID is the new active key.
	KeyID string
	// Published is the number of keys the JWKS publishes now.
	Published int
	// Retain is how long the rotated-out key stays published.
	Retain time.Duration
}

func tokensOff() error {
	return &Error{Code: CodeNotImplemented, Message: "access tokens are not configured"}
}

// GrantToken resolves the scope of g (a security test of the project other than wl_unprotected),
// checks the audience it names against the resource servers the issuer knows, runs the scope's
// test and, when it passes, mints a token bound to the session's token lineage (see IssueToken).
// A request that has not passed every realm of the scope gets the test's challenge in Access.
func (e *Engine) GrantToken(ctx context.Context, g TokenGrant) (*Access, *Token, error) {
	if e.tokens == nil {
		return nil, nil, tokensOff()
	}
	scope := strings.TrimSpace(g.Scope)
	if scope == "" {
		if a := e.project.Apps[g.App.App]; a != nil && a.Envs[g.App.Env] != nil {
			scope = a.Envs[g.App.Env].SecurityTest
		}
	}
	if strings.ContainsAny(scope, " \t") {
		return nil, nil, &Error{Code: CodeInvalidScope, Message: "scope is one security test name"}
	}
	if _, ok := e.project.Tests[scope]; !ok || scope == project.Unprotected {
		return nil, nil, &Error{Code: CodeInvalidScope, Message: "scope " + strconv.Quote(scope) + " is not a security test of this server"}
	}
	audience, err := namedAudience(g.Audience, g.Resource)
	if err != nil {
		return nil, nil, err
	}
	return e.IssueToken(ctx, e.tokens, AccessRequest{
		App:       g.App,
		SessionID: g.SessionID,
		Resource:  Resource{Kind: ResourceToken, Name: scope, Test: scope, Attributes: map[string]any{"scope": scope}},
		Passive:   g.Passive,
		Facts:     g.Facts,
	}, audience)
}

// namedAudience is the audience a request names through its audience and resource parameters:
// one value each at most, the same when both are given; "" when neither is.
func namedAudience(audience, resource []string) (string, error) {
	var aud string
	for _, p := range []struct {
		name   string
		values []string
	}{{"audience", audience}, {"resource", resource}} {
		if len(p.values) > 1 {
			return "", &Error{Code: CodeInvalidTarget, Message: "give one " + p.name + " parameter"}
		}
		if len(p.values) == 0 || p.values[0] == "" {
			continue
		}
		if aud != "" && p.values[0] != aud {
			return "", &Error{Code: CodeInvalidTarget, Message: "audience and resource name different resource servers"}
		}
		aud = p.values[0]
	}
	return aud, nil
}

// introspectToken validates a token online (TokenIssuer.Introspect): anything invalid, for
// another audience than the one named, or revoked (its session logged out, its device was
// blocked) is not active. The error is for what must not be answered "not active": tokens off
// (CodeNotImplemented), a malformed audience (CodeInvalidTarget), a revocation store that does not
// answer (CodeUnavailable: never take the token for valid).
func (e *Engine) introspectToken(ctx context.Context, q TokenQuery) (Introspection, error) {
	if e.tokens == nil {
		return Introspection{}, tokensOff()
	}
	audience, err := namedAudience(q.Audience, q.Resource)
	if err != nil {
		return Introspection{}, err
	}
	c, err := e.tokens.Introspect(ctx, q.Token, q.Scope, audience)
	if err != nil {
		var ee *Error
		if errors.As(err, &ee) && ee.Code == CodeUnavailable {
			return Introspection{}, err
		}
		return Introspection{Reason: err}, nil
	}
	return Introspection{Active: true, Claims: c}, nil
}

// TokenKeySet is the JWKS: every key whose tokens may still be valid.
func (e *Engine) TokenKeySet() (jose.JSONWebKeySet, error) {
	if e.keyRotator == nil {
		return jose.JSONWebKeySet{}, tokensOff()
	}
	return e.keyRotator.JWKS(e.now()), nil
}

// KeyRetention is how long a rotated-out key must stay published under this configuration: the
// longest token lifetime of its tests, plus the JWKS cache time and clock leeway.
func (e *Engine) KeyRetention() time.Duration {
	longest := DefaultTokenLifetime
	for _, t := range e.project.Tests {
		longest = max(longest, Lifetime(t))
	}
	return longest + JWKSMaxAge + keyLeeway
}

// RotateTokenKeys makes a new signing key active; the old one stays published for KeyRetention,
// until its last token expired. The rotation is audited under actor.
func (e *Engine) RotateTokenKeys(ctx context.Context, actor string) (KeyRotation, error) {
	if e.keyRotator == nil {
		return KeyRotation{}, tokensOff()
	}
	retain := e.KeyRetention()
	if err := e.keyRotator.Rotate(ctx, e.now(), retain); err != nil {
		return KeyRotation{}, &Error{Code: CodeUnavailable, Message: "the signing keys could not be rotated", Err: err}
	}
	set := e.keyRotator.JWKS(e.now())
	r := KeyRotation{KeyID: set.Keys[0].KeyID, Published: len(set.Keys), Retain: retain}
	e.audit(ctx, actor, "keys.rotate", r.KeyID, map[string]any{"retainSeconds": int(retain / time.Second)})
	return r, nil
}
