// Command pkibridge is an example go-plugin adapter: the core procedures every adapter of the
// conformance suite implements (echo, fail, config, log) and a PKI bridge that issues client
// certificates from a CA whose certificate and key are the adapter's settings "ca-cert" and
// "ca-key" (PEM).
//
// Build it, pin its SHA-256 and point an adapter at it:
//
//	go build -o pkibridge ./plugins/examples/pkibridge
//	sha256sum pkibridge
//
//	adapters.Config{Name: "PKIBridge", Kind: "plugin", Command: []string{"./pkibridge"}, SHA256: "…",
//		Settings: map[string]string{"ca-cert": certPEM, "ca-key": keyPEM, "validity-days": "365"}}
package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"maps"
	"strings"

	"github.com/realmgate/realmgate/plugins/sdk"
)

func main() {
	sdk.Serve(procedures())
}

// procedures returns everything the plugin serves.
func procedures() sdk.Procedures {
	p := sdk.Procedures{
		"echo": func(_ context.Context, in json.RawMessage) (json.RawMessage, error) {
			return in, nil
		},
		"fail": sdk.JSON(func(_ context.Context, in struct {
			Message string `json:"message"`
		}) (struct{}, error) {
			return struct{}{}, sdk.Fail(in.Message)
		}),
		"config": sdk.JSON(func(ctx context.Context, _ json.RawMessage) (map[string]string, error) {
			return redact(sdk.Config(ctx)), nil
		}),
		"log": sdk.JSON(logProc),
	}
	maps.Copy(p, bridge().Procedures())
	return p
}

// redact hides the values of settings that hold secrets: config answers any caller of the
// adapter, and a CA key must not leave the plugin.
func redact(cfg map[string]string) map[string]string {
	for k := range cfg {
		l := strings.ToLower(k)
		if strings.HasSuffix(l, "-key") || strings.Contains(l, "secret") || strings.Contains(l, "password") {
			cfg[k] = "[redacted]"
		}
	}
	return cfg
}

type logInput struct {
	Msg   string `json:"msg"`
	Level string `json:"level"`
}

func logProc(ctx context.Context, in logInput) (map[string]bool, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(in.Level)); err != nil {
		return nil, sdk.BadInput("level must be debug, info, warn or error")
	}
	sdk.Logger(ctx).Log(ctx, level, in.Msg)
	return map[string]bool{"logged": true}, nil
}
