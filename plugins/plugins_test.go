package plugins

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/realmgate/realmgate/adapters"
	"github.com/realmgate/realmgate/adapters/adaptertest"
	"github.com/realmgate/realmgate/plugins/internal/plugintest"
)

// checkErr checks that err is an *adapters.Error of code naming the test adapter and procedure,
// with a message containing msg, and returns it.
func checkErr(t *testing.T, err error, code adapters.Code, procedure, msg string) *adapters.Error {
	t.Helper()
	var e *adapters.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not an *adapters.Error", err, err)
	}
	if e.Code != code || !errors.Is(err, &adapters.Error{Code: code}) {
		t.Fatalf("error %v has code %s, want %s", err, e.Code, code)
	}
	if e.Adapter != "test" || e.Procedure != procedure {
		t.Errorf("error %v names %s.%s, want test.%s", err, e.Adapter, e.Procedure, procedure)
	}
	if !strings.Contains(e.Message, msg) {
		t.Errorf("error message %q does not contain %q", e.Message, msg)
	}
	return e
}

func TestCall(t *testing.T) {
	a, _ := openTest(t, func(c *adapters.Config) {
		c.Limits.MaxInput = 1 << 10
		c.Limits.MaxOutput = 2 << 10
	})
	tests := []struct {
		name      string
		procedure string
		input     string
		want      string
		code      adapters.Code
		msg       string
	}{
		{name: "echo", procedure: "echo", input: `{"a":[1,"☃",null]}`, want: `{"a":[1,"☃",null]}`},
		{name: "config", procedure: "config", input: `{}`, want: `{"adapter":"test","greeting":"hello"}`},
		{name: "output at limit", procedure: "big", input: `2046`, want: `"` + strings.Repeat("x", 2046) + `"`},
		{name: "fail", procedure: "fail", input: `{"message":"no such user: ☃"}`, code: adapters.CodeFailed, msg: "no such user: ☃"},
		{name: "typed input mismatch", procedure: "fail", input: `[1]`, code: adapters.CodeBadInput, msg: "input does not decode"},
		{name: "unknown procedure", procedure: "nope", input: `{}`, code: adapters.CodeUnknownProcedure, msg: `"nope"`},
		{name: "invalid JSON", procedure: "echo", input: `{"a":`, code: adapters.CodeBadInput, msg: "not valid JSON"},
		{name: "input over limit", procedure: "echo", input: `"` + strings.Repeat("x", 1<<10) + `"`, code: adapters.CodeBadInput, msg: "limit is 1024"},
		{name: "output over limit", procedure: "big", input: `2047`, code: adapters.CodeBadOutput, msg: "limit is 2048"},
		{name: "output over response limit", procedure: "big", input: `1000000`, code: adapters.CodeBadOutput, msg: "exceeds the 2048-byte output limit"},
		{name: "malformed output", procedure: "badjson", input: `{}`, code: adapters.CodeBadOutput, msg: "not valid JSON"},
		{name: "panic", procedure: "panic", input: `{}`, code: adapters.CodeFailed, msg: "procedure panic panicked"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := a.Call(t.Context(), tc.procedure, json.RawMessage(tc.input))
			if tc.code != "" {
				checkErr(t, err, tc.code, tc.procedure, tc.msg)
			} else if err != nil {
				t.Fatalf("Call: %v", err)
			} else if diff := cmp.Diff(tc.want, string(got)); diff != "" {
				t.Errorf("output (-want +got):\n%s", diff)
			}
			// Whatever happened, the plugin still serves.
			if out, err := a.Call(t.Context(), "echo", json.RawMessage(`"after"`)); err != nil || string(out) != `"after"` {
				t.Errorf("echo after %s = %s, %v", tc.name, out, err)
			}
		})
	}
	if diff := cmp.Diff([]string{"badjson", "big", "config", "echo", "env", "exit", "fail", "hang", "log", "panic", "pid", "setup", "setupState", "sleep", "spam", "stderr"}, a.Procedures()); diff != "" {
		t.Errorf("Procedures (-want +got):\n%s", diff)
	}
}

func TestLogs(t *testing.T) {
	a, rec := openTest(t, nil)
	if _, err := a.Call(t.Context(), "log", json.RawMessage(`{"msg":"hello from the plugin","level":"warn"}`)); err != nil {
		t.Fatal(err)
	}
	// The record came back with the response: it is there as soon as Call returns.
	got := rec.matching(byMsg("hello from the plugin"))
	want := []entry{{Level: slog.LevelWarn, Msg: "hello from the plugin", Attrs: map[string]any{"adapter": "test", "procedure": "log", "from": "testplugin"}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("records (-want +got):\n%s", diff)
	}

	if _, err := a.Call(t.Context(), "spam", json.RawMessage(`100`)); err != nil {
		t.Fatal(err)
	}
	if n := len(rec.matching(byMsg("spam"))); n != 64 {
		t.Errorf("%d spam records, want the first 64", n)
	}
	dropped := rec.matching(byMsg("plugin log records dropped"))
	if len(dropped) != 1 || dropped[0].Attrs["dropped"] != int64(36) {
		t.Errorf("dropped records notice = %+v, want one counting 36", dropped)
	}
}

// TestStdio checks that what a plugin writes to its stderr and stdout reaches the log, and that
// a stderr line go-plugin's own parser panics on does not take the daemon down.
func TestStdio(t *testing.T) {
	a, rec := openTest(t, func(c *adapters.Config) { c.Command = append(c.Command, "-hostile-stderr") })
	hostile := `{"@message": 1, "@level": 5, "@timestamp": 7}`
	input, _ := json.Marshal(hostile)
	if _, err := a.Call(t.Context(), "stderr", input); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Call(t.Context(), "stderr", json.RawMessage(`"plain text line"`)); err != nil {
		t.Fatal(err)
	}
	for _, want := range []entry{
		{Level: slog.LevelInfo, Msg: "1", Attrs: map[string]any{"adapter": "test", "stream": "stderr"}},
		{Level: slog.LevelWarn, Msg: "plain text line", Attrs: map[string]any{"adapter": "test", "stream": "stderr"}},
		{Level: slog.LevelDebug, Msg: "stdout: plain text line", Attrs: map[string]any{"adapter": "test", "stream": "stdout"}},
	} {
		select {
		case got := <-rec.await(byMsg(want.Msg)):
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("record (-want +got):\n%s", diff)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no record %q; records:\n%s", want.Msg, rec)
		}
	}
	// The hostile line was written twice: at start and by the call.
	if n := len(rec.matching(byMsg("1"))); n != 2 {
		t.Errorf("%d records of the hostile line, want 2", n)
	}
}

func TestEnvironmentNotInherited(t *testing.T) {
	t.Setenv("REALMGATE_TEST_SECRET", "do-not-leak")
	a, _ := openTest(t, nil)
	out, err := a.Call(t.Context(), "env", json.RawMessage(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	var env []string
	if err := json.Unmarshal(out, &env); err != nil {
		t.Fatal(err)
	}
	for _, kv := range env {
		if strings.Contains(kv, "do-not-leak") || strings.HasPrefix(kv, "PATH=") || strings.HasPrefix(kv, "HOME=") {
			t.Errorf("plugin inherited %q from the daemon", kv)
		}
	}
}

func pidOf(t *testing.T, a *adapter) int {
	t.Helper()
	out, err := a.Call(t.Context(), "pid", json.RawMessage(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	var v struct{ PID int }
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatal(err)
	}
	if v.PID != a.pid() {
		t.Fatalf("plugin says pid %d, backend says %d", v.PID, a.pid())
	}
	return v.PID
}

func TestKilledMidCall(t *testing.T) {
	a, rec := openTest(t, nil)
	pid := pidOf(t, a)
	started := rec.await(byMsg("sleep started"))
	errc := make(chan error, 1)
	go func() {
		_, err := a.Call(context.Background(), "sleep", json.RawMessage(`{"ms":60000}`))
		errc <- err
	}()
	select {
	case <-started:
	case err := <-errc:
		t.Fatalf("sleep returned before the kill: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatalf("sleep never started; records:\n%s", rec)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	checkErr(t, <-errc, adapters.CodeUnavailable, "sleep", "plugin process died")

	out, err := a.Call(t.Context(), "echo", json.RawMessage(`{"next":"call"}`))
	if err != nil || string(out) != `{"next":"call"}` {
		t.Fatalf("call after the crash = %s, %v; want the relaunched plugin to answer", out, err)
	}
	if newPID := pidOf(t, a); newPID == pid {
		t.Errorf("plugin pid %d unchanged after the kill", pid)
	}
	waitGone(t, pid)
	if n := len(rec.matching(byMsg("plugin relaunched"))); n != 1 {
		t.Errorf("%d relaunch records, want 1", n)
	}
}

func TestKilledBetweenCalls(t *testing.T) {
	a, _ := openTest(t, nil)
	pid := pidOf(t, a)
	in := a.cur.Load()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// go-plugin notices the exit when it reaps the process; the next call then relaunches
	// without failing.
	for deadline := time.Now().Add(30 * time.Second); !in.client.Exited(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("go-plugin never noticed the exit")
		}
	}
	if out, err := a.Call(t.Context(), "echo", json.RawMessage(`1`)); err != nil || string(out) != "1" {
		t.Fatalf("call after the kill = %s, %v", out, err)
	}
}

func TestExitDuringCall(t *testing.T) {
	a, _ := openTest(t, nil)
	_, err := a.Call(t.Context(), "exit", json.RawMessage(`{}`))
	checkErr(t, err, adapters.CodeUnavailable, "exit", "relaunched on the next call")
	if out, err := a.Call(t.Context(), "echo", json.RawMessage(`2`)); err != nil || string(out) != "2" {
		t.Fatalf("call after the exit = %s, %v", out, err)
	}
}

func TestTimeout(t *testing.T) {
	// The limit leaves the calls that must succeed ample time on a loaded machine.
	a, _ := openTest(t, func(c *adapters.Config) { c.Limits.CallTimeout = 2 * time.Second })
	_, err := a.Call(t.Context(), "sleep", json.RawMessage(`{"ms":60000}`))
	checkErr(t, err, adapters.CodeTimeout, "sleep", "2s limit")

	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	_, err = a.Call(ctx, "sleep", json.RawMessage(`{"ms":60000}`))
	checkErr(t, err, adapters.CodeTimeout, "sleep", "caller's deadline")

	// A timeout is not a crash: the same process answers the next call.
	pid := a.pid()
	if out, err := a.Call(t.Context(), "sleep", json.RawMessage(`{"ms":1}`)); err != nil {
		t.Fatalf("call after a timeout = %s, %v", out, err)
	}
	if a.pid() != pid {
		t.Errorf("plugin relaunched after a timeout")
	}
}

func TestCloseStopsProcess(t *testing.T) {
	a, _ := openTest(t, nil)
	pid := pidOf(t, a)
	if err := a.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	// Close returns once go-plugin has reaped the process: it is gone now, not eventually.
	if alive(pid) {
		t.Errorf("plugin process %d still running after Close", pid)
	}
	_, err := a.Call(t.Context(), "echo", json.RawMessage(`{}`))
	checkErr(t, err, adapters.CodeUnavailable, "echo", "closed")
	if err := a.Close(t.Context()); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// TestDaemonKilled checks that a plugin does not outlive a daemon killed without closing it:
// a helper process (this test binary, see TestMain) opens the plugin and is killed.
func TestDaemonKilled(t *testing.T) {
	bin, sum := plugintest.Build(t, testPlugin)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := helperDaemonCmd(exe, bin, sum)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	var pid int
	if _, err := fmt.Fscanf(out, "pid %d\n", &pid); err != nil {
		t.Fatalf("helper daemon: %v", err)
	}
	if !alive(pid) {
		t.Fatalf("plugin %d not running under the helper daemon", pid)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	waitGone(t, pid)
}

func TestOpenErrors(t *testing.T) {
	bin, sum := plugintest.Build(t, testPlugin)
	notPlugin, _ := plugintest.Build(t, "plugins/testdata/notplugin")
	wrong := strings.Repeat("ab", 32)
	tests := []struct {
		name string
		cfg  adapters.Config
		is   error
		msg  []string
	}{
		{
			name: "wrong checksum",
			cfg:  adapters.Config{Command: []string{bin}, SHA256: wrong},
			is:   ErrChecksumMismatch,
			msg:  []string{"has SHA-256 " + sum, "pins " + wrong},
		},
		{
			name: "malformed checksum",
			cfg:  adapters.Config{Command: []string{bin}, SHA256: "abc"},
			msg:  []string{"not 64 hex digits"},
		},
		{
			name: "not a plugin",
			cfg:  adapters.Config{Command: []string{notPlugin}},
			is:   ErrHandshake,
			msg:  []string{`printed "hello, I am not a plugin" instead of the handshake`, "plugins/sdk"},
		},
		{
			name: "exits at start",
			cfg:  adapters.Config{Command: []string{bin, "-exit-at-start"}, SHA256: sum},
			is:   ErrHandshake,
			msg:  []string{"exited before the handshake", "told to exit at start"},
		},
		{
			name: "missing procedure",
			cfg:  adapters.Config{Command: []string{bin}, Procedures: []string{"echo", "validateCSR", "init"}},
			is:   ErrMissingProcedures,
			msg:  []string{"does not implement validateCSR, init"},
		},
		{
			name: "no such binary",
			cfg:  adapters.Config{Command: []string{filepath.Join(t.TempDir(), "missing")}},
			msg:  []string{"no such file"},
		},
		{
			name: "setting not UTF-8",
			cfg:  adapters.Config{Command: []string{bin}, Settings: map[string]string{"ca-key": "\xff"}},
			msg:  []string{`setting "ca-key" is not valid UTF-8`},
		},
		{
			name: "no command",
			cfg:  adapters.Config{},
			msg:  []string{"no command"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.Name, tc.cfg.Kind = "test", Kind
			a, err := adapters.Open(t.Context(), tc.cfg)
			if err == nil {
				_ = a.Close(context.Background())
				t.Fatal("Open succeeded")
			}
			// Both backends fail Open with an *adapters.Error the daemon reports the same way.
			var ae *adapters.Error
			if !errors.As(err, &ae) || ae.Code != adapters.CodeUnavailable || ae.Adapter != "test" {
				t.Errorf("error %#v is not an *adapters.Error with code %s for adapter test", err, adapters.CodeUnavailable)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %v is not %v", err, tc.is)
			}
			for _, m := range tc.msg {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q does not contain %q", err, m)
				}
			}
		})
	}
}

// TestRelaunchChecksChecksum replaces a pinned binary while its plugin runs: the relaunch after
// a crash refuses the new binary, and later calls fail at once until the backoff passes.
func TestRelaunchChecksChecksum(t *testing.T) {
	bin, sum := plugintest.Build(t, testPlugin)
	notPlugin, _ := plugintest.Build(t, "plugins/testdata/notplugin")
	copyFile := func(src, dst string) {
		t.Helper()
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		tmp := dst + ".tmp"
		if err := os.WriteFile(tmp, b, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, dst); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(t.TempDir(), "plugin")
	copyFile(bin, path)
	a, _ := openTest(t, func(c *adapters.Config) { c.Command, c.SHA256 = []string{path}, sum })
	pid := pidOf(t, a)
	copyFile(notPlugin, path)
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitGone(t, pid)
	// The first call may still meet the dead connection; the one after it relaunches, and the
	// one after that is refused at once during the backoff, with the same error.
	_, err := a.Call(t.Context(), "echo", json.RawMessage(`{}`))
	if e := checkErr(t, err, adapters.CodeUnavailable, "echo", ""); !strings.Contains(e.Message, "could not be launched") {
		_, err = a.Call(t.Context(), "echo", json.RawMessage(`{}`))
	}
	e := checkErr(t, err, adapters.CodeUnavailable, "echo", "could not be launched")
	if !errors.Is(e, ErrChecksumMismatch) {
		t.Errorf("relaunch error %v, want a checksum mismatch", e.Err)
	}
	_, err = a.Call(t.Context(), "echo", json.RawMessage(`{}`))
	if e := checkErr(t, err, adapters.CodeUnavailable, "echo", "could not be launched"); !errors.Is(e, ErrChecksumMismatch) {
		t.Errorf("call during the backoff: %v, want the checksum mismatch again", e.Err)
	}
}

func TestConcurrentCalls(t *testing.T) {
	a, _ := openTest(t, nil)
	errc := make(chan error, 8)
	for g := range 8 {
		go func() {
			for i := range 25 {
				in := fmt.Sprintf(`{"g":%d,"i":%d}`, g, i)
				out, err := a.Call(t.Context(), "echo", json.RawMessage(in))
				if err == nil && string(out) != in {
					err = fmt.Errorf("echo %s = %s", in, out)
				}
				if err != nil {
					errc <- err
					return
				}
			}
			errc <- nil
		}()
	}
	for range 8 {
		if err := <-errc; err != nil {
			t.Error(err)
		}
	}
}

func TestHCLogBridge(t *testing.T) {
	rec := &records{}
	b := newHCLogBridge(rec.logger(), "mybin")
	b.Named("stdio").With("k", 1).Warn("hello", "x", "y")
	muted := b.Named("mybin")
	muted.Error("never")
	got := rec.matching(func(entry) bool { return true })
	want := []entry{{Level: slog.LevelWarn, Msg: "hello", Attrs: map[string]any{"logger": "stdio", "k": int64(1), "x": "y"}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("records (-want +got):\n%s", diff)
	}
	if muted.GetLevel().String() != "off" || b.GetLevel().String() != "trace" {
		t.Errorf("levels: muted %v, root %v; want off and trace", muted.GetLevel(), b.GetLevel())
	}
	quiet := newHCLogBridge(slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelWarn})), "")
	if quiet.IsInfo() || !quiet.IsWarn() {
		t.Errorf("bridge over a warn-level logger: IsInfo %v IsWarn %v", quiet.IsInfo(), quiet.IsWarn())
	}
}

func TestParseStderrLine(t *testing.T) {
	tests := []struct {
		line  string
		level slog.Level
		msg   string
		attrs []string
	}{
		{`{"@level":"error","@message":"boom","@timestamp":"x","k":"v","adapter":"spoof"}`, slog.LevelError, "boom", []string{"k"}},
		{`{"@level":"trace","@message":"t"}`, slog.LevelDebug - 4, "t", nil},
		{`{"@message":{"nested":true},"@level":["warn"]}`, slog.LevelInfo, "map[nested:true]", nil},
		{`{"@message":null}`, slog.LevelInfo, "", nil},
		{`panic: boom`, slog.LevelWarn, "panic: boom", nil},
		{`{"broken`, slog.LevelWarn, `{"broken`, nil},
		{"\xff\xfe", slog.LevelWarn, "\uFFFD", nil},
	}
	for _, tc := range tests {
		level, msg, attrs := parseStderrLine([]byte(tc.line))
		var keys []string
		for _, a := range attrs {
			keys = append(keys, a.Key)
		}
		if level != tc.level || msg != tc.msg || !slices.Equal(keys, tc.attrs) {
			t.Errorf("parseStderrLine(%q) = %v %q %q, want %v %q %q", tc.line, level, msg, keys, tc.level, tc.msg, tc.attrs)
		}
	}
}

func TestLineWriter(t *testing.T) {
	var lines []string
	w := newLineWriter(2, func(b []byte) string { lines = append(lines, string(b)); return string(b) })
	for _, chunk := range []string{"one\ntw", "o\r\n\n  \nthree", "\n", strings.Repeat("x", maxLine+10) + "\n", "tail"} {
		if _, err := w.Write([]byte(chunk)); err != nil {
			t.Fatal(err)
		}
	}
	w.Flush()
	want := []string{"one", "two", "three", strings.Repeat("x", maxLine), "tail"}
	if diff := cmp.Diff(want, lines); diff != "" {
		t.Errorf("lines (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{strings.Repeat("x", maxLine), "tail"}, w.Tail()); diff != "" {
		t.Errorf("tail (-want +got):\n%s", diff)
	}
}

// TestConformance runs the adapter conformance suite against the backend with the test plugin.
func TestConformance(t *testing.T) {
	bin, sum := plugintest.Build(t, testPlugin)
	adaptertest.Run(t, func(t *testing.T, cfg adapters.Config) adapters.Adapter {
		cfg.Kind, cfg.Command, cfg.SHA256 = Kind, []string{bin}, sum
		a, err := adapters.Open(t.Context(), cfg)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		t.Cleanup(func() { _ = a.Close(context.Background()) })
		return a
	})
}

// TestHungCallKillsProcess: a procedure that ignores its cancelled context keeps its call
// running in the plugin; once the grace period after the deadline has passed, the process is
// killed, and the next call gets a new one. A procedure that ends on cancellation (sleep) is
// left alone: the same process serves on after the grace period.
func TestHungCallKillsProcess(t *testing.T) {
	const timeout, grace = 3 * time.Second, 500 * time.Millisecond
	a, rec := openTest(t, func(c *adapters.Config) {
		c.Limits.CallTimeout = timeout
		c.Limits.CancelGrace = grace
	})
	pid := pidOf(t, a)

	_, err := a.Call(t.Context(), "sleep", json.RawMessage(`{"ms":60000}`))
	checkErr(t, err, adapters.CodeTimeout, "sleep", "3s limit")
	time.Sleep(3 * grace)
	if got := pidOf(t, a); got != pid || !alive(pid) {
		t.Fatalf("after a call that ended on its cancellation, plugin %d (alive %v) replaced by %d", pid, alive(pid), got)
	}

	start := time.Now()
	_, err = a.Call(t.Context(), "hang", json.RawMessage(`{}`))
	checkErr(t, err, adapters.CodeTimeout, "hang", "3s limit")
	// A call that starts during the grace period runs in the same process and fails with it.
	_, err = a.Call(t.Context(), "sleep", json.RawMessage(`{"ms":60000}`))
	checkErr(t, err, adapters.CodeUnavailable, "sleep", "plugin process died")
	waitGone(t, pid)
	if took := time.Since(start); took < timeout+grace {
		t.Errorf("the hung plugin was gone %s after the call started, before its timeout and grace period (%s)", took, timeout+grace)
	}
	if n := len(rec.matching(func(e entry) bool { return strings.Contains(e.Msg, "kept running a call of hang") })); n != 1 {
		t.Errorf("%d records of the kill, want 1; records:\n%s", n, rec)
	}
	if out, err := a.Call(t.Context(), "echo", json.RawMessage(`3`)); err != nil || string(out) != "3" {
		t.Fatalf("call after the kill = %s, %v", out, err)
	}
	if got := pidOf(t, a); got == pid {
		t.Errorf("plugin pid %d unchanged after the kill", pid)
	}
}

// TestCrashLoopBacksOff: a plugin that dies on every call is relaunched at once after its first
// two deaths, then only after a growing backoff, during which calls fail at once; once the backoff has
// passed, a call that does not crash it is served.
func TestCrashLoopBacksOff(t *testing.T) {
	a, rec := openTest(t, nil)
	relaunches := func() int { return len(rec.matching(byMsg("plugin relaunched"))) }
	start := time.Now()
	sent, refused := 0, 0
	for time.Since(start) < 2*time.Second {
		time.Sleep(time.Millisecond)
		sent++
		_, err := a.Call(t.Context(), "exit", json.RawMessage(`{}`))
		if e := checkErr(t, err, adapters.CodeUnavailable, "exit", ""); errors.Is(e, errCrashLoop) {
			refused++
			if !strings.Contains(e.Message, "keeps dying") {
				t.Errorf("message during the backoff %q, want it to say the plugin keeps dying", e.Message)
			}
		}
	}
	// Relaunched at once after the first two deaths, then after 50, 100, 200, 400, 800 ms...:
	// a handful of launches in two seconds, where a relaunch per call would make hundreds.
	if n := relaunches(); n < 2 || n > 8 {
		t.Errorf("%d relaunches in two seconds of %d crashing calls, want 2 to 8", n, sent)
	}
	if refused == 0 {
		t.Errorf("no call was refused during the backoff (of %d)", sent)
	}
	t.Logf("%d calls in 2s: %d relaunches, %d refused during the backoff", sent, relaunches(), refused)
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		out, err := a.Call(t.Context(), "echo", json.RawMessage(`4`))
		if err == nil && string(out) == "4" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no call served after the crash loop ended: %v", err)
		}
	}
}
