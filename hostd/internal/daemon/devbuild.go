package daemon

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// buildFromSource builds a Go adapter module from its source folder (development mode only) and
// returns the module's path. Builds are cached by a hash of the Go version and every file in the
// source folder, under the user's cache directory, so a restart does not rebuild.
func buildFromSource(ctx context.Context, name, source string) (string, error) {
	goTool := "go"
	if root := os.Getenv("GOROOT"); root != "" {
		if p := filepath.Join(root, "bin", "go"); fileExists(p) {
			goTool = p
		}
	}
	version, err := exec.CommandContext(ctx, goTool, "env", "GOVERSION").Output()
	if err != nil {
		return "", fmt.Errorf("building adapter %s from source needs the Go toolchain: %w", name, err)
	}
	h := sha256.New()
	h.Write(version)
	var files []string
	err = filepath.WalkDir(source, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && strings.HasPrefix(d.Name(), ".") && p != source {
			return filepath.SkipDir
		}
		if !d.IsDir() {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	sort.Strings(files)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", f, len(b))
		h.Write(b)
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	out := filepath.Join(cache, "realmgate", "adapter-build", name+"-"+hex.EncodeToString(h.Sum(nil))[:24]+".wasm")
	if fileExists(out) {
		return out, nil
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return "", err
	}
	tmp := out + ".tmp"
	cmd := exec.CommandContext(ctx, goTool, "build", "-trimpath", "-buildmode=c-shared", "-o", tmp, ".")
	cmd.Dir = source
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("building adapter %s from %s: %v\n%s", name, source, err, stderr.String())
	}
	return out, os.Rename(tmp, out)
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
