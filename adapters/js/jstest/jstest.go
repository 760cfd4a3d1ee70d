// Package jstest gives tests the JavaScript engine module, built from source as development mode
// builds it.
package jstest

import (
	"context"
	"os"
	"testing"

	"github.com/realmgate/realmgate/adapters/adaptertest"
	"github.com/realmgate/realmgate/adapters/js"
)

// EngineModule builds the engine module from source (cached across test processes) and returns
// its path. Without the toolchain (clang for wasm, the QuickJS source of .ci/install-quickjs.sh)
// the test is skipped, unless REALMGATE_REQUIRE_TOOLCHAINS is set (CI), where it fails.
func EngineModule(t testing.TB) string {
	t.Helper()
	src, err := js.EngineSource()
	if err != nil {
		t.Fatal(err)
	}
	if m := js.MissingToolchain(); m != "" {
		if os.Getenv("REALMGATE_REQUIRE_TOOLCHAINS") == "" {
			t.Skipf("the JavaScript engine cannot be built: %s is missing (.ci/install-quickjs.sh installs it)", m)
		}
		t.Fatalf("the JavaScript engine cannot be built: %s is missing (.ci/install-quickjs.sh installs it)", m)
	}
	module, err := js.CachedEngine(context.Background(), src, adaptertest.CacheDir(t))
	if err != nil {
		t.Fatal(err)
	}
	return module
}
