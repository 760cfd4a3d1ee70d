package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/realmgate/realmgate/adapters/adaptertest"
	"github.com/realmgate/realmgate/client"
	"github.com/realmgate/realmgate/hostd/internal/daemon"
)

// reloadProject copies testdata/reloadproject into a temporary folder with the plugin of
// testdata/holdplugin built and pinned by its SHA-256 in the adapter XML.
func reloadProject(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS("testdata/reloadproject")); err != nil {
		t.Fatal(err)
	}
	var inputs []string
	for _, pattern := range []string{"testdata/holdplugin/*.go", "../plugins/*.go", "../plugins/*/*.go", "../plugins/*/*/*.go", "../adapters/*.go"} {
		files, _ := filepath.Glob(pattern)
		inputs = append(inputs, files...)
	}
	plugin := adaptertest.CachedBuild(t, "holdplugin", inputs, "", func(out string) error {
		b, err := exec.Command("go", "build", "-o", out, "./testdata/holdplugin").CombinedOutput()
		if err != nil {
			return errors.New(string(b))
		}
		return nil
	})
	bin := filepath.Join(dir, "adapters/Holder/holdplugin")
	copyFile(t, plugin, bin)
	if err := os.Chmod(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	tmpl := filepath.Join(dir, "adapters/Holder/Holder.xml.tmpl")
	b, err := os.ReadFile(tmpl)
	if err != nil {
		t.Fatal(err)
	}
	mustWrite(t, filepath.Join(dir, "adapters/Holder/Holder.xml"), strings.ReplaceAll(string(b), "{{SHA256}}", fileSHA256(t, bin)))
	os.Remove(tmpl)
	return dir
}

// holdClient is a client of the reload project's application.
func holdClient(t *testing.T, d *daemon.Daemon) *client.Client {
	t.Helper()
	c, err := client.New(client.Config{BaseURL: baseURL(d), AppID: "HoldApp", Environment: "mobilewebapp", AppVersion: "1.0"})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// pidOf decodes {"pid": N}, the answer of the hold plugin's procedures.
func pidOf(t *testing.T, out json.RawMessage, err error) int {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		PID int `json:"pid"`
	}
	if err := json.Unmarshal(out, &v); err != nil || v.PID <= 0 {
		t.Fatalf("plugin answer %s: %v", out, err)
	}
	return v.PID
}

// procPID asks the hold plugin for its process id.
func procPID(t *testing.T, c *client.Client) int {
	t.Helper()
	out, err := c.InvokeProcedure(context.Background(), "Holder", "pid")
	return pidOf(t, out, err)
}

// alive reports whether pid is a running process (a zombie awaiting its reaper is not).
func alive(pid int) bool {
	if pid <= 0 || syscall.Kill(pid, 0) != nil {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the parenthesised command name: "pid (comm) S ...".
	s := string(stat)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

// waitGone waits until pid is no longer running, failing the test if it still is after a
// generous bound (a guard against hanging, not a timing assertion).
func waitGone(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for alive(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("process %d is still running", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitFile waits until path exists.
func waitFile(t *testing.T, path string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := os.Stat(path); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not appear", path)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestReloadRetiresTheOldRuntimeAfterItsLastRequest: a request in flight during a reload finishes
// against the adapters of the runtime it started on, which close after it (the plugin process
// ends); a runtime replaced with no request in flight closes at once, and the current one at
// shutdown. No plugin process of any runtime is left.
func TestReloadRetiresTheOldRuntimeAfterItsLastRequest(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and launches a plugin")
	}
	dir := reloadProject(t)
	d := startDaemon(t, dir, "")
	ctx := context.Background()
	c := holdClient(t, d)
	first := procPID(t, c)

	gate := t.TempDir()
	type result struct {
		out json.RawMessage
		err error
	}
	held := make(chan result, 1)
	go func() {
		out, err := holdClient(t, d).InvokeProcedure(ctx, "Holder", "hold", gate)
		held <- result{out, err}
	}()
	waitFile(t, filepath.Join(gate, "started"))

	if status, body := admin(t, d, "POST", "/admin/v1/reload", "", adminToken); status != 200 || body["status"] != "reloaded" {
		t.Fatalf("reload: %d %v", status, body)
	}
	second := procPID(t, c)
	if second == first {
		t.Fatalf("after the reload the plugin is still process %d, want the new runtime's", first)
	}
	if !alive(first) {
		t.Fatalf("the replaced runtime's plugin %d ended under a request in flight", first)
	}
	mustWrite(t, filepath.Join(gate, "release"), "")
	r := <-held
	if got := pidOf(t, r.out, r.err); got != first {
		t.Errorf("the request in flight was served by process %d, want %d (the runtime it started on)", got, first)
	}
	waitGone(t, first)

	if status, body := admin(t, d, "POST", "/admin/v1/reload", "", adminToken); status != 200 {
		t.Fatalf("second reload: %d %v", status, body)
	}
	third := procPID(t, c)
	waitGone(t, second)

	// A configuration with errors is refused, and the running one kept.
	xml := filepath.Join(dir, "adapters/Holder/Holder.xml")
	b, err := os.ReadFile(xml)
	if err != nil {
		t.Fatal(err)
	}
	mustWrite(t, xml, regexp.MustCompile(`sha256="[0-9a-f]+"`).ReplaceAllString(string(b), `sha256="`+strings.Repeat("0", 64)+`"`))
	status, body := admin(t, d, "POST", "/admin/v1/reload", "", adminToken)
	if diags, _ := body["diagnostics"].([]any); status != 500 || body["error"] != "invalid_configuration" || len(diags) == 0 {
		t.Errorf("reload of a configuration with errors: %d %v, want 500 invalid_configuration with diagnostics", status, body)
	}
	if got := procPID(t, c); got != third {
		t.Errorf("after a refused reload the plugin is process %d, want %d (the running runtime's)", got, third)
	}
	if err := d.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	waitGone(t, third)
}

// pluginPIDs returns the process ids the daemon's log says plugins were started as (go-plugin
// and the plugin backend both log a start).
func pluginPIDs(log string) []int {
	var pids []int
	for _, line := range strings.Split(log, "\n") {
		var rec struct {
			Msg string `json:"msg"`
			PID int    `json:"pid"`
		}
		if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "plugin started" && rec.PID > 0 && !slices.Contains(pids, rec.PID) {
			pids = append(pids, rec.PID)
		}
	}
	return pids
}

// TestFailedStartClosesAdapters: a daemon that cannot listen (the address is in use) fails to
// start and closes what it opened: no plugin process is left.
func TestFailedStartClosesAdapters(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and launches a plugin")
	}
	dir := reloadProject(t)
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	s, err := daemon.LoadSettings(dir)
	if err != nil {
		t.Fatal(err)
	}
	s.Listen, s.Data = busy.Addr().String(), t.TempDir()
	logs := &lockedBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	d, err := daemon.Start(context.Background(), daemon.Options{ConfigDir: dir, Settings: s, Logger: log})
	if err == nil {
		d.Shutdown(context.Background())
		t.Fatal("the daemon started on an address in use")
	}
	if !strings.Contains(err.Error(), "listen on") {
		t.Fatalf("start on an address in use: %v, want a listen error", err)
	}
	pids := pluginPIDs(logs.String())
	if len(pids) != 1 {
		t.Fatalf("the log names plugin processes %v, want one:\n%s", pids, logs)
	}
	waitGone(t, pids[0])
}
