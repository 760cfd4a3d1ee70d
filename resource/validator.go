package resource

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"
)

// Sentinels for errors.Is. Validate wraps exactly one of them, naming the first check the token
// failed (signature, then time, then scope). A token for another audience than Config.Audience
// fails the first check: it is not a token for this resource server.
var (
	// ErrInvalidToken: the token is not one of the issuer's: malformed, a disallowed alg or typ,
	// an unknown kid, a bad signature, a wrong issuer or audience, or malformed claims. Asking the issuer for a
	// new token is the only remedy.
	ErrInvalidToken = errors.New("invalid access token")
	// ErrExpired: a genuine token whose exp has passed.
	ErrExpired = errors.New("access token expired")
	// ErrNotYetValid: a genuine token issued (iat) or valid from (nbf) a time still in the future,
	// beyond the leeway for clock skew: the issuer's clock and this one disagree.
	ErrNotYetValid = errors.New("access token not yet valid")
	// ErrInsufficientScope: a genuine, current token that does not carry the scope required.
	ErrInsufficientScope = errors.New("access token lacks the required scope")
	// ErrKeysUnavailable: no key set could be loaded yet (the issuer's JWKS is unreachable or
	// unusable), so no token can be checked. It is the resource server's problem, not the
	// client's: Require answers it 503.
	ErrKeysUnavailable = errors.New("token verification keys unavailable")
)

// Defaults of Config.
const (
	DefaultFetchTimeout       = 5 * time.Second
	DefaultMaxKeySetBytes     = 256 << 10
	DefaultMinRefreshInterval = 10 * time.Second
	DefaultRefreshInterval    = 5 * time.Minute
	DefaultLeeway             = 5 * time.Second
	DefaultCacheSize          = 10000
	DefaultMaxTokenBytes      = 8 << 10

	// MaxLeeway bounds Config.Leeway: a token's lifetime is a minute by default, and a leeway
	// much larger than the clock skew would extend it for everybody.
	MaxLeeway = 5 * time.Second
	// maxKeySetAge bounds how long a key set is trusted without asking the issuer again,
	// whatever its max-age says, so a key the issuer withdrew stops being honoured.
	maxKeySetAge = 24 * time.Hour
)

// Config says where a Validator finds the issuer's keys and what it expects of tokens. Exactly
// one of JWKSURL, KeyFile and Keys is set; Issuer is required. Zero values take the defaults.
type Config struct {
	// JWKSURL is where the issuer publishes its keys (hostd: <issuer>/oauth/jwks), http or https.
	JWKSURL string
	// KeyFile is a file of verification keys: PEM "PUBLIC KEY" blocks (P-256 or Ed25519, their
	// kid being the RFC 7638 thumbprint) or a JWKS document. It is read by New and read again
	// when a token names an unknown kid, as a JWKS URL is fetched again.
	KeyFile string
	// Keys are the verification keys themselves, in either form KeyFile accepts.
	Keys []byte
	// Issuer is the iss every token must carry, compared exactly (hostd: its base URL).
	Issuer string
	// Audience, when set, is the aud every token must carry, compared exactly: this resource
	// server's name in hostd's tokens.audiences (or the application id, the audience of a token
	// requested for none). Without it a token for any audience of the issuer is accepted.
	Audience string

	// HTTPClient fetches JWKSURL (default: a client with FetchTimeout as its timeout).
	HTTPClient *http.Client
	// FetchTimeout bounds one fetch of the key set (default 5 s).
	FetchTimeout time.Duration
	// MaxKeySetBytes bounds the key set document (default 256 KiB).
	MaxKeySetBytes int64
	// MinRefreshInterval is the least time between two fetches of the key set (default 10 s).
	// A token naming an unknown kid within it is refused without asking the issuer.
	MinRefreshInterval time.Duration
	// RefreshInterval is how long a key set is used before it is fetched again in the
	// background, when the JWKS reply has no Cache-Control max-age (default 5 min). A max-age is
	// honoured between MinRefreshInterval and a day.
	RefreshInterval time.Duration
	// Leeway tolerates clock skew in the exp, iat and nbf checks: at most MaxLeeway (5 s),
	// which is the default; negative means none.
	Leeway time.Duration
	// CacheSize bounds the verified-token cache (default 10000 tokens); negative turns it off.
	CacheSize int
	// MaxTokenBytes bounds the length of a token (default 8 KiB).
	MaxTokenBytes int
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Client is what a valid token says about the caller.
type Client struct {
	// ApplicationID is the application the token was issued to (client_id).
	ApplicationID string `json:"application_id"`
	// UserID is the user the token speaks for; empty when its security test has no user realm.
	UserID string `json:"user_id,omitempty"`
	// DeviceID is the device; empty when its security test has no device realm.
	DeviceID string `json:"device_id,omitempty"`
	// Scope is the token's scope: the security test that was passed to obtain it.
	Scope string `json:"scope"`
	// Subject is the token's sub claim (the user id, when there is one).
	Subject string `json:"sub,omitempty"`
	// Audience is the token's aud: the resource server it was issued for, or the application.
	// With several, the one Config.Audience requires, else the first.
	Audience string `json:"aud,omitempty"`
	// TokenID is the token's jti, unique per token: what a resource logs to tell tokens apart
	// without logging the token.
	TokenID string `json:"jti,omitempty"`
	// IssuedAt is the token's iat, zero when it has none.
	IssuedAt time.Time `json:"issued_at,omitzero"`
	// ExpiresAt is the token's exp.
	ExpiresAt time.Time `json:"expires_at"`
}

// Validator validates access tokens offline. It is safe for concurrent use.
type Validator struct {
	issuer        string
	audience      string
	src           keySource
	timeout       time.Duration
	minRefresh    time.Duration
	refresh       time.Duration
	leeway        time.Duration
	maxTokenBytes int
	now           func() time.Time

	keys  atomic.Pointer[keySet]
	cache *tokenCache // nil when off

	mu        sync.Mutex
	running   chan struct{} // closed when the fetch in flight ends; nil when none runs
	lastFetch time.Time     // start of the last fetch, successful or not
	lastErr   error         // outcome of the last fetch
}

// New checks cfg and returns a Validator. Keys given as KeyFile or Keys are loaded now, so a bad
// file fails here; a JWKSURL is fetched on the first token (or on Refresh), so a resource server
// can start while its issuer is still starting.
func New(cfg Config) (*Validator, error) {
	v := &Validator{
		issuer:        cfg.Issuer,
		audience:      cfg.Audience,
		timeout:       orDefault(cfg.FetchTimeout, DefaultFetchTimeout),
		minRefresh:    orDefault(cfg.MinRefreshInterval, DefaultMinRefreshInterval),
		refresh:       orDefault(cfg.RefreshInterval, DefaultRefreshInterval),
		leeway:        orDefault(cfg.Leeway, DefaultLeeway),
		maxTokenBytes: orDefault(cfg.MaxTokenBytes, DefaultMaxTokenBytes),
		now:           cfg.Now,
	}
	if cfg.Leeway < 0 {
		v.leeway = 0
	}
	if v.now == nil {
		v.now = time.Now
	}
	if cfg.Issuer == "" {
		return nil, errors.New("resource: Config.Issuer is required")
	}
	switch {
	case v.leeway > MaxLeeway:
		return nil, fmt.Errorf("resource: Config.Leeway %v is more than %v", cfg.Leeway, MaxLeeway)
	case v.timeout < 0, v.minRefresh < 0, v.refresh < 0, v.maxTokenBytes < 0, cfg.MaxKeySetBytes < 0:
		return nil, errors.New("resource: negative durations and sizes are not allowed in Config (but Leeway and CacheSize)")
	}
	maxBytes := orDefault(cfg.MaxKeySetBytes, DefaultMaxKeySetBytes)

	sources := 0
	for _, set := range []bool{cfg.JWKSURL != "", cfg.KeyFile != "", cfg.Keys != nil} {
		if set {
			sources++
		}
	}
	if sources != 1 {
		return nil, errors.New("resource: set exactly one of Config.JWKSURL, Config.KeyFile and Config.Keys")
	}
	switch {
	case cfg.JWKSURL != "":
		u, err := url.Parse(cfg.JWKSURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
			return nil, fmt.Errorf("resource: Config.JWKSURL %q is not an http(s) URL without credentials", cfg.JWKSURL)
		}
		hc := cfg.HTTPClient
		if hc == nil {
			hc = &http.Client{Timeout: v.timeout}
		}
		v.src = &urlSource{url: u.String(), client: hc, maxBytes: maxBytes}
	case cfg.KeyFile != "":
		v.src = &fileSource{path: cfg.KeyFile, maxBytes: maxBytes}
	default:
		v.src = staticSource(cfg.Keys)
	}
	size := orDefault(cfg.CacheSize, DefaultCacheSize)
	if size > 0 {
		v.cache = newTokenCache(size)
	}
	if cfg.JWKSURL == "" {
		if err := v.Refresh(context.Background()); err != nil {
			return nil, err
		}
	}
	return v, nil
}

func orDefault[T int | int64 | time.Duration](v, def T) T {
	if v == 0 {
		return def
	}
	return v
}

// Validate checks token and that it carries scope (no scope check when scope is empty), and
// returns what it says about the caller. Its error wraps ErrInvalidToken, ErrExpired,
// ErrNotYetValid, ErrInsufficientScope or ErrKeysUnavailable. ctx bounds a fetch of the key set
// that the token may cause.
func (v *Validator) Validate(ctx context.Context, token, scope string) (*Client, error) {
	if len(token) > v.maxTokenBytes {
		return nil, fmt.Errorf("%w: longer than %d bytes", ErrInvalidToken, v.maxTokenBytes)
	}
	now := v.now()
	if ks := v.keys.Load(); ks != nil && now.After(ks.staleAt) {
		v.refreshInBackground()
	}
	var sum [sha256.Size]byte
	if v.cache != nil {
		sum = sha256.Sum256([]byte(token))
		if e := v.cache.get(sum); e != nil {
			if err := v.checkTime(now, e.exp, e.notBefore); err != nil {
				return nil, err
			}
			return clientFor(&e.client, scope)
		}
	}

	tok, err := parseToken(token)
	if err != nil {
		return nil, err
	}
	key, err := v.key(ctx, tok.kid)
	if err != nil {
		return nil, err
	}
	if err := key.verify(tok); err != nil {
		return nil, err
	}
	c, err := decodeClaims(tok.payload, v.issuer, v.audience)
	if err != nil {
		return nil, err
	}
	if err := v.checkTime(now, c.exp, c.notBefore); err != nil {
		return nil, err
	}
	if v.cache != nil {
		v.cache.put(now, sum, &cacheEntry{client: c.client, key: key, exp: c.exp, notBefore: c.notBefore}, v.keys.Load)
	}
	return clientFor(&c.client, scope)
}

// checkTime is the second check: exp passed, or iat/nbf (notBefore, the later of the two) in
// the future.
func (v *Validator) checkTime(now, exp, notBefore time.Time) error {
	if !now.Before(exp.Add(v.leeway)) {
		return fmt.Errorf("%w at %s", ErrExpired, exp.UTC().Format(time.RFC3339))
	}
	if !notBefore.IsZero() && notBefore.After(now.Add(v.leeway)) {
		return fmt.Errorf("%w before %s", ErrNotYetValid, notBefore.UTC().Format(time.RFC3339))
	}
	return nil
}

// clientFor is the third check, the scope; it returns a copy of c the caller may keep.
func clientFor(c *Client, scope string) (*Client, error) {
	if scope != "" && !hasScope(c.Scope, scope) {
		return nil, fmt.Errorf("%w %q", ErrInsufficientScope, scope)
	}
	cp := *c
	return &cp, nil
}

// hasScope reports whether want is one of the space-separated scopes in scopes (RFC 6749 3.3).
func hasScope(scopes, want string) bool {
	for len(scopes) > 0 {
		i := 0
		for i < len(scopes) && scopes[i] != ' ' {
			i++
		}
		if scopes[:i] == want {
			return true
		}
		if i == len(scopes) {
			break
		}
		scopes = scopes[i+1:]
	}
	return false
}

// Refresh fetches the key set now, whatever MinRefreshInterval says, and waits for the result.
// A resource server calls it at start to find a misconfigured JWKS URL early; a Validator
// refreshes on its own otherwise. A failed fetch keeps the keys already held.
func (v *Validator) Refresh(ctx context.Context) error {
	_, err := v.fetch(ctx, 0)
	return err
}

// key finds the key of kid: in the current key set, else (the issuer may have rotated) in a
// fresh one, fetched at most once per MinRefreshInterval.
func (v *Validator) key(ctx context.Context, kid string) (*verifyKey, error) {
	ks := v.keys.Load()
	if ks == nil {
		var err error
		if ks, err = v.fetch(ctx, v.minRefresh); ks == nil {
			return nil, fmt.Errorf("%w: %w", ErrKeysUnavailable, err)
		}
	}
	if k := ks.keys[kid]; k != nil {
		return k, nil
	}
	if _, static := v.src.(staticSource); !static {
		// Twice: the first call may have joined a fetch that started before the issuer
		// published the key. The second fetches only if MinRefreshInterval allows.
		for range 2 {
			if ks, _ = v.fetch(ctx, v.minRefresh); ks != nil {
				if k := ks.keys[kid]; k != nil {
					return k, nil
				}
			}
		}
	}
	return nil, fmt.Errorf("%w: no key of the issuer has the token's kid", ErrInvalidToken)
}

// errTooSoon: a fetch was asked for within MinRefreshInterval of the previous one.
var errTooSoon = errors.New("key set fetched too recently to fetch again")

// fetch loads the key set, unless the last fetch started less than minInterval ago. Concurrent
// callers share one fetch. It returns the key set held afterwards (nil if none ever loaded) and
// the error of the fetch.
func (v *Validator) fetch(ctx context.Context, minInterval time.Duration) (*keySet, error) {
	v.mu.Lock()
	if ch := v.running; ch != nil {
		v.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return v.keys.Load(), ctx.Err()
		}
		v.mu.Lock()
		err := v.lastErr
		v.mu.Unlock()
		return v.keys.Load(), err
	}
	now := v.now()
	if !v.lastFetch.IsZero() && now.Sub(v.lastFetch) < minInterval {
		err := v.lastErr
		v.mu.Unlock()
		if err == nil {
			err = errTooSoon
		}
		return v.keys.Load(), err
	}
	ch := make(chan struct{})
	v.running, v.lastFetch = ch, now
	v.mu.Unlock()

	// The fetch serves every waiter: the caller's cancellation must not fail it for the others.
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), v.timeout)
	err := v.load(fctx, now)
	cancel()

	v.mu.Lock()
	v.running, v.lastErr = nil, err
	v.mu.Unlock()
	close(ch)
	return v.keys.Load(), err
}

// refreshInBackground starts a fetch of a stale key set, unless one runs or ran recently; the
// request that noticed goes on with the keys it has.
func (v *Validator) refreshInBackground() {
	v.mu.Lock()
	idle := v.running == nil && v.now().Sub(v.lastFetch) >= v.minRefresh
	v.mu.Unlock()
	if idle {
		go v.fetch(context.Background(), v.minRefresh)
	}
}

// load reads and installs the key set, then forgets cached tokens whose key left it.
func (v *Validator) load(ctx context.Context, now time.Time) error {
	data, maxAge, err := v.src.read(ctx)
	if err != nil {
		return fmt.Errorf("resource: reading the key set: %w", err)
	}
	old := v.keys.Load()
	ks, err := parseKeySet(data, old)
	if err != nil {
		return fmt.Errorf("resource: key set from %s: %w", v.src, err)
	}
	age := v.refresh
	if maxAge >= 0 {
		age = min(max(maxAge, v.minRefresh), maxKeySetAge)
	}
	ks.staleAt = now.Add(age)
	if _, static := v.src.(staticSource); static {
		ks.staleAt = now.Add(100 * 365 * 24 * time.Hour)
	}
	v.keys.Store(ks)
	if v.cache != nil {
		v.cache.retain(ks)
	}
	return nil
}
