package jsonvalid

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

var cases = []string{
	``, ` `, `{}`, `[]`, ` { } `, `{"a":1}`, `{"a":1,}`, `{"a" 1}`, `{,}`, `[,]`, `[1,]`, `[1 2]`, `{"a":1 "b":2}`,
	`{"a":{"b":[1,{"c":null}]}}`, `[[[]]]`, `[[[]]`, `[]]`, `{]`, `[}`, `{"a"}`, `{1:2}`, `{"a":}`,
	`"x"`, `"`, `"\"`, `"\\"`, `"\u00e9\uD83D\ude00"`, `"\u00g0"`, `"\u00e"`, `"\x"`, "\"\x1f\"", "\"\x7f\xff\"",
	"\"tab\tin\"", `"\/\b\f\n\r\t"`, "\xef\xbb\xbf{}",
	`0`, `-0`, `01`, `-`, `1.`, `.5`, `1.5e`, `1e+`, `1E-7`, `1e07`, `-1.25e+300`, `+1`, `0x1`, `123456789012345678901234567890`,
	`true`, `tru`, `truee`, `false`, `null`, `nul`, `NaN`, `[true,false,null]`,
	"{\n\t\"a\" :\r [ 1 , 2 ]\n}", `1 2`, `{} {}`, `{}x`, "[\v]", `[1]` + "\x00",
	`""`, `truex`, `[,1]`, `{a:1}`, "\"nl\n\"", "\xff", `"unterminated`, `"\u12`, "\u00a0{}", "{}\u00a0",
	`[-]`, `[--1]`, `[+1]`, `[1e5.5]`, `{"":""}`, `"ab\u0041cd\"ef\\gh"`, "\"0123456\x01\"", "\"01234567\x1f89\"",
}

func TestHasControl(t *testing.T) {
	for i := range 24 {
		for _, c := range []byte{0x00, 0x0a, 0x1f, 0x20, 0x7f, 0x80, 0x9f, 0xff} {
			b := []byte(strings.Repeat("a", 24))
			b[i] = c
			if got, want := hasControl(b), c < 0x20; got != want {
				t.Errorf("hasControl with %#x at %d = %v", c, i, got)
			}
		}
	}
}

func TestValidMatchesEncodingJSON(t *testing.T) {
	for _, c := range cases {
		if got, want := Valid([]byte(c)), json.Valid([]byte(c)); got != want {
			t.Errorf("Valid(%q) = %v, encoding/json says %v", c, got, want)
		}
	}
}

func TestDepth(t *testing.T) {
	for _, depth := range []int{maxDepth, maxDepth + 1} {
		for _, open := range []string{"[", `{"a":`} {
			closer := map[string]string{"[": "]", `{"a":`: "}"}[open]
			for _, inner := range []string{"", "1"} {
				doc := []byte(strings.Repeat(open, depth) + inner + strings.Repeat(closer, depth))
				if got, want := Valid(doc), json.Valid(doc); got != want {
					t.Errorf("depth %d of %q with %q inside: Valid %v, encoding/json %v", depth, open, inner, got, want)
				}
			}
		}
	}
}

// FuzzValid holds Valid equal to encoding/json.Valid.
func FuzzValid(f *testing.F) {
	for _, c := range cases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if got, want := Valid(data), json.Valid(data); got != want {
			t.Fatalf("Valid(%q) = %v, encoding/json says %v", data, got, want)
		}
	})
}

// BenchmarkValid reports Valid's speed-up over encoding/json.Valid on a 10 KiB document, both
// measured in the same loop.
func BenchmarkValid(b *testing.B) {
	var doc strings.Builder
	doc.WriteString(`{"data":"` + strings.Repeat("0123456789abcdef", 4<<10/16) + `","items":[`)
	for i := range 100 {
		if i > 0 {
			doc.WriteString(",")
		}
		doc.WriteString(`{"i":12345,"s":"item \u00e9\u2603","f":1.5e-3,"ok":true,"n":null}`)
	}
	doc.WriteString(`]}`)
	data := []byte(doc.String())
	var mine, std time.Duration
	for b.Loop() {
		t0 := time.Now()
		Valid(data)
		t1 := time.Now()
		json.Valid(data)
		mine, std = mine+t1.Sub(t0), std+time.Since(t1)
	}
	b.ReportMetric(float64(std)/float64(mine), "speedup-vs-encoding/json")
}
