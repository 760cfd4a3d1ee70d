package keys

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/realmgate/realmgate/store"
)

// memBlobs is a shared store's blob table: compare-and-swap on a version.
type memBlobs struct {
	mu   sync.Mutex
	data map[string][]byte
	ver  map[string]int64
}

func newMemBlobs() *memBlobs {
	return &memBlobs{data: map[string][]byte{}, ver: map[string]int64{}}
}

func (m *memBlobs) GetBlob(_ context.Context, name string) ([]byte, int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.data[name]
	if !ok {
		return nil, 0, store.ErrNotFound
	}
	return bytes.Clone(b), m.ver[name], nil
}

func (m *memBlobs) PutBlob(_ context.Context, name string, data []byte, expect int64) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ver[name] != expect {
		return 0, store.ErrConflict
	}
	m.ver[name]++
	m.data[name] = bytes.Clone(data)
	return m.ver[name], nil
}

func newKEK(t *testing.T) []byte {
	t.Helper()
	k := make([]byte, 32)
	rand.Read(k)
	return k
}

func TestSharedSetIsOneSetForEveryDaemon(t *testing.T) {
	ctx := context.Background()
	blobs, kek := newMemBlobs(), newKEK(t)
	a, created, err := OpenShared(ctx, blobs, kek, "ES256")
	if err != nil || !created {
		t.Fatalf("first daemon: %v created=%v", err, created)
	}
	b, created, err := OpenShared(ctx, blobs, kek, "ES256")
	if err != nil || created {
		t.Fatalf("second daemon: %v created=%v", err, created)
	}
	ida, _, _ := a.Active()
	idb, _, _ := b.Active()
	if ida != idb {
		t.Fatalf("two daemons sign with %s and %s", ida, idb)
	}

	// Both rotate on the same schedule: one rotation, adopted by the other.
	now := time.Now()
	next := a.JWKS(now).Keys[1].KeyID
	var wg sync.WaitGroup
	for _, s := range []*Set{a, b} {
		wg.Go(func() {
			if err := s.Rotate(ctx, now, time.Hour); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	for name, s := range map[string]*Set{"a": a, "b": b} {
		if err := s.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		if id, _, _ := s.Active(); id != next {
			t.Errorf("daemon %s signs with %s after a rotation, want the published next key %s", name, id, next)
		}
		if _, _, ok := s.Verifier(ida, now); !ok {
			t.Errorf("daemon %s no longer verifies the key rotated out", name)
		}
		if n := len(s.JWKS(now).Keys); n != 3 {
			t.Errorf("daemon %s publishes %d keys, want 3 (one rotation, not two)", name, n)
		}
	}

	// A daemon that has not refreshed yet still verifies what the rotated set signs.
	c, _, err := OpenShared(ctx, blobs, kek, "ES256")
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Rotate(ctx, now.Add(time.Minute), time.Hour); err != nil {
		t.Fatal(err)
	}
	signing, _, _ := a.Active()
	if _, _, ok := c.Verifier(signing, now); !ok {
		t.Error("a daemon one rotation behind does not verify the new active key")
	}
}

func TestSharedSetIsSealed(t *testing.T) {
	ctx := context.Background()
	blobs, kek := newMemBlobs(), newKEK(t)
	s, _, err := OpenShared(ctx, blobs, kek, "EdDSA")
	if err != nil {
		t.Fatal(err)
	}
	sealed, _, _ := blobs.GetBlob(ctx, BlobName)
	s.mu.RLock()
	for _, k := range s.keys {
		if bytes.Contains(sealed, k.JWK) || bytes.Contains(sealed, []byte(`"d"`)) {
			t.Errorf("the stored set shows key %s in clear", k.ID)
		}
	}
	s.mu.RUnlock()
	if _, _, err := OpenShared(ctx, blobs, newKEK(t), "EdDSA"); !errors.Is(err, ErrWrongKEK) {
		t.Errorf("another KEK: %v, want ErrWrongKEK", err)
	}
	if _, _, err := OpenShared(ctx, blobs, kek[:16], "EdDSA"); err == nil {
		t.Error("a 16-byte KEK accepted")
	}
	blobs.data[BlobName] = []byte("rgk1:AAAA")
	if _, _, err := OpenShared(ctx, blobs, kek, "EdDSA"); err == nil {
		t.Error("a damaged sealed set accepted")
	}
}

func TestSharedSetStartsOnceUnderARace(t *testing.T) {
	ctx := context.Background()
	blobs, kek := newMemBlobs(), newKEK(t)
	sets := make([]*Set, 4)
	var wg sync.WaitGroup
	for i := range sets {
		wg.Go(func() {
			s, _, err := OpenShared(ctx, blobs, kek, "ES256")
			if err != nil {
				t.Error(err)
				return
			}
			sets[i] = s
		})
	}
	wg.Wait()
	first, _, _ := sets[0].Active()
	for _, s := range sets[1:] {
		if err := s.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		if id, _, _ := s.Active(); id != first {
			t.Errorf("daemons started at once sign with %s and %s", first, id)
		}
	}
}

func TestKEKFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys", KEKFileName)
	if _, _, err := LoadOrCreateKEK(path, false); err == nil {
		t.Error("a missing KEK file accepted without create")
	}
	k1, created, err := LoadOrCreateKEK(path, true)
	if err != nil || !created || len(k1) != 32 {
		t.Fatalf("create: %v %v %d", err, created, len(k1))
	}
	k2, created, err := LoadOrCreateKEK(path, true)
	if err != nil || created || !bytes.Equal(k1, k2) {
		t.Fatalf("reload: %v created=%v same=%v", err, created, bytes.Equal(k1, k2))
	}
}
