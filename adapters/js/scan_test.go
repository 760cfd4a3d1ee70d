package js_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/realmgate/realmgate/adapters"
)

// TestStringsThroughTheScans echoes strings whose one character that needs care (a quote, an
// escape, a control character, non-ASCII text, a lone surrogate) sits at every offset across
// the 8- and 32-byte steps of the scans a call's JSON goes through: the C SDK's parse, QuickJS's
// ASCII checks and the result's quoting.
func TestStringsThroughTheScans(t *testing.T) {
	a, err := openScript(t, `function echo(s) { return {s: s, n: s.length}; }
function surrogate(k) { return {s: 'a'.repeat(k) + '\ud800' + 'b'.repeat(40)}; }`,
		adapters.Config{Procedures: []string{"echo", "surrogate"}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, special := range []string{`"`, `\`, "\n", "\x01", "\x1f", "é", "€", "😀", "\u2028", "\x7f"} {
		for off := 0; off <= 72; off++ {
			s := strings.Repeat("a", off) + special + strings.Repeat("b", off%37+1) + special
			in, _ := json.Marshal(map[string]any{"parameters": []string{s}})
			out, err := a.Call(ctx, "echo", in)
			if err != nil {
				t.Fatalf("%q at %d: %v", special, off, err)
			}
			var got struct {
				S string
				N int
			}
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatalf("%q at %d: %s: %v", special, off, out, err)
			}
			if diff := cmp.Diff(s, got.S); diff != "" || got.N != len([]rune(s))+strings.Count(s, "😀") {
				t.Fatalf("%q at %d: length %d, the string (-sent +echoed):\n%s", special, off, got.N, diff)
			}
		}
	}
	for k := 0; k <= 40; k++ {
		in, _ := json.Marshal(map[string]any{"parameters": []int{k}})
		out, err := a.Call(ctx, "surrogate", in)
		if err != nil {
			t.Fatalf("surrogate at %d: %v", k, err)
		}
		want := `{"s":"` + strings.Repeat("a", k) + `\ud800` + strings.Repeat("b", 40) + `"}`
		if string(out) != want {
			t.Fatalf("surrogate at %d: %s, want %s", k, out, want)
		}
	}
}

// FuzzEchoString sends any string through a JavaScript echo, in a key and in a value: what
// comes back decodes to what was sent (as Go's encoding/json sends it, invalid UTF-8 replaced),
// whatever the string's special characters and where they fall across the scans' steps.
func FuzzEchoString(f *testing.F) {
	a, err := openScript(f, `function echo(o) { return o; }`, adapters.Config{Procedures: []string{"echo"}})
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{"", "a", `"`, `\`, "\x00", "\x1f\x7f", "é€😀", "\u2028", strings.Repeat("ab\"", 20),
		strings.Repeat("x", 31) + "\n", "\xff\xfe", "\xed\x9f\xbf"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		in, _ := json.Marshal(map[string]any{"parameters": []any{map[string]string{s: s}}})
		var sent struct{ Parameters []map[string]string }
		if err := json.Unmarshal(in, &sent); err != nil {
			t.Fatal(err)
		}
		out, err := a.Call(context.Background(), "echo", in)
		if err != nil {
			t.Fatalf("echo(%q): %v", s, err)
		}
		var got map[string]string
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("echo(%q) wrote %s: %v", s, out, err)
		}
		if diff := cmp.Diff(sent.Parameters[0], got); diff != "" {
			t.Fatalf("echo(%q) (-sent +echoed):\n%s", s, diff)
		}
	})
}
