package policies

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// The loader's diagnostics for whole projects (positions, severities, messages and fixes) are
// golden files: one txtar archive per project under testdata/diagnostics, checked by
// TestDiagnostics in diagnostics_test.go. The tests here cover what is not a diagnostic.

// TestReadPasswordFile: the users a password file holds check against their passwords, comments
// are skipped, and a file over the size bound is refused.
func TestReadPasswordFile(t *testing.T) {
	hash, err := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	dir := writeProject(t, files{"users": "alice:" + string(hash) + "\n# bob:x\n"})
	users, err := ReadPasswordFile(filepath.Join(dir, "users"))
	if err != nil {
		t.Fatal(err)
	}
	if len(users) != 1 {
		t.Fatalf("users = %q, want only alice", users)
	}
	if err := bcrypt.CompareHashAndPassword(users["alice"], []byte("s3cret")); err != nil {
		t.Errorf("alice's hash does not match her password: %v", err)
	}
	if err := bcrypt.CompareHashAndPassword(users["alice"], []byte("S3cret")); err == nil {
		t.Error("alice's hash matches a wrong password")
	}
	big := filepath.Join(dir, "big")
	if err := os.WriteFile(big, make([]byte, maxDocumentBytes+1), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadPasswordFile(big); err == nil {
		t.Error("ReadPasswordFile accepted a file over the size bound")
	}
}
