package plugins

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/realmgate/realmgate/adapters"
	"github.com/realmgate/realmgate/internal/jsonvalid"
	"github.com/realmgate/realmgate/plugins/internal/pluginpb"
	"github.com/realmgate/realmgate/plugins/internal/wire"
)

// pluginCodes are the codes a plugin may report: those of a procedure's own outcome. Timeouts,
// crashes and broken output are the daemon's to observe, not the plugin's to claim.
var pluginCodes = map[adapters.Code]bool{
	adapters.CodeFailed:           true,
	adapters.CodeBadInput:         true,
	adapters.CodeUnknownProcedure: true,
}

// decodeResponse checks a plugin's response and returns its output, or the error it reports
// (Adapter and Procedure left for the caller to fill in). It trusts nothing in resp.
func decodeResponse(resp *pluginpb.CallResponse, maxOutput int) (json.RawMessage, *adapters.Error) {
	if e := resp.GetError(); e != nil {
		code := adapters.Code(e.GetCode())
		if !pluginCodes[code] {
			return nil, &adapters.Error{
				Code:    adapters.CodeBadOutput,
				Message: fmt.Sprintf("plugin reported an error with code %q, which a plugin may not report", cut(string(code), 64)),
			}
		}
		return nil, &adapters.Error{Code: code, Message: cut(e.GetMessage(), wire.MaxMessage)}
	}
	out := resp.GetOutput()
	switch {
	case len(out) == 0:
		return nil, &adapters.Error{Code: adapters.CodeBadOutput, Message: "plugin returned no output"}
	case len(out) > maxOutput:
		return nil, &adapters.Error{Code: adapters.CodeBadOutput, Message: fmt.Sprintf("output is %d bytes; the limit is %d", len(out), maxOutput)}
	case !jsonvalid.Valid(out):
		return nil, &adapters.Error{Code: adapters.CodeBadOutput, Message: "output is not valid JSON"}
	}
	return out, nil
}

// logRecord is a log record a plugin sent back with a call, checked.
type logRecord struct {
	level slog.Level
	msg   string
	attrs []slog.Attr
}

// decodeLogs checks the log records of a response and returns at most wire.MaxLogRecords of
// them with the count of records dropped, by the plugin or here.
func decodeLogs(resp *pluginpb.CallResponse) ([]logRecord, int) {
	recs := resp.GetLogs()
	dropped := int(resp.GetDroppedLogs())
	if len(recs) > wire.MaxLogRecords {
		dropped += len(recs) - wire.MaxLogRecords
		recs = recs[:wire.MaxLogRecords]
	}
	out := make([]logRecord, 0, len(recs))
	for _, r := range recs {
		level := slog.Level(min(max(r.GetLevel(), int32(slog.LevelDebug-4)), int32(slog.LevelError)))
		rec := logRecord{level: level, msg: cut(r.GetMessage(), wire.MaxLogRecord)}
		if a := r.GetAttrs(); len(a) > 0 {
			rec.attrs = decodeAttrs(a)
		}
		out = append(out, rec)
	}
	return out, dropped
}

// decodeAttrs turns a record's JSON attributes into slog attributes, sorted by key. Attributes
// that are not a bounded JSON object are replaced by a marker rather than logged raw.
func decodeAttrs(b []byte) []slog.Attr {
	var m map[string]any
	if len(b) > wire.MaxLogRecord || !bytes.HasPrefix(bytes.TrimSpace(b), []byte("{")) || json.Unmarshal(b, &m) != nil {
		return []slog.Attr{slog.Bool("attrs_invalid", true)}
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		if k == "adapter" || k == "procedure" { // the daemon's own tags
			continue
		}
		keys = append(keys, k)
	}
	slices.Sort(keys)
	attrs := make([]slog.Attr, 0, len(keys))
	for _, k := range keys {
		attrs = append(attrs, slog.Any(k, m[k]))
	}
	return attrs
}

// cut returns s as valid UTF-8 of at most n bytes, cut on a rune boundary.
func cut(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
