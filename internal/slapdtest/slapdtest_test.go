package slapdtest

import (
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
)

const missingChild = "REALMGATE_SLAPDTEST_MISSING_CHILD"

// TestMissingSlapd runs a test that needs a directory where no slapd is installed: it is
// skipped, unless REALMGATE_REQUIRE_TOOLCHAINS is set, when it fails and names the installer.
func TestMissingSlapd(t *testing.T) {
	if os.Getenv(missingChild) != "" {
		sbinDirs = nil
		Start(t, "")
		t.Log("a directory started without slapd")
		return
	}
	for _, c := range []struct {
		ci, want string
		fails    bool
	}{{"", "--- SKIP: TestMissingSlapd", false}, {"1", "--- FAIL: TestMissingSlapd", true}} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestMissingSlapd$", "-test.v", "-test.count=1")
		for _, kv := range os.Environ() {
			if !strings.HasPrefix(kv, CIEnv+"=") && !strings.HasPrefix(kv, "PATH=") {
				cmd.Env = append(cmd.Env, kv)
			}
		}
		cmd.Env = append(cmd.Env, missingChild+"=1", "PATH="+t.TempDir())
		if c.ci != "" {
			cmd.Env = append(cmd.Env, CIEnv+"="+c.ci)
		}
		out, err := cmd.CombinedOutput()
		if (err != nil) != c.fails || !strings.Contains(string(out), c.want) || !strings.Contains(string(out), "install-slapd.sh") {
			t.Errorf("%s=%q: %v, want %q and the install script named:\n%s", CIEnv, c.ci, err, c.want, out)
		}
	}
}

// TestStartStopRestart: the server listens on 127.0.0.1 only, stops, and starts again on the
// same ports.
func TestStartStopRestart(t *testing.T) {
	s := Start(t, "")
	addr := strings.TrimPrefix(s.URL, "ldap://")
	if host, _, _ := net.SplitHostPort(addr); host != "127.0.0.1" {
		t.Fatalf("listening on %s", addr)
	}
	dial := func() error {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err
	}
	s.Stop(t)
	if dial() == nil {
		t.Fatal("a stopped server accepted a connection")
	}
	s.Restart(t)
	if err := dial(); err != nil {
		t.Fatalf("after the restart: %v", err)
	}
}
