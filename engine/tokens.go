package engine

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/realmgate/realmgate/policies"
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
	Issuer   string           `json:"iss"`
	IssuedAt *jwt.NumericDate `json:"iat"`
	Expiry   *jwt.NumericDate `json:"exp"`
	ID       string           `json:"jti"`
	Scope    string           `json:"scope"`
	ClientID string           `json:"client_id"`
	Subject  string           `json:"sub,omitempty"`
	Data     TokenData        `json:"data"`
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
	Now    func() time.Time
}

// Lifetime is the life of tokens for a test: its AccessTokenExpirationSec, else the default.
func Lifetime(t *policies.SecurityTest) time.Duration {
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

// Mint signs a token for the scope test, with the identities the test's realms gave.
func (ti *TokenIssuer) Mint(test *policies.SecurityTest, app string, user, device map[string]any) (*Token, error) {
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
	c := TokenClaims{
		Issuer:   ti.Issuer,
		IssuedAt: jwt.NewNumericDate(now),
		Expiry:   jwt.NewNumericDate(now.Add(life)),
		ID:       newID(),
		Scope:    test.Name,
		ClientID: app,
		Data:     TokenData{ApplicationID: app},
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

// IssueToken runs the scope's security test for the request and, when it passes, mints a token.
// A request that has not passed every realm of the scope gets the test's challenge in Access.
func (e *Engine) IssueToken(ctx context.Context, ti *TokenIssuer, req AccessRequest) (*Access, *Token, error) {
	test := e.project.Tests[req.Resource.Test]
	acc, err := e.Authorize(ctx, req)
	if err != nil || !acc.Allowed {
		return acc, nil, err
	}
	tok, err := ti.Mint(test, req.App.App, acc.User, acc.Device)
	if err != nil {
		return acc, nil, err
	}
	return acc, tok, nil
}
