package plugins

import (
	"context"
	"io"
	"log"
	"log/slog"

	"github.com/hashicorp/go-hclog"
)

// hclogBridge is the hclog.Logger go-plugin logs to, writing to the adapter's slog logger.
type hclogBridge struct {
	log     *slog.Logger
	name    string
	implied []any
	// mute is the name go-plugin gives the logger it parses the plugin's stderr with (the
	// binary's base name). Its Named child reports level Off, which turns go-plugin's parser
	// off: the backend reads stderr itself (see stderrLog).
	mute string
	off  bool
}

var _ hclog.Logger = (*hclogBridge)(nil)

func newHCLogBridge(log *slog.Logger, mute string) *hclogBridge {
	return &hclogBridge{log: log, mute: mute}
}

// slogLevel maps hclog levels onto slog's; trace sits below debug.
func slogLevel(l hclog.Level) slog.Level {
	switch l {
	case hclog.Trace:
		return slog.LevelDebug - 4
	case hclog.Debug:
		return slog.LevelDebug
	case hclog.Warn:
		return slog.LevelWarn
	case hclog.Error:
		return slog.LevelError
	default:
		return slog.LevelInfo
	}
}

func (b *hclogBridge) Log(level hclog.Level, msg string, args ...any) {
	if b.off || level == hclog.Off {
		return
	}
	ctx := context.Background()
	sl := slogLevel(level)
	if !b.log.Enabled(ctx, sl) {
		return
	}
	all := make([]any, 0, 2+len(b.implied)+len(args))
	if b.name != "" {
		all = append(all, "logger", b.name)
	}
	all = append(all, b.implied...)
	all = append(all, args...)
	b.log.Log(ctx, sl, msg, all...)
}

func (b *hclogBridge) Trace(msg string, args ...any) { b.Log(hclog.Trace, msg, args...) }
func (b *hclogBridge) Debug(msg string, args ...any) { b.Log(hclog.Debug, msg, args...) }
func (b *hclogBridge) Info(msg string, args ...any)  { b.Log(hclog.Info, msg, args...) }
func (b *hclogBridge) Warn(msg string, args ...any)  { b.Log(hclog.Warn, msg, args...) }
func (b *hclogBridge) Error(msg string, args ...any) { b.Log(hclog.Error, msg, args...) }

func (b *hclogBridge) enabled(l hclog.Level) bool {
	return !b.off && b.log.Enabled(context.Background(), slogLevel(l))
}

func (b *hclogBridge) IsTrace() bool { return b.enabled(hclog.Trace) }
func (b *hclogBridge) IsDebug() bool { return b.enabled(hclog.Debug) }
func (b *hclogBridge) IsInfo() bool  { return b.enabled(hclog.Info) }
func (b *hclogBridge) IsWarn() bool  { return b.enabled(hclog.Warn) }
func (b *hclogBridge) IsError() bool { return b.enabled(hclog.Error) }

func (b *hclogBridge) ImpliedArgs() []any { return b.implied }

func (b *hclogBridge) With(args ...any) hclog.Logger {
	c := *b
	c.implied = append(append([]any(nil), b.implied...), args...)
	return &c
}

func (b *hclogBridge) Name() string { return b.name }

func (b *hclogBridge) Named(name string) hclog.Logger {
	c := *b
	if b.name != "" {
		c.name = b.name + "." + name
	} else {
		c.name = name
	}
	if b.mute != "" && name == b.mute {
		c.off = true
	}
	return &c
}

func (b *hclogBridge) ResetNamed(name string) hclog.Logger {
	c := *b
	c.name = name
	return &c
}

// SetLevel does nothing: the slog handler decides what is written.
func (b *hclogBridge) SetLevel(hclog.Level) {}

func (b *hclogBridge) GetLevel() hclog.Level {
	for _, l := range []hclog.Level{hclog.Trace, hclog.Debug, hclog.Info, hclog.Warn, hclog.Error} {
		if b.enabled(l) {
			return l
		}
	}
	return hclog.Off
}

func (b *hclogBridge) StandardLogger(opts *hclog.StandardLoggerOptions) *log.Logger {
	return log.New(b.StandardWriter(opts), "", 0)
}

func (b *hclogBridge) StandardWriter(*hclog.StandardLoggerOptions) io.Writer {
	if b.off {
		return io.Discard
	}
	return slog.NewLogLogger(b.log.Handler(), slog.LevelInfo).Writer()
}
