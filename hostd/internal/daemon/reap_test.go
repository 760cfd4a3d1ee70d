package daemon

import (
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/realmgate/realmgate/store"
	"github.com/realmgate/realmgate/store/sqlite"
)

func TestReapSettings(t *testing.T) {
	cases := []struct {
		name, yaml           string
		cookieAge, retention time.Duration
	}{
		{"defaults", "", 365 * 24 * time.Hour, 400 * 24 * time.Hour},
		{"set", "session:\n  persistentCookieAge: 720h\naudit:\n  retention: 2160h\n", 720 * time.Hour, 2160 * time.Hour},
		{"retention 0 keeps forever", "audit:\n  retention: 0s\n", 365 * 24 * time.Hour, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, SettingsFile), []byte(c.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			s, err := LoadSettings(dir)
			if err != nil {
				t.Fatal(err)
			}
			got := []time.Duration{time.Duration(s.Session.PersistentCookieAge), time.Duration(s.Audit.Retention)}
			if diff := cmp.Diff([]time.Duration{c.cookieAge, c.retention}, got); diff != "" {
				t.Errorf("cookie age, audit retention (-want +got):\n%s", diff)
			}
		})
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, SettingsFile), []byte("audit:\n  retention: -1h\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadSettings(dir); err == nil {
		t.Error("a negative audit.retention was accepted")
	}
}

// TestReap: one sweep deletes the persistent users last seen before now minus the cookie's life
// and the audit records older than the retention, and keeps the others; a retention of 0 keeps
// every audit record.
func TestReap(t *testing.T) {
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	const age, keep = 30 * 24 * time.Hour, 90 * 24 * time.Hour
	cases := []struct {
		name      string
		retention time.Duration
		users     []string
		audit     []string
	}{
		{"retention", keep, []string{"back-yesterday", "seen-at-the-bound"}, []string{"last-week", "at-the-bound"}},
		{"retention 0", 0, []string{"back-yesterday", "seen-at-the-bound"}, []string{"two-years-ago", "last-week", "at-the-bound"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx := t.Context()
			db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "realmgate.db"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			users := map[string]time.Time{
				"gone":              now.Add(-age - time.Hour),
				"seen-at-the-bound": now.Add(-age),
				"back-yesterday":    now.Add(-24 * time.Hour),
			}
			for id, seen := range users {
				if err := db.PutUser(ctx, store.User{ID: id, CreatedAt: now.Add(-2 * age), LastSeen: seen}); err != nil {
					t.Fatal(err)
				}
			}
			for _, r := range []struct {
				target string
				at     time.Time
			}{{"two-years-ago", now.Add(-2 * 365 * 24 * time.Hour)}, {"last-week", now.Add(-7 * 24 * time.Hour)}, {"at-the-bound", now.Add(-keep)}} {
				if _, err := db.AppendAudit(ctx, store.AuditRecord{Time: r.at, Actor: "admin", Action: "remote_disable.put", Target: r.target}); err != nil {
					t.Fatal(err)
				}
			}
			d := &Daemon{store: db, log: slog.New(slog.DiscardHandler)}
			d.settings.Session.PersistentCookieAge = Duration(age)
			d.settings.Audit.Retention = Duration(c.retention)
			d.reap(ctx, now)

			var kept []string
			for _, id := range []string{"back-yesterday", "gone", "seen-at-the-bound"} {
				if _, err := db.GetUser(ctx, id); err == nil {
					kept = append(kept, id)
				}
			}
			if diff := cmp.Diff(c.users, kept); diff != "" {
				t.Errorf("users kept (-want +got):\n%s", diff)
			}
			recs, err := db.ListAudit(ctx, 0, 10)
			if err != nil {
				t.Fatal(err)
			}
			var targets []string
			for _, r := range recs {
				targets = append(targets, r.Target)
			}
			if diff := cmp.Diff(c.audit, targets); diff != "" {
				t.Errorf("audit records kept (-want +got):\n%s", diff)
			}
		})
	}
}
