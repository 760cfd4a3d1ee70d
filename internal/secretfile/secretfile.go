// Package secretfile reads the files that hold secrets (token signing keys, the admin token, CA
// private keys) and keeps the folders that hold them private.
//
// A secret that other users of the machine may read is no longer a secret, and one they may
// write is no longer the operator's. Every secret file is therefore read through [Read], which
// refuses a file whose mode grants its group or other users any access, with an error that names
// the file and the chmod that fixes it. Refusing rather than repairing is deliberate: the file
// may already have been copied, and the operator should know (and rotate the secret).
//
// A data folder, which hostd fills with secrets it generates, is made private by [PrivateDir].
package secretfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
)

// ErrNotPrivate: a secret file, or a folder of secrets, that users other than its owner may
// access.
var ErrNotPrivate = errors.New("secret file is not private")

// MaxSize bounds a secret file: keys and tokens are small, and a larger file is a mistake (a path
// that names a log or a device) that must not be read whole into memory.
const MaxSize = 1 << 20

// checkModes is false where file modes do not describe access (Windows ACLs).
var checkModes = runtime.GOOS != "windows"

// Read returns the contents of the secret file at path. It refuses a file whose mode grants
// group or other users any access (error matching ErrNotPrivate), anything but a regular file,
// and a file over MaxSize. The mode checked is that of the file it opened (a symbolic link is
// followed), so the file read is the file checked. A missing file gives an error matching
// fs.ErrNotExist.
func Read(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	if err := checkFileMode(path, fi.Mode()); err != nil {
		return nil, err
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	if len(data) > MaxSize {
		return nil, fmt.Errorf("%s is larger than %d bytes: not a secret file", path, MaxSize)
	}
	return data, nil
}

// checkFileMode refuses a mode that grants group or other users any permission.
func checkFileMode(path string, mode fs.FileMode) error {
	if !checkModes {
		return nil
	}
	if perm := mode.Perm(); perm&0o077 != 0 {
		return fmt.Errorf("%w: %s has mode %#o, so other users of this machine may read or change it; run chmod 600 %s (and replace the secret if others could have copied it)",
			ErrNotPrivate, path, perm, path)
	}
	return nil
}

// PrivateDir makes sure the folder dir exists and only its owner may use it. A missing folder is
// created with mode 0700 (its missing parents too). An existing folder that grants its group or
// other users access is tightened to 0700, and tightened reports it, for the caller to log; a
// folder that cannot be tightened safely is refused (error matching ErrNotPrivate): one owned by
// another user, or one shared by design (sticky bit, as /tmp), whose other users would lose
// access or keep it.
func PrivateDir(dir string) (tightened bool, err error) {
	fi, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return false, err
		}
		fi, err = os.Stat(dir)
	}
	if err != nil {
		return false, err
	}
	if !fi.IsDir() {
		return false, fmt.Errorf("%s is not a folder", dir)
	}
	if !checkModes || fi.Mode().Perm()&0o077 == 0 {
		return false, nil
	}
	abs, _ := filepath.Abs(dir)
	if fi.Mode()&fs.ModeSticky != 0 || !ownedByMe(fi) {
		return false, fmt.Errorf("%w: folder %s has mode %#o and is shared with other users; give hostd a folder of its own (mkdir -m 700 %s)",
			ErrNotPrivate, dir, fi.Mode().Perm(), filepath.Join(abs, "realmgate"))
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return false, fmt.Errorf("%w: folder %s has mode %#o and could not be made private: %w; run chmod 700 %s",
			ErrNotPrivate, dir, fi.Mode().Perm(), err, dir)
	}
	return true, nil
}
