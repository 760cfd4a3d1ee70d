package wasm

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/realmgate/realmgate/adapters"
)

// The fuzz targets feed the host side of the ABI what a hostile guest could hand over.

func FuzzUnpackResult(f *testing.F) {
	f.Add(uint64(1024)<<32|16, uint32(65536), 1<<20)
	f.Add(uint64(0xffffffff)<<32|0xffffffff, uint32(65536), 1<<20)
	f.Add(uint64(65530)<<32|6, uint32(65536), 100)
	f.Add(uint64(0), uint32(0), 0)
	f.Fuzz(func(t *testing.T, packed uint64, memSize uint32, maxOutput int) {
		ptr, n, err := unpackResult(packed, memSize, maxOutput)
		if err != nil {
			return
		}
		if n == 0 || uint64(ptr)+uint64(n) > uint64(memSize) || int64(n) > int64(maxOutput) {
			t.Fatalf("unpackResult(%#x, %d, %d) accepted [%d, +%d)", packed, memSize, maxOutput, ptr, n)
		}
	})
}

func TestUnpackResult(t *testing.T) {
	for _, tc := range []struct {
		packed  uint64
		memSize uint32
		err     string
	}{
		{1024<<32 | 16, 65536, ""},
		{65520<<32 | 16, 65536, ""},
		{65521<<32 | 16, 65536, "out of range"},
		{0xffffffff<<32 | 1, 65536, "out of range"},
		{0xfffffff0<<32 | 0x20, 0xffffffff, "out of range"}, // no 32-bit wrap-around
		{1024 << 32, 65536, "empty result"},
		{1024<<32 | 2000, 65536, "exceeds the limit of 1000 bytes"},
	} {
		_, _, err := unpackResult(tc.packed, tc.memSize, 1000)
		if (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("unpackResult(%#x, %d) = %v, want %q", tc.packed, tc.memSize, err, tc.err)
		}
	}
}

func FuzzParseLogRecord(f *testing.F) {
	for _, s := range []string{`plain text`, `{"msg":"m","k":1,"nested":{"a":[1,2.5,"x"]}}`, `{"msg":1}`,
		`{"adapter":"spoof","msg":"m"}`, `{"msg":"a","msg":"b"}`, "\xff\xfe", `{"msg":"m"`, ` {"msg":"padded"} `} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		msg, attrs := parseLogRecord(b)
		if !utf8.ValidString(msg) {
			t.Fatalf("message %q is not valid UTF-8", msg)
		}
		if len(msg) > maxLogRecord {
			t.Fatalf("message of %d bytes", len(msg))
		}
		if len(attrs) > maxLogAttrs {
			t.Fatalf("%d attributes", len(attrs))
		}
		for _, a := range attrs {
			if reservedLogKeys[a.Key] {
				t.Fatalf("guest set the reserved attribute %q", a.Key)
			}
		}
	})
}

func TestParseLogRecord(t *testing.T) {
	for _, tc := range []struct {
		in    string
		msg   string
		attrs []slog.Attr
	}{
		{"just text", "just text", nil},
		{`{"msg":"structured","user":"alice","n":3,"f":1.5,"ok":true}`, "structured",
			[]slog.Attr{slog.String("user", "alice"), slog.Int64("n", 3), slog.Float64("f", 1.5), slog.Bool("ok", true)}},
		{`{"adapter":"other","procedure":"x","msg":"spoof"}`, "spoof",
			[]slog.Attr{slog.String("guest_adapter", "other"), slog.String("guest_procedure", "x")}},
		{`{"msg":42}`, `{"msg":42}`, nil},         // no string message: logged as text
		{`{"msg":"cut"`, `{"msg":"cut"`, nil},     // malformed: logged as text
		{"bad \xff utf8", "bad \uFFFD utf8", nil}, // made valid
	} {
		msg, attrs := parseLogRecord([]byte(tc.in))
		if msg != tc.msg {
			t.Errorf("parseLogRecord(%s): msg = %q, want %q", tc.in, msg, tc.msg)
		}
		if diff := cmp.Diff(tc.attrs, attrs, cmp.Comparer(func(a, b slog.Attr) bool { return a.Equal(b) })); diff != "" {
			t.Errorf("parseLogRecord(%s) attrs (-want +got):\n%s", tc.in, diff)
		}
	}
}

var testAllow = []adapters.HostPort{{Host: "127.0.0.1", Port: 8080}, {Host: "PKI.example.com", Port: 443}, {Host: "::1", Port: 9000}, {Host: "zero.example", Port: 0}}

func FuzzParseHTTPRequest(f *testing.F) {
	for _, s := range []string{
		`{"method":"POST","url":"http://127.0.0.1:8080/sign","headers":{"Content-Type":"application/json"},"body":"{}"}`,
		`{"url":"https://pki.example.com/x","bodyBase64":"AAEC"}`,
		`{"url":"http://[::1]:9000/"}`,
		`{"url":"http://zero.example:0/"}`,
		`{"url":"http://127.0.0.1:8080@evil.example/"}`,
		`{"url":"http://127.0.0.1:8080/","headers":{"Host":"evil"}}`,
		`{"url":"//127.0.0.1:8080/"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		out, err := parseHTTPRequest(b, testAllow, 64)
		if err != nil {
			return
		}
		if out.url.Scheme != "http" && out.url.Scheme != "https" {
			t.Fatalf("accepted scheme %q", out.url.Scheme)
		}
		if !allowed(out.url.Scheme, out.url.Host, testAllow) {
			t.Fatalf("accepted host %q", out.url.Host)
		}
		// What the transport dials must be allowed too: the URL as it will be sent.
		u := out.url
		if u.User != nil {
			t.Fatalf("accepted user info in %q", u)
		}
		if len(out.body) > 64 {
			t.Fatalf("accepted a body of %d bytes", len(out.body))
		}
		for k := range out.headers {
			if droppedHeaders[http.CanonicalHeaderKey(k)] {
				t.Fatalf("kept header %q", k)
			}
		}
		if _, err := http.NewRequest(out.method, out.url.String(), nil); err != nil {
			t.Fatalf("accepted a request net/http refuses: %v", err)
		}
	})
}

func TestParseHTTPRequest(t *testing.T) {
	for _, tc := range []struct {
		in, err string
	}{
		{`{"url":"http://127.0.0.1:8080/x"}`, ""},
		{`{"url":"HTTPS://pki.EXAMPLE.com/x","method":"PUT","bodyBase64":"AAEC"}`, ""},
		{`{"url":"http://[::1]:9000/"}`, ""},
		{`{"url":"http://127.0.0.1:8081/x"}`, "127.0.0.1:8081 is not on the adapter's allow-list"},
		{`{"url":"http://127.0.0.1/x"}`, "127.0.0.1:80 is not on the adapter's allow-list"},
		{`{"url":"http://zero.example:0/"}`, "is not on the adapter's allow-list"},
		{`{"url":"http://zero.example/"}`, "zero.example:80 is not on the adapter's allow-list"},
		{`{"url":"https://pki.example.com.evil.example/"}`, "not on the adapter's allow-list"},
		{`{"url":"ftp://127.0.0.1:8080/"}`, `scheme "ftp" is not allowed`},
		{`{"url":"/relative"}`, `scheme "" is not allowed`},
		{`{"url":"http://u@127.0.0.1:8080/"}`, "user info"},
		{`{"url":"http://127.0.0.1:8080/","body":"a","bodyBase64":"YQ=="}`, "both body and bodyBase64"},
		{`{"url":"http://127.0.0.1:8080/","bodyBase64":"!!"}`, "bodyBase64"},
		{`{"url":"http://127.0.0.1:8080/","body":"` + strings.Repeat("x", 65) + `"}`, "the request body of 65 bytes exceeds the limit of 64 bytes"},
		{`{"url":"http://127.0.0.1:8080/","headers":{"Bad Name":"x"}}`, "header name"},
		{`{"url":"http://127.0.0.1:8080/","headers":{"X":"a\r\nInjected: 1"}}`, "line break"},
		{`{"url":"http://127.0.0.1:8080/","method":"TRACE"}`, `method "TRACE" is not allowed`},
		{`{"url":"http://127.0.0.1:8080/","proxy":"x"}`, "unknown field"},
		{`{"url":"http://127.0.0.1:8080/"} {}`, "data after"},
	} {
		_, err := parseHTTPRequest([]byte(tc.in), testAllow, 64)
		if (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("parseHTTPRequest(%s) = %v, want %q", tc.in, err, tc.err)
		}
	}
}

func FuzzEncodeHTTPResponse(f *testing.F) {
	f.Add(200, "Content-Type", "text/plain", []byte("hello"))
	f.Add(500, "X", "a\x00b", []byte{0xff, 0xfe})
	f.Fuzz(func(t *testing.T, status int, hk, hv string, body []byte) {
		b := encodeHTTPResponse(status, http.Header{hk: {hv, hv}}, body)
		var r struct {
			Status     int               `json:"status"`
			Body       *string           `json:"body"`
			BodyBase64 string            `json:"bodyBase64"`
			Headers    map[string]string `json:"headers"`
		}
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatalf("response %s is not JSON: %v", b, err)
		}
		var got []byte
		if r.Body != nil {
			got = []byte(*r.Body)
		} else {
			var err error
			if got, err = base64.StdEncoding.DecodeString(r.BodyBase64); err != nil {
				t.Fatal(err)
			}
		}
		if string(got) != string(body) {
			t.Fatalf("body %q came back as %q", body, got)
		}
		if r.Status != status {
			t.Fatalf("status %d came back as %d", status, r.Status)
		}
	})
}

func FuzzReadASString(f *testing.F) {
	mem := make([]byte, 64)
	binary.LittleEndian.PutUint32(mem[8:], 6)
	copy(mem[12:], []byte{'h', 0, 'i', 0, '!', 0})
	f.Add(mem, uint32(12))
	f.Add(mem, uint32(0))
	f.Add(mem, uint32(63))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff}, uint32(4))
	f.Fuzz(func(t *testing.T, mem []byte, ptr uint32) {
		s := readASString(mem, ptr)
		if !utf8.ValidString(s) || len(s) > 3*maxASString/2 {
			t.Fatalf("readASString = %q", s)
		}
	})
}

func TestReadASString(t *testing.T) {
	mem := make([]byte, 64)
	binary.LittleEndian.PutUint32(mem[8:], 6)
	copy(mem[12:], []byte{'h', 0, 'i', 0, '!', 0})
	binary.LittleEndian.PutUint32(mem[40:], 1000) // longer than the memory
	for _, tc := range []struct {
		ptr  uint32
		want string
	}{{12, "hi!"}, {0, ""}, {2, ""}, {44, ""}, {1000, ""}} {
		if got := readASString(mem, tc.ptr); got != tc.want {
			t.Errorf("readASString(%d) = %q, want %q", tc.ptr, got, tc.want)
		}
	}
}

func FuzzFailMessage(f *testing.F) {
	f.Add([]byte("no such user"))
	f.Add([]byte(strings.Repeat("é", 3000)))
	f.Add([]byte("\xff"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m := failMessage(b)
		if !utf8.ValidString(m) || len(m) > maxFailMessage {
			t.Fatalf("failMessage gave %d bytes, valid UTF-8 %v", len(m), utf8.ValidString(m))
		}
		if utf8.Valid(b) && len(b) <= maxFailMessage && m != string(b) {
			t.Fatalf("failMessage changed a valid message")
		}
	})
}
