package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"sync"

	"github.com/realmgate/realmgate/adapters/js"
	"github.com/realmgate/realmgate/project"
)

// jsEngine returns the JavaScript engine module that runs a JavaScript adapter, and its pin:
// the module hostd.yaml names (jsEngine, pinned by jsEngineSHA256), or in development the
// engine built from source (cached by content hash, like Go adapters built from source). A
// production daemon without a pinned engine refuses the adapter at its XML's line.
func jsEngine(ctx context.Context, s Settings, b *project.Backend, log *slog.Logger) (module, pin string, diag *project.Diagnostic) {
	fail := func(msg, fix string) (string, string, *project.Diagnostic) {
		return "", "", &project.Diagnostic{Pos: b.Pos, Severity: project.Error, Message: msg, Fix: fix}
	}
	switch {
	case s.JSEngine != "" && (s.JSEngineSHA256 != "" || s.Development):
		return s.JSEngine, s.JSEngineSHA256, nil
	case s.JSEngine != "":
		return fail("the JavaScript engine module "+s.JSEngine+" is not pinned by SHA-256",
			"set jsEngineSHA256 in hostd.yaml (hostd adapter build-js-engine prints it), or set development: true")
	case !s.Development:
		return fail("a JavaScript adapter needs the JavaScript engine module, and hostd.yaml names none",
			"build it with hostd adapter build-js-engine --out FILE and set jsEngine and jsEngineSHA256 in hostd.yaml, or set development: true to have it built")
	}
	built, err := devEngine(ctx, log)
	if err != nil {
		return fail(fmt.Sprintf("building the JavaScript engine (development mode): %v", err), "")
	}
	return built, "", nil
}

var devEngineOnce = struct {
	sync.Mutex
	path string
}{}

// devEngine builds the engine module from source once per process (js.CachedEngine caches it on
// disk across processes, under the user's cache directory).
func devEngine(ctx context.Context, log *slog.Logger) (string, error) {
	devEngineOnce.Lock()
	defer devEngineOnce.Unlock()
	if devEngineOnce.path != "" && fileExists(devEngineOnce.path) {
		return devEngineOnce.path, nil
	}
	src, err := js.EngineSource()
	if err != nil {
		return "", err
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	built, err := js.CachedEngine(ctx, src, filepath.Join(cache, "realmgate", "adapter-build"))
	if err != nil {
		return "", err
	}
	log.Info("JavaScript engine built from source (development mode)", "source", src, "module", built)
	devEngineOnce.path = built
	return built, nil
}

// jsSettings are the settings of a JavaScript adapter's engine: its <connectivity> back end,
// the base URL of invokeHttp.
func jsSettings(a *project.Adapter) map[string]string {
	out := maps.Clone(a.Backend.Settings)
	if out == nil {
		out = map[string]string{}
	}
	if ep, ok := a.Connectivity(); ok {
		out[js.SettingConnectivity] = js.ConnectivityURL(ep.Protocol, ep.Host, ep.Port)
	}
	return out
}
