package secretfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRead(t *testing.T) {
	if !checkModes {
		t.Skip("file modes are not checked on this system")
	}
	dir := t.TempDir()
	write := func(name string, mode fs.FileMode, data string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	link := func(name, target string) string {
		p := filepath.Join(dir, name)
		if err := os.Symlink(target, p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	private := write("private", 0o600, "secret")
	public := write("public", 0o644, "secret")
	tests := []struct {
		name    string
		path    string
		want    string
		wantErr error
		msg     []string
	}{
		{name: "0600", path: private, want: "secret"},
		{name: "0400", path: write("readonly", 0o400, "ro"), want: "ro"},
		{name: "0700", path: write("exec", 0o700, "x"), want: "x"},
		{name: "0644", path: public, wantErr: ErrNotPrivate, msg: []string{public, "mode 0644", "chmod 600 " + public}},
		{name: "0640", path: write("group", 0o640, "s"), wantErr: ErrNotPrivate, msg: []string{"mode 0640"}},
		{name: "0604", path: write("other", 0o604, "s"), wantErr: ErrNotPrivate, msg: []string{"mode 0604"}},
		{name: "0620 group may write", path: write("gw", 0o620, "s"), wantErr: ErrNotPrivate},
		{name: "0601 other may execute", path: write("ox", 0o601, "s"), wantErr: ErrNotPrivate},
		{name: "link to a private file", path: link("l1", private), want: "secret"},
		{name: "link to a public file", path: link("l2", public), wantErr: ErrNotPrivate},
		{name: "missing", path: filepath.Join(dir, "missing"), wantErr: fs.ErrNotExist},
		{name: "a folder", path: dir, msg: []string{"not a regular file"}},
		{name: "too large", path: write("large", 0o600, strings.Repeat("x", MaxSize+1)), msg: []string{"larger than"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Read(tc.path)
			if tc.wantErr == nil && tc.msg == nil {
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(tc.want, string(got)); diff != "" {
					t.Errorf("contents (-want +got):\n%s", diff)
				}
				return
			}
			if err == nil {
				t.Fatalf("read %q, want an error", got)
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Errorf("error %v, want %v", err, tc.wantErr)
			}
			for _, m := range tc.msg {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q does not say %q", err, m)
				}
			}
		})
	}
}

func TestPrivateDir(t *testing.T) {
	if !checkModes {
		t.Skip("file modes are not checked on this system")
	}
	mkdir := func(t *testing.T, mode fs.FileMode) string {
		p := filepath.Join(t.TempDir(), "d")
		if err := os.Mkdir(p, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name      string
		dir       func(t *testing.T) string
		tightened bool
		mode      fs.FileMode
		wantErr   error
		msg       string
	}{
		{name: "missing, with parents", dir: func(t *testing.T) string { return filepath.Join(t.TempDir(), "a", "b") }, mode: 0o700},
		{name: "0700", dir: func(t *testing.T) string { return mkdir(t, 0o700) }, mode: 0o700},
		{name: "0755 is tightened", dir: func(t *testing.T) string { return mkdir(t, 0o755) }, tightened: true, mode: 0o700},
		{name: "0770 is tightened", dir: func(t *testing.T) string { return mkdir(t, 0o770) }, tightened: true, mode: 0o700},
		{name: "sticky and shared", dir: func(t *testing.T) string { return mkdir(t, 0o777|fs.ModeSticky) }, wantErr: ErrNotPrivate, msg: "mkdir -m 700", mode: 0o777 | fs.ModeSticky},
		{name: "a file", dir: func(t *testing.T) string {
			p := filepath.Join(t.TempDir(), "f")
			os.WriteFile(p, nil, 0o600)
			return p
		}, msg: "not a folder"},
	}
	if os.Geteuid() == 0 {
		tests = append(tests, struct {
			name      string
			dir       func(t *testing.T) string
			tightened bool
			mode      fs.FileMode
			wantErr   error
			msg       string
		}{name: "another user's", dir: func(t *testing.T) string {
			p := mkdir(t, 0o755)
			if err := os.Chown(p, 65534, 65534); err != nil {
				t.Skip(err)
			}
			return p
		}, wantErr: ErrNotPrivate, msg: "shared with other users", mode: 0o755})
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := tc.dir(t)
			tightened, err := PrivateDir(dir)
			if tc.msg != "" || tc.wantErr != nil {
				if err == nil || (tc.wantErr != nil && !errors.Is(err, tc.wantErr)) || !strings.Contains(err.Error(), tc.msg) {
					t.Fatalf("error %v, want %v saying %q", err, tc.wantErr, tc.msg)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if tightened != tc.tightened {
				t.Errorf("tightened %v, want %v", tightened, tc.tightened)
			}
			if tc.mode != 0 {
				fi, err := os.Stat(dir)
				if err != nil {
					t.Fatal(err)
				}
				if got := fi.Mode() & (fs.ModePerm | fs.ModeSticky); got != tc.mode {
					t.Errorf("mode %v afterwards, want %v", got, tc.mode)
				}
			}
		})
	}
}
