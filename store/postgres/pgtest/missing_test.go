package pgtest

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

const missingChild = "REALMGATE_PGTEST_MISSING_CHILD"

// TestMissingPostgres runs a test that needs a cluster where no PostgreSQL is installed: it is
// skipped, unless REALMGATE_REQUIRE_TOOLCHAINS is set, when it fails.
func TestMissingPostgres(t *testing.T) {
	if os.Getenv(missingChild) != "" {
		binGlob = "/nonexistent/postgresql/*/bin"
		Start(t)
		t.Log("a cluster started without PostgreSQL")
		return
	}
	t.Parallel()
	for _, c := range []struct {
		ci, want string
		fails    bool
	}{{"", "--- SKIP: TestMissingPostgres", false}, {"1", "--- FAIL: TestMissingPostgres", true}} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestMissingPostgres$", "-test.v", "-test.count=1")
		for _, kv := range os.Environ() {
			if !strings.HasPrefix(kv, CIEnv+"=") && !strings.HasPrefix(kv, "PATH=") {
				cmd.Env = append(cmd.Env, kv)
			}
		}
		// No pg_ctl on the PATH either.
		cmd.Env = append(cmd.Env, missingChild+"=1", "PATH="+t.TempDir())
		if c.ci != "" {
			cmd.Env = append(cmd.Env, CIEnv+"="+c.ci)
		}
		out, err := cmd.CombinedOutput()
		if (err != nil) != c.fails || !strings.Contains(string(out), c.want) || !strings.Contains(string(out), "install-postgres.sh") {
			t.Errorf("%s=%q: %v, want %q and the install script named:\n%s", CIEnv, c.ci, err, c.want, out)
		}
	}
}
