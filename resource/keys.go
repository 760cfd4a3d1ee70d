package resource

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// Algorithms a token may be signed with. The alg of a token must also fit the type of the key
// its kid names, so a public key is never used as an HMAC secret or with another algorithm.
const (
	AlgES256 = "ES256"
	AlgEdDSA = "EdDSA"
)

// verifyKey is one usable key of the issuer.
type verifyKey struct {
	kid string
	alg string // AlgES256 or AlgEdDSA
	ec  *ecdsa.PublicKey
	ed  ed25519.PublicKey
}

func (k *verifyKey) public() crypto.PublicKey {
	if k.ec != nil {
		return k.ec
	}
	return k.ed
}

// keySet is the issuer's key set as last loaded. It is never modified once installed.
type keySet struct {
	keys    map[string]*verifyKey
	staleAt time.Time // when to fetch it again
}

// keySource reads the key set document. maxAge is the lifetime the source gives it, negative
// when it says none.
type keySource interface {
	read(ctx context.Context) (data []byte, maxAge time.Duration, err error)
	String() string
}

// urlSource is a JWKS URL.
type urlSource struct {
	url      string
	client   *http.Client
	maxBytes int64
}

func (s *urlSource) String() string { return s.url }

func (s *urlSource) read(ctx context.Context) ([]byte, time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url, nil)
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
		return nil, 0, fmt.Errorf("GET %s: status %d", s.url, resp.StatusCode)
	}
	data, err := readBounded(resp.Body, s.maxBytes)
	if err != nil {
		return nil, 0, fmt.Errorf("GET %s: %w", s.url, err)
	}
	return data, maxAge(resp.Header), nil
}

// maxAge reads the lifetime a JWKS reply gives itself: Cache-Control max-age (no-store and
// no-cache mean zero), negative when it gives none.
func maxAge(h http.Header) time.Duration {
	age := time.Duration(-1)
	for _, v := range h.Values("Cache-Control") {
		for _, d := range strings.Split(v, ",") {
			name, val, _ := strings.Cut(strings.TrimSpace(d), "=")
			switch strings.ToLower(name) {
			case "no-store", "no-cache":
				return 0
			case "max-age":
				if n, err := strconv.ParseUint(strings.Trim(val, `"`), 10, 32); err == nil {
					age = time.Duration(n) * time.Second
				}
			}
		}
	}
	return age
}

// fileSource is a key file, read again on every refresh.
type fileSource struct {
	path     string
	maxBytes int64
}

func (s *fileSource) String() string { return s.path }

func (s *fileSource) read(context.Context) ([]byte, time.Duration, error) {
	f, err := os.Open(s.path)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	data, err := readBounded(f, s.maxBytes)
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", s.path, err)
	}
	return data, -1, nil
}

// staticSource is key material given in the Config.
type staticSource []byte

func (s staticSource) String() string { return "Config.Keys" }

func (s staticSource) read(context.Context) ([]byte, time.Duration, error) { return s, -1, nil }

func readBounded(r io.Reader, limit int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("key set larger than %d bytes", limit)
	}
	return data, nil
}

// parseKeySet reads a JWKS document or PEM public keys. A key that is also in old (same kid,
// same public key) keeps its *verifyKey, so the verified-token cache knows it as the same key.
//
// In a JWKS, keys this package cannot use are skipped: other key types and curves, keys for
// encryption (use other than "sig"), keys whose alg is not ES256 or EdDSA or does not fit their
// type, and keys carrying private or symmetric material, which no issuer should publish. A
// document without one usable key is an error. PEM files must hold only usable keys.
func parseKeySet(data []byte, old *keySet) (*keySet, error) {
	var keys []*verifyKey
	var err error
	if trimmed := bytes.TrimSpace(data); len(trimmed) > 0 && trimmed[0] == '{' {
		keys, err = parseJWKS(trimmed)
	} else {
		keys, err = parsePEM(data)
	}
	if err != nil {
		return nil, err
	}
	ks := &keySet{keys: make(map[string]*verifyKey, len(keys))}
	for _, k := range keys {
		if _, dup := ks.keys[k.kid]; dup {
			continue // RFC 7517 4.5: kids should be distinct; the first one wins
		}
		if old != nil {
			if o := old.keys[k.kid]; o != nil && o.alg == k.alg && publicEqual(o.public(), k.public()) {
				k = o
			}
		}
		ks.keys[k.kid] = k
	}
	if len(ks.keys) == 0 {
		return nil, errors.New("no usable ES256 (P-256) or EdDSA (Ed25519) signature key")
	}
	return ks, nil
}

func publicEqual(a, b crypto.PublicKey) bool {
	type equaler interface{ Equal(crypto.PublicKey) bool }
	e, ok := a.(equaler)
	return ok && e.Equal(b)
}

// privateMembers are JWK members that carry private or symmetric key material.
var privateMembers = []string{"d", "k", "p", "q", "dp", "dq", "qi", "oth", "priv"}

func parseJWKS(data []byte) ([]*verifyKey, error) {
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(data, &set); err != nil {
		return nil, fmt.Errorf("not a JWKS document: %w", err)
	}
	var keys []*verifyKey
	for _, raw := range set.Keys {
		if k := jwkKey(raw); k != nil {
			keys = append(keys, k)
		}
	}
	return keys, nil
}

// jwkKey returns the key of one JWK, or nil when it is not usable.
func jwkKey(raw json.RawMessage) *verifyKey {
	var members map[string]json.RawMessage
	if json.Unmarshal(raw, &members) != nil {
		return nil
	}
	for _, m := range privateMembers {
		if _, ok := members[m]; ok {
			return nil
		}
	}
	var meta struct {
		Kty, Crv, Alg, Use, Kid string
	}
	if json.Unmarshal(raw, &meta) != nil || meta.Use != "" && meta.Use != "sig" {
		return nil
	}
	switch {
	case meta.Kty == "EC" && meta.Crv == "P-256":
	case meta.Kty == "OKP" && meta.Crv == "Ed25519":
	default:
		return nil
	}
	var jwk jose.JSONWebKey
	if jwk.UnmarshalJSON(raw) != nil || !jwk.IsPublic() {
		return nil
	}
	k := newVerifyKey(jwk.Key)
	if k == nil || meta.Alg != "" && meta.Alg != k.alg {
		return nil
	}
	if meta.Kid != "" {
		k.kid = meta.Kid
	}
	return k
}

func parsePEM(data []byte) ([]*verifyKey, error) {
	var keys []*verifyKey
	for n := 1; ; n++ {
		// pem.Decode skips text before a block: refuse it, as anything after the last block.
		if !bytes.HasPrefix(bytes.TrimSpace(data), []byte("-----BEGIN ")) {
			break
		}
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		if b.Type != "PUBLIC KEY" {
			return nil, fmt.Errorf("PEM block %d is %q, not a PUBLIC KEY", n, b.Type)
		}
		pub, err := x509.ParsePKIXPublicKey(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("PEM block %d: %w", n, err)
		}
		k := newVerifyKey(pub)
		if k == nil {
			return nil, fmt.Errorf("PEM block %d: a %T is not a P-256 or Ed25519 key", n, pub)
		}
		keys = append(keys, k)
	}
	if len(bytes.TrimSpace(data)) > 0 {
		return nil, errors.New("neither a JWKS document nor PEM public keys")
	}
	return keys, nil
}

// newVerifyKey wraps a P-256 or Ed25519 public key, its kid being its RFC 7638 thumbprint; nil
// for any other key.
func newVerifyKey(pub crypto.PublicKey) *verifyKey {
	k := &verifyKey{}
	switch p := pub.(type) {
	case *ecdsa.PublicKey:
		if p.Curve != elliptic.P256() {
			return nil
		}
		k.alg, k.ec = AlgES256, p
	case ed25519.PublicKey:
		if len(p) != ed25519.PublicKeySize {
			return nil
		}
		k.alg, k.ed = AlgEdDSA, p
	default:
		return nil
	}
	tp, err := (&jose.JSONWebKey{Key: pub}).Thumbprint(crypto.SHA256)
	if err != nil {
		return nil
	}
	k.kid = base64.RawURLEncoding.EncodeToString(tp)
	return k
}

// Thumbprint returns the RFC 7638 JWK thumbprint (SHA-256, base64url) of a P-256 or Ed25519
// public key: the kid hostd gives the key, and the kid this package gives keys read from PEM.
func Thumbprint(pub crypto.PublicKey) (string, error) {
	k := newVerifyKey(pub)
	if k == nil {
		return "", fmt.Errorf("resource: a %T is not a P-256 or Ed25519 public key", pub)
	}
	return k.kid, nil
}
