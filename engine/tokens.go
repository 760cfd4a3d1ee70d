package engine

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/realmgate/realmgate/project"
	"github.com/realmgate/realmgate/store"
)

// Token signing algorithms.
const (
	AlgES256 = "ES256"
	AlgEdDSA = "EdDSA"
)

// DefaultTokenLifetime is the life of an access token whose test sets no AccessTokenExpirationSec.
const DefaultTokenLifetime = 60 * time.Second

// SigningKey is the key tokens are signed with now.
type SigningKey struct {
	ID        string
	Algorithm string // AlgES256 or AlgEdDSA
	Key       crypto.Signer
}

// TokenKeys holds the token signing keys: one active key, and every key whose tokens may still be
// valid, for verification. It is KMS-shaped so that keys can live outside the daemon.
type TokenKeys interface {
	Active() (SigningKey, error)
	// Verifier returns the public key and algorithm of a key id that may still verify tokens.
	Verifier(kid string) (crypto.PublicKey, string, bool)
}

// TokenClaims are the claims of an access token (PROTOCOL.md section 6).
type TokenClaims struct {
	Issuer string `json:"iss"`
	// Audience is who the token is for: a resource server of TokenIssuer.Audiences that the
	// token request named, else the application (ClientID). A validator that names itself
	// refuses tokens for others, so a token given to one resource server cannot be replayed
	// to another.
	Audience string           `json:"aud,omitempty"`
	IssuedAt *jwt.NumericDate `json:"iat"`
	Expiry   *jwt.NumericDate `json:"exp"`
	ID       string           `json:"jti"`
	Scope    string           `json:"scope"`
	ClientID string           `json:"client_id"`
	Subject  string           `json:"sub,omitempty"`
	// SessionRef (sid) names the session's token lineage, so that logging out revokes every
	// token the session obtained. It is a random reference, not the session id.
	SessionRef string    `json:"sid,omitempty"`
	Data       TokenData `json:"data"`
}

// TokenData is the data member of the claims.
type TokenData struct {
	UserID        string `json:"user_id,omitempty"`
	DeviceID      string `json:"device_id,omitempty"`
	ApplicationID string `json:"application_id"`
}

// Token is a minted access token.
type Token struct {
	Scope       string
	AccessToken string
	ExpiresIn   int
	Claims      TokenClaims
}

// TokenIssuer mints and validates access tokens.
type TokenIssuer struct {
	Keys   TokenKeys
	Issuer string
	// Audiences are the resource servers, by name, that a client may ask a token for; a token
	// asked for none is for the application.
	Audiences []string
	// Revocations, when set, lets Introspect refuse tokens revoked by a logout or a device
	// block (online validation; offline validators see a token only until it expires).
	Revocations store.TokenRevocations
	Now         func() time.Time
}

// TokenRequest describes a token to mint.
type TokenRequest struct {
	// Test is the scope's security test.
	Test *project.SecurityTest
	// App is the application (client_id).
	App string
	// Audience is aud; empty means App.
	Audience string
	// SessionRef is sid, the session's token lineage.
	SessionRef string
	// User and Device are the identities of the test's user and device realms.
	User, Device map[string]any
	// MaxLifetime caps the token's life: the application descriptor's accessTokenExpiration
	// (0: no cap). It only ever shortens the test's lifetime, so a descriptor cannot make tokens
	// outlive what the scope's test allows, nor the key and revocation retention built on it.
	MaxLifetime time.Duration
}

// Audience returns the audience of a token that the application app requested for requested
// (the token request's audience or resource parameter): the application itself when requested
// is empty or names it, else a resource server of Audiences. Anything else is refused with
// CodeInvalidTarget, so a client cannot mint tokens for audiences the operator did not declare.
func (ti *TokenIssuer) Audience(requested, app string) (string, error) {
	if requested == "" || requested == app {
		return app, nil
	}
	if slices.Contains(ti.Audiences, requested) {
		return requested, nil
	}
	return "", &Error{Code: CodeInvalidTarget,
		Message: "audience " + strconv.Quote(requested) + " is not a resource server of this server; ask for one of tokens.audiences or for none (the application)"}
}

// Lifetime is the life of tokens for a test: its AccessTokenExpirationSec, else the default.
func Lifetime(t *project.SecurityTest) time.Duration {
	if t != nil && t.AccessTokenExpirationSec > 0 {
		return time.Duration(t.AccessTokenExpirationSec) * time.Second
	}
	return DefaultTokenLifetime
}

func (ti *TokenIssuer) now() time.Time {
	if ti.Now != nil {
		return ti.Now()
	}
	return time.Now()
}

// Mint signs a token for the scope test, for the application app, with the identities the
// test's realms gave.
func (ti *TokenIssuer) Mint(test *project.SecurityTest, app string, user, device map[string]any) (*Token, error) {
	return ti.MintFor(TokenRequest{Test: test, App: app, User: user, Device: device})
}

// MintFor signs the token r describes.
func (ti *TokenIssuer) MintFor(r TokenRequest) (*Token, error) {
	test, app, user, device := r.Test, r.App, r.User, r.Device
	aud := r.Audience
	if aud == "" {
		aud = app
	}
	k, err := ti.Keys.Active()
	if err != nil {
		return nil, unavailable("the token signing key", err)
	}
	signer, err := jose.NewSigner(
		jose.SigningKey{Algorithm: jose.SignatureAlgorithm(k.Algorithm), Key: jose.JSONWebKey{Key: k.Key, KeyID: k.ID}},
		(&jose.SignerOptions{}).WithType("at+jwt"))
	if err != nil {
		return nil, unavailable("the token signer", err)
	}
	now := ti.now()
	life := Lifetime(test)
	if r.MaxLifetime > 0 && r.MaxLifetime < life {
		life = r.MaxLifetime
	}
	c := TokenClaims{
		Issuer:     ti.Issuer,
		Audience:   aud,
		IssuedAt:   jwt.NewNumericDate(now),
		Expiry:     jwt.NewNumericDate(now.Add(life)),
		ID:         newID(),
		Scope:      test.Name,
		ClientID:   app,
		SessionRef: r.SessionRef,
		Data:       TokenData{ApplicationID: app},
	}
	if test.UserRealm != "" {
		if id, _ := user["userId"].(string); id != "" {
			c.Subject, c.Data.UserID = id, id
		}
	}
	if test.DeviceRealm != "" {
		if id, _ := device["id"].(string); id != "" {
			c.Data.DeviceID = id
		}
	}
	raw, err := jwt.Signed(signer).Claims(c).Serialize()
	if err != nil {
		return nil, unavailable("the token signer", err)
	}
	return &Token{Scope: test.Name, AccessToken: raw, ExpiresIn: int(life / time.Second), Claims: c}, nil
}

// Token validation failures, in the order they are checked.
var (
	ErrTokenInvalid           = errors.New("invalid token")
	ErrTokenExpired           = errors.New("token expired")
	ErrTokenInsufficientScope = errors.New("insufficient scope")
	// ErrTokenAudience: a token for another audience than the validator's.
	ErrTokenAudience = errors.New("token for another audience")
	// ErrTokenRevoked: a token whose session logged out, or whose device was blocked.
	ErrTokenRevoked = errors.New("token revoked")
)

// tokenLeeway tolerates clock skew between the issuer and a validator.
const tokenLeeway = 5 * time.Second

// maxTokenBytes bounds a token before it is parsed.
const maxTokenBytes = 8 << 10

// Validate checks a token: signature (algorithm, key, type, issuer), then expiration, then scope
// (when scope is not empty). The error wraps one of the ErrToken* sentinels and says why, for logs.
func (ti *TokenIssuer) Validate(token, scope string) (*TokenClaims, error) {
	if len(token) == 0 || len(token) > maxTokenBytes {
		return nil, fmt.Errorf("%w: empty or oversized", ErrTokenInvalid)
	}
	tok, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.ES256, jose.EdDSA})
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrTokenInvalid, err)
	}
	if len(tok.Headers) != 1 {
		return nil, fmt.Errorf("%w: %d signatures", ErrTokenInvalid, len(tok.Headers))
	}
	h := tok.Headers[0]
	if typ, _ := h.ExtraHeaders[jose.HeaderType].(string); typ != "at+jwt" {
		return nil, fmt.Errorf("%w: typ %q is not at+jwt", ErrTokenInvalid, typ)
	}
	pub, alg, ok := ti.Keys.Verifier(h.KeyID)
	if !ok {
		return nil, fmt.Errorf("%w: unknown key id %q", ErrTokenInvalid, h.KeyID)
	}
	if alg != h.Algorithm {
		return nil, fmt.Errorf("%w: algorithm %s does not match key %s", ErrTokenInvalid, h.Algorithm, h.KeyID)
	}
	var c TokenClaims
	if err := tok.Claims(pub, &c); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrTokenInvalid, err)
	}
	if c.Issuer != ti.Issuer {
		return nil, fmt.Errorf("%w: issuer %q", ErrTokenInvalid, c.Issuer)
	}
	now := ti.now()
	if c.Expiry == nil || !now.Before(c.Expiry.Time().Add(tokenLeeway)) {
		return nil, fmt.Errorf("%w", ErrTokenExpired)
	}
	if c.IssuedAt != nil && c.IssuedAt.Time().After(now.Add(tokenLeeway)) {
		return nil, fmt.Errorf("%w: issued in the future", ErrTokenInvalid)
	}
	if scope != "" && c.Scope != scope {
		return nil, fmt.Errorf("%w: token scope %q, required %q", ErrTokenInsufficientScope, c.Scope, scope)
	}
	return &c, nil
}

// Introspect is online validation: Validate, then the audience (when audience is not empty),
// then revocation: a token whose session logged out or whose device was blocked is refused with
// ErrTokenRevoked. A store failure is an *Error with CodeUnavailable: the caller must not take
// the token for valid.
func (ti *TokenIssuer) Introspect(ctx context.Context, token, scope, audience string) (*TokenClaims, error) {
	c, err := ti.Validate(token, scope)
	if err != nil {
		return nil, err
	}
	if audience != "" && c.Audience != audience {
		return nil, fmt.Errorf("%w: token for %q, required %q", ErrTokenAudience, c.Audience, audience)
	}
	if ti.Revocations == nil {
		return c, nil
	}
	now := ti.now()
	if c.SessionRef != "" {
		_, err := ti.Revocations.GetTokenRevocation(ctx, store.TokensOfSession, c.SessionRef, now)
		switch {
		case err == nil:
			return nil, fmt.Errorf("%w: its session logged out", ErrTokenRevoked)
		case !errors.Is(err, store.ErrNotFound):
			return nil, unavailable("the token revocation store", err)
		}
	}
	if c.Data.DeviceID != "" {
		r, err := ti.Revocations.GetTokenRevocation(ctx, store.TokensOfDevice, c.Data.DeviceID, now)
		switch {
		case err == nil:
			// iat is in whole seconds: a token of the second of the block is revoked with it.
			if c.IssuedAt == nil || c.IssuedAt.Time().Unix() <= r.RevokedAt.Unix() {
				return nil, fmt.Errorf("%w: its device was blocked", ErrTokenRevoked)
			}
		case !errors.Is(err, store.ErrNotFound):
			return nil, unavailable("the token revocation store", err)
		}
	}
	return c, nil
}

// issueToken runs the scope's security test for the request and, when it passes, mints a token
// for audience (see TokenIssuer.Audience), bound to the session's token lineage so that a logout
// revokes it. A request that has not passed every realm of the scope gets the test's challenge in
// Access.
func (e *Engine) issueToken(ctx context.Context, ti *TokenIssuer, req AccessRequest, audience string) (*Access, *Token, error) {
	test := e.project.Tests[req.Resource.Test]
	aud, err := ti.Audience(audience, req.App.App)
	if err != nil {
		return nil, nil, err
	}
	acc, err := e.Authorize(ctx, req)
	if err != nil || !acc.Allowed {
		return acc, nil, err
	}
	r := TokenRequest{Test: test, App: req.App.App, Audience: aud, SessionRef: acc.TokenSession,
		User: acc.User, Device: acc.Device}
	if app := e.project.Apps[req.App.App]; app != nil && app.AccessTokenExpiration > 0 {
		r.MaxLifetime = time.Duration(app.AccessTokenExpiration) * time.Second
	}
	tok, err := ti.MintFor(r)
	if err != nil {
		return acc, nil, err
	}
	return acc, tok, nil
}
