package keys

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/realmgate/realmgate/internal/secretfile"
	"github.com/realmgate/realmgate/store"
)

// fileBackend keeps the set in a file of the data folder, for a daemon that is alone on its
// store. The file is written atomically (temporary file, fsync, rename) with mode 0600, so a
// crash during a rotation leaves the old set or the new one, never a torn file.
type fileBackend struct {
	dir, path string
}

func (f *fileBackend) where() string { return f.path }

func (f *fileBackend) load(context.Context) ([]byte, int64, error) {
	// The private keys sign every token: a file that other users may read is refused.
	b, err := secretfile.Read(f.path)
	return b, 0, err
}

func (f *fileBackend) save(_ context.Context, b []byte, _ int64) (int64, error) {
	return 0, writeAtomic(f.dir, f.path, b)
}

// writeAtomic writes a private file: a temporary file of mode 0600, fsync, rename, fsync of
// the folder.
func writeAtomic(dir, path string, b []byte) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, ".keys-*")
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
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// Blobs is the part of a shared store the key set lives in: versioned records that every
// daemon reads, written with compare-and-swap.
type Blobs interface {
	// GetBlob returns the record and its version; store.ErrNotFound when there is none.
	GetBlob(ctx context.Context, name string) ([]byte, int64, error)
	// PutBlob stores data if the record's version is still expect (0: no record) and returns
	// the new version; store.ErrConflict when it is not.
	PutBlob(ctx context.Context, name string, data []byte, expect int64) (int64, error)
}

// BlobName is the record of the token key set in a shared store.
const BlobName = "token-keys"

// KEKFileName is the key-encryption key file in the keys folder.
const KEKFileName = "token-keys.kek"

// sealPrefix versions the sealed format.
const sealPrefix = "rgk1:"

// OpenShared loads the key set that every daemon of a shared store uses, creating it when there
// is none. The set is stored sealed (AES-256-GCM) under kek, a key every daemon has on its own
// disk and the store never sees: a reader of the database learns no signing key. Rotation and
// pruning are compare-and-swap writes, so two daemons on one schedule rotate once; the others
// adopt the new set on their next Refresh, and since the key that a rotation activates was
// published as the next key one rotation earlier, every daemon already verifies its tokens.
func OpenShared(ctx context.Context, blobs Blobs, kek []byte, alg string) (s *Set, created bool, err error) {
	if err := checkAlgorithm(alg); err != nil {
		return nil, false, err
	}
	if len(kek) != 32 {
		return nil, false, fmt.Errorf("token key-encryption key: %d bytes, want 32", len(kek))
	}
	block, err := aes.NewCipher(kek)
	if err != nil {
		return nil, false, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, false, err
	}
	return open(ctx, &sharedBackend{blobs: blobs, aead: aead}, alg)
}

type sharedBackend struct {
	blobs Blobs
	aead  cipher.AEAD
}

func (s *sharedBackend) where() string { return "in the store (" + BlobName + ")" }

// ErrWrongKEK reports a shared set sealed under another key-encryption key than this daemon's.
var ErrWrongKEK = errors.New("the token keys in the store are sealed with another key-encryption key: give every daemon the same " + KEKFileName)

func (s *sharedBackend) load(ctx context.Context) ([]byte, int64, error) {
	sealed, version, err := s.blobs.GetBlob(ctx, BlobName)
	if errors.Is(err, store.ErrNotFound) {
		return nil, 0, fs.ErrNotExist
	}
	if err != nil {
		return nil, 0, err
	}
	rest, ok := strings.CutPrefix(string(sealed), sealPrefix)
	if !ok {
		return nil, 0, errors.New("not a sealed key set")
	}
	raw, err := base64.RawStdEncoding.DecodeString(rest)
	if err != nil || len(raw) < s.aead.NonceSize() {
		return nil, 0, errors.New("not a sealed key set")
	}
	nonce, ct := raw[:s.aead.NonceSize()], raw[s.aead.NonceSize():]
	plain, err := s.aead.Open(nil, nonce, ct, []byte(BlobName))
	if err != nil {
		return nil, 0, ErrWrongKEK
	}
	return plain, version, nil
}

func (s *sharedBackend) save(ctx context.Context, b []byte, version int64) (int64, error) {
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return 0, err
	}
	sealed := sealPrefix + base64.RawStdEncoding.EncodeToString(s.aead.Seal(nonce, nonce, b, []byte(BlobName)))
	v, err := s.blobs.PutBlob(ctx, BlobName, []byte(sealed), version)
	if errors.Is(err, store.ErrConflict) {
		return 0, errChanged
	}
	return v, err
}

// LoadOrCreateKEK reads the key-encryption key file at path (base64 of 32 bytes, mode 0600),
// creating it when create is set and there is none. Every daemon of a shared store needs the
// same file: the first daemon creates it, the operator copies it to the others.
func LoadOrCreateKEK(path string, create bool) (kek []byte, created bool, err error) {
	b, err := secretfile.Read(path)
	if errors.Is(err, fs.ErrNotExist) && create {
		kek = make([]byte, 32)
		if _, err := rand.Read(kek); err != nil {
			return nil, false, err
		}
		if err := writeAtomic(filepath.Dir(path), path, []byte(base64.StdEncoding.EncodeToString(kek)+"\n")); err != nil {
			return nil, false, fmt.Errorf("token key-encryption key: %w", err)
		}
		return kek, true, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("token key-encryption key: %w", err)
	}
	kek, err = base64.StdEncoding.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(kek) != 32 {
		return nil, false, fmt.Errorf("token key-encryption key %s: want the base64 of 32 bytes", path)
	}
	return kek, false, nil
}
