package wasm

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/realmgate/realmgate/internal/jsonvalid"
)

// This file holds the host side of the ABI that reads what a guest hands over: packed results,
// log records, AssemblyScript strings. The functions are pure so that fuzz tests can feed them
// anything a hostile guest could produce.

// ABIVersion is the version of sdk-wasm/ABI.md this backend implements.
const ABIVersion = 1

// Names of the ABI.
const (
	exportAlloc      = "realmgate_alloc"
	exportFree       = "realmgate_free"
	exportABIVersion = "realmgate_abi_version"
	exportMemory     = "memory"
	exportInitialize = "_initialize"
	procPrefix       = "realmgate_proc_"
	hostModule       = "realmgate"
)

// Bounds the host puts on what a guest hands over.
const (
	maxFailMessage = 4 << 10 // a fail message is cut here
	maxLogRecord   = 4 << 10 // a log record is cut here
	maxLogRecords  = 64      // log records per call; the rest are dropped and counted
	maxLogAttrs    = 32      // attributes of one structured log record
	maxASString    = 4 << 10 // bytes read of an AssemblyScript string in env.abort
	maxOutputLine  = 4 << 10 // a line of guest stdout/stderr is cut here
)

// errOutOfRange reports a pointer/length pair outside the guest's memory.
var errOutOfRange = errors.New("out of range of the guest's memory")

// unpackResult splits a procedure's packed result (ptr << 32 | len) and checks it against the
// guest's memory size and the output limit.
func unpackResult(packed uint64, memSize uint32, maxOutput int) (ptr, n uint32, err error) {
	ptr, n = uint32(packed>>32), uint32(packed)
	if int64(n) > int64(maxOutput) {
		return ptr, n, fmt.Errorf("the output of %d bytes exceeds the limit of %d bytes", n, maxOutput)
	}
	if n == 0 {
		return ptr, n, errors.New("the procedure returned an empty result without calling fail")
	}
	if !inRange(ptr, n, memSize) {
		return ptr, n, fmt.Errorf("the result [%d, +%d) is %w of %d bytes", ptr, n, errOutOfRange, memSize)
	}
	return ptr, n, nil
}

// inRange reports whether [ptr, ptr+n) lies inside a memory of memSize bytes.
func inRange(ptr, n, memSize uint32) bool {
	return uint64(ptr)+uint64(n) <= uint64(memSize)
}

// checkOutput checks that a procedure's output is one JSON value.
func checkOutput(out []byte) error {
	if !jsonvalid.Valid(out) {
		return fmt.Errorf("the output is not valid JSON: %q", truncate(out, 64))
	}
	return nil
}

// failMessage turns the bytes a guest passed to fail into the message the caller sees: valid
// UTF-8, cut at maxFailMessage bytes on a character boundary.
func failMessage(b []byte) string {
	return cutUTF8(strings.ToValidUTF8(string(b), "\uFFFD"), maxFailMessage)
}

// cutUTF8 returns s cut to at most n bytes without splitting a character.
func cutUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func truncate(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}

// reservedLogKeys are attribute keys the host sets itself; a guest attribute of that name is
// renamed so that a guest cannot pass itself off as another adapter or procedure.
var reservedLogKeys = map[string]bool{"adapter": true, "procedure": true, "msg": true, "level": true, "time": true, "source": true}

// parseLogRecord reads a guest log record: plain UTF-8 text, or a JSON object whose "msg"
// member is the message and whose other members become attributes, in order. The record is
// cut at maxLogRecord bytes first; a cut or malformed object is logged as text.
func parseLogRecord(b []byte) (msg string, attrs []slog.Attr) {
	b = truncate(b, maxLogRecord)
	text := func() (string, []slog.Attr) { return strings.ToValidUTF8(string(b), "\uFFFD"), nil }
	trimmed := bytes.TrimSpace(b)
	if len(trimmed) == 0 || trimmed[0] != '{' || !json.Valid(trimmed) {
		return text()
	}
	d := json.NewDecoder(bytes.NewReader(trimmed))
	d.UseNumber()
	if _, err := d.Token(); err != nil { // {
		return text()
	}
	haveMsg := false
	for d.More() {
		tok, err := d.Token()
		if err != nil {
			return text()
		}
		key, _ := tok.(string)
		var v any
		if err := d.Decode(&v); err != nil {
			return text()
		}
		if key == "msg" && !haveMsg {
			if s, ok := v.(string); ok {
				msg, haveMsg = s, true
				continue
			}
		}
		if len(attrs) == maxLogAttrs {
			continue
		}
		if reservedLogKeys[key] {
			key = "guest_" + key
		}
		attrs = append(attrs, slog.Any(key, logValue(v)))
	}
	if !haveMsg {
		return text()
	}
	return msg, attrs
}

// logValue turns JSON numbers into int64 or float64 so that handlers print them as numbers.
func logValue(v any) any {
	switch v := v.(type) {
	case json.Number:
		if i, err := v.Int64(); err == nil {
			return i
		}
		if f, err := v.Float64(); err == nil {
			return f
		}
		return v.String()
	case map[string]any:
		for k, e := range v {
			v[k] = logValue(e)
		}
		return v
	case []any:
		for i, e := range v {
			v[i] = logValue(e)
		}
		return v
	}
	return v
}

// readASString reads an AssemblyScript string from mem: ptr points at UTF-16LE code units whose
// byte length is the uint32 stored at ptr-4. Out of range or absurd lengths read as "".
func readASString(mem []byte, ptr uint32) string {
	if ptr < 4 || uint64(ptr) > uint64(len(mem)) {
		return ""
	}
	n := binary.LittleEndian.Uint32(mem[ptr-4 : ptr])
	if n%2 == 1 {
		n--
	}
	if n > maxASString {
		n = maxASString
	}
	if !inRange(ptr, n, uint32(min(uint64(len(mem)), 1<<32-1))) {
		return ""
	}
	units := make([]uint16, n/2)
	for i := range units {
		units[i] = binary.LittleEndian.Uint16(mem[ptr+uint32(2*i):])
	}
	return string(utf16.Decode(units))
}

// abortMessage is the failure message of an AssemblyScript abort.
func abortMessage(msg, file string, line, col uint32) string {
	if msg == "" {
		msg = "abort"
	}
	if file != "" {
		msg = fmt.Sprintf("%s (%s:%d:%d)", msg, file, line, col)
	}
	return cutUTF8(strings.ToValidUTF8(msg, "\uFFFD"), maxFailMessage)
}
