// Command faultplugin is a go-plugin adapter for the daemon's fault tests: "echo" answers its
// input, "pid" its process id, "hang" ignores its cancelled context and never returns, and
// "crash" ends its process.
package main

import (
	"context"
	"encoding/json"
	"os"

	"github.com/realmgate/realmgate/plugins/sdk"
)

func main() {
	sdk.Serve(sdk.Procedures{
		"echo": func(_ context.Context, in json.RawMessage) (json.RawMessage, error) { return in, nil },
		"pid": sdk.JSON(func(context.Context, json.RawMessage) (map[string]int, error) {
			return map[string]int{"pid": os.Getpid()}, nil
		}),
		"hang": func(context.Context, json.RawMessage) (json.RawMessage, error) {
			select {}
		},
		"crash": func(context.Context, json.RawMessage) (json.RawMessage, error) {
			os.Exit(7)
			return nil, nil
		},
	})
}
