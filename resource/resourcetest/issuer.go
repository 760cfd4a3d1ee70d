// Package resourcetest runs a token issuer for tests of resource servers: a JWKS server on
// 127.0.0.1 and a minter of access tokens shaped exactly as hostd mints them (PROTOCOL.md
// section 6), with Breaks that spoil a token in one known way each.
//
// It is for what the daemon never does: tokens that are forged, expired, signed with an unknown
// or retired key, issued for a given instant or lifetime; keys rotated and retired on command; a
// JWKS endpoint that is down, uncached or counted. Tests of valid tokens can use the daemon
// itself (package hostd/hostdtest). A test of this package compares its tokens and key sets with
// the daemon's, so that the two cannot drift apart.
package resourcetest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// Algorithms of the issuer's keys.
const (
	ES256 = "ES256"
	EdDSA = "EdDSA"
)

// Key is one signing key of the Issuer.
type Key struct {
	// ID is the kid: the RFC 7638 thumbprint of the public key, as hostd makes it.
	ID string
	// Alg is ES256 or EdDSA.
	Alg string
	// Private is the signing key (*ecdsa.PrivateKey or ed25519.PrivateKey).
	Private crypto.Signer
}

// Public returns the public key.
func (k *Key) Public() crypto.PublicKey { return k.Private.Public() }

// PEM returns the public key as a PEM "PUBLIC KEY" block.
func (k *Key) PEM() []byte {
	der, err := x509.MarshalPKIXPublicKey(k.Public())
	if err != nil {
		panic(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// JWK returns the public key as hostd publishes it: kid, alg and use "sig".
func (k *Key) JWK() jose.JSONWebKey {
	return jose.JSONWebKey{Key: k.Public(), KeyID: k.ID, Algorithm: k.Alg, Use: "sig"}
}

// NewKey makes a key of alg (ES256 or EdDSA).
func NewKey(alg string) (*Key, error) {
	var priv crypto.Signer
	var err error
	switch alg {
	case ES256:
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case EdDSA:
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	default:
		return nil, fmt.Errorf("resourcetest: unknown alg %q", alg)
	}
	if err != nil {
		return nil, err
	}
	tp, err := (&jose.JSONWebKey{Key: priv.Public()}).Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, err
	}
	return &Key{ID: base64.RawURLEncoding.EncodeToString(tp), Alg: alg, Private: priv}, nil
}

// Issuer is a test issuer: it publishes its keys at JWKSURL and mints tokens with the current
// one. It is safe for concurrent use.
type Issuer struct {
	// URL is the base URL of the issuer's server (http://127.0.0.1:port), and the iss of its
	// tokens.
	URL string
	// JWKSURL is URL + "/oauth/jwks".
	JWKSURL string

	srv     *httptest.Server
	fetches atomic.Int64

	mu        sync.Mutex
	published []*Key
	current   *Key
	maxAge    int  // Cache-Control max-age of the JWKS; negative: none
	down      bool // answer 503
}

// NewIssuer starts an issuer with one key of alg (ES256 or EdDSA) and a JWKS that says
// Cache-Control: public, max-age=60, as hostd's does. The server stops when the test ends.
func NewIssuer(tb testing.TB, alg string) *Issuer {
	tb.Helper()
	is, err := Start(alg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(is.Close)
	return is
}

// Start is NewIssuer outside a test; Close stops it.
func Start(alg string) (*Issuer, error) {
	k, err := NewKey(alg)
	if err != nil {
		return nil, err
	}
	is := &Issuer{published: []*Key{k}, current: k, maxAge: 60}
	is.srv = httptest.NewServer(http.HandlerFunc(is.serveJWKS))
	is.URL = is.srv.URL
	is.JWKSURL = is.srv.URL + "/oauth/jwks"
	return is, nil
}

// Close stops the JWKS server.
func (is *Issuer) Close() { is.srv.Close() }

func (is *Issuer) serveJWKS(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/oauth/jwks" || r.Method != http.MethodGet {
		http.NotFound(w, r)
		return
	}
	is.fetches.Add(1)
	is.mu.Lock()
	down, maxAge, body := is.down, is.maxAge, is.jwksLocked()
	is.mu.Unlock()
	if down {
		http.Error(w, `{"error":"unavailable","message":"down for the test"}`, http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	if maxAge >= 0 {
		w.Header().Set("Cache-Control", fmt.Sprintf("public, max-age=%d", maxAge))
	}
	w.Write(body)
}

func (is *Issuer) jwksLocked() []byte {
	set := jose.JSONWebKeySet{}
	for _, k := range is.published {
		set.Keys = append(set.Keys, k.JWK())
	}
	b, err := json.Marshal(set)
	if err != nil {
		panic(err)
	}
	return b
}

// JWKS returns the key set document the issuer publishes now.
func (is *Issuer) JWKS() []byte {
	is.mu.Lock()
	defer is.mu.Unlock()
	return is.jwksLocked()
}

// Fetches counts the JWKS requests served so far.
func (is *Issuer) Fetches() int { return int(is.fetches.Load()) }

// Current returns the key that signs new tokens.
func (is *Issuer) Current() *Key {
	is.mu.Lock()
	defer is.mu.Unlock()
	return is.current
}

// Rotate makes a new key of alg, publishes it beside the others and signs new tokens with it. The
// previous keys stay published until Retire, as hostd keeps them until their tokens expired.
func (is *Issuer) Rotate(alg string) *Key {
	k, err := NewKey(alg)
	if err != nil {
		panic(err)
	}
	is.Publish(k)
	is.mu.Lock()
	is.current = k
	is.mu.Unlock()
	return k
}

// Publish adds k to the published keys without signing with it.
func (is *Issuer) Publish(k *Key) {
	is.mu.Lock()
	defer is.mu.Unlock()
	is.published = append(is.published, k)
}

// Retire stops publishing the key kid.
func (is *Issuer) Retire(kid string) {
	is.mu.Lock()
	defer is.mu.Unlock()
	keep := is.published[:0]
	for _, k := range is.published {
		if k.ID != kid {
			keep = append(keep, k)
		}
	}
	is.published = keep
}

// SetMaxAge sets the Cache-Control max-age of the JWKS reply; negative leaves the header out.
func (is *Issuer) SetMaxAge(seconds int) {
	is.mu.Lock()
	defer is.mu.Unlock()
	is.maxAge = seconds
}

// SetDown makes the JWKS endpoint answer 503 (true) or serve again (false).
func (is *Issuer) SetDown(down bool) {
	is.mu.Lock()
	defer is.mu.Unlock()
	is.down = down
}

// Claims are the facts a token states. Zero fields take defaults: Scope "mobileTests",
// ApplicationID "BankApp", IssuedAt now, Lifetime 60 s. UserID and DeviceID are left out of the
// token when empty, as hostd leaves them out for tests without a user or device realm.
type Claims struct {
	Scope         string
	ApplicationID string
	UserID        string
	DeviceID      string
	Audience      string // aud, left out when empty (hostd always names one: the app by default)
	Session       string // sid, left out when empty (hostd always names the session lineage)
	IssuedAt      time.Time
	Lifetime      time.Duration
}

// Mint returns a token signed by the current key, spoiled by breaks.
func (is *Issuer) Mint(c Claims, breaks ...Break) string {
	m := &minting{typ: "at+jwt", key: is.Current(), claims: is.claims(c)}
	for _, b := range breaks {
		b(m)
	}
	return m.sign()
}

func (is *Issuer) claims(c Claims) map[string]any {
	if c.Scope == "" {
		c.Scope = "mobileTests"
	}
	if c.ApplicationID == "" {
		c.ApplicationID = "BankApp"
	}
	if c.IssuedAt.IsZero() {
		c.IssuedAt = time.Now()
	}
	if c.Lifetime == 0 {
		c.Lifetime = 60 * time.Second
	}
	jti := make([]byte, 16)
	rand.Read(jti)
	data := map[string]any{"application_id": c.ApplicationID}
	cl := map[string]any{
		"iss":       is.URL,
		"iat":       c.IssuedAt.Unix(),
		"exp":       c.IssuedAt.Add(c.Lifetime).Unix(),
		"jti":       hex.EncodeToString(jti),
		"scope":     c.Scope,
		"client_id": c.ApplicationID,
		"data":      data,
	}
	if c.UserID != "" {
		cl["sub"] = c.UserID
		data["user_id"] = c.UserID
	}
	if c.DeviceID != "" {
		data["device_id"] = c.DeviceID
	}
	if c.Audience != "" {
		cl["aud"] = c.Audience
	}
	if c.Session != "" {
		cl["sid"] = c.Session
	}
	return cl
}

// minting is a token being made; Breaks change it.
type minting struct {
	typ    string
	alg    string // "" (the key's), "none" or "HS256"
	key    *Key
	claims map[string]any
	header map[string]any // extra header members
	after  []func(string) string
}

// Break spoils a token in one way.
type Break func(*minting)

// Options of Mint that spoil the token. Each breaks exactly one check, so tests can combine them
// to prove the order of the checks.
var (
	// TamperedSignature flips a bit of the signature.
	TamperedSignature Break = func(m *minting) {
		m.after = append(m.after, func(tok string) string {
			i := strings.LastIndexByte(tok, '.')
			sig, _ := base64.RawURLEncoding.DecodeString(tok[i+1:])
			sig[len(sig)/2] ^= 0x01
			return tok[:i+1] + base64.RawURLEncoding.EncodeToString(sig)
		})
	}
	// TamperedPayload replaces the payload after signing: same header and signature, but the
	// scope widened to "transferTests" and the user to "mallory".
	TamperedPayload Break = func(m *minting) {
		m.after = append(m.after, func(tok string) string {
			parts := strings.Split(tok, ".")
			var cl map[string]any
			b, _ := base64.RawURLEncoding.DecodeString(parts[1])
			json.Unmarshal(b, &cl)
			cl["scope"], cl["sub"] = "transferTests", "mallory"
			b, _ = json.Marshal(cl)
			parts[1] = base64.RawURLEncoding.EncodeToString(b)
			return strings.Join(parts, ".")
		})
	}
	// AlgNone makes an unsigned token: alg "none", empty signature.
	AlgNone Break = func(m *minting) { m.alg = "none" }
	// HS256WithPublicKey signs with HMAC-SHA256 keyed with the PEM of the issuer's public key
	// (the algorithm-confusion attack), keeping the real kid.
	HS256WithPublicKey Break = func(m *minting) { m.alg = "HS256" }
	// UnknownKid signs with a fresh key the issuer never published.
	UnknownKid Break = func(m *minting) {
		k, err := NewKey(m.key.Alg)
		if err != nil {
			panic(err)
		}
		m.key = k
	}
	// WrongIssuer sets iss to another issuer.
	WrongIssuer Break = func(m *minting) { m.claims["iss"] = "http://127.0.0.1:1" }
	// WrongTyp sets typ "JWT" (an ID token or other JWT, not an access token).
	WrongTyp Break = func(m *minting) { m.typ = "JWT" }
	// Expired makes the token expire two minutes ago (beyond any leeway).
	Expired Break = func(m *minting) {
		m.claims["iat"] = time.Now().Add(-3 * time.Minute).Unix()
		m.claims["exp"] = time.Now().Add(-2 * time.Minute).Unix()
	}
	// NotYetValid makes the token issued two minutes from now (beyond any leeway).
	NotYetValid Break = func(m *minting) {
		m.claims["iat"] = time.Now().Add(2 * time.Minute).Unix()
		m.claims["exp"] = time.Now().Add(3 * time.Minute).Unix()
	}
)

// NotBeforeIn sets nbf to d from the time of minting.
func NotBeforeIn(d time.Duration) Break {
	return func(m *minting) { m.claims["nbf"] = time.Now().Add(d).Unix() }
}

// SignedWith signs the token with k instead of the current key (k need not be published).
func SignedWith(k *Key) Break { return func(m *minting) { m.key = k } }

// Claim sets claim name to value; a nil value removes it.
func Claim(name string, value any) Break {
	return func(m *minting) {
		if value == nil {
			delete(m.claims, name)
		} else {
			m.claims[name] = value
		}
	}
}

// Header sets a header member (beside alg, typ and kid; those are set by the other Breaks).
func Header(name string, value any) Break {
	return func(m *minting) {
		if m.header == nil {
			m.header = map[string]any{}
		}
		m.header[name] = value
	}
}

func (m *minting) sign() string {
	payload, err := json.Marshal(m.claims)
	if err != nil {
		panic(err)
	}
	var tok string
	switch m.alg {
	case "none":
		h, _ := json.Marshal(map[string]any{"alg": "none", "typ": m.typ, "kid": m.key.ID})
		tok = base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(payload) + "."
	default:
		alg, key := jose.SignatureAlgorithm(m.key.Alg), any(m.key.Private)
		if m.alg == "HS256" {
			alg, key = jose.HS256, m.key.PEM()
		}
		opts := (&jose.SignerOptions{}).WithType(jose.ContentType(m.typ)).WithHeader("kid", m.key.ID)
		for k, v := range m.header {
			opts = opts.WithHeader(jose.HeaderKey(k), v)
		}
		s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
		if err != nil {
			panic(err)
		}
		obj, err := s.Sign(payload)
		if err != nil {
			panic(err)
		}
		if tok, err = obj.CompactSerialize(); err != nil {
			panic(err)
		}
	}
	for _, f := range m.after {
		tok = f(tok)
	}
	return tok
}
