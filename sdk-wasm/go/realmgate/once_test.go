package realmgate

import (
	"errors"
	"testing"
)

// TestOnceResult: every answer of realmgate.once maps to a use or to an error; an answer the
// ABI does not define is ErrOnceUnavailable (refuse), never a first use.
func TestOnceResult(t *testing.T) {
	for _, tc := range []struct {
		r     int32
		first bool
		err   error
	}{
		{1, true, nil},
		{0, false, nil},
		{-1, false, ErrOnceUnavailable},
		{-2, false, ErrOnceArgument},
		{-3, false, ErrOnceLimit},
		{-4, false, ErrOnceUnavailable},
		{2, false, ErrOnceUnavailable},
	} {
		first, err := onceResult(tc.r)
		if first != tc.first || !errors.Is(err, tc.err) || (tc.err == nil) != (err == nil) {
			t.Errorf("onceResult(%d) = %v, %v; want %v, %v", tc.r, first, err, tc.first, tc.err)
		}
	}
}
