// Package gitrev reads a directory as it was at a git revision, for commands that compare two
// versions of a project (hostd policy diff --config DIR@REV). The tree is exported with
// `git archive` into a temporary directory: the user's work tree and index are never touched.
package gitrev

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"unicode"
)

// Spec is a directory, or a directory at a git revision.
type Spec struct {
	Dir string
	// Rev is the revision ("" for the directory as it is on disk).
	Rev string
}

func (s Spec) String() string {
	if s.Rev == "" {
		return s.Dir
	}
	return s.Dir + "@" + s.Rev
}

// maxRevLen bounds a revision expression; real ones are far shorter.
const maxRevLen = 256

// ErrBadSpec is the error of a spec that names no directory or a revision git must not be given.
var ErrBadSpec = errors.New("bad DIR@REV")

// ParseSpec reads "DIR@REV" (split at the last @) or "DIR". An empty DIR is the current
// directory. A revision may not start with "-" (git would read it as an option), nor hold spaces
// or control characters. A directory whose own name holds an @ is given as it is: callers look it
// up on disk first.
func ParseSpec(s string) (Spec, error) {
	i := strings.LastIndexByte(s, '@')
	if i < 0 {
		if s == "" {
			return Spec{}, fmt.Errorf("%w: empty", ErrBadSpec)
		}
		return Spec{Dir: s}, nil
	}
	dir, rev := s[:i], s[i+1:]
	if dir == "" {
		dir = "."
	}
	switch {
	case rev == "":
		return Spec{}, fmt.Errorf("%w: %q names no revision after @", ErrBadSpec, s)
	case len(rev) > maxRevLen:
		return Spec{}, fmt.Errorf("%w: revision longer than %d bytes", ErrBadSpec, maxRevLen)
	case strings.HasPrefix(rev, "-"):
		return Spec{}, fmt.Errorf("%w: revision %q starts with -", ErrBadSpec, rev)
	}
	for _, r := range rev {
		if unicode.IsSpace(r) || unicode.IsControl(r) || r == unicode.ReplacementChar {
			return Spec{}, fmt.Errorf("%w: revision %q holds a space or a control character", ErrBadSpec, rev)
		}
	}
	return Spec{Dir: dir, Rev: rev}, nil
}

// Limits of an export: a project is XML, Rego and a few modules, far below them.
const (
	maxFiles      = 100_000
	maxTotalBytes = 512 << 20
)

// Export writes the tree of dir at rev into dest, an empty directory, and returns the commit
// rev names. dir may be a subdirectory of its repository: dest then holds that subdirectory.
// Only regular files and directories are written; symbolic links and other entries are skipped,
// so nothing written can point outside dest.
func Export(ctx context.Context, dir, rev, dest string) (commit string, err error) {
	if _, err := ParseSpec("@" + rev); err != nil {
		return "", err
	}
	prefix, err := git(ctx, dir, "rev-parse", "--show-prefix")
	if err != nil {
		return "", fmt.Errorf("%s is not in a git work tree: %w", dir, err)
	}
	commit, err = git(ctx, dir, "rev-parse", "--verify", "--quiet", "--end-of-options", rev+"^{commit}")
	if err != nil {
		return "", fmt.Errorf("revision %q of %s: no such commit: %w", rev, dir, err)
	}
	tree := commit
	if prefix != "" {
		tree = commit + ":" + strings.TrimSuffix(prefix, "/")
		if kind, err := git(ctx, dir, "cat-file", "-t", tree); err != nil || kind != "tree" {
			return "", fmt.Errorf("directory %s does not exist at revision %q", strings.TrimSuffix(prefix, "/"), rev)
		}
	}
	// git archive run in a subdirectory archives only that subdirectory of the tree it is
	// given: run it at the top of the work tree.
	top, err := git(ctx, dir, "rev-parse", "--show-toplevel")
	if err != nil {
		return "", err
	}
	cmd := exec.CommandContext(ctx, "git", "-C", top, "archive", "--format=tar", tree)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return "", err
	}
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("git archive: %w", err)
	}
	xerr := extract(out, dest)
	if xerr != nil {
		// Stop git before waiting for it: it may be blocked writing the rest of the archive.
		_ = cmd.Process.Kill()
	}
	werr := cmd.Wait()
	if xerr != nil {
		return "", xerr
	}
	if werr != nil {
		return "", fmt.Errorf("git archive: %w: %s", werr, strings.TrimSpace(stderr.String()))
	}
	return commit, nil
}

// git runs a git command in dir and returns its output, trimmed.
func git(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", dir}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		if msg := strings.TrimSpace(stderr.String()); msg != "" {
			return "", fmt.Errorf("%w: %s", err, msg)
		}
		return "", err
	}
	return strings.TrimSpace(stdout.String()), nil
}

// extract writes the regular files and directories of a tar stream under dest.
func extract(r io.Reader, dest string) error {
	tr := tar.NewReader(r)
	files, total := 0, int64(0)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading git archive: %w", err)
		}
		name := path.Clean(h.Name)
		if path.IsAbs(name) || name == ".." || strings.HasPrefix(name, "../") || strings.ContainsRune(name, '\\') {
			return fmt.Errorf("git archive entry %q is outside the tree", h.Name)
		}
		target := filepath.Join(dest, filepath.FromSlash(name))
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			files++
			total += h.Size
			if files > maxFiles || total > maxTotalBytes {
				return fmt.Errorf("the tree is larger than %d files or %d bytes", maxFiles, maxTotalBytes)
			}
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				return err
			}
			f, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
			if err != nil {
				return err
			}
			_, err = io.Copy(f, io.LimitReader(tr, h.Size))
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return err
			}
		}
	}
}
