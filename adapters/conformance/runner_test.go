package conformance

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestRunner checks that the runner gives checks the meaning *testing.T gives tests: Fatalf and
// Skipf end the check, a failed sub-check fails its parent, a panic is a failure, cleanups run
// last first after the context is cancelled, and Errorf is safe from the check's goroutines.
func TestRunner(t *testing.T) {
	var out bytes.Buffer
	r := NewRunner(t.Context(), &out, false)
	var order []string
	var ctxDoneAtCleanup bool
	tests := []struct {
		name string
		f    func(T)
		want bool
	}{
		{"passes", func(t T) {}, true},
		{"errors", func(t T) { t.Errorf("first %d", 1); t.Errorf("second") }, false},
		{"fatal ends the check", func(t T) {
			t.Fatalf("stop here")
			order = append(order, "after Fatalf") // must not run
		}, false},
		{"skip", func(t T) { t.Skipf("not exported") }, true},
		{"sub-check failure fails the parent", func(t T) {
			t.Run("inner one", func(t T) {})
			t.Run("inner two", func(t T) { t.Errorf("inner failed") })
		}, false},
		{"panic", func(t T) { panic("boom") }, false},
		{"cleanups", func(t T) {
			ctx := t.Context()
			t.Cleanup(func() { order = append(order, "first registered") })
			t.Cleanup(func() {
				order = append(order, "last registered")
				ctxDoneAtCleanup = ctx.Err() != nil
			})
		}, true},
		{"concurrent errors", func(t T) {
			var wg sync.WaitGroup
			for range 8 {
				wg.Go(func() { t.Errorf("from a goroutine") })
			}
			wg.Wait()
		}, false},
	}
	for _, tc := range tests {
		if got := r.Run(tc.name, tc.f); got != tc.want {
			t.Errorf("Run(%q) = %v, want %v", tc.name, got, tc.want)
		}
	}
	if diff := cmp.Diff([]string{"last registered", "first registered"}, order); diff != "" {
		t.Errorf("cleanups (-want +got):\n%s", diff)
	}
	if !ctxDoneAtCleanup {
		t.Error("the check's context was not cancelled when its cleanups ran")
	}
	// 10 checks in all: 8 top-level and 2 sub-checks; 6 failed (one of them a sub-check).
	if got, want := r.Summary(), "3 passed, 6 failed, 1 skipped"; got != want {
		t.Errorf("Summary() = %q, want %q", got, want)
	}
	report := out.String()
	for _, want := range []string{
		"--- FAIL: errors (", "    first 1\n    second\n",
		"--- FAIL: fatal_ends_the_check", "    stop here\n",
		"    --- FAIL: sub-check_failure_fails_the_parent/inner_two", "        inner failed\n",
		"--- FAIL: panic", "panic: boom",
		"--- FAIL: concurrent_errors",
	} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q:\n%s", want, report)
		}
	}
	if strings.Contains(report, "PASS") || strings.Contains(report, "SKIP") {
		t.Errorf("a quiet report lists checks that did not fail:\n%s", report)
	}
}

func TestRunnerVerbose(t *testing.T) {
	var out bytes.Buffer
	r := NewRunner(context.Background(), &out, true)
	r.Run("a", func(t T) { t.Run("b", func(t T) { t.Skipf("why") }) })
	want := "    --- SKIP: a/b (0.00s)\n        why\n--- PASS: a (0.00s)\n"
	// The durations are real: on a busy machine a check may take 0.01s.
	got := regexp.MustCompile(`\(\d+\.\d\ds\)`).ReplaceAllString(out.String(), "(0.00s)")
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("report (-want +got):\n%s", diff)
	}
}

func TestFirstDifference(t *testing.T) {
	got := firstDifference(`{"a":1}`, `{"a": 1}`)
	want := "at byte 5 (want 7 bytes, got 8): want ...\"{\\\"a\\\":1}\"..., got ...\"{\\\"a\\\": 1}\"..."
	if got != want {
		t.Errorf("firstDifference = %s, want %s", got, want)
	}
}
