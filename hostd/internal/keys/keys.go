// Package keys keeps hostd's token signing keys: one active key that signs, the next key,
// published before it signs a token (so validators that cached the JWKS already know it when a
// rotation makes it active), and the keys rotated out, published (and accepted) until every token
// they signed has expired.
//
// A daemon alone on its store keeps the set in a file of its data folder ([Open]), written
// atomically with mode 0600; a key file that other users may read is refused. Daemons that share
// a store keep one set in it, sealed under a key-encryption key each of them has on disk
// ([OpenShared]), so that any daemon verifies the tokens any other signed and one rotation
// reaches all of them.
package keys

import (
	"context"
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
	"path/filepath"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// FileName is the key file in the keys folder.
const FileName = "token-keys.json"

// Set is the key set. It is safe for concurrent use.
type Set struct {
	backend backend
	alg     string

	writeMu sync.Mutex // serializes update
	mu      sync.RWMutex
	keys    []*key // keys[0] signs; keys[1] is the next; the rest verify until their RetireAt
	version int64  // the backend's version of keys (always 0 for a file)
}

// backend keeps the serialized set: a file of one daemon, or a record that every daemon of a
// shared store reads.
type backend interface {
	// load returns the stored set and its version; fs.ErrNotExist when there is none.
	load(ctx context.Context) (b []byte, version int64, err error)
	// save stores b if the stored version is still version (0: none stored) and returns the
	// new version; errChanged when another writer came first.
	save(ctx context.Context, b []byte, version int64) (int64, error)
	// where names the set in errors.
	where() string
}

// errChanged reports that another daemon changed the shared set first.
var errChanged = errors.New("token key set changed by another daemon")

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
	if err := checkAlgorithm(alg); err != nil {
		return nil, false, err
	}
	return open(context.Background(), &fileBackend{dir: dir, path: filepath.Join(dir, FileName)}, alg)
}

func checkAlgorithm(alg string) error {
	if alg != "ES256" && alg != "EdDSA" {
		return fmt.Errorf("token algorithm %q: use ES256 or EdDSA", alg)
	}
	return nil
}

// open loads the set of b, creating or completing it. Against a shared backend several daemons
// may start at once: the one whose write lands first wins and the others adopt its set.
func open(ctx context.Context, b backend, alg string) (s *Set, created bool, err error) {
	s = &Set{backend: b, alg: alg}
	for range 8 {
		created, err = s.openOnce(ctx)
		if !errors.Is(err, errChanged) {
			return s, created, err
		}
	}
	return nil, false, fmt.Errorf("token keys %s: %w (too many concurrent changes)", b.where(), err)
}

func (s *Set) openOnce(ctx context.Context) (created bool, err error) {
	b, version, err := s.backend.load(ctx)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		now := time.Now()
		active, err := newKey(s.alg, now)
		if err != nil {
			return false, err
		}
		next, err := newKey(s.alg, now)
		if err != nil {
			return false, err
		}
		s.keys, s.version = []*key{active, next}, 0
		return true, s.store(ctx)
	case err != nil:
		return false, fmt.Errorf("token keys %s: %w", s.backend.where(), err)
	}
	keys, err := decode(b)
	if err != nil {
		return false, fmt.Errorf("token keys %s are damaged: %w", s.backend.where(), err)
	}
	s.keys, s.version = keys, version
	if len(s.keys) < 2 || s.keys[1].Algorithm != s.alg || !s.keys[1].RetireAt.IsZero() {
		// A set without a next key (or one of another algorithm): publish a new next key now.
		next, err := newKey(s.alg, time.Now())
		if err != nil {
			return false, err
		}
		s.keys = append([]*key{s.keys[0], next}, s.keys[1:]...)
		if err := s.store(ctx); err != nil {
			return false, err
		}
	}
	if s.keys[0].Algorithm != s.alg {
		if err := s.rotate(ctx, time.Now(), 24*time.Hour); err != nil {
			return false, err
		}
	}
	return false, nil
}

// decode parses a serialized set and loads its keys.
func decode(b []byte) ([]*key, error) {
	var keys []*key
	if err := json.Unmarshal(b, &keys); err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		return nil, errors.New("no key")
	}
	for _, k := range keys {
		if err := k.load(); err != nil {
			return nil, fmt.Errorf("key %s: %w", k.ID, err)
		}
	}
	return keys, nil
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

// store writes s.keys while the set is being opened (no other goroutine has it yet) and records
// the new version.
func (s *Set) store(ctx context.Context) error {
	b, err := json.MarshalIndent(s.keys, "", "  ")
	if err != nil {
		return err
	}
	v, err := s.backend.save(ctx, b, s.version)
	if err != nil {
		return err
	}
	s.version = v
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
// margin), then is removed. When another daemon of a shared set rotated first, its rotation is
// adopted and nil returned.
func (s *Set) Rotate(ctx context.Context, now time.Time, retain time.Duration) error {
	return s.rotate(ctx, now, retain)
}

func (s *Set) rotate(ctx context.Context, now time.Time, retain time.Duration) error {
	next, err := newKey(s.alg, now)
	if err != nil {
		return err
	}
	for range 8 {
		before, _, _ := s.Active()
		err := s.update(ctx, func(old []*key) ([]*key, bool) {
			retiring := *old[0]
			retiring.RetireAt = now.Add(retain).UTC()
			promoted := *old[1]
			promoted.Created = now.UTC() // active since now, for the rotation schedule
			keys := []*key{&promoted, next, &retiring}
			return append(keys, pruneExpired(old[2:], now)...), true
		})
		if !errors.Is(err, errChanged) {
			return err
		}
		if after, _, _ := s.Active(); after != before {
			return nil // another daemon rotated the shared set: adopted by update
		}
	}
	return fmt.Errorf("token keys %s: rotation: %w (too many concurrent changes)", s.backend.where(), errChanged)
}

// Prune removes the retired keys whose tokens have all expired. Against a shared set that another
// daemon changed first, the change is adopted and the pruning left to the next call.
func (s *Set) Prune(ctx context.Context, now time.Time) error {
	err := s.update(ctx, func(old []*key) ([]*key, bool) {
		kept := append([]*key{old[0], old[1]}, pruneExpired(old[2:], now)...)
		return kept, len(kept) != len(old)
	})
	if errors.Is(err, errChanged) {
		return nil
	}
	return err
}

// Refresh adopts the set another daemon of a shared store stored since this one last read it
// (a rotation or a pruning). A file set is its daemon's own: Refresh does nothing.
func (s *Set) Refresh(ctx context.Context) error {
	if _, ok := s.backend.(*fileBackend); ok {
		return nil
	}
	b, version, err := s.backend.load(ctx)
	if err != nil {
		return fmt.Errorf("token keys %s: %w", s.backend.where(), err)
	}
	s.mu.RLock()
	same := version == s.version
	s.mu.RUnlock()
	if same {
		return nil
	}
	keys, err := decode(b)
	if err != nil {
		return fmt.Errorf("token keys %s are damaged: %w", s.backend.where(), err)
	}
	s.mu.Lock()
	if version > s.version {
		s.keys, s.version = keys, version
	}
	s.mu.Unlock()
	return nil
}

// update applies change to the current set and stores the result. The write happens outside
// s.mu, so signing never waits for the store; writers are serialized by s.writeMu. When another
// daemon stored a newer set first, that set is adopted and errChanged returned.
func (s *Set) update(ctx context.Context, change func([]*key) ([]*key, bool)) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	s.mu.RLock()
	old, version := s.keys, s.version
	s.mu.RUnlock()
	keys, changed := change(old)
	if !changed {
		return nil
	}
	b, err := json.MarshalIndent(keys, "", "  ")
	if err != nil {
		return err
	}
	v, err := s.backend.save(ctx, b, version)
	if errors.Is(err, errChanged) {
		if rerr := s.Refresh(ctx); rerr != nil {
			return rerr
		}
		return errChanged
	}
	if err != nil {
		return fmt.Errorf("token keys %s: %w", s.backend.where(), err)
	}
	s.mu.Lock()
	s.keys, s.version = keys, v
	s.mu.Unlock()
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
