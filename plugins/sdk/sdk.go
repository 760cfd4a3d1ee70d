// Package sdk is the plugin side of Realmgate's go-plugin adapters: a plugin is a main function
// that hands its procedures to Serve.
//
//	func main() {
//		sdk.Serve(sdk.Procedures{
//			"echo": func(ctx context.Context, in json.RawMessage) (json.RawMessage, error) {
//				return in, nil
//			},
//			"greet": sdk.JSON(func(ctx context.Context, in struct {
//				Name string `json:"name"`
//			}) (string, error) {
//				if in.Name == "" {
//					return "", sdk.Fail("name is required")
//				}
//				return sdk.Config(ctx)["greeting"] + ", " + in.Name, nil
//			}),
//		})
//	}
//
// The daemon launches the binary (checking its SHA-256 first), speaks gRPC to it over a socket
// secured with one-time mTLS certificates, delivers the adapter's settings with a first Start
// call and then calls procedures concurrently. A procedure's error reaches the daemon's caller
// as an *adapters.Error: [Fail] gives adapter_failure with the message, any other error gives
// adapter_failure with the error's text. Records written to [Logger] during a call travel back
// with the call's response and are written by the daemon's logger before the call returns.
//
// Package sdk/conformance serves the four procedures of the host's conformance suite (echo,
// fail, config, log), so that `hostd adapter test` can check a plugin; [PKIBridge] serves a PKI
// bridge's.
//
// The binary is meant to be run only by the daemon: run by hand, it says so and exits.
package sdk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/realmgate/realmgate/adapters"
	"github.com/realmgate/realmgate/internal/adapterjson"
	"github.com/realmgate/realmgate/plugins/internal/wire"
)

// Procedure is one procedure of a plugin: JSON in, JSON out. The input is valid JSON no larger
// than the adapter's MaxInput; the output must be valid JSON no larger than its MaxOutput.
// ctx is cancelled when the call's deadline passes or the daemon gives up on the call. A
// procedure must return soon after: the daemon asks the plugin which of the calls it gave up on
// still run once a grace period (Limits.CancelGrace, 2 s by default) has passed, and kills and
// relaunches a plugin that still runs one, failing every call in flight in it.
type Procedure func(ctx context.Context, input json.RawMessage) (json.RawMessage, error)

// Procedures maps procedure names to their implementations.
type Procedures map[string]Procedure

// Serve serves procs to the daemon and returns when the daemon shuts the plugin down. It is the
// whole of a plugin's main function. A procedure map with an empty name or a nil procedure is a
// programming error: Serve reports it on stderr and exits with status 1.
func Serve(procs Procedures) {
	stderr := os.Stderr // go-plugin redirects os.Stderr to its stdio stream; keep the real one
	s, err := newServer(procs, processLog)
	if err != nil {
		fmt.Fprintf(stderr, "realmgate plugin: %v\n", err)
		os.Exit(1)
	}
	go exitWhenOrphaned(os.Getppid(), time.Second)
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: wire.Handshake,
		Plugins:         plugin.PluginSet{wire.PluginName: &wire.Plugin{Impl: s}},
		GRPCServer: func(opts []grpc.ServerOption) *grpc.Server {
			// The daemon bounds inputs by the adapter's MaxInput, which may exceed gRPC's 4 MiB
			// default.
			return grpc.NewServer(append(opts, grpc.MaxRecvMsgSize(maxRecv))...)
		},
		Logger: hclog.New(&hclog.LoggerOptions{
			Name:       "go-plugin",
			Level:      hclog.Info,
			Output:     stderr,
			JSONFormat: true,
		}),
	})
}

// maxRecv bounds a request the plugin accepts; the daemon sends at most the adapter's MaxInput.
const maxRecv = 256 << 20

// exitWhenOrphaned ends the plugin when the daemon that launched it dies without closing it (a
// kill -9), which reparents the plugin: a plugin never outlives its daemon by more than every.
func exitWhenOrphaned(parent int, every time.Duration) {
	for range time.Tick(every) {
		if os.Getppid() != parent {
			os.Exit(2)
		}
	}
}

// JSON turns a function of typed values into a Procedure: the input is decoded into In (a
// mismatch fails the call with adapter_bad_input) and the result is encoded as JSON.
//
// The input is decoded with JSON v2 (github.com/go-json-experiment/json), whose member names
// match field names exactly: encoding/json would also fill the field "amount" from a member
// "Amount", which a policy reading input.request.parameters sees as another member. A member
// that differs from a field's name only in case is a mismatch, and so are a repeated member
// and invalid UTF-8; members that resemble no field are ignored. The output is encoded with
// encoding/json.
func JSON[In, Out any](f func(ctx context.Context, in In) (Out, error)) Procedure {
	return func(ctx context.Context, raw json.RawMessage) (json.RawMessage, error) {
		in, err := adapterjson.Decode[In](raw)
		if err != nil {
			return nil, &adapters.Error{Code: adapters.CodeBadInput, Message: fmt.Sprintf("input does not decode as %T: %v", in, err)}
		}
		out, err := f(ctx, in)
		if err != nil {
			return nil, err
		}
		b, err := json.Marshal(out)
		if err != nil {
			return nil, fmt.Errorf("encode output: %w", err)
		}
		return b, nil
	}
}

// Fail returns the error of a procedure that refuses its input or cannot do its work: the call
// fails with adapter_failure and msg as its message, which the daemon may show to its caller, so
// it must not hold secrets.
func Fail(msg string) error {
	return &adapters.Error{Code: adapters.CodeFailed, Message: msg}
}

// Failf is Fail with a format.
func Failf(format string, args ...any) error {
	return Fail(fmt.Sprintf(format, args...))
}

// BadInput returns the error of a procedure whose input is well-formed JSON of the wrong shape:
// the call fails with adapter_bad_input and msg as its message.
func BadInput(msg string) error {
	return &adapters.Error{Code: adapters.CodeBadInput, Message: msg}
}

// Config returns the adapter's configuration, as the config procedure of the conformance suite
// returns it: every setting plus "adapter": the adapter's name. It is a copy the caller may keep.
// Outside a call (ctx not a procedure's) it is nil.
func Config(ctx context.Context) map[string]string {
	c, _ := ctx.Value(callKey{}).(*call)
	if c == nil {
		return nil
	}
	return maps.Clone(c.config)
}

// errorOf turns a procedure's error into the code and message sent to the daemon. A plugin may
// report only the codes that describe a procedure's own outcome; anything else, timeouts and
// crashes included, is the daemon's to decide.
func errorOf(err error) (adapters.Code, string) {
	var e *adapters.Error
	if errors.As(err, &e) {
		switch e.Code {
		case adapters.CodeFailed, adapters.CodeBadInput, adapters.CodeUnknownProcedure:
			if e.Message != "" {
				return e.Code, e.Message
			}
			return e.Code, string(e.Code)
		}
	}
	return adapters.CodeFailed, err.Error()
}
