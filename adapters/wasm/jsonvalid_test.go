package wasm

import (
	"encoding/json"
	"strings"
	"testing"
)

var jsonCases = []string{
	``, ` `, `{}`, `[]`, `""`, `"a"`, `0`, `-0`, `01`, `-`, `1.`, `.5`, `1.5e`, `1e+`, `1E-7`, `-1.25e+300`,
	`true`, `tru`, `truex`, `null`, `nul`, `false`, `[1,]`, `[,1]`, `{"a":1,}`, `{"a" 1}`, `{a:1}`, `{"a":1}x`,
	` {"a" : [ 1 , 2 ] } `, `"\u00e9"`, `"\u00g9"`, `"\x"`, `"tab	"`, "\"nl\n\"", `"\"\\\/\b\f\n\r\t"`,
	"\"\xff\xfe\"", "\xff", `{"a":{"b":[{"c":null}]}}`, `[1 2]`, `"unterminated`, `"\`, `"\u12`,
	"\u00a0{}", "{}\u00a0", `1 2`, `[-]`, `[--1]`, `[+1]`, `[1e5.5]`, `{"":""}`,
}

func TestValidJSONMatchesEncodingJSON(t *testing.T) {
	for _, c := range jsonCases {
		if got, want := validJSON([]byte(c)), json.Valid([]byte(c)); got != want {
			t.Errorf("validJSON(%q) = %v, encoding/json says %v", c, got, want)
		}
	}
	for _, depth := range []int{maxJSONDepth - 1, maxJSONDepth, maxJSONDepth + 1} {
		for _, open := range []string{"[", `{"a":`} {
			closing := "]"
			if open != "[" {
				closing = "}"
			}
			c := strings.Repeat(open, depth) + "1" + strings.Repeat(closing, depth)
			if got, want := validJSON([]byte(c)), json.Valid([]byte(c)); got != want {
				t.Errorf("validJSON(%s nested %d deep) = %v, encoding/json says %v", open, depth, got, want)
			}
		}
	}
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

func FuzzValidJSON(f *testing.F) {
	for _, c := range jsonCases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := validJSON(b), json.Valid(b); got != want {
			t.Fatalf("validJSON(%q) = %v, encoding/json says %v", b, got, want)
		}
	})
}

func BenchmarkValidJSON(b *testing.B) {
	in, _ := json.Marshal(map[string]any{"user": "alice", "roles": []string{"admin", "ops"}, "n": 42.5,
		"note": strings.Repeat("lorem ipsum \u00e9 ", 70), "nested": map[string]any{"a": []any{1, true, nil}}})
	var validNs, oursNs float64
	b.Run("encoding-json", func(b *testing.B) {
		for b.Loop() {
			json.Valid(in)
		}
		validNs = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	})
	b.Run("validJSON", func(b *testing.B) {
		for b.Loop() {
			validJSON(in)
		}
		oursNs = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
		if validNs > 0 {
			b.ReportMetric(oursNs/validNs, "ours/encoding-json")
		}
	})
}
