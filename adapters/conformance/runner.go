package conformance

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"
	"time"
)

// Reporter is what the helpers of this package report through: testing.TB satisfies it.
type Reporter interface {
	Helper()
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
}

// T is what a check reports through. It has the meaning of the *testing.T methods of the same
// names: Fatalf and Skipf end the check (its goroutine), Run runs a named sub-check and waits
// for it, Context is cancelled just before the check's cleanups run. Implementations are
// package adaptertest's adapter of *testing.T, and [Runner]'s checks.
type T interface {
	Reporter
	Skipf(format string, args ...any)
	Context() context.Context
	Cleanup(f func())
	Run(name string, f func(t T)) bool
}

// Runner runs checks outside go test (for `hostd adapter test`) and reports them as `go test`
// does: a "--- FAIL" line with the messages for each failed check and, when verbose, a line for
// every check that passed or was skipped.
type Runner struct {
	ctx     context.Context
	out     io.Writer
	verbose bool

	mu                      sync.Mutex // serialises writes to out and the counts
	passed, failed, skipped int
}

// NewRunner returns a runner whose checks' contexts derive from ctx and that writes its report
// to out.
func NewRunner(ctx context.Context, out io.Writer, verbose bool) *Runner {
	return &Runner{ctx: ctx, out: out, verbose: verbose}
}

// Run runs f as a top-level check and reports whether it passed (a skipped check did not fail).
func (r *Runner) Run(name string, f func(t T)) bool {
	return r.run(r.ctx, checkName(name), 0, f)
}

// checkName writes spaces as underscores, as go test names subtests.
func checkName(name string) string { return strings.ReplaceAll(name, " ", "_") }

// Counts returns how many checks (top-level and sub-checks) passed, failed and were skipped.
func (r *Runner) Counts() (passed, failed, skipped int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.passed, r.failed, r.skipped
}

// Summary is the closing line of a run: "N passed, N failed, N skipped".
func (r *Runner) Summary() string {
	p, f, s := r.Counts()
	return fmt.Sprintf("%d passed, %d failed, %d skipped", p, f, s)
}

// run runs one check in a goroutine of its own, so that Fatalf and Skipf can end it with
// runtime.Goexit as the testing package does, and reports its outcome.
func (r *Runner) run(parent context.Context, name string, depth int, f func(t T)) bool {
	ctx, cancel := context.WithCancel(parent)
	c := &check{runner: r, name: name, depth: depth, ctx: ctx}
	start := time.Now()
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer func() {
			if v := recover(); v != nil {
				c.fail(fmt.Sprintf("panic: %v", v))
			}
			cancel()
			c.runCleanups()
		}()
		f(c)
	}()
	<-done
	c.report(time.Since(start))
	return !c.hasFailed()
}

// check is one running check; it implements T.
type check struct {
	runner *Runner
	name   string
	depth  int
	ctx    context.Context

	mu       sync.Mutex // Errorf may be called from the check's own goroutines
	failed   bool
	skipped  bool
	messages []string
	cleanups []func()
}

var _ T = (*check)(nil)

func (c *check) Helper()                  {}
func (c *check) Context() context.Context { return c.ctx }

func (c *check) Cleanup(f func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cleanups = append(c.cleanups, f)
}

func (c *check) Errorf(format string, args ...any) { c.fail(fmt.Sprintf(format, args...)) }

func (c *check) Fatalf(format string, args ...any) {
	c.fail(fmt.Sprintf(format, args...))
	runtime.Goexit()
}

func (c *check) Skipf(format string, args ...any) {
	c.mu.Lock()
	c.skipped = true
	c.messages = append(c.messages, fmt.Sprintf(format, args...))
	c.mu.Unlock()
	runtime.Goexit()
}

func (c *check) Run(name string, f func(t T)) bool {
	ok := c.runner.run(c.ctx, c.name+"/"+checkName(name), c.depth+1, f)
	if !ok {
		c.mu.Lock()
		c.failed = true // a failed sub-check fails its parent, as in go test
		c.mu.Unlock()
	}
	return ok
}

func (c *check) fail(msg string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.failed = true
	c.messages = append(c.messages, msg)
}

func (c *check) hasFailed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.failed
}

// runCleanups runs the registered cleanups, last first.
func (c *check) runCleanups() {
	c.mu.Lock()
	fs := c.cleanups
	c.cleanups = nil
	c.mu.Unlock()
	for i := len(fs) - 1; i >= 0; i-- {
		fs[i]()
	}
}

func (c *check) report(d time.Duration) {
	c.mu.Lock()
	failed, skipped, msgs := c.failed, c.skipped, c.messages
	c.mu.Unlock()
	r := c.runner
	r.mu.Lock()
	defer r.mu.Unlock()
	verdict := "PASS"
	switch {
	case failed:
		verdict = "FAIL"
		r.failed++
	case skipped:
		verdict = "SKIP"
		r.skipped++
	default:
		r.passed++
	}
	if !failed && !r.verbose {
		return
	}
	indent := strings.Repeat("    ", c.depth)
	fmt.Fprintf(r.out, "%s--- %s: %s (%.2fs)\n", indent, verdict, c.name, d.Seconds())
	for _, m := range msgs {
		for _, line := range strings.Split(m, "\n") {
			fmt.Fprintf(r.out, "%s    %s\n", indent, line)
		}
	}
}

// firstDifference describes where got first departs from want, with a little context: an echo
// of 100 KiB is not worth printing whole.
func firstDifference(want, got string) string {
	i := 0
	for i < len(want) && i < len(got) && want[i] == got[i] {
		i++
	}
	from := max(0, i-20)
	cut := func(s string) string {
		return fmt.Sprintf("%q", s[from:min(len(s), i+40)])
	}
	return fmt.Sprintf("at byte %d (want %d bytes, got %d): want ...%s..., got ...%s...", i, len(want), len(got), cut(want), cut(got))
}
