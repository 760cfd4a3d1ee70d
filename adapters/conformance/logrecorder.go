package conformance

import (
	"context"
	"log/slog"
	"sync"
)

// LogEntry is one record a LogRecorder captured, flattened for comparison: attributes of groups
// are keyed "group.key".
type LogEntry struct {
	Level   slog.Level
	Message string
	Attrs   map[string]any
}

// LogRecorder captures the records written through its Logger, so that tests can check what an
// adapter logged through the host. It records every level, debug included.
type LogRecorder struct {
	mu      sync.Mutex
	entries []LogEntry
	changed chan struct{} // closed and replaced on every new record
}

// NewLogRecorder returns an empty recorder.
func NewLogRecorder() *LogRecorder {
	return &LogRecorder{changed: make(chan struct{})}
}

// Logger returns a logger whose records the recorder captures.
func (r *LogRecorder) Logger() *slog.Logger { return slog.New(&recordHandler{rec: r}) }

// Entries returns a copy of the records captured so far, oldest first.
func (r *LogRecorder) Entries() []LogEntry {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]LogEntry(nil), r.entries...)
}

// Matching returns the captured records for which match is true.
func (r *LogRecorder) Matching(match func(LogEntry) bool) []LogEntry {
	var out []LogEntry
	for _, e := range r.Entries() {
		if match(e) {
			out = append(out, e)
		}
	}
	return out
}

// Wait blocks until a record for which match is true has been captured, or ctx is done. Backends
// that forward logs asynchronously (a plugin's stderr) deliver records after the call returns,
// so a test waits instead of looking once.
func (r *LogRecorder) Wait(ctx context.Context, match func(LogEntry) bool) (LogEntry, bool) {
	for {
		r.mu.Lock()
		for _, e := range r.entries {
			if match(e) {
				r.mu.Unlock()
				return e, true
			}
		}
		changed := r.changed
		r.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			return LogEntry{}, false
		}
	}
}

func (r *LogRecorder) add(e LogEntry) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.entries = append(r.entries, e)
	close(r.changed)
	r.changed = make(chan struct{})
}

type recordHandler struct {
	rec    *LogRecorder
	attrs  []slog.Attr // already qualified by their groups
	prefix string      // open groups, "a.b."
}

func (h *recordHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *recordHandler) Handle(_ context.Context, r slog.Record) error {
	e := LogEntry{Level: r.Level, Message: r.Message, Attrs: map[string]any{}}
	for _, a := range h.attrs {
		flatten(e.Attrs, "", a)
	}
	r.Attrs(func(a slog.Attr) bool {
		flatten(e.Attrs, h.prefix, a)
		return true
	})
	h.rec.add(e)
	return nil
}

func (h *recordHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *h
	c.attrs = append([]slog.Attr(nil), h.attrs...)
	for _, a := range attrs {
		c.attrs = append(c.attrs, slog.Attr{Key: h.prefix + a.Key, Value: a.Value})
	}
	return &c
}

func (h *recordHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	c := *h
	c.prefix = h.prefix + name + "."
	return &c
}

func flatten(dst map[string]any, prefix string, a slog.Attr) {
	v := a.Value.Resolve()
	if v.Kind() == slog.KindGroup {
		p := prefix
		if a.Key != "" {
			p = prefix + a.Key + "."
		}
		for _, g := range v.Group() {
			flatten(dst, p, g)
		}
		return
	}
	if a.Key == "" {
		return
	}
	dst[prefix+a.Key] = v.Any()
}
