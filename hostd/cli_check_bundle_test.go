package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/realmgate/realmgate/hostd/internal/policybundle/bundletest"
)

// TestCheckWithBundle: hostd check --bundle compiles the bundle with the project and runs its
// tests, as the daemon would before activating it, and reports what would refuse it.
func TestCheckWithBundle(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	good := filepath.Join(dir, "good.tar.gz")
	bundletest.WriteFile(t, good, blockBundle("ok", "Accounts.transfer"), nil, "")
	badSpec := blockBundle("bad", "Accounts.transfer")
	badSpec.Modules["bundled/block.rego"] = "package realmgate.user.bundled\n\ndeny contains \"x\" if {\n\tno_such_function(input.resource)\n}\n"
	bad := filepath.Join(dir, "bad.tar.gz")
	bundletest.WriteFile(t, bad, badSpec, nil, "")
	failing := blockBundle("failing", "Accounts.transfer")
	failing.Modules["bundled/block_test.rego"] = "package realmgate.user.bundled_test\n\ntest_wrong if { false }\n"
	failingFile := filepath.Join(dir, "failing.tar.gz")
	bundletest.WriteFile(t, failingFile, failing, nil, "")
	for _, tc := range []struct {
		name, bundle string
		code         int
		want         string
	}{
		{"good", good, 0, "0 errors"},
		{"compile error", bad, 1, "bundle/bundled/block.rego:4"},
		{"failing test", failingFile, 1, "test_wrong"},
		{"missing", filepath.Join(dir, "none.tar.gz"), 1, "no such file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(context.Background(), []string{"check", "--config", exampleDir, "--bundle", tc.bundle}, &out, &errb)
			if code != tc.code || !strings.Contains(out.String()+errb.String(), tc.want) {
				t.Errorf("exit %d, output %q %q; want %d and %q", code, out.String(), errb.String(), tc.code, tc.want)
			}
		})
	}
}
