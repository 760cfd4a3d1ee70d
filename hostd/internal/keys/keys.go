// Package keys keeps hostd's token signing keys in the data folder: one active key that signs,
// the next key, published before it signs a token (so validators that cached the JWKS already
// know it when a rotation makes it active), and the keys rotated out, published (and accepted)
// until every token they signed has expired.
//
// The key file is written atomically (temporary file, fsync, rename) with mode 0600, so a crash
// during a rotation leaves the old set or the new one, never a torn file. A key file that other
// users may read (a mode other than 0600 or 0400) is refused when the set is opened.
package keys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/realmgate/realmgate/internal/secretfile"
)

// FileName is the key file in the keys folder.
const FileName = "token-keys.json"

// Set is the key set. It is safe for concurrent use.
type Set struct {
	path string
	alg  string

	mu   sync.RWMutex
	keys []*key // keys[0] signs; keys[1] is the next; the rest verify until their RetireAt
}

type key struct {
	ID        string    `json:"kid"`
	Algorithm string    `json:"alg"`
	Created   time.Time `json:"created"`
	// RetireAt is when the key stops verifying (zero for the active key).
	RetireAt time.Time       `json:"retireAt,omitzero"`
	JWK      json.RawMessage `json:"jwk"` // the private key, JWK

	signer crypto.Signer
	public crypto.PublicKey
}

// Open loads the key set in dir, creating it with one new key of algorithm alg ("ES256" or
// "EdDSA") when there is none. A set whose active key has another algorithm is rotated to alg.
func Open(dir, alg string) (s *Set, created bool, err error) {
	if alg != "ES256" && alg != "EdDSA" {
		return nil, false, fmt.Errorf("token algorithm %q: use ES256 or EdDSA", alg)
	}
	s = &Set{path: filepath.Join(dir, FileName), alg: alg}
	// The private keys sign every token: a file that other users may read is refused.
	b, err := secretfile.Read(s.path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, false, err
		}
		now := time.Now()
		active, err := newKey(alg, now)
		if err != nil {
			return nil, false, err
		}
		next, err := newKey(alg, now)
		if err != nil {
			return nil, false, err
		}
		s.keys = []*key{active, next}
		return s, true, s.save()
	case err != nil:
		return nil, false, fmt.Errorf("token key file: %w", err)
	}
	if err := json.Unmarshal(b, &s.keys); err != nil || len(s.keys) == 0 {
		return nil, false, fmt.Errorf("token key file %s is damaged: %v", s.path, err)
	}
	for _, k := range s.keys {
		if err := k.load(); err != nil {
			return nil, false, fmt.Errorf("token key file %s: key %s: %w", s.path, k.ID, err)
		}
	}
	if len(s.keys) < 2 || s.keys[1].Algorithm != alg || !s.keys[1].RetireAt.IsZero() {
		// A set without a next key (or one of another algorithm): publish a new next key now.
		next, err := newKey(alg, time.Now())
		if err != nil {
			return nil, false, err
		}
		s.keys = append([]*key{s.keys[0], next}, s.keys[1:]...)
		if err := s.save(); err != nil {
			return nil, false, err
		}
	}
	if s.keys[0].Algorithm != alg {
		if err := s.Rotate(time.Now(), 24*time.Hour); err != nil {
			return nil, false, err
		}
	}
	return s, false, nil
}

func newKey(alg string, now time.Time) (*key, error) {
	var priv crypto.Signer
	var err error
	switch alg {
	case "ES256":
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "EdDSA":
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	}
	if err != nil {
		return nil, err
	}
	jwk := jose.JSONWebKey{Key: priv, Algorithm: alg, Use: "sig"}
	kid, err := thumbprint(jwk.Public())
	if err != nil {
		return nil, err
	}
	jwk.KeyID = kid
	raw, err := jwk.MarshalJSON()
	if err != nil {
		return nil, err
	}
	return &key{ID: kid, Algorithm: alg, Created: now.UTC(), JWK: raw, signer: priv, public: priv.Public()}, nil
}

// thumbprint is the RFC 7638 SHA-256 thumbprint, base64url: the key id.
func thumbprint(pub jose.JSONWebKey) (string, error) {
	t, err := pub.Thumbprint(crypto.SHA256)
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(t), nil
}

func (k *key) load() error {
	var jwk jose.JSONWebKey
	if err := jwk.UnmarshalJSON(k.JWK); err != nil {
		return err
	}
	signer, ok := jwk.Key.(crypto.Signer)
	if !ok {
		return errors.New("not a private signing key")
	}
	k.signer, k.public = signer, signer.Public()
	return nil
}

// save writes the set atomically.
func (s *Set) save() error {
	b, err := json.MarshalIndent(s.keys, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(s.path), ".token-keys-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), s.path); err != nil {
		return err
	}
	if d, err := os.Open(filepath.Dir(s.path)); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// Active returns the signing key.
func (s *Set) Active() (id, alg string, signer crypto.Signer) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	k := s.keys[0]
	return k.ID, k.Algorithm, k.signer
}

// Verifier returns the public key of kid if it may still verify tokens at now.
func (s *Set) Verifier(kid string, now time.Time) (crypto.PublicKey, string, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for i, k := range s.keys {
		if k.ID == kid && (i < 2 || now.Before(k.RetireAt)) {
			return k.public, k.Algorithm, true
		}
	}
	return nil, "", false
}

// Rotate makes the next key (published since the last rotation) active and publishes a new next
// key. The previous active key keeps verifying for retain (the longest token lifetime plus a
// margin), then is removed.
func (s *Set) Rotate(now time.Time, retain time.Duration) error {
	next, err := newKey(s.alg, now)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.keys
	retiring := *old[0]
	retiring.RetireAt = now.Add(retain).UTC()
	promoted := *old[1]
	promoted.Created = now.UTC() // active since now, for the rotation schedule
	keys := []*key{&promoted, next, &retiring}
	keys = append(keys, pruneExpired(old[2:], now)...)
	s.keys = keys
	if err := s.save(); err != nil {
		s.keys = old
		return err
	}
	return nil
}

// Prune removes the retired keys whose tokens have all expired.
func (s *Set) Prune(now time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	kept := append([]*key{s.keys[0], s.keys[1]}, pruneExpired(s.keys[2:], now)...)
	if len(kept) == len(s.keys) {
		return nil
	}
	old := s.keys
	s.keys = kept
	if err := s.save(); err != nil {
		s.keys = old
		return err
	}
	return nil
}

func pruneExpired(ks []*key, now time.Time) []*key {
	var out []*key
	for _, k := range ks {
		if k.RetireAt.IsZero() || now.Before(k.RetireAt) {
			out = append(out, k)
		}
	}
	return out
}

// ActiveSince is when the active key was created (for rotation schedules).
func (s *Set) ActiveSince() time.Time {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.keys[0].Created
}

// JWKS returns the public keys that may verify tokens at now, as a JWK set: the active key
// first, then the next one, then those rotated out and not yet expired.
func (s *Set) JWKS(now time.Time) jose.JSONWebKeySet {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var set jose.JSONWebKeySet
	for i, k := range s.keys {
		if i < 2 || now.Before(k.RetireAt) {
			set.Keys = append(set.Keys, jose.JSONWebKey{Key: k.public, KeyID: k.ID, Algorithm: k.Algorithm, Use: "sig"})
		}
	}
	return set
}
