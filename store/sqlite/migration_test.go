package sqlite

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestMigrationDropsPlaintextSessionIDs: the migration that introduced token revocations deletes
// the sessions stored under their bearer id (43 base64url characters), which the engine no
// longer looks up, and keeps every other record of the table: sessions keyed by the SHA-256 of
// their id and device single sign-on records.
func TestMigrationDropsPlaintextSessionIDs(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "realmgate.db")
	db := rawDB(t, path)
	if err := migrate(ctx, db, path, migrations[:1]); err != nil {
		t.Fatal(err)
	}
	ids := []string{
		"PjDThHNzJ6BL6bsgdO5zm2U8lTbmaOwVfCA8AJSioEc", // a session id: dropped
		"-_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNO", // another: dropped
		strings.Repeat("9", 64),                       // a SHA-256 key: kept
		"sso\x00MailLogin\x00device-1",                // a single sign-on record: kept
		"sso\x00R\x00" + strings.Repeat("d", 37),      // one of 43 bytes: kept
		strings.Repeat("a", 42) + ".",                 // 43 characters, not base64url: kept
		strings.Repeat("a", 44),                       // 44 base64url characters: kept
	}
	for _, id := range ids {
		if _, err := db.ExecContext(ctx, `INSERT INTO sessions (id, app, env, created_at, expires_at) VALUES (?, 'a', 'e', 0, 9e15)`, id); err != nil {
			t.Fatal(err)
		}
	}
	if err := migrate(ctx, db, path, migrations); err != nil {
		t.Fatal(err)
	}
	rows, err := db.QueryContext(ctx, `SELECT id FROM sessions ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		got = append(got, id)
	}
	want := []string{strings.Repeat("9", 64), strings.Repeat("a", 42) + ".", strings.Repeat("a", 44), "sso\x00MailLogin\x00device-1", "sso\x00R\x00" + strings.Repeat("d", 37)}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("sessions after the migration (-want +got):\n%s", diff)
	}
}
