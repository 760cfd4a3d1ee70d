package js_test

import (
	"context"
	"errors"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/realmgate/realmgate/adapters"
	"github.com/realmgate/realmgate/adapters/adaptertest"
	"github.com/realmgate/realmgate/adapters/js"
	"github.com/realmgate/realmgate/adapters/js/jstest"
)

// engineModule builds the JavaScript engine module from source, as development mode does (jstest).
func engineModule(t testing.TB) string {
	t.Helper()
	return jstest.EngineModule(t)
}

// writeScript writes an adapter folder with the script (and extra files) and returns the
// script's path.
func writeScript(t testing.TB, name, src string, extra map[string]string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name+"-impl.js")
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	for f, body := range extra {
		if err := os.WriteFile(filepath.Join(dir, f), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

// openScript opens a JavaScript adapter over src with cfg's other fields.
func openScript(t testing.TB, src string, cfg adapters.Config) (adapters.Adapter, error) {
	t.Helper()
	if cfg.Name == "" {
		cfg.Name = "Test"
	}
	cfg.Kind = js.Kind
	cfg.Module = engineModule(t)
	cfg.Script = writeScript(t, cfg.Name, src, nil)
	cfg.CacheDir = adaptertest.CompilationCacheDir(t)
	a, err := adapters.Open(context.Background(), cfg)
	if err == nil {
		t.Cleanup(func() { a.Close(context.Background()) })
	}
	return a, err
}

func srvHostPort(t testing.TB, srv *httptest.Server) adapters.HostPort {
	t.Helper()
	host, portS, _ := net.SplitHostPort(srv.Listener.Addr().String())
	port, _ := strconv.Atoi(portS)
	return adapters.HostPort{Host: host, Port: port}
}

func asError(err error, target **adapters.Error) bool { return errors.As(err, target) }
