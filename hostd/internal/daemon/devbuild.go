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
	"slices"
	"sort"
	"strings"
)

// buildFromSource builds a Go adapter module from its source folder (development mode only) and
// returns the module's path. Builds are cached by a hash of the Go version, every file in the
// source folder and every source file of the non-standard packages the module is built from (the
// guest SDK among them: a fix to the SDK must reach the adapters built with it), under the
// user's cache directory, so a restart does not rebuild.
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
	env := append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
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
	deps, err := dependencyFiles(ctx, goTool, source, env)
	if err != nil {
		return "", fmt.Errorf("building adapter %s from %s: %w", name, source, err)
	}
	files = append(files, deps...)
	sort.Strings(files)
	files = slices.Compact(files)
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
	// Each build writes a file of its own and renames it into place: daemons (and test
	// processes) that start together build the same module at once, and one build's rename
	// must not take another's file away.
	f, err := os.CreateTemp(filepath.Dir(out), filepath.Base(out)+".*.tmp")
	if err != nil {
		return "", err
	}
	tmp := f.Name()
	f.Close()
	defer os.Remove(tmp) // gone already once renamed
	cmd := exec.CommandContext(ctx, goTool, "build", "-trimpath", "-buildmode=c-shared", "-o", tmp, ".")
	cmd.Dir = source
	cmd.Env = env
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

// dependencyFiles lists the Go source files of the packages outside the standard library (which
// the Go version covers) that the package in dir is built from, with their modules' go.mod.
func dependencyFiles(ctx context.Context, goTool, dir string, env []string) ([]string, error) {
	list := exec.CommandContext(ctx, goTool, "list", "-deps", "-f",
		`{{if not .Standard}}{{.Dir}}{{range .GoFiles}}|{{.}}{{end}}{{range .EmbedFiles}}|{{.}}{{end}}{{with .Module}}{{if .GoMod}}|{{.GoMod}}{{end}}{{end}}{{end}}`, ".")
	list.Dir = dir
	list.Env = env
	var stderr bytes.Buffer
	list.Stderr = &stderr
	out, err := list.Output()
	if err != nil {
		return nil, fmt.Errorf("go list: %v\n%s", err, stderr.String())
	}
	var files []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		parts := strings.Split(line, "|")
		for _, f := range parts[1:] {
			if !filepath.IsAbs(f) {
				f = filepath.Join(parts[0], f)
			}
			files = append(files, f)
		}
	}
	return files, nil
}
