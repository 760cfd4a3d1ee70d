package server

import "testing"

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
		{"/apps/services/loguploader*", "/apps/services/loguploader?x", true},
	}
	for _, tc := range tests {
		if got := matchPattern(tc.pattern, tc.path); got != tc.want {
			t.Errorf("matchPattern(%q, %q) = %v, want %v", tc.pattern, tc.path, got, tc.want)
		}
	}
}

func FuzzMatchPattern(f *testing.F) {
	f.Add("/statements/*", "/statements/a")
	f.Add("/a*b*c", "/aXbYc")
	f.Fuzz(func(t *testing.T, pattern, path string) {
		if len(pattern) > 64 || len(path) > 256 {
			return
		}
		got := matchPattern(pattern, path)
		if !containsStar(pattern) && got != (pattern == path) {
			t.Fatalf("pattern without * %q vs %q: %v", pattern, path, got)
		}
		if got && !hasPrefixUpToStar(pattern, path) {
			t.Fatalf("%q matched %q without its literal prefix", pattern, path)
		}
	})
}

func containsStar(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == '*' {
			return true
		}
	}
	return false
}

func hasPrefixUpToStar(pattern, path string) bool {
	for i := 0; i < len(pattern); i++ {
		if pattern[i] == '*' {
			return len(path) >= i && path[:i] == pattern[:i]
		}
	}
	return pattern == path
}
