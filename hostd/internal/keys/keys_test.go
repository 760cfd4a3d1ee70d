package keys

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/realmgate/realmgate/internal/secretfile"
)

func TestOpenCreatesAndReloads(t *testing.T) {
	for _, alg := range []string{"ES256", "EdDSA"} {
		t.Run(alg, func(t *testing.T) {
			dir := t.TempDir()
			s, created, err := Open(dir, alg)
			if err != nil || !created {
				t.Fatalf("Open: %v created=%v", err, created)
			}
			id, gotAlg, signer := s.Active()
			if gotAlg != alg || len(id) != 43 {
				t.Errorf("active key %q %s", id, gotAlg)
			}
			switch alg {
			case "ES256":
				if _, ok := signer.(*ecdsa.PrivateKey); !ok {
					t.Errorf("signer %T", signer)
				}
			case "EdDSA":
				if _, ok := signer.(ed25519.PrivateKey); !ok {
					t.Errorf("signer %T", signer)
				}
			}
			st, err := os.Stat(filepath.Join(dir, FileName))
			if err != nil || st.Mode().Perm() != 0o600 {
				t.Errorf("key file: %v mode %v, want 0600", err, st.Mode())
			}
			s2, created, err := Open(dir, alg)
			if err != nil || created {
				t.Fatalf("reopen: %v created=%v", err, created)
			}
			if id2, _, _ := s2.Active(); id2 != id {
				t.Errorf("reopened active key %s, want %s", id2, id)
			}
		})
	}
}

func TestRotateRetainsThenPrunes(t *testing.T) {
	dir := t.TempDir()
	s, _, err := Open(dir, "ES256")
	if err != nil {
		t.Fatal(err)
	}
	old, _, _ := s.Active()
	now := time.Now()
	published := s.JWKS(now)
	if len(published.Keys) != 2 || published.Keys[0].KeyID != old {
		t.Fatalf("before rotation: %d keys published, want the active key then the next one", len(published.Keys))
	}
	next := published.Keys[1].KeyID
	if err := s.Rotate(context.Background(), now, time.Minute); err != nil {
		t.Fatal(err)
	}
	cur, _, _ := s.Active()
	if cur != next {
		t.Fatalf("rotation activated %s, want the key published before it (%s)", cur, next)
	}
	if _, _, ok := s.Verifier(old, now.Add(30*time.Second)); !ok {
		t.Error("old key does not verify within its retention")
	}
	if _, _, ok := s.Verifier(old, now.Add(61*time.Second)); ok {
		t.Error("old key verifies after its retention")
	}
	if n := len(s.JWKS(now).Keys); n != 3 {
		t.Errorf("JWKS has %d keys during retention, want 3 (active, next, retiring)", n)
	}
	if n := len(s.JWKS(now.Add(2 * time.Minute)).Keys); n != 2 {
		t.Errorf("JWKS has %d keys after retention, want 2 (active, next)", n)
	}
	// The retained key survives a restart, and pruning removes it once expired.
	s2, _, err := Open(dir, "ES256")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, ok := s2.Verifier(old, now.Add(30*time.Second)); !ok {
		t.Error("old key lost across a restart")
	}
	if err := s2.Prune(context.Background(), now.Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	s3, _, _ := Open(dir, "ES256")
	if _, _, ok := s3.Verifier(old, now); ok {
		t.Error("pruned key still in the file")
	}
	if _, _, ok := s3.Verifier("nosuch", now); ok {
		t.Error("unknown kid verifies")
	}
}

func TestOpenRefusesDamageAndUnknownAlgorithms(t *testing.T) {
	if _, _, err := Open(t.TempDir(), "HS256"); err == nil {
		t.Error("HS256 accepted")
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, FileName), []byte("{not json"), 0o600)
	if _, _, err := Open(dir, "ES256"); err == nil {
		t.Error("damaged key file accepted")
	}
}

func TestChangingAlgorithmRotates(t *testing.T) {
	dir := t.TempDir()
	s, _, _ := Open(dir, "ES256")
	es, _, _ := s.Active()
	s2, _, err := Open(dir, "EdDSA")
	if err != nil {
		t.Fatal(err)
	}
	id, alg, _ := s2.Active()
	if alg != "EdDSA" || id == es {
		t.Errorf("after switching to EdDSA: %s %s", id, alg)
	}
	if _, _, ok := s2.Verifier(es, time.Now()); !ok {
		t.Error("the ES256 key stopped verifying at once")
	}
}

func TestOpenRefusesAKeyFileOthersMayRead(t *testing.T) {
	dir := t.TempDir()
	if _, _, err := Open(dir, "ES256"); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, FileName)
	for _, mode := range []os.FileMode{0o644, 0o640, 0o604} {
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		_, _, err := Open(dir, "ES256")
		if !errors.Is(err, secretfile.ErrNotPrivate) || !strings.Contains(err.Error(), "chmod 600 "+path) {
			t.Errorf("mode %#o: %v, want ErrNotPrivate naming the chmod", mode, err)
		}
	}
	if err := os.Chmod(path, 0o400); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Open(dir, "ES256"); err != nil {
		t.Errorf("mode 0400: %v", err)
	}
}
