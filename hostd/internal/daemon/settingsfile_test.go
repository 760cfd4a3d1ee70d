package daemon

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLoadSettingsFile: a settings file kept apart from the project must exist, is read over the
// defaults, and names itself in its errors; the project's own hostd.yaml stays optional.
func TestLoadSettingsFile(t *testing.T) {
	dir := t.TempDir()
	if _, err := LoadSettingsFile(filepath.Join(dir, "missing.yaml")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a missing settings file: %v, want fs.ErrNotExist", err)
	}
	if _, err := LoadSettings(dir); err != nil {
		t.Errorf("a project without hostd.yaml: %v", err)
	}
	good := filepath.Join(dir, "prod.yaml")
	if err := os.WriteFile(good, []byte("listen: 127.0.0.1:18999\nlimits:\n  maxAttempts: 3\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := LoadSettingsFile(good)
	if err != nil {
		t.Fatal(err)
	}
	if s.Listen != "127.0.0.1:18999" || s.Limits.MaxAttempts != 3 || s.Session.IdleTimeout != DefaultSettings().Session.IdleTimeout {
		t.Errorf("settings read: listen %q, maxAttempts %d, idle %v; want the file's two over the defaults", s.Listen, s.Limits.MaxAttempts, s.Session.IdleTimeout)
	}
	bad := filepath.Join(dir, "typo.yaml")
	if err := os.WriteFile(bad, []byte("lsiten: 127.0.0.1:1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadSettingsFile(bad); err == nil || !strings.Contains(err.Error(), "typo.yaml") {
		t.Errorf("an unknown key: %v, want an error naming typo.yaml", err)
	}
}
