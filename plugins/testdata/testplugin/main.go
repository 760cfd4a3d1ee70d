// Command testplugin is the plugin the backend's tests launch: the core conformance procedures
// plus procedures that misbehave on request.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/realmgate/realmgate/plugins/sdk"
)

// hostileStderr is a line go-plugin's own stderr parser panics on.
const hostileStderr = `{"@message": 1, "@level": 5, "@timestamp": 7}`

// The init of this process, for the tests of CallInit: how many times setup ran, and the input
// of the last one.
var (
	initMu   sync.Mutex
	inits    int
	initWith json.RawMessage
)

func main() {
	for _, arg := range os.Args[1:] {
		switch arg {
		case "-hostile-stderr":
			fmt.Fprintln(os.Stderr, hostileStderr)
		case "-exit-at-start":
			fmt.Fprintln(os.Stderr, "testplugin: told to exit at start")
			os.Exit(3)
		}
	}
	sdk.Serve(sdk.Procedures{
		"echo": func(_ context.Context, in json.RawMessage) (json.RawMessage, error) { return in, nil },
		"fail": sdk.JSON(func(_ context.Context, in struct {
			Message string `json:"message"`
		}) (struct{}, error) {
			return struct{}{}, sdk.Fail(in.Message)
		}),
		"config": sdk.JSON(func(ctx context.Context, _ json.RawMessage) (map[string]string, error) {
			return sdk.Config(ctx), nil
		}),
		"log": sdk.JSON(func(ctx context.Context, in struct {
			Msg   string `json:"msg"`
			Level string `json:"level"`
		}) (map[string]bool, error) {
			var l slog.Level
			if err := l.UnmarshalText([]byte(in.Level)); err != nil {
				return nil, sdk.BadInput(err.Error())
			}
			sdk.Logger(ctx).Log(ctx, l, in.Msg, "from", "testplugin")
			return map[string]bool{"logged": true}, nil
		}),
		// sleep waits ms milliseconds or until its call is cancelled. It says on stderr (the
		// process log, which reaches the daemon at once) that it started, so a test knows the
		// call is in flight.
		"sleep": sdk.JSON(func(ctx context.Context, in struct {
			MS int `json:"ms"`
		}) (map[string]int, error) {
			sdk.Logger(context.Background()).Info("sleep started", "ms", in.MS)
			select {
			case <-time.After(time.Duration(in.MS) * time.Millisecond):
				return map[string]int{"slept": in.MS}, nil
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}),
		// hang ignores its context and never returns: the daemon must kill the process once
		// the grace period after the call's deadline has passed.
		"hang": func(context.Context, json.RawMessage) (json.RawMessage, error) {
			sdk.Logger(context.Background()).Info("hang started")
			select {}
		},
		"pid": sdk.JSON(func(context.Context, json.RawMessage) (map[string]int, error) {
			return map[string]int{"pid": os.Getpid()}, nil
		}),
		"env": sdk.JSON(func(context.Context, json.RawMessage) ([]string, error) {
			return os.Environ(), nil
		}),
		"exit": func(context.Context, json.RawMessage) (json.RawMessage, error) {
			os.Exit(4)
			return nil, nil
		},
		"panic": func(context.Context, json.RawMessage) (json.RawMessage, error) {
			panic("testplugin: told to panic")
		},
		// big returns a JSON string of n bytes (plus its quotes).
		"big": sdk.JSON(func(_ context.Context, n int) (string, error) {
			return strings.Repeat("x", n), nil
		}),
		"badjson": func(context.Context, json.RawMessage) (json.RawMessage, error) {
			return json.RawMessage(`{"unterminated": `), nil
		},
		"spam": sdk.JSON(func(ctx context.Context, n int) (int, error) {
			for i := range n {
				sdk.Logger(ctx).Info("spam", "i", i)
			}
			return n, nil
		}),
		// setup is an init procedure (adapters.Init) that records its input. It fails when the
		// input has a member "fail" and exits when it has a member "exit".
		"setup": sdk.JSON(func(_ context.Context, in json.RawMessage) (struct{}, error) {
			var opts struct {
				Fail string `json:"fail"`
				Exit bool   `json:"exit"`
			}
			_ = json.Unmarshal(in, &opts)
			initMu.Lock()
			defer initMu.Unlock()
			inits++
			initWith = append(json.RawMessage(nil), in...)
			if opts.Exit {
				os.Exit(5)
			}
			if opts.Fail != "" {
				return struct{}{}, sdk.Fail(opts.Fail)
			}
			return struct{}{}, nil
		}),
		// setupState returns what setup recorded.
		"setupState": sdk.JSON(func(context.Context, json.RawMessage) (map[string]any, error) {
			initMu.Lock()
			defer initMu.Unlock()
			return map[string]any{"inits": inits, "input": initWith}, nil
		}),
		// stderr writes a line to the process's stderr and to os.Stdout.
		"stderr": sdk.JSON(func(ctx context.Context, line string) (bool, error) {
			fmt.Fprintln(os.NewFile(2, "stderr"), line)
			fmt.Fprintln(os.Stdout, "stdout: "+line)
			return true, nil
		}),
	})
}
