// Package chromiumtest starts the Debian Chromium (.ci/install-chromium.sh) headless for tests
// that drive a page through chromedp: the admin console's and the demo web app's.
//
// The flags are the ones this machine's closed network needs: without the background-networking
// ones Chromium keeps dialling out, and every dial is refused.
package chromiumtest

import (
	"context"
	"os"
	"os/exec"
	"testing"

	"github.com/chromedp/chromedp"
)

// RequireTool returns the path of the first of names found on PATH. Without one the test skips,
// or fails when REALMGATE_REQUIRE_TOOLCHAINS is set (as .ci/run sets it), naming install, the
// script that installs it.
func RequireTool(t testing.TB, install string, names ...string) string {
	t.Helper()
	for _, name := range names {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("REALMGATE_REQUIRE_TOOLCHAINS") != "" {
		t.Fatalf("%s is required (REALMGATE_REQUIRE_TOOLCHAINS is set): run %s", names[0], install)
	}
	t.Skipf("%s is not installed (run %s)", names[0], install)
	return ""
}

// Start starts a headless Chromium with a fresh profile and a window of width × height, and
// returns a chromedp context on its first tab. Chromium stops when the test ends.
func Start(t testing.TB, width, height int) context.Context {
	t.Helper()
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(RequireTool(t, ".ci/install-chromium.sh", "chromium", "chromium-browser")),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(width, height),
	)
	t.Cleanup(cancelAlloc)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	return ctx
}
