package gitrev

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseSpec(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Spec
		err  bool
	}{
		{"proj", Spec{Dir: "proj"}, false},
		{"proj@HEAD~1", Spec{Dir: "proj", Rev: "HEAD~1"}, false},
		{"a/b@origin/main", Spec{Dir: "a/b", Rev: "origin/main"}, false},
		{"me@host/proj@v1.2", Spec{Dir: "me@host/proj", Rev: "v1.2"}, false},
		{"@HEAD", Spec{Dir: ".", Rev: "HEAD"}, false},
		{"proj@", Spec{}, true},
		{"", Spec{}, true},
		{"proj@--output=/tmp/x", Spec{}, true},
		{"proj@HEAD main", Spec{}, true},
		{"proj@HEAD\n", Spec{}, true},
		{"proj@" + strings.Repeat("a", maxRevLen+1), Spec{}, true},
	} {
		got, err := ParseSpec(tc.in)
		if (err != nil) != tc.err {
			t.Errorf("ParseSpec(%q) error %v, want error %v", tc.in, err, tc.err)
			continue
		}
		if err != nil && !errors.Is(err, ErrBadSpec) {
			t.Errorf("ParseSpec(%q) error %v is not ErrBadSpec", tc.in, err)
		}
		if got != tc.want {
			t.Errorf("ParseSpec(%q) = %+v, want %+v", tc.in, got, tc.want)
		}
	}
}

// FuzzParseSpec: a spec parses to a directory and a revision that print back as the input (an
// empty directory aside), and a revision never reaches git as an option or with spaces.
func FuzzParseSpec(f *testing.F) {
	for _, s := range []string{"proj", "proj@HEAD~1", "a@b@c", "@", "@-x", "x@\x00", "dir@refs/heads/main^{tree}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sp, err := ParseSpec(s)
		if err != nil {
			return
		}
		if sp.Dir == "" {
			t.Fatalf("ParseSpec(%q): empty directory", s)
		}
		if sp.Rev == "" {
			if sp.Dir != s {
				t.Fatalf("ParseSpec(%q) = %+v", s, sp)
			}
			return
		}
		if strings.HasPrefix(sp.Rev, "-") || strings.ContainsAny(sp.Rev, " \t\n\r\x00") {
			t.Fatalf("ParseSpec(%q): revision %q", s, sp.Rev)
		}
		if strings.Contains(sp.Rev, "@") {
			t.Fatalf("ParseSpec(%q): revision %q holds @ (the split is at the last one)", s, sp.Rev)
		}
		if got := sp.String(); got != s && "."+s != got {
			t.Fatalf("ParseSpec(%q).String() = %q", s, got)
		}
	})
}

// requireGit skips the test when git is missing, unless REALMGATE_REQUIRE_TOOLCHAINS is set (CI
// installs it with .ci/install-git.sh).
func requireGit(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		if os.Getenv("REALMGATE_REQUIRE_TOOLCHAINS") != "" {
			t.Fatal("git is required (REALMGATE_REQUIRE_TOOLCHAINS is set): run .ci/install-git.sh")
		}
		t.Skip("git is not installed")
	}
}

// runGit runs git in dir with a fixed identity and no user or system configuration.
func runGit(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
	cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1",
		"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.invalid", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.invalid")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
}

func write(t *testing.T, dir, rel, content string) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if d.Type()&os.ModeSymlink != 0 {
			out[p] = "(symlink)"
			return nil
		}
		data, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		out[filepath.ToSlash(rel)] = string(data)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestExport makes a repository with two commits and reads a subdirectory at the first one,
// while the work tree holds uncommitted changes that must stay as they are.
func TestExport(t *testing.T) {
	requireGit(t)
	repo := t.TempDir()
	runGit(t, repo, "init", "-q", "-b", "main")
	write(t, repo, "proj/server/conf/a.xml", "one\n")
	write(t, repo, "proj/policies/p.rego", "package p\n")
	write(t, repo, "other/x", "not exported\n")
	if err := os.Symlink("/etc/hostname", filepath.Join(repo, "proj", "link")); err != nil {
		t.Fatal(err)
	}
	runGit(t, repo, "add", ".")
	runGit(t, repo, "commit", "-q", "-m", "first")
	write(t, repo, "proj/server/conf/a.xml", "two\n")
	runGit(t, repo, "commit", "-q", "-am", "second")
	write(t, repo, "proj/server/conf/a.xml", "uncommitted\n")

	ctx := context.Background()
	dest := t.TempDir()
	commit, err := Export(ctx, filepath.Join(repo, "proj"), "HEAD~1", dest)
	if err != nil {
		t.Fatal(err)
	}
	if len(commit) < 40 {
		t.Errorf("commit %q", commit)
	}
	want := map[string]string{"server/conf/a.xml": "one\n", "policies/p.rego": "package p\n"}
	if d := cmp.Diff(want, readTree(t, dest)); d != "" {
		t.Errorf("exported tree (-want +got):\n%s", d)
	}
	dest2 := t.TempDir()
	if _, err := Export(ctx, filepath.Join(repo, "proj"), "main", dest2); err != nil {
		t.Fatal(err)
	}
	if got := readTree(t, dest2)["server/conf/a.xml"]; got != "two\n" {
		t.Errorf("at main: %q", got)
	}
	if data, _ := os.ReadFile(filepath.Join(repo, "proj/server/conf/a.xml")); string(data) != "uncommitted\n" {
		t.Errorf("the work tree changed: %q", data)
	}

	for _, tc := range []struct{ name, dir, rev string }{
		{"no such revision", filepath.Join(repo, "proj"), "nosuchbranch"},
		{"an option as revision", filepath.Join(repo, "proj"), "--output=" + filepath.Join(repo, "x")},
		{"not a repository", t.TempDir(), "HEAD"},
	} {
		if _, err := Export(ctx, tc.dir, tc.rev, t.TempDir()); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
	// A directory added after the revision does not exist there.
	write(t, repo, "later/f", "x\n")
	runGit(t, repo, "add", ".")
	runGit(t, repo, "commit", "-q", "-m", "third")
	if _, err := Export(ctx, filepath.Join(repo, "later"), "HEAD~1", t.TempDir()); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("a directory missing at the revision: %v", err)
	}
	if _, err := os.Stat(filepath.Join(repo, "x")); err == nil {
		t.Error("a revision was read as an option")
	}
}
