package main

import "testing"

// TestCheckSummary: hostd check counts in English, singular for one.
func TestCheckSummary(t *testing.T) {
	for _, tc := range []struct {
		errors, warnings int
		want             string
	}{
		{0, 0, "0 errors, 0 warnings"},
		{1, 1, "1 error, 1 warning"},
		{1, 0, "1 error, 0 warnings"},
		{0, 1, "0 errors, 1 warning"},
		{2, 3, "2 errors, 3 warnings"},
	} {
		if got := checkSummary(tc.errors, tc.warnings); got != tc.want {
			t.Errorf("checkSummary(%d, %d) = %q, want %q", tc.errors, tc.warnings, got, tc.want)
		}
	}
}
