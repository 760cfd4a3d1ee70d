package sdktest

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/realmgate/realmgate/adapters/adaptertest"
)

// The C and AssemblyScript SDKs carry their own JSON parsers and writers. These fuzz targets
// feed arbitrary bytes to the examples' reencode procedure through the bare host (the real host
// would refuse invalid JSON before the guest saw it) and hold the guest to Go's encoding/json:
// it accepts exactly what json.Valid accepts (up to its nesting limit), and what it writes back
// is valid UTF-8 JSON that decodes to the same value, numbers spelled the same.

func FuzzCJSON(f *testing.F)  { fuzzJSON(f, "c") }
func FuzzASJSON(f *testing.F) { fuzzJSON(f, "assemblyscript") }

// guestMaxDepth is the nesting limit of the SDKs' parsers (RG_JSON_MAX_DEPTH, MAX_DEPTH).
const guestMaxDepth = 128

func fuzzJSON(f *testing.F, langName string) {
	var lang language
	for _, l := range languages {
		if l.Name == langName {
			lang = l
		}
	}
	_, wasm := example(f, lang)
	h := newBareHost(f, wasm, nil)
	in := h.instance(f)

	for _, e := range adaptertest.EchoInputs() {
		f.Add([]byte(e.JSON))
	}
	for _, s := range []string{
		``, ` `, `{`, `}`, `[1,]`, `{"a":1,}`, `{"a"}`, `01`, `1.`, `.5`, `-`, `1e`, `1e+`, `tru`, `nul`,
		`"\u12"`, `"\x"`, "\"\x01\"", `"\ud800"`, `"\udc00\ud800"`, `"\ud83d\ude00"`, "\"\xff\xfe\"",
		"\"\xed\xa0\x80\"", `{"a":1,"a":2}`, `[1e400]`, `-0`, `1E-7`, "[\"\u2028\"]",
		strings.Repeat("[", guestMaxDepth) + strings.Repeat("]", guestMaxDepth),
		strings.Repeat("[", guestMaxDepth+1) + strings.Repeat("]", guestMaxDepth+1),
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, input []byte) {
		// A guard against a guest that loops, not a performance assertion.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		out, _, err := in.call(ctx, "reencode", input)
		var ge *guestError
		if err != nil && !errors.As(err, &ge) {
			// A trap or a broken result: the instance is unusable; that is the bug.
			in = h.instance(t)
			t.Fatalf("reencode(%q) broke the ABI: %v", input, err)
		}
		valid := json.Valid(input)
		if !valid {
			if err == nil {
				t.Fatalf("reencode(%q) accepted invalid JSON, wrote %q", input, out)
			}
			return
		}
		if err != nil {
			if depth(input) > guestMaxDepth && strings.Contains(ge.msg, "too deep") {
				return
			}
			t.Fatalf("reencode(%q) refused valid JSON: %v", input, err)
		}
		if !utf8.Valid(out) || !json.Valid(out) {
			t.Fatalf("reencode(%q) wrote %q, not valid UTF-8 JSON", input, out)
		}
		want, werr := decode(input)
		got, gerr := decode(out)
		if werr != nil || gerr != nil {
			t.Fatalf("decoding: input %v, output %v", werr, gerr)
		}
		if !reflect.DeepEqual(want, got) {
			// No cmp.Diff: on 100 KiB values it runs for minutes.
			t.Fatalf("reencode(%.300q) = %.300q, a different value", input, out)
		}
	})
}

func decode(b []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	err := d.Decode(&v)
	return v, err
}

// depth is the deepest nesting of arrays and objects in valid JSON.
func depth(b []byte) int {
	d, max, inStr, esc := 0, 0, false, false
	for _, c := range b {
		switch {
		case esc:
			esc = false
		case inStr && c == '\\':
			esc = true
		case c == '"':
			inStr = !inStr
		case inStr:
		case c == '[' || c == '{':
			d++
			if d > max {
				max = d
			}
		case c == ']' || c == '}':
			d--
		}
	}
	return max
}

// The C and Rust SDKs decode base64 themselves (binary HTTP response bodies). These targets
// hand the fuzzer's text to the examples' fetch procedure as a response's bodyBase64 through
// the bare host and hold the decoders to Go's: the same inputs accepted, the same bytes out.

func FuzzCBase64(f *testing.F)    { fuzzBase64(f, "c") }
func FuzzRustBase64(f *testing.F) { fuzzBase64(f, "rust") }

func fuzzBase64(f *testing.F, langName string) {
	var lang language
	for _, l := range languages {
		if l.Name == langName {
			lang = l
		}
	}
	_, wasm := example(f, lang)
	h := newBareHost(f, wasm, nil)
	var body string
	h.http = func([]byte) []byte {
		b, _ := json.Marshal(map[string]any{"status": 200, "bodyBase64": body})
		return b
	}
	in := h.instance(f)
	for _, s := range []string{"", "QQ==", "QUI=", "QUJD", "QUJDRA==", "////", "+/+/", "Q", "QQ=", "QQ==QQ==",
		"=QQ=", "Q===", "QUJD\n", "QU JD", "QUJDRA=", "w7zimIM=", "/w==", "AAB=", "\xff\xfe"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if strings.ContainsAny(s, "\r\n") || !utf8.ValidString(s) {
			return // Go's decoder skips line breaks; the host only sends base64 text
		}
		body = s
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		out, _, err := in.call(ctx, "fetch", []byte(`{"url":"http://127.0.0.1:1/"}`))
		var ge *guestError
		if err != nil && !errors.As(err, &ge) {
			in = h.instance(t)
			t.Fatalf("fetch with bodyBase64 %q broke the ABI: %v", s, err)
		}
		want, werr := base64.StdEncoding.DecodeString(s)
		if werr != nil {
			if err == nil {
				t.Fatalf("bodyBase64 %q: accepted, Go refuses it (%v); output %q", s, werr, out)
			}
			return
		}
		if err != nil {
			t.Fatalf("bodyBase64 %q: refused (%v), Go decodes it to %q", s, err, want)
		}
		var got struct{ Body string }
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("output %q: %v", out, err)
		}
		if utf8.Valid(want) && got.Body != string(want) {
			t.Fatalf("bodyBase64 %q: body %q, want %q", s, got.Body, want)
		}
	})
}
