// Command hostd is the Realmgate daemon and its command line: it serves a Worklight-shaped
// project (hostd serve), validates one (hostd check), and writes the Rego its security tests
// compile to (hostd policy compile).
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
