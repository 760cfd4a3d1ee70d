package server

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestMatchPattern(t *testing.T) {
	tests := []struct {
		pattern, path string
		want          bool
	}{
		{"/statements/*", "/statements/2026-11.txt", true},
		{"/statements/*", "/statements/", true},
		{"/statements/*", "/statements", false},
		{"/subscribeSMS*", "/subscribeSMS", true},
		{"/subscribeSMS*", "/subscribeSMS/x/y", true},
		{"/subscribeSMS*", "/subscribe", false},
		{"/exact", "/exact", true},
		{"/exact", "/exact/", false},
		{"/a*/b*", "/a/x/b/y", true},
		{"/a*/b*", "/a/x/c/y", false},
		{"*", "/anything", true},
		{"*", "", true},
		{"**", "/x", true},
		{"/apps/services/loguploader*", "/apps/services/loguploader?x", true},
		{"/apps/*/api/*.json", "/apps/v1/api/info.json", true},
		{"/apps/*/api/*.json", "/apps/v1/api/.json", true},
		{"/apps/*/api/*.json", "/apps/v1/api/info.jsonx", false},
		{"/apps/*/api/*.json", "/apps/api/info.json", false},
		{"/apps/*/api/*.json", "/apps//api/x/api/y.json", true},
		{"/s/*x*y", "/s/xy", true},
		{"/s/*x*y", "/s/axby", true},
		{"/s/*x*y", "/s/yx", false},
		{"/s/*x*y", "/s/xxxx", false},
		{"/a*a", "/a", false}, // prefix and suffix may not overlap
		{"/a*a", "/aa", true},
		{"/a*a", "/a/a", true},
		{"*ab*ab*", "abab", true},
		{"*ab*ab*", "aba", false},
		{"*aab", "aaab", true}, // the leftmost place of a piece is not where it must end
	}
	for _, tc := range tests {
		if got := matchPattern(tc.pattern, tc.path); got != tc.want {
			t.Errorf("matchPattern(%q, %q) = %v, want %v", tc.pattern, tc.path, got, tc.want)
		}
		if ref := referenceMatch(tc.pattern, tc.path); ref != tc.want {
			t.Errorf("reference(%q, %q) = %v, want %v", tc.pattern, tc.path, ref, tc.want)
		}
	}
}

// referenceMatch is the meaning of a pattern, spelled as a regular expression (RE2: linear, but
// compiled per call): the oracle of the fuzz target.
func referenceMatch(pattern, path string) bool {
	parts := strings.Split(pattern, "*")
	for i, p := range parts {
		parts[i] = regexp.QuoteMeta(p)
	}
	return regexp.MustCompile(`(?s)\A` + strings.Join(parts, ".*") + `\z`).MatchString(path)
}

// TestMatchPatternIsLinear: paths that made the backtracking matcher quadratic (seconds for 60
// KB) must cost about as much as reading them, far beyond the daemon's path limit.
func TestMatchPatternIsLinear(t *testing.T) {
	const n = 1 << 20
	for _, tc := range []struct{ pattern, path string }{
		{"/apps/*/api/*.json", "/apps/" + strings.Repeat("/api/", n/5)},
		{"/s/*x*y", "/s/" + strings.Repeat("x", n)},
		{"*a*a*a*a*a*b", strings.Repeat("a", n)},
		{"/*" + strings.Repeat("ab*", 50) + "c", "/" + strings.Repeat("ab", n/2)},
	} {
		start := time.Now()
		for range 10 {
			if matchPattern(tc.pattern, tc.path) {
				t.Errorf("%q matched the hostile path", tc.pattern)
			}
		}
		if spent := time.Since(start) / 10; spent > 50*time.Millisecond {
			t.Errorf("%q against %d bytes took %v, want a few milliseconds", tc.pattern, len(tc.path), spent)
		}
	}
}

// BenchmarkMatchPatternHostile: the paths of the attack at the daemon's path limit, and a
// megabyte (which the limit refuses before matching).
func BenchmarkMatchPatternHostile(b *testing.B) {
	for _, n := range []int{maxPathBytes, 1 << 20} {
		for _, tc := range []struct{ name, pattern, path string }{
			{"apps", "/apps/*/api/*.json", "/apps/" + strings.Repeat("/api/", n/5) + "x.jso"},
			{"s", "/s/*x*y", "/s/" + strings.Repeat("x", n) + "y"},
			{"pieces", "*a*a*a*a*a*b*", strings.Repeat("a", n)},
		} {
			b.Run(tc.name+"/"+strconv.Itoa(len(tc.path)), func(b *testing.B) {
				b.SetBytes(int64(len(tc.path)))
				for b.Loop() {
					matchPattern(tc.pattern, tc.path)
				}
			})
		}
	}
}

func FuzzMatchPattern(f *testing.F) {
	f.Add("/statements/*", "/statements/a")
	f.Add("/a*b*c", "/aXbYc")
	f.Add("/s/*x*y", "/s/xxyxy")
	f.Add("*aab", "aaab")
	f.Add("/a*a", "/a")
	f.Fuzz(func(t *testing.T, pattern, path string) {
		// Patterns come from XML and paths are refused unless they are UTF-8, which the
		// regular expression of the oracle needs as well.
		if len(pattern) > 64 || len(path) > 256 || !utf8.ValidString(pattern) || !utf8.ValidString(path) {
			return
		}
		got := matchPattern(pattern, path)
		if want := referenceMatch(pattern, path); got != want {
			t.Fatalf("matchPattern(%q, %q) = %v, the pattern's meaning says %v", pattern, path, got, want)
		}
	})
}

func TestBasicChallenge(t *testing.T) {
	tests := []struct{ realm, want string }{
		{"Worklight Console", `Basic realm="Worklight Console", charset="UTF-8"`},
		{`say "hi"`, `Basic realm="say \"hi\"", charset="UTF-8"`},
		{`C:\admin\`, `Basic realm="C:\\admin\\", charset="UTF-8"`},
		{"two\r\nlines\x00\x7f", `Basic realm="two  lines  ", charset="UTF-8"`},
		{"Konsole für Ops", `Basic realm="Konsole für Ops", charset="UTF-8"`},
		{"", `Basic realm="", charset="UTF-8"`},
	}
	for _, tc := range tests {
		if got := basicChallenge(tc.realm); got != tc.want {
			t.Errorf("basicChallenge(%q) = %s, want %s", tc.realm, got, tc.want)
		}
	}
}

// unquote reads the RFC 9110 quoted-string at the start of s and returns its value and the rest.
func unquote(s string) (string, string, bool) {
	if !strings.HasPrefix(s, `"`) {
		return "", "", false
	}
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch c := s[i]; c {
		case '"':
			return b.String(), s[i+1:], true
		case '\\':
			if i+1 == len(s) {
				return "", "", false
			}
			i++
			b.WriteByte(s[i])
		default:
			b.WriteByte(c)
		}
	}
	return "", "", false
}

// FuzzBasicChallenge: whatever the basic-realm-name (it comes from the project's XML), the
// WWW-Authenticate value holds no control character, and a client reading its realm parameter as
// a quoted-string gets the name back (control characters as spaces), nothing more.
func FuzzBasicChallenge(f *testing.F) {
	for _, s := range []string{"Worklight Console", `a"b\c`, "x\r\nSet-Cookie: y=z", `\"`, `"`, "\\", "ü\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, realm string) {
		got := basicChallenge(realm)
		for i := 0; i < len(got); i++ {
			if c := got[i]; c < 0x20 || c == 0x7f {
				t.Fatalf("basicChallenge(%q) = %q holds control byte %#x", realm, got, c)
			}
		}
		rest, ok := strings.CutPrefix(got, "Basic realm=")
		if !ok {
			t.Fatalf("basicChallenge(%q) = %q", realm, got)
		}
		value, rest, ok := unquote(rest)
		if !ok || rest != `, charset="UTF-8"` {
			t.Fatalf("basicChallenge(%q) = %q: realm does not read as one quoted-string", realm, got)
		}
		want := []byte(realm) // byte by byte: no byte of a multi-byte UTF-8 sequence is below 0x80
		for i, c := range want {
			if c < 0x20 || c == 0x7f {
				want[i] = ' '
			}
		}
		if value != string(want) {
			t.Fatalf("basicChallenge(%q): realm reads %q, want %q", realm, value, want)
		}
	})
}
