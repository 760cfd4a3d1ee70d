package adapters

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseProcRef(t *testing.T) {
	tests := []struct {
		in     string
		want   ProcRef
		wantOK bool
	}{
		{"Bridge.init", ProcRef{"Bridge", "init"}, true},
		{"Bridge.a.b", ProcRef{"Bridge", "a.b"}, true}, // split at the first dot
		{"Bridge", ProcRef{}, false},
		{"Bridge.", ProcRef{}, false},
		{".init", ProcRef{}, false},
		{".", ProcRef{}, false},
		{"", ProcRef{}, false},
	}
	for _, tc := range tests {
		got, ok := ParseProcRef(tc.in)
		if diff := cmp.Diff([]any{tc.want, tc.wantOK}, []any{got, ok}); diff != "" {
			t.Errorf("ParseProcRef(%q) (-want +got):\n%s", tc.in, diff)
		}
		if ok && got.String() != tc.in {
			t.Errorf("ParseProcRef(%q).String() = %q", tc.in, got.String())
		}
		if got.IsZero() == ok {
			t.Errorf("ParseProcRef(%q).IsZero() = %v with ok %v", tc.in, got.IsZero(), ok)
		}
	}
}
