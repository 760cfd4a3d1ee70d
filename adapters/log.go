package adapters

import (
	"context"
	"log/slog"
	"time"
)

// GuestCallMessage is the message of the debug record a backend writes each time it enters a
// guest: one record per procedure run in a wasm instance or a plugin process. Counting these
// records counts the work guests do.
const GuestCallMessage = "guest call"

// LogGuestCall writes the debug record of one guest call: the procedure, how long it took and,
// when it failed, its code. It costs nothing when the logger does not log debug records.
func LogGuestCall(ctx context.Context, log *slog.Logger, procedure string, took time.Duration, failed Code) {
	if !log.Enabled(ctx, slog.LevelDebug) {
		return
	}
	attrs := []slog.Attr{slog.String("procedure", procedure), slog.Duration("duration", took)}
	if failed != "" {
		attrs = append(attrs, slog.String("code", string(failed)))
	}
	log.LogAttrs(ctx, slog.LevelDebug, GuestCallMessage, attrs...)
}
