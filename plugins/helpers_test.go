package plugins

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/realmgate/realmgate/adapters"
	"github.com/realmgate/realmgate/plugins/internal/plugintest"
)

const testPlugin = "plugins/testdata/testplugin"

// testConfig returns the configuration of the test plugin, logging to rec.
func testConfig(t testing.TB, rec *records) adapters.Config {
	t.Helper()
	bin, sum := plugintest.Build(t, testPlugin)
	return adapters.Config{
		Name:     "test",
		Kind:     Kind,
		Command:  []string{bin},
		SHA256:   sum,
		Settings: map[string]string{"greeting": "hello"},
		Logger:   rec.logger(),
	}
}

// openTest opens the test plugin with cfg changed by edit, and closes it when the test ends.
func openTest(t testing.TB, edit func(*adapters.Config)) (*adapter, *records) {
	t.Helper()
	rec := &records{}
	cfg := testConfig(t, rec)
	if edit != nil {
		edit(&cfg)
	}
	a, err := adapters.Open(t.Context(), cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = a.Close(context.Background()) })
	return a.(*adapter), rec
}

// records captures log records, attributes flattened.
type records struct {
	mu      sync.Mutex
	entries []entry
	waiters []waiter
}

type entry struct {
	Level slog.Level
	Msg   string
	Attrs map[string]any
}

type waiter struct {
	match func(entry) bool
	ch    chan entry
}

func (r *records) logger() *slog.Logger { return slog.New(&recHandler{r: r}) }

func (r *records) add(e entry) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.entries = append(r.entries, e)
	kept := r.waiters[:0]
	for _, w := range r.waiters {
		if w.match(e) {
			w.ch <- e
			continue
		}
		kept = append(kept, w)
	}
	r.waiters = kept
}

// matching returns the records match accepts.
func (r *records) matching(match func(entry) bool) []entry {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []entry
	for _, e := range r.entries {
		if match(e) {
			out = append(out, e)
		}
	}
	return out
}

// await returns a channel that receives the first record match accepts, past or future.
func (r *records) await(match func(entry) bool) <-chan entry {
	ch := make(chan entry, 1)
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range r.entries {
		if match(e) {
			ch <- e
			return ch
		}
	}
	r.waiters = append(r.waiters, waiter{match, ch})
	return ch
}

func (r *records) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var b strings.Builder
	for _, e := range r.entries {
		fmt.Fprintf(&b, "%v %q %v\n", e.Level, e.Msg, e.Attrs)
	}
	return b.String()
}

func byMsg(msg string) func(entry) bool { return func(e entry) bool { return e.Msg == msg } }

type recHandler struct {
	r     *records
	attrs []slog.Attr
}

func (h *recHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *recHandler) Handle(_ context.Context, rec slog.Record) error {
	e := entry{Level: rec.Level, Msg: rec.Message, Attrs: map[string]any{}}
	for _, a := range h.attrs {
		e.Attrs[a.Key] = a.Value.Resolve().Any()
	}
	rec.Attrs(func(a slog.Attr) bool {
		e.Attrs[a.Key] = a.Value.Resolve().Any()
		return true
	})
	h.r.add(e)
	return nil
}

func (h *recHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &recHandler{r: h.r, attrs: append(append([]slog.Attr(nil), h.attrs...), as...)}
}

func (h *recHandler) WithGroup(string) slog.Handler { return h }

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
