package plugins

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"testing"

	"github.com/realmgate/realmgate/adapters"
)

// The environment variables that turn the test binary into a helper daemon for TestDaemonKilled.
const (
	envDaemonBin = "REALMGATE_PLUGINS_TEST_DAEMON_BIN"
	envDaemonSum = "REALMGATE_PLUGINS_TEST_DAEMON_SUM"
)

func TestMain(m *testing.M) {
	if bin := os.Getenv(envDaemonBin); bin != "" {
		os.Exit(helperDaemon(bin, os.Getenv(envDaemonSum)))
	}
	os.Exit(m.Run())
}

// helperDaemonCmd returns the command running this test binary as a helper daemon.
func helperDaemonCmd(exe, bin, sum string) *exec.Cmd {
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), envDaemonBin+"="+bin, envDaemonSum+"="+sum)
	cmd.Stderr = os.Stderr
	return cmd
}

// helperDaemon opens the plugin, prints its pid and waits to be killed.
func helperDaemon(bin, sum string) int {
	a, err := Open(context.Background(), adapters.Config{Name: "daemon", Command: []string{bin}, SHA256: sum})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Printf("pid %d\n", a.(*adapter).pid())
	select {}
}
