package sdk

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/realmgate/realmgate/plugins/internal/pluginpb"
	"github.com/realmgate/realmgate/plugins/internal/wire"
)

// Logger returns the logger of the call ctx belongs to. Its records travel back with the call's
// response, so the daemon writes them, tagged with the adapter and procedure, before the call
// returns; a call keeps at most 64 records of at most 4 KiB and counts the rest as dropped.
// Outside a call, and for records written after the call returned, the logger writes to the
// plugin's stderr, which the daemon also reads into its log.
func Logger(ctx context.Context) *slog.Logger {
	if c, _ := ctx.Value(callKey{}).(*call); c != nil {
		return slog.New(&callHandler{rec: c.rec})
	}
	return processLog
}

// processLog writes JSON records in hclog's shape to the process's real stderr, the stream the
// daemon parses. It is taken at init, before go-plugin redirects os.Stderr to its stdio stream.
var processLog = newProcessLogger(os.Stderr)

func newProcessLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{
		Level: slog.LevelDebug,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) > 0 {
				return a
			}
			switch a.Key {
			case slog.TimeKey:
				return slog.String("@timestamp", a.Value.Time().Format("2006-01-02T15:04:05.000000Z07:00"))
			case slog.LevelKey:
				return slog.String("@level", hclogLevel(a.Value.Any().(slog.Level)))
			case slog.MessageKey:
				return slog.String("@message", a.Value.String())
			}
			return a
		},
	}))
}

// hclogLevel names an slog level as hclog does, the format go-plugin defines for plugin stderr.
func hclogLevel(l slog.Level) string {
	switch {
	case l < slog.LevelInfo:
		return "debug"
	case l < slog.LevelWarn:
		return "info"
	case l < slog.LevelError:
		return "warn"
	default:
		return "error"
	}
}

// recorder collects the log records of one call.
type recorder struct {
	mu       sync.Mutex
	recs     []*pluginpb.LogRecord
	dropped  uint32
	done     bool
	fallback *slog.Logger
}

func newRecorder(fallback *slog.Logger) *recorder { return &recorder{fallback: fallback} }

// add keeps rec for the response; false means the call has returned and rec must go elsewhere.
func (r *recorder) add(rec *pluginpb.LogRecord) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case r.done:
		return false
	case len(r.recs) >= wire.MaxLogRecords:
		r.dropped++
	default:
		r.recs = append(r.recs, rec)
	}
	return true
}

// finish ends the call's collection and returns what it collected.
func (r *recorder) finish() ([]*pluginpb.LogRecord, uint32) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.done = true
	return r.recs, r.dropped
}

// callHandler is the slog.Handler of a call's logger. Attributes are rendered by a JSON handler
// replaying the WithAttrs and WithGroup calls, so groups and LogValuers behave as in slog.
type callHandler struct {
	rec *recorder
	ops []func(slog.Handler) slog.Handler
}

func (h *callHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *callHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &callHandler{rec: h.rec, ops: append(slices.Clip(h.ops), func(x slog.Handler) slog.Handler { return x.WithAttrs(as) })}
}

func (h *callHandler) WithGroup(name string) slog.Handler {
	return &callHandler{rec: h.rec, ops: append(slices.Clip(h.ops), func(x slog.Handler) slog.Handler { return x.WithGroup(name) })}
}

func (h *callHandler) Handle(ctx context.Context, r slog.Record) error {
	var buf bytes.Buffer
	var x slog.Handler = slog.NewJSONHandler(&buf, &slog.HandlerOptions{ReplaceAttr: dropBuiltins})
	for _, op := range h.ops {
		x = op(x)
	}
	if err := x.Handle(ctx, r); err != nil {
		return err
	}
	attrs := bytes.TrimSpace(buf.Bytes())
	if string(attrs) == "{}" {
		attrs = nil
	}
	msg := clean(r.Message, wire.MaxLogRecord)
	if len(msg)+len(attrs) > wire.MaxLogRecord {
		attrs = []byte(`{"attrs_truncated":true}`)
		msg = clean(msg, wire.MaxLogRecord-len(attrs))
	}
	rec := &pluginpb.LogRecord{Level: int32(r.Level), Message: msg, Attrs: attrs}
	if h.rec.add(rec) {
		return nil
	}
	// The call has returned (a goroutine it started is still logging): use the process log.
	var late slog.Handler = h.rec.fallback.Handler()
	for _, op := range h.ops {
		late = op(late)
	}
	r.Time = time.Now()
	return late.Handle(ctx, r)
}

// dropBuiltins leaves only a record's own attributes in the JSON: level and message travel in
// their own fields and the daemon stamps the time.
func dropBuiltins(groups []string, a slog.Attr) slog.Attr {
	if len(groups) == 0 && (a.Key == slog.TimeKey || a.Key == slog.LevelKey || a.Key == slog.MessageKey) {
		return slog.Attr{}
	}
	return a
}
