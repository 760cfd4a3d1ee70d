package client

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"testing"
	"unicode"

	"github.com/google/go-cmp/cmp"
)

func TestParseChallengeBody(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		want    *challengeBody
		wantErr error
	}{
		{
			name: "full",
			in:   `{"securityTest":"mobileTest","step":2,"challenges":{"wl_antiXSRFRealm":{"WL-Instance-Id":"t"},"myRealm":{"authenticator":"form"}}}`,
			want: &challengeBody{SecurityTest: "mobileTest", Step: 2, Challenges: map[string]json.RawMessage{
				"wl_antiXSRFRealm": json.RawMessage(`{"WL-Instance-Id":"t"}`),
				"myRealm":          json.RawMessage(`{"authenticator":"form"}`),
			}},
		},
		{
			name: "reply to an answer",
			in:   `{"challenges":{"r":{"error":"wrong","remainingAttempts":2}}}`,
			want: &challengeBody{Challenges: map[string]json.RawMessage{"r": json.RawMessage(`{"error":"wrong","remainingAttempts":2}`)}},
		},
		{name: "not an object", in: `[1]`, wantErr: errNotChallenge},
		{name: "null", in: `null`, wantErr: errNotChallenge},
		{name: "error body", in: `{"error":"invalid_token"}`, wantErr: errNotChallenge},
		{name: "syntax", in: `{"challenges"`, wantErr: ErrMalformedResponse},
		{name: "step not a number", in: `{"step":"1","challenges":{"r":{}}}`, wantErr: ErrMalformedResponse},
		{name: "negative step", in: `{"step":-1,"challenges":{"r":{}}}`, wantErr: ErrMalformedResponse},
		{name: "test not a string", in: `{"securityTest":1,"challenges":{"r":{}}}`, wantErr: ErrMalformedResponse},
		{name: "challenges null", in: `{"challenges":null}`, wantErr: ErrMalformedResponse},
		{name: "empty realm", in: `{"challenges":{"":{}}}`, wantErr: ErrMalformedResponse},
		{name: "slash in realm", in: `{"challenges":{"a/b":{}}}`, wantErr: ErrMalformedResponse},
		{name: "dot dot realm", in: `{"challenges":{"..":{}}}`, wantErr: ErrMalformedResponse},
		{name: "unicode realm", in: `{"challenges":{"réalm":{}}}`, wantErr: ErrMalformedResponse},
		{name: "payload null", in: `{"challenges":{"r":null}}`, wantErr: ErrMalformedResponse},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseChallengeBody([]byte(tt.in))
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("error %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestSanitize(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		max  int
		want string
	}{
		{"plain text", 100, "plain text"},
		{"a\nb\rc\td\x00e\x1b", 100, "abcde"},
		{"line\u2028sep", 100, "linesep"},
		{"bad \xff utf8", 100, "bad  utf8"},
		{"ééééé", 4, "éééé…"},
		{"éééé", 4, "éééé"},
	}
	for _, tt := range tests {
		if got := sanitize(tt.in, tt.max); got != tt.want {
			t.Errorf("sanitize(%q, %d) = %q, want %q", tt.in, tt.max, got, tt.want)
		}
	}
}

func TestCleanLink(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"https://apps.example.com/x?y=1": "https://apps.example.com/x?y=1",
		"http://a.example":               "http://a.example",
		"javascript:alert(1)":            "",
		"file:///etc/passwd":             "",
		"//no-scheme.example":            "",
		"https:///nohost":                "",
		"":                               "",
	}
	for in, want := range tests {
		if got := cleanLink(in); got != want {
			t.Errorf("cleanLink(%q) = %q, want %q", in, got, want)
		}
	}
}

// A call waiting for another call's challenge settlement gives up when its context ends.
func TestLockHonoursContext(t *testing.T) {
	t.Parallel()
	c, err := New(Config{BaseURL: "http://127.0.0.1:1", AppID: "a", Environment: "android", AppVersion: "1"})
	if err != nil {
		t.Fatal(err)
	}
	held, release, err := c.lock(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// The holder may take it again (a handler's own requests).
	if _, again, err := c.lock(held); err != nil {
		t.Fatalf("re-entering from the holder's context: %v", err)
	} else {
		again()
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := c.lock(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("lock with a cancelled context: %v, want context.Canceled", err)
	}
	release()
	if _, r, err := c.lock(context.Background()); err != nil {
		t.Fatalf("lock after release: %v", err)
	} else {
		r()
	}
}

func FuzzParseChallengeBody(f *testing.F) {
	for _, s := range []string{
		`{"securityTest":"t","step":1,"challenges":{"wl_antiXSRFRealm":{"WL-Instance-Id":"x"},"r":{"authenticator":"form"}}}`,
		`{"challenges":{"r":{"error":"wrong","remainingAttempts":4}}}`,
		`{"challenges":{"r":{"token":"n","entity":"application"}}}`,
		`{"challenges":{"../x":{}}}`,
		`{"error":"invalid_token"}`,
		`[]`, `null`, `{"challenges":`, `{"challenges":{"r":[]}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		ch, err := parseChallengeBody(b)
		if err != nil {
			if ch != nil {
				t.Fatalf("a challenge with an error")
			}
			if !errors.Is(err, errNotChallenge) && !errors.Is(err, ErrMalformedResponse) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if len(ch.Challenges) == 0 || len(ch.Challenges) > maxRealms || ch.Step < 0 {
			t.Fatalf("accepted a challenge of %d realms, step %d", len(ch.Challenges), ch.Step)
		}
		for realm, payload := range ch.Challenges {
			if checkRealmName(realm) != nil {
				t.Fatalf("accepted realm name %q", realm)
			}
			if u := (&url.URL{Scheme: "http", Host: "h", Path: "/"}).JoinPath("api", "auth", url.PathEscape(realm)); u.Path != "/api/auth/"+realm {
				t.Fatalf("realm %q escapes its path: %s", realm, u.Path)
			}
			if !isObject(payload) || !json.Valid(payload) {
				t.Fatalf("accepted payload %q", payload)
			}
			info, err := parsePayloadInfo(payload)
			if err != nil {
				if !errors.Is(err, ErrMalformedResponse) {
					t.Fatalf("untyped payload error %v", err)
				}
				continue
			}
			checkClean(t, info.Error)
			if info.RemainingAttempts != nil && *info.RemainingAttempts < 0 {
				t.Fatalf("negative remainingAttempts")
			}
		}
	})
}

func FuzzParseReply(f *testing.F) {
	for _, s := range []string{
		`{"realm":"r","status":"success","identity":{"userId":"u"}}`,
		`{"realm":"r","status":"provisioned","certificate":"Q0VSVA==","token":"n"}`,
		`{"error":"application_disabled","message":"update\n","downloadLink":"https://x.example/app"}`,
		`{"error":"BAD","downloadLink":"javascript:x"}`,
		`<html>`, `{"status":3}`, `{"realm":"other","status":"success"}`,
	} {
		f.Add([]byte(s), 403)
	}
	f.Fuzz(func(t *testing.T, b []byte, status int) {
		e := parseError(status, b, "r")
		if e.Status != status || e.Realm != "r" {
			t.Fatalf("status or realm changed: %+v", e)
		}
		if e.Code != cleanCode(e.Code) {
			t.Fatalf("code %q kept", e.Code)
		}
		checkClean(t, e.Message)
		if e.DownloadLink != "" && !strings.HasPrefix(e.DownloadLink, "http://") && !strings.HasPrefix(e.DownloadLink, "https://") {
			t.Fatalf("download link %q kept", e.DownloadLink)
		}
		_ = e.Error()

		r, err := parseAuthResult("r", b)
		if err != nil {
			if !errors.Is(err, ErrMalformedResponse) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if r.Status == "" {
			t.Fatalf("accepted a reply without status")
		}
		if r.Identity != nil && !isObject(r.Identity) {
			t.Fatalf("accepted identity %q", r.Identity)
		}
	})
}

func checkClean(t *testing.T, s string) {
	t.Helper()
	if len([]rune(s)) > maxMessageLen+1 {
		t.Fatalf("text of %d runes kept", len([]rune(s)))
	}
	for _, r := range s {
		if unicode.IsControl(r) || r == '\uFFFD' {
			t.Fatalf("text %q keeps control or invalid characters", s)
		}
	}
}
