// Command holdplugin is a go-plugin adapter for the daemon's runtime tests: "pid" answers its
// process id, and "hold" keeps its call in flight until the test lets it go, so that a test can
// reload the configuration under a running request and see which process served it.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"time"

	"github.com/realmgate/realmgate/plugins/sdk"
)

type pid struct {
	PID int `json:"pid"`
}

func main() {
	sdk.Serve(sdk.Procedures{
		"pid": sdk.JSON(func(context.Context, json.RawMessage) (pid, error) {
			return pid{os.Getpid()}, nil
		}),
		// hold takes {"parameters": [DIR]}: it creates DIR/started, waits until DIR/release
		// exists, and answers its process id.
		"hold": sdk.JSON(func(ctx context.Context, in struct {
			Parameters []string `json:"parameters"`
		}) (pid, error) {
			if len(in.Parameters) != 1 {
				return pid{}, errors.New("give the folder to hold on")
			}
			dir := in.Parameters[0]
			if err := os.WriteFile(filepath.Join(dir, "started"), nil, 0o644); err != nil {
				return pid{}, err
			}
			for {
				if _, err := os.Stat(filepath.Join(dir, "release")); err == nil {
					return pid{os.Getpid()}, nil
				}
				select {
				case <-ctx.Done():
					return pid{}, ctx.Err()
				case <-time.After(10 * time.Millisecond):
				}
			}
		}),
	})
}
