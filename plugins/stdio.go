package plugins

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"

	"github.com/realmgate/realmgate/plugins/internal/wire"
)

// maxLine bounds one line of a plugin's output as it reaches the log; the rest of a longer line
// is dropped.
const maxLine = wire.MaxLogRecord

// lineWriter cuts a byte stream into lines and hands each, at most maxLine bytes, to emit. It
// also keeps the last lines for launch errors ("exited before the handshake" says little
// without them).
type lineWriter struct {
	emit func(line []byte) (summary string)

	mu    sync.Mutex
	buf   []byte
	tail  []string
	ntail int
}

func newLineWriter(tailLines int, emit func([]byte) string) *lineWriter {
	return &lineWriter{emit: emit, ntail: tailLines}
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		chunk := p
		if i >= 0 {
			chunk = p[:i]
		}
		if room := maxLine - len(w.buf); len(chunk) > room {
			chunk = chunk[:room]
		}
		w.buf = append(w.buf, chunk...)
		if i < 0 {
			break
		}
		w.flushLocked()
		p = p[i+1:]
	}
	return n, nil
}

// Flush emits a last line that did not end in a newline.
func (w *lineWriter) Flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf) > 0 {
		w.flushLocked()
	}
}

func (w *lineWriter) flushLocked() {
	line := bytes.TrimRight(w.buf, "\r")
	if len(bytes.TrimSpace(line)) > 0 {
		summary := w.emit(line)
		if w.ntail > 0 {
			if len(w.tail) == w.ntail {
				w.tail = slices.Delete(w.tail, 0, 1)
			}
			w.tail = append(w.tail, summary)
		}
	}
	w.buf = w.buf[:0]
}

// Tail returns the last lines written (their messages), oldest first.
func (w *lineWriter) Tail() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.tail)
}

// stderrLog returns the writer for a plugin's stderr: hclog JSON lines (what plugins/sdk and
// go-plugin's server write) become records at their level, other lines (a Go panic's trace,
// say) warnings.
func stderrLog(log *slog.Logger) *lineWriter {
	return newLineWriter(8, func(line []byte) string {
		level, msg, attrs := parseStderrLine(line)
		log.LogAttrs(context.Background(), level, msg, append(attrs, slog.String("stream", "stderr"))...)
		return msg
	})
}

// stdioLog returns the writer for what a plugin prints to os.Stdout or os.Stderr after it
// started, which go-plugin carries over its stdio stream: debug records, one a line.
func stdioLog(log *slog.Logger, stream string) *lineWriter {
	return newLineWriter(0, func(line []byte) string {
		msg := strings.ToValidUTF8(string(line), "\uFFFD")
		log.LogAttrs(context.Background(), slog.LevelDebug, msg, slog.String("stream", stream))
		return msg
	})
}

// parseStderrLine reads one line of a plugin's stderr. It must take anything: the line comes
// from a process the daemon does not trust.
func parseStderrLine(line []byte) (slog.Level, string, []slog.Attr) {
	var m map[string]any
	if len(line) == 0 || line[0] != '{' || json.Unmarshal(line, &m) != nil {
		return slog.LevelWarn, strings.ToValidUTF8(string(line), "\uFFFD"), nil
	}
	level := slog.LevelInfo
	if s, ok := m["@level"].(string); ok {
		level = hclogLevelName(s)
	}
	var msg string
	switch v := m["@message"].(type) {
	case string:
		msg = v
	case nil:
	default:
		msg = fmt.Sprint(v)
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		switch k {
		case "@level", "@message", "@timestamp", "adapter", "stream":
			continue
		}
		keys = append(keys, k)
	}
	slices.Sort(keys)
	attrs := make([]slog.Attr, 0, len(keys)+1)
	for _, k := range keys {
		attrs = append(attrs, slog.Any(k, m[k]))
	}
	return level, msg, attrs
}

// hclogLevelName maps hclog's level names; unknown names are info.
func hclogLevelName(s string) slog.Level {
	switch strings.ToLower(s) {
	case "trace":
		return slog.LevelDebug - 4
	case "debug":
		return slog.LevelDebug
	case "warn", "warning":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	default:
		return slog.LevelInfo
	}
}
