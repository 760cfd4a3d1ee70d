// Package conformance serves, from a plugin, the four procedures every adapter of the host's
// conformance suite implements (adapters/conformance), so that the suite and `hostd adapter
// test` can check the plugin and its SDK:
//
//	echo   returns its input byte for byte
//	fail   input {"message": string}: fails the call with that message
//	config returns the adapter's configuration (its settings and "adapter": its name), the
//	       values of settings that hold secrets redacted (see Redact)
//	log    input {"msg": string, "level": "debug"|"info"|"warn"|"error"}: writes one record
//	       through the host's log; output {"logged": true}
//
// A plugin adds them to its own procedures:
//
//	p := conformance.Procedures()
//	maps.Copy(p, myProcedures)
//	sdk.Serve(p)
package conformance

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"

	"github.com/realmgate/realmgate/plugins/sdk"
)

// Procedures returns echo, fail, config and log, a new map on every call.
func Procedures() sdk.Procedures {
	return sdk.Procedures{
		"echo": func(_ context.Context, in json.RawMessage) (json.RawMessage, error) {
			return in, nil
		},
		"fail": sdk.JSON(func(_ context.Context, in struct {
			Message string `json:"message"`
		}) (struct{}, error) {
			return struct{}{}, sdk.Fail(in.Message)
		}),
		"config": sdk.JSON(func(ctx context.Context, _ json.RawMessage) (map[string]string, error) {
			return Redact(sdk.Config(ctx)), nil
		}),
		"log": sdk.JSON(logProc),
	}
}

// Redacted is the value config answers for a setting that holds a secret.
const Redacted = "[redacted]"

// Redact replaces, in cfg, the values of the settings whose names say they hold a secret (a
// name ending in "-key", or containing "secret" or "password", in any case) by Redacted, and
// returns cfg. config answers whoever may call it, and a CA key must not leave the plugin.
func Redact(cfg map[string]string) map[string]string {
	for k := range cfg {
		l := strings.ToLower(k)
		if strings.HasSuffix(l, "-key") || strings.Contains(l, "secret") || strings.Contains(l, "password") {
			cfg[k] = Redacted
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
